import json
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.services import generate_password, supervisor_upsert
from leadline.campaigns.models import Campaign
from leadline.campaigns.services import campaign_supervisors_set
from leadline.core.errors import ApiError

from .rep import PASSWORD_ENV, read_password_stdin


class Command(BaseCommand):
    help = "Add supervisors (the console's floor wallboard), optionally scoped to campaigns."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a supervisor (or update one's campaigns)")
        add.add_argument("--username", required=True)
        add.add_argument(
            "--campaign",
            action="append",
            default=[],
            help="a campaign public id they supervise (repeat; none: every campaign)",
        )
        given = add.add_mutually_exclusive_group()
        given.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the console password from the first line of standard input",
        )
        given.add_argument(
            "--password", help="console password; UNSAFE on a shared machine (ps, history)"
        )
        add.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, action, username, campaign, **options):
        campaigns = []
        for public_id in campaign:
            found = Campaign.objects.filter(public_id=public_id.upper()).first()
            if found is None:
                raise CommandError(f"No campaign with id {public_id!r}.")
            campaigns.append(found)
        password = options.get("password") or os.environ.get(PASSWORD_ENV) or None
        if options.get("password_stdin"):
            password = read_password_stdin(options.get("stdin") or sys.stdin)
        generated = None
        try:
            user, created = supervisor_upsert(username=username, password=password)
            if created and not password:
                generated = generate_password()
                supervisor_upsert(username=username, password=generated)
        except ApiError as exc:
            raise CommandError(exc.detail) from None
        campaign_supervisors_set(supervisor=user, campaigns=campaigns)
        result: dict[str, Any] = {
            "username": user.username,
            "created": created,
            "campaigns": [c.public_id for c in campaigns],
            "scope": "campaigns" if campaigns else "all",
        }
        if generated:
            result["password"] = generated  # printed once; never stored in clear
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            scope = ", ".join(result["campaigns"]) or "every campaign"
            self.stdout.write(f"Supervisor {user.username} ({scope}).")
            if generated:
                self.stdout.write(f"Password (shown once): {generated}")
