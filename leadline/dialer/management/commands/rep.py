import getpass
import json
import os
import sys
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import User
from leadline.accounts.services import generate_password, rep_upsert
from leadline.campaigns.models import Campaign
from leadline.core.errors import ApiError
from leadline.core.phones import normalize_indian_phone

PASSWORD_ENV = "LEADLINE_REP_PASSWORD"


def read_password_stdin(stdin: TextIO) -> str:
    """The first line of standard input, without its line ending (`--password-stdin`)."""
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: standard input had no password on its first line.")
    return password


def prompt_password() -> str | None:
    """Ask twice without echo; an empty answer means none (kept, or generated for a new rep)."""
    password = getpass.getpass("Console password (empty: keep it, or generate one): ")
    if not password:
        return None
    if getpass.getpass("Console password (again): ") != password:
        raise CommandError("The two passwords differ; nothing was changed.")
    return password


class Command(BaseCommand):
    help = "Add reps to campaigns (their console logins) and list a campaign's reps."
    # call_command(..., stdin=...) in tests, as Django's createsuperuser allows.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a rep (or update one) and assign it to a campaign")
        add.add_argument("--campaign", required=True, help="campaign public id, e.g. 7KQ2MX")
        add.add_argument("--username", required=True)
        given = add.add_mutually_exclusive_group()
        given.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the console password from the first line of standard input",
        )
        given.add_argument(
            "--password",
            help=(
                "console password; UNSAFE: a command line is visible to other users of this "
                f"machine (ps, shell history): prefer --password-stdin, {PASSWORD_ENV}, or the "
                "prompt"
            ),
        )
        add.add_argument("--phone", required=True, help="the rep's own phone, rung first")
        add.add_argument("--json", action="store_true", help="print one JSON object")
        add.epilog = (
            f"The password comes from --password-stdin, --password, or ${PASSWORD_ENV}; "
            "otherwise it is asked for (twice) when standard input is a terminal. Without one, "
            "an existing rep keeps theirs and a new rep gets a random one, printed once."
        )
        show = sub.add_parser("list", help="the reps assigned to a campaign")
        show.add_argument("--campaign", required=True, help="campaign public id")
        show.add_argument("--json", action="store_true", help="print one JSON object")

    def _campaign(self, public_id: str) -> Campaign:
        campaign = Campaign.objects.filter(public_id=public_id.upper()).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {public_id!r}.")
        return campaign

    def _password(self, options) -> str | None:
        """The password given one way or another (never more than one), or None."""
        stdin = options.get("stdin") or sys.stdin
        from_env = os.environ.get(PASSWORD_ENV) or None
        if from_env is not None and (options["password"] or options["password_stdin"]):
            raise CommandError(f"Give the password one way: ${PASSWORD_ENV} is set as well.")
        if options["password_stdin"]:
            return read_password_stdin(stdin)
        if options["password"] or from_env:
            return options["password"] or from_env
        if stdin.isatty():
            return prompt_password()
        return None

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
        password = self._password(options)
        generated = None
        if password is None and not User.objects.filter(username=options["username"]).exists():
            password = generated = generate_password()
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
        if generated:
            # Printed once because nobody else knows it; a password the operator gave is
            # never echoed (it may have come from a prompt, standard input or the environment).
            result["password"] = generated
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
