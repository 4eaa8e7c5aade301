import os

from django.core.management.base import BaseCommand

from leadline.accounts.models import Business
from leadline.accounts.services import (
    api_token_create,
    business_get_or_create,
    dashboard_user_create,
)
from leadline.campaigns.services import campaign_get_or_create

DEMO_BUSINESS = "Demo Business"


class Command(BaseCommand):
    help = "Create the demo business, campaign, API token and dashboard login, once."

    def handle(self, *args, **options):
        existing = Business.objects.filter(name=DEMO_BUSINESS).first()
        if existing is not None:
            campaign = existing.campaigns.order_by("pk").first()
            self.stdout.write(
                f"Demo data exists: business {existing.pk} ({existing.name}), campaign "
                f"{campaign.public_id if campaign else '-'}.\n"
                "Its token and password were shown when it was created; issue a new token "
                f"with: leadline token create --business {existing.pk}"
            )
            return
        business = business_get_or_create(name=DEMO_BUSINESS)
        campaign = campaign_get_or_create(business=business, name="Demo campaign")
        issued = api_token_create(business=business, name="demo")
        user, password = dashboard_user_create(business=business, username="demo")
        self.stdout.write(
            "Demo data created (the token and password are shown only now):\n"
            f"  business:     {business.pk} ({business.name})\n"
            f"  campaign_id:  {campaign.public_id}\n"
            f"  access_token: {issued.secret}\n"
            f"  dashboard:    http://{os.environ.get('HOST', '127.0.0.1')}:"
            f"{os.environ.get('PORT', '8000')}/voice/dashboard/ as {user.username} / {password}\n"
            "Try:\n"
            f"  curl -H 'Authorization: Bearer {issued.secret}' "
            f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
            f"/api/v4/leads/responses/{campaign.public_id}/"
        )
