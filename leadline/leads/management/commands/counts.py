import json

from django.core.management.base import BaseCommand, CommandError

from leadline.campaigns.models import Campaign
from leadline.leads.counts import counts_compact, counts_verify


class Command(BaseCommand):
    help = (
        "Check the campaigns' kept lead counts against a full recount of their leads "
        "(`counts verify`), or fold their new rows now (`counts compact`)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify",
            help="compare each campaign's counts with a full aggregate of its leads and print "
            "the differences; exits 1 on any difference unless --repair replaced them",
        )
        verify.add_argument("--campaign", help="campaign id (public); default: every campaign")
        verify.add_argument(
            "--repair", action="store_true", help="replace differing counts by the recount"
        )
        verify.add_argument("--json", action="store_true", help="one JSON object per campaign")
        sub.add_parser("compact", help="fold new count rows now (the worker does this anyway)")

    def handle(self, *args, **options):
        if options["action"] == "compact":
            folded = total = counts_compact()
            while folded:
                folded = counts_compact()
                total += folded
            self.stdout.write(f"{total} count row(s) folded")
            return
        campaigns = Campaign.objects.order_by("pk")
        if options["campaign"]:
            campaigns = campaigns.filter(public_id=options["campaign"])
            if not campaigns.exists():
                raise CommandError(f"no campaign {options['campaign']!r}")
        wrong = 0
        for campaign in campaigns.iterator():
            check = counts_verify(campaign=campaign, repair=options["repair"])
            if check.differences and not check.repaired:
                wrong += 1
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "campaign_id": check.campaign_id,
                            "ok": not check.differences,
                            "repaired": check.repaired,
                            "differences": [d.as_dict() for d in check.differences],
                        }
                    )
                )
                continue
            if not check.differences:
                self.stdout.write(f"{check.campaign_id}: counts match")
                continue
            verb = "repaired" if check.repaired else "differ"
            self.stdout.write(f"{check.campaign_id}: {len(check.differences)} count(s) {verb}")
            for d in check.differences:
                where = f"slot {d.slot}" if d.kind == "processed" else repr(d.key)
                self.stdout.write(f"  {d.kind} {where}: kept {d.kept}, actual {d.actual}")
        if wrong:
            raise CommandError(f"{wrong} campaign(s) with counts that differ from a recount")
