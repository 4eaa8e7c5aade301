import json

from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import User
from leadline.accounts.services import generate_password, rep_upsert
from leadline.campaigns.models import Campaign
from leadline.core.errors import ApiError
from leadline.core.phones import normalize_indian_phone


class Command(BaseCommand):
    help = "Add reps to campaigns (their console logins) and list a campaign's reps."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a rep (or update one) and assign it to a campaign")
        add.add_argument("--campaign", required=True, help="campaign public id, e.g. 7KQ2MX")
        add.add_argument("--username", required=True)
        add.add_argument(
            "--password", help="console password (a random one is made and printed if absent)"
        )
        add.add_argument("--phone", required=True, help="the rep's own phone, rung first")
        add.add_argument("--json", action="store_true", help="print one JSON object")
        show = sub.add_parser("list", help="the reps assigned to a campaign")
        show.add_argument("--campaign", required=True, help="campaign public id")
        show.add_argument("--json", action="store_true", help="print one JSON object")

    def _campaign(self, public_id: str) -> Campaign:
        campaign = Campaign.objects.filter(public_id=public_id.upper()).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {public_id!r}.")
        return campaign

    def handle(self, *args, action, **options):
        campaign = self._campaign(options["campaign"])
        if action == "list":
            reps = [
                {"username": u.username, "phone_number": u.phone_number, "active": u.is_active}
                for u in campaign.reps.order_by("username")
            ]
            if options["json"]:
                self.stdout.write(json.dumps({"campaign_id": campaign.public_id, "reps": reps}))
            else:
                for rep in reps:
                    self.stdout.write(f"{rep['username']}  {rep['phone_number']}")
            return
        phone = normalize_indian_phone(options["phone"])
        if phone is None:
            raise CommandError(f"{options['phone']!r} is not a valid Indian phone number.")
        password = options["password"]
        if password is None and not User.objects.filter(username=options["username"]).exists():
            password = generate_password()
        try:
            # An existing rep keeps their password unless a new one is given.
            user, created = rep_upsert(
                campaign=campaign,
                username=options["username"],
                phone_number=phone,
                password=password,
            )
        except ApiError as exc:
            raise CommandError(exc.detail) from None
        result = {
            "username": user.username,
            "created": created,
            "campaign_id": campaign.public_id,
            "business_id": campaign.business_id,
            "phone_number": user.phone_number,
            "console_path": "/console/",
        }
        if password:
            result["password"] = password
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
