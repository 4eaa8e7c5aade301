import os

from django.conf import settings
from django.core.management.base import BaseCommand

from leadline.accounts.models import Business
from leadline.worker.demo import DEMO_BUSINESS, demo_create


class Command(BaseCommand):
    help = (
        "Create the demo business once: a campaign with leads in every state, an API token, "
        "and owner, supervisor and rep logins."
    )

    def handle(self, *args, **options):
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        existing = Business.objects.filter(name=DEMO_BUSINESS).first()
        if existing is not None:
            campaign = existing.campaigns.order_by("pk").first()
            self.stdout.write(
                f"Demo data exists: business {existing.pk} ({existing.name}), campaign "
                f"{campaign.public_id if campaign else '-'}.\n"
                "Its token and passwords were shown when it was created; issue a new token "
                f"with: leadline token create --business {existing.pk}"
            )
            if campaign is not None:
                self._addresses(base, campaign.public_id, "YOUR_TOKEN")
            return
        self.stdout.write("Creating the demo (a few hundred leads worked by simulated reps)...")
        demo = demo_create()
        states = ", ".join(
            f"{count} {state.replace('_', ' ')}" for state, count in demo.states.items()
        )
        self.stdout.write(
            "Demo data created (the token and passwords are shown only now):\n"
            f"  business:     {demo.business.pk} ({demo.business.name})\n"
            f"  campaign_id:  {demo.campaign.public_id} ({demo.campaign.name}: {states})\n"
            "                The demo campaign calls around the clock, so the console always "
            "has a lead;\n"
            "                real campaigns keep the 09:00-21:00 window.\n"
            f"  access_token: {demo.access_token}\n"
            f"  owner:        {demo.owner[0]} / {demo.owner[1]}   (dashboard)\n"
            f"  supervisor:   {demo.supervisor[0]} / {demo.supervisor[1]}   "
            "(dashboard, manager role)\n"
            f"  rep:          {demo.rep[0]} / {demo.rep[1]}   (console)"
        )
        self._addresses(base, demo.campaign.public_id, demo.access_token)

    def _addresses(self, base: str, campaign_id: str, token: str) -> None:
        self.stdout.write(
            "Open:\n"
            f"  dashboard  {base}/voice/dashboard/\n"
            f"  console    {base}/console/\n"
            f"  admin      {base}/{settings.LEADLINE_ADMIN_PATH}   "
            "(operators: leadline createsuperuser)\n"
            f"  API docs   {base}/api/v4/docs\n"
            "Create a lead:\n"
            f"  curl -X POST '{base}/api/v4/leads/create/{campaign_id}/' "
            f"-H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
            """--data-binary '[{"lead_id": "my-first-lead", "phone_number": "9876543210", """
            """"contact_name": "Asha Rao", "city": "Pune"}]'"""
        )
