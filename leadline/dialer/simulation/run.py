"""A run: simulated reps work a campaign's due leads together, then a summary of what they did."""

import random
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.test.utils import override_settings

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import window_open
from leadline.leads.models import Lead

from ..models import RepStateInterval
from ..telephony import get_provider
from .reps import rep_work, sim_reps_ensure
from .state import MODES, PREVIEW, PROGRESSIVE, Clock, RunState, SimulationError

MAX_REPS = 64  # each simulated rep holds its own database connection
# Simulated seconds per real second: the longest default call (12 s ringing, 240 s talking)
# ends within a millisecond, so the first refresh after placing it nearly always finds it over.
DEFAULT_SPEED = 1_000_000.0


@dataclass
class SimulationReport:
    campaign_id: str
    campaign_name: str
    reps: int
    seed: int
    fast_forward: bool
    started_at: str
    mode: str = PREVIEW
    # Progressive: seconds the simulated reps spent in each state, from their intervals.
    state_seconds: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)  # attempts by outcome picked
    processed_by_outcome: dict[str, int] = field(default_factory=dict)
    telephony: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)  # disposition results
    leads_processed: int = 0
    leads_worked: int = 0
    attempts: int = 0
    unavailable: int = 0  # leads disabled or erased between the claim and the call
    left_queued: int = 0  # leads still waiting: retries or callbacks not due, window closed
    next_due_at: str | None = None  # when the first of them is due
    window_open: bool = True
    elapsed_seconds: float = 0.0
    leads_per_second: float = 0.0
    attempts_per_second: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _runnable_check(campaign: Campaign, reps: int, speed: float) -> None:
    if not 1 <= reps <= MAX_REPS:
        raise SimulationError(f"reps must be between 1 and {MAX_REPS}")
    if speed <= 0:
        raise SimulationError("speed must be positive")
    account = campaign.telephony_account
    provider = account.provider if account is not None else get_provider().name
    if provider != "simulator":
        raise SimulationError(
            "simulate only runs with the simulator telephony provider: a real provider would "
            "ring real people"
        )
    outcomes = list(campaign.outcomes.all())
    if not any(not o.connected for o in outcomes):
        raise SimulationError("the campaign needs a not-connected outcome for unanswered calls")


def _reps_run(run: RunState, users: list[User], speed: float) -> float:
    """Every rep works in its own thread until no lead is left; returns the seconds it took."""
    simulator = {**getattr(settings, "LEADLINE_SIMULATOR", {}), "speed": speed}
    began = time.perf_counter()
    with override_settings(LEADLINE_SIMULATOR=simulator):
        threads = [
            threading.Thread(target=rep_work, args=(run, user, speed), name=user.username)
            for user in users
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except KeyboardInterrupt:
            # Let every rep finish the lead in hand (no call left without an outcome).
            run.stop("interrupted")
            for thread in threads:
                thread.join()
    return time.perf_counter() - began


def _report_fill(report: SimulationReport, run: RunState, elapsed: float) -> None:
    def tally(kind: str) -> dict[str, int]:
        return dict(
            sorted(((k, n) for (t, k), n in run.tally.items() if t == kind), key=lambda i: -i[1])
        )

    report.outcomes = tally("outcome")
    report.processed_by_outcome = tally("processed")
    report.telephony = tally("telephony")
    report.states = tally("state")
    report.attempts = sum(report.telephony.values())
    report.leads_processed = sum(report.processed_by_outcome.values())
    report.leads_worked = len(run.worked_lead_pks)
    report.unavailable = report.states.get("unavailable", 0)
    waiting = Lead.objects.filter(
        campaign=run.campaign,
        status=Lead.Status.QUEUED,
        disabled_at__isnull=True,
        erased_at__isnull=True,
    )
    report.left_queued = waiting.count()
    first_due = waiting.order_by("due_at").values_list("due_at", flat=True).first()
    report.next_due_at = first_due.isoformat() if first_due else None
    report.elapsed_seconds = round(elapsed, 3)
    report.leads_per_second = round(report.leads_processed / elapsed, 1) if elapsed else 0.0
    report.attempts_per_second = round(report.attempts / elapsed, 1) if elapsed else 0.0
    report.errors = run.errors


def simulate(
    *,
    campaign: Campaign,
    reps: int,
    seed: int | None = None,
    fast_forward: bool = False,
    start: datetime | None = None,
    speed: float = DEFAULT_SPEED,
    mode: str = PREVIEW,
) -> SimulationReport:
    """Work the campaign's due leads with `reps` concurrent simulated reps until none is due.

    `fast_forward` ignores the calling window and retry/callback delays (the services'
    `ignore_window` and `skip_delays`), so every lead it calls reaches a final state; leads an
    earlier run (or a real rep) scheduled for later still wait for their time: move `start`
    past it. `start` shifts the clock (e.g. into the calling window); leads created after it
    are not due yet.
    """
    _runnable_check(campaign, reps, speed)
    if mode not in MODES:
        raise SimulationError(f"mode must be one of {', '.join(MODES)}")
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    users = sim_reps_ensure(campaign=campaign, count=reps)
    clock = Clock(start)
    report = SimulationReport(
        campaign_id=campaign.public_id,
        campaign_name=campaign.name,
        reps=reps,
        seed=seed,
        fast_forward=fast_forward,
        started_at=clock.start.isoformat(),
        window_open=window_open(campaign, clock.start),
        mode=mode,
    )
    run = RunState(campaign=campaign, seed=seed, fast_forward=fast_forward, clock=clock, mode=mode)
    began = clock()
    elapsed = _reps_run(run, users, speed)
    _report_fill(report, run, elapsed)
    if mode == PROGRESSIVE:
        report.state_seconds = _state_seconds(users, began)
    return report


def _state_seconds(users: list[User], since: datetime) -> dict[str, float]:
    """Seconds per state the run's reps spent, summed from their (closed) intervals."""
    totals: dict[str, float] = {}
    intervals = RepStateInterval.objects.filter(
        rep__in=users, started_at__gte=since, ended_at__isnull=False
    ).values_list("state", "started_at", "ended_at")
    for state, started, ended in intervals:
        assert ended is not None  # closed intervals only (filtered above)
        totals[state] = totals.get(state, 0.0) + (ended - started).total_seconds()
    return {state: round(seconds, 3) for state, seconds in sorted(totals.items())}
