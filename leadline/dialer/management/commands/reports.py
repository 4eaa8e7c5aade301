import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from leadline.campaigns.models import Campaign
from leadline.dialer.reports import Scope, reports_verify


class Command(BaseCommand):
    help = (
        "Check the daily report figures (per rep, per campaign) against a recount of the call "
        "attempts, state intervals, skips and leads (`reports verify`)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify",
            help="recount the figures from the raw rows and print the differences; exits 1 on "
            "any difference unless --repair replaced them",
        )
        verify.add_argument("--date", help="one day (YYYY-MM-DD); default: every day")
        verify.add_argument("--campaign", help="campaign id (public); default: every campaign")
        verify.add_argument(
            "--repair", action="store_true", help="replace differing days' rows by the recount"
        )
        verify.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date {options['date']!r} is not YYYY-MM-DD") from None
        campaign_id = None
        if options["campaign"]:
            campaign_id = (
                Campaign.objects.filter(public_id=options["campaign"])
                .values_list("pk", flat=True)
                .first()
            )
            if campaign_id is None:
                raise CommandError(f"no campaign {options['campaign']!r}")
        check = reports_verify(
            scope=Scope(day=day, campaign_id=campaign_id), repair=options["repair"]
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": not check.differences,
                        "repaired": check.repaired,
                        "differences": [d.as_dict() for d in check.differences],
                    }
                )
            )
        elif not check.differences:
            self.stdout.write("report figures match a recount")
        else:
            verb = "repaired" if check.repaired else "differ"
            self.stdout.write(f"{len(check.differences)} report figure(s) {verb}")
            for d in check.differences:
                who = f"rep {d.rep_id}" if d.rep_id is not None else "campaign"
                self.stdout.write(
                    f"  {d.day} {who} campaign {d.campaign_id} {d.kind} {d.key!r}: "
                    f"kept {d.kept}, actual {d.actual}"
                )
        if check.differences and not check.repaired:
            raise CommandError("report figures differ from a recount")
