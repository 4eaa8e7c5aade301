import json

from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import User
from leadline.accounts.services import (
    api_token_create,
    business_get_or_create,
    dashboard_user_create,
)
from leadline.campaigns.services import campaign_get_or_create


class Command(BaseCommand):
    help = (
        "Create (or reuse by name) a business and an active campaign, issue a new API token "
        "and a new dashboard login, and print them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--business", required=True, help="business name")
        parser.add_argument("--campaign", default="Default campaign", help="campaign name")
        parser.add_argument("--rate-limit", type=int, help="API requests per minute")
        parser.add_argument(
            "--role",
            choices=User.BusinessRole.values,
            default=User.BusinessRole.OWNER,
            help="the dashboard login's business role (default owner)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, business, campaign, rate_limit, role, **options):
        if rate_limit is not None and rate_limit < 1:
            raise CommandError("--rate-limit must be at least 1")
        biz = business_get_or_create(name=business, rate_limit_per_minute=rate_limit)
        camp = campaign_get_or_create(business=biz, name=campaign)
        issued = api_token_create(business=biz, name="bootstrap")
        user, password = dashboard_user_create(business=biz, business_role=role)
        result = {
            "business_id": biz.pk,
            "business_name": biz.name,
            "campaign_id": camp.public_id,
            "campaign_name": camp.name,
            "access_token": issued.secret,
            "token_prefix": issued.token.prefix,
            "rate_limit_per_minute": biz.rate_limit_per_minute,
            "dashboard_username": user.username,
            "dashboard_password": password,
            "dashboard_role": user.business_role,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
