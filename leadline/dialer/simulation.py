"""Simulated reps for demos, tests and benchmarks, working leads through the console's services.

Nothing here writes a lead's state: every claim, call and outcome goes through
`dialer.services` exactly as the rep console does (`lead_claim`, `call_place`, `call_refresh`,
`disposition_submit`), so a simulation exercises and measures the real path: its locks,
leases, retries, callbacks and `lead.processed` events.

Time: every service call gets `now` from one clock shared by all reps: real time, optionally
shifted to start at a chosen moment. Leases, retry delays and calling windows therefore mean
what they mean in production. The simulated calls are compressed instead (the simulator's
`speed`), so a four-minute call ends within a millisecond and timestamps stay in causal order
(placed <= answered <= ended <= disposed). Advancing `now` per rep past the call's end would
make reps' clocks drift apart, and a rep whose clock ran more than a lease ahead would take
leads other reps still hold.

Reproducibility: answers and outcome choices come from a generator seeded with
(seed, lead_id, attempt number), so they do not depend on which rep got the lead. The
simulator's call ids embed the attempt's random UUID, so whether a call is answered, busy or
unanswered differs between runs: the same seed gives the same answers for the same telephony
result, not the same run.
"""

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, transaction
from django.test.utils import override_settings
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome, ScriptQuestion
from leadline.campaigns.rules import window_open
from leadline.core.errors import ApiError, Conflict
from leadline.leads.models import Lead

from . import services
from .models import CallAttempt
from .telephony import get_provider

logger = logging.getLogger(__name__)

MAX_REPS = 64  # each simulated rep holds its own database connection
# Simulated seconds per real second: the longest default call (12 s ringing, 240 s talking)
# ends within a millisecond, so the first refresh after placing it nearly always finds it over.
DEFAULT_SPEED = 1_000_000.0
# A simulated call still going after this long (simulated time) is hung up on.
HANG_UP_AFTER_SECONDS = 3600
CALLBACK_CHANCE = 0.15
WRONG_NUMBER_CHANCE = 0.05
OPTIONAL_ANSWER_CHANCE = 0.7
NOTES = (
    "Asked for the details on WhatsApp.",
    "Prefers calls after 6 pm.",
    "Already has a policy with another insurer.",
    "Wants to discuss with family first.",
    "Asked about the premium for two adults.",
    "Happy with the current plan.",
    "Requested a brochure by email.",
    "Will decide after salary credit.",
)
_POSITIVE = ("objective met", "interested", "sale", "converted", "yes")
_NEGATIVE = ("not interested", "declined", "refused", "no ")


class SimulationError(Exception):
    """The simulation cannot run (configuration), or a simulated rep hit an unexpected error."""


class Clock:
    """Real time, shifted so that it reads `start` when the simulation begins."""

    def __init__(self, start: datetime | None = None):
        self.start = start or timezone.now()
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)


# --- reps -----------------------------------------------------------------------------------


def sim_reps_ensure(*, campaign: Campaign, count: int) -> list[User]:
    """Reps `sim-rep-1..count` of the campaign's business, assigned to this campaign only.

    A name taken by another business's user gets a `-b<business id>` suffix. The simulated
    reps are taken off other campaigns so that they work this campaign's leads only.
    """
    business = campaign.business
    reps: list[User] = []
    with transaction.atomic():
        for number in range(1, count + 1):
            username = f"sim-rep-{number}"
            user = User.objects.filter(username=username).first()
            if user is not None and user.business_id != business.pk:
                username = f"sim-rep-{number}-b{business.pk}"
                user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, business=business)
                user.set_unusable_password()  # nobody logs in as a simulated rep
            user.role = User.Role.REP
            user.first_name = f"Simulated rep {number}"
            user.phone_number = user.phone_number or f"+9190{number:08d}"
            user.save()
            user.rep_campaigns.set([campaign])
            reps.append(user)
    return reps


# --- what a rep says and picks --------------------------------------------------------------


def outcome_choose(outcomes: list[Outcome], telephony_status: str, rng: random.Random) -> Outcome:
    """An outcome consistent with the call: connected outcomes only if someone answered."""
    if telephony_status in (CallAttempt.TelephonyStatus.COMPLETED, "answered"):
        connected = [o for o in outcomes if o.connected]
        callbacks = [o for o in connected if o.effect == Outcome.Effect.CALLBACK]
        finals = [o for o in connected if o.effect != Outcome.Effect.CALLBACK]
        # Someone answered, but not the person the lead names.
        wrong = [o for o in outcomes if not o.connected and o.effect == Outcome.Effect.FINAL]
        draw = rng.random()
        if callbacks and draw < CALLBACK_CHANCE:
            return rng.choice(callbacks)
        if wrong and draw < CALLBACK_CHANCE + WRONG_NUMBER_CHANCE:
            return rng.choice(wrong)
        return rng.choice(finals or connected or outcomes)
    not_connected = [o for o in outcomes if not o.connected]
    retries = [o for o in not_connected if o.effect == Outcome.Effect.RETRY]
    word = "busy" if telephony_status == CallAttempt.TelephonyStatus.BUSY else "no answer"
    named = [o for o in retries if word in o.label.lower()]
    return rng.choice(named or retries or not_connected)


def _yes_no(outcome: Outcome, rng: random.Random) -> str:
    label = f"{outcome.label.lower()} "
    if any(word in label for word in _NEGATIVE):
        return "no" if rng.random() < 0.9 else "yes"
    if any(word in label for word in _POSITIVE):
        return "yes" if rng.random() < 0.9 else "no"
    return rng.choice(("yes", "no"))


def _number(key: str, rng: random.Random) -> int:
    key = key.lower()
    if "age" in key:
        return rng.randint(21, 65)
    if any(w in key for w in ("amount", "budget", "premium", "price", "income", "salary", "sum")):
        return rng.randrange(5, 500) * 1000
    if any(w in key for w in ("count", "members", "children", "quantity", "qty", "family")):
        return rng.randint(0, 6)
    if any(w in key for w in ("rating", "score")):
        return rng.randint(1, 10)
    return rng.randint(1, 100)


def answers_generate(
    questions: list[ScriptQuestion], outcome: Outcome, rng: random.Random, today: date
) -> dict[str, Any]:
    """Plausible answers to the script for a connected call; none for a call nobody took."""
    if not outcome.connected:
        return {}
    answers: dict[str, Any] = {}
    for question in questions:
        if not question.required and rng.random() >= OPTIONAL_ANSWER_CHANCE:
            continue
        kind = question.kind
        if kind == ScriptQuestion.Kind.YES_NO:
            answers[question.key] = _yes_no(outcome, rng)
        elif kind == ScriptQuestion.Kind.CHOICE:
            if question.options:
                answers[question.key] = rng.choice(question.options)
        elif kind == ScriptQuestion.Kind.NUMBER:
            answers[question.key] = _number(question.key, rng)
        elif kind == ScriptQuestion.Kind.DATE:
            answers[question.key] = (today + timedelta(days=rng.randint(1, 45))).isoformat()
        else:
            answers[question.key] = rng.choice(NOTES)
    return answers


def callback_time(campaign: Campaign, now: datetime, rng: random.Random) -> datetime:
    """A future moment inside the calling window, today or within the next few days."""
    zone = ZoneInfo(campaign.timezone)
    local_now = now.astimezone(zone)
    start = campaign.window_start.hour * 60 + campaign.window_start.minute
    end = campaign.window_end.hour * 60 + campaign.window_end.minute
    day_offset = rng.choice((0, 1, 1, 2, 3))
    for _ in range(8):
        day = local_now.date() + timedelta(days=day_offset)
        minute = rng.randrange(start, max(start + 1, end), 15) if end > start else start
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
        if local > local_now + timedelta(minutes=15) and window_open(campaign, local):
            return local
        day_offset += 1
    return now + timedelta(hours=2)


# --- the run --------------------------------------------------------------------------------


@dataclass
class SimulationReport:
    campaign_id: str
    campaign_name: str
    reps: int
    seed: int
    fast_forward: bool
    started_at: str
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


class _Run:
    """State shared by the rep threads: tallies, and knowing when nothing is left to do."""

    def __init__(self, *, campaign: Campaign, seed: int, fast_forward: bool, clock: Clock):
        self.campaign = campaign
        self.seed = seed
        self.fast_forward = fast_forward
        self.clock = clock
        self._scripts: dict[int, tuple[list[Outcome], list[ScriptQuestion]]] = {}
        self.lock = threading.Condition()
        self.busy = 0  # reps between starting a claim and finishing its lead
        self.progress = 0  # leads finished so far: each may make a lead due again
        self.finished = False
        self.tally: Counter[tuple[str, str]] = Counter()
        self.worked: set[int] = set()
        self.errors: list[str] = []

    def script(self, campaign: Campaign) -> tuple[list[Outcome], list[ScriptQuestion]]:
        """The outcomes and questions of a lead's campaign, loaded once per run."""
        # Usually the simulated campaign; a rep may still hold a lead of one it was taken off.
        with self.lock:
            if campaign.pk not in self._scripts:
                self._scripts[campaign.pk] = (
                    list(campaign.outcomes.all()),
                    list(campaign.questions.all()),
                )
            return self._scripts[campaign.pk]

    def count(self, kind: str, key: str) -> None:
        with self.lock:
            self.tally[(kind, key)] += 1

    def claim(self, rep: User) -> Lead | None:
        """The rep's next lead; None once no rep can find work and none is still working.

        A rep that finds nothing while others are busy waits for them: a retry or callback
        they record may be due at once (always, when fast-forwarding).
        """
        while True:
            with self.lock:
                if self.finished:
                    return None
                self.busy += 1
                seen = self.progress
            lead = services.lead_claim(rep=rep, now=self.clock(), ignore_window=self.fast_forward)
            if lead is not None:
                return lead
            with self.lock:
                self.busy -= 1
                while not self.finished and self.progress == seen and self.busy > 0:
                    self.lock.wait(timeout=1.0)
                if self.finished or (self.progress == seen and self.busy == 0):
                    self.finished = True
                    self.lock.notify_all()
                    return None

    def done(self) -> None:
        with self.lock:
            self.busy -= 1
            self.progress += 1
            self.lock.notify_all()

    def stop(self, error: str) -> None:
        with self.lock:
            self.errors.append(error)
            self.finished = True
            self.lock.notify_all()


def _finished_call(attempt: CallAttempt, clock: Clock, speed: float) -> CallAttempt:
    """Poll the provider like the console does until the call is over (or hang up)."""
    give_up = time.monotonic() + max(1.0, HANG_UP_AFTER_SECONDS / speed)
    pause = 0.0005
    while True:
        attempt = services.call_refresh(attempt=attempt, now=clock())
        if attempt.telephony_status in CallAttempt.FINISHED or time.monotonic() > give_up:
            return attempt
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _open_attempt(rep: User, lead: Lead) -> CallAttempt | None:
    return CallAttempt.objects.filter(
        lead=lead, rep=rep, disposed_at__isnull=True, discarded=False
    ).first()


def _work_lead(run: _Run, rep: User, lead: Lead, speed: float) -> None:
    clock = run.clock
    attempt_number = lead.attempts_count + 1
    try:
        attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=clock())
    except services.LeadUnavailable:
        # Disabled or erased by the client between the claim and the call.
        run.count("state", "unavailable")
        return
    except Conflict:
        # A call of an earlier, interrupted run awaits its outcome: finish that one first,
        # as the console would.
        attempt = _open_attempt(rep, lead)
        if attempt is None:
            raise
        attempt_number -= 1
    attempt = _finished_call(attempt, clock, speed)
    campaign = lead.campaign
    outcomes, questions = run.script(campaign)
    rng = random.Random(f"{run.seed}:{lead.lead_id}:{attempt_number}")
    outcome = outcome_choose(outcomes, attempt.telephony_status, rng)
    now = clock()
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    callback_at = (
        callback_time(campaign, now, rng) if outcome.effect == Outcome.Effect.CALLBACK else None
    )
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=outcome.label,
        answers=answers_generate(questions, outcome, rng, today),
        callback_at=callback_at,
        now=now,
        skip_delays=run.fast_forward,
    )
    run.count("telephony", attempt.telephony_status)
    run.count("outcome", outcome.label)
    run.count("state", result.state)
    if result.state == "processed":
        run.count("processed", outcome.label)


def _rep_loop(run: _Run, rep: User, speed: float) -> None:
    try:
        while (lead := run.claim(rep)) is not None:
            try:
                with run.lock:
                    run.worked.add(lead.pk)
                _work_lead(run, rep, lead, speed)
            finally:
                run.done()
    except Exception as exc:
        logger.exception("simulated rep %s stopped", rep.username)
        detail = exc.body() if isinstance(exc, ApiError) else repr(exc)
        run.stop(f"{rep.username}: {detail}")
    finally:
        # Each thread opened its own connections; leave none behind.
        connections.close_all()


def simulate(
    *,
    campaign: Campaign,
    reps: int,
    seed: int | None = None,
    fast_forward: bool = False,
    start: datetime | None = None,
    speed: float = DEFAULT_SPEED,
) -> SimulationReport:
    """Work the campaign's due leads with `reps` concurrent simulated reps until none is due.

    `fast_forward` ignores the calling window and retry/callback delays (the services'
    `ignore_window` and `skip_delays`), so every lead it calls reaches a final state; leads an
    earlier run (or a real rep) scheduled for later still wait for their time: move `start`
    past it. `start` shifts the clock (e.g. into the calling window); leads created after it
    are not due yet.
    """
    if not 1 <= reps <= MAX_REPS:
        raise SimulationError(f"reps must be between 1 and {MAX_REPS}")
    if speed <= 0:
        raise SimulationError("speed must be positive")
    if get_provider().name != "simulator":
        raise SimulationError(
            "simulate only runs with the simulator telephony provider: a real provider would "
            "ring real people"
        )
    outcomes = list(campaign.outcomes.all())
    if not any(not o.connected for o in outcomes):
        raise SimulationError("the campaign needs a not-connected outcome for unanswered calls")
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
    )
    run = _Run(campaign=campaign, seed=seed, fast_forward=fast_forward, clock=clock)
    simulator = {**getattr(settings, "LEADLINE_SIMULATOR", {}), "speed": speed}
    began = time.perf_counter()
    with override_settings(LEADLINE_SIMULATOR=simulator):
        threads = [
            threading.Thread(target=_rep_loop, args=(run, user, speed), name=user.username)
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
    elapsed = time.perf_counter() - began

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
    report.leads_worked = len(run.worked)
    report.unavailable = report.states.get("unavailable", 0)
    waiting = Lead.objects.filter(
        campaign=campaign,
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
    return report
