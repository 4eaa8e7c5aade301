import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadline.campaigns.models import Campaign
from leadline.dialer.simulation import (
    DEFAULT_SPEED,
    MAX_REPS,
    SimulationError,
    SimulationReport,
    simulate,
)


class Command(BaseCommand):
    help = (
        "Work a campaign's due leads with simulated reps through the rep console's services "
        "(claim, call through the simulator, outcome and answers), then print a summary. "
        "For demos, tests and benchmarks; refuses to run with a real telephony provider."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="the campaign's public id")
        parser.add_argument(
            "--reps", type=int, default=3, help=f"concurrent simulated reps (1-{MAX_REPS})"
        )
        parser.add_argument(
            "--seed", type=int, help="make the generated answers and outcome picks repeatable"
        )
        parser.add_argument(
            "--fast-forward",
            action="store_true",
            help="ignore the calling window and retry/callback delays: every lead is processed",
        )
        parser.add_argument(
            "--now",
            help="start the simulation clock at this ISO 8601 time (default: the real time)",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=DEFAULT_SPEED,
            help="simulated call seconds per real second (lower it to watch calls live)",
        )
        parser.add_argument(
            "--mode",
            choices=["preview", "progressive"],
            default="preview",
            help="progressive: each rep goes available, is moved through on_call, wrap_up "
            "and available by the services, and signs out at the end (states recorded)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, campaign, reps, seed, fast_forward, now, speed, mode, **options):
        found = Campaign.objects.select_related("business").filter(public_id=campaign).first()
        if found is None:
            raise CommandError(f"No campaign with id {campaign!r}.")
        start = None
        if now:
            start = parse_datetime(now)
            if start is None:
                raise CommandError("--now must be an ISO 8601 date and time.")
            if timezone.is_naive(start):
                start = timezone.make_aware(start, UTC)
        try:
            report = simulate(
                campaign=found,
                reps=reps,
                seed=seed,
                fast_forward=fast_forward,
                start=start,
                speed=speed,
                mode=mode,
            )
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self._print(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} simulated rep(s) stopped on an error.")

    def _print(self, report: SimulationReport) -> None:
        write = self.stdout.write
        mode = "fast-forward" if report.fast_forward else "real delays and window"
        write(
            f"Campaign {report.campaign_name} ({report.campaign_id}): {report.reps} simulated "
            f"rep(s), {report.mode} mode, {mode}, seed {report.seed}, "
            f"clock from {report.started_at}"
        )
        if not report.fast_forward and not report.window_open:
            write("The calling window is closed at that time: nothing is due now.")
        if report.outcomes:
            write("Outcomes picked (attempts):")
            width = max(len(label) for label in report.outcomes)
            for label, count in report.outcomes.items():
                final = report.processed_by_outcome.get(label, 0)
                write(f"  {label:<{width}}  {count:>7}  ({final} final)")
        if report.telephony:
            calls = ", ".join(f"{status} {n}" for status, n in report.telephony.items())
            write(f"Calls: {calls}")
        write(
            f"Leads processed: {report.leads_processed} of {report.leads_worked} worked; "
            f"attempts: {report.attempts}; left queued: {report.left_queued}"
            + (f"; unavailable: {report.unavailable}" if report.unavailable else "")
        )
        if report.next_due_at:
            write(f"The next waiting lead is due at {report.next_due_at} (see --now).")
        write(
            f"Elapsed: {report.elapsed_seconds:.2f} s, {report.leads_per_second} leads/s, "
            f"{report.attempts_per_second} attempts/s"
        )
        if report.state_seconds:
            spent = ", ".join(f"{state} {s:.3f} s" for state, s in report.state_seconds.items())
            write(f"Rep time by state: {spent}")
        for error in report.errors:
            self.stderr.write(f"error: {error}")
