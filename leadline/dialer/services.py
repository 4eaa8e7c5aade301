"""The dialer: who calls which lead next, the bridged call, and what its outcome does.

Concurrency: "next lead" locks its candidate with `SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL, so concurrent reps skip each other's candidates instead of queueing behind them;
on SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises claims outright.
A claim is a lease: if the rep vanishes, the lead is offered again once it expires.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome
from leadline.campaigns.rules import AnswerError, answers_clean, window_open
from leadline.core import recordings
from leadline.core.db import SENTINEL_NOW, SENTINEL_PK, db_datetime, precompiled
from leadline.core.errors import BadRequest, Conflict, NotFound
from leadline.leads import hooks as lead_hooks
from leadline.leads.models import Lead
from leadline.leads.results import lead_result

from .models import CallAttempt
from .telephony import get_provider

logger = logging.getLogger(__name__)
QUEUE_ORDER = ("queue_class", "-priority", "due_at", "id")
# A rep may keep booking callbacks for a lead, but not forever.
CALLBACKS_BEYOND_MAX_ATTEMPTS = 2


class LeadUnavailable(Conflict):
    """The lead can no longer be worked (disabled, erased, processed or lease lost)."""


@dataclass(frozen=True)
class DispositionResult:
    state: str  # "processed", "retry", "callback", "stopped" or "discarded"
    lead: Lead
    attempt: CallAttempt


# A claim runs three statements, two of them inside the rep's lock; each is precompiled once
# per process (`core.db.precompiled`), since building them with the ORM cost more Python than
# the database spent running them.


def _rep_campaigns_query():
    return Campaign.objects.filter(
        reps=SENTINEL_PK, status=Campaign.Status.ACTIVE, business__is_active=True
    ).order_by("pk")


def _rep_campaigns(rep: User) -> list[Campaign]:
    statement = precompiled("rep campaigns", _rep_campaigns_query, uses_now=False)
    return list(Campaign.objects.raw(statement.sql, statement.bind(rep.pk)))


def _candidates(campaign: Campaign, now: datetime):
    leads = Lead.objects.filter(
        campaign=campaign,
        status=Lead.Status.QUEUED,
        due_at__lte=now,
        disabled_at__isnull=True,
        erased_at__isnull=True,
    ).filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
    leads = leads.order_by(*QUEUE_ORDER)
    if connection.features.has_select_for_update_skip_locked:
        leads = leads.select_for_update(skip_locked=True, of=("self",))
    return leads


def _queue_key(lead: Lead) -> tuple:
    return (lead.queue_class, -lead.priority, lead.due_at, lead.id)


def _holding(now: datetime) -> Q:
    """Leads still held at `now`: an unexpired lease on a lead still waiting to be worked."""
    return Q(lease_expires_at__gt=now, status=Lead.Status.QUEUED)


def lead_held_by(*, rep: User, now: datetime | None = None) -> Lead | None:
    """The lead the rep currently holds (unexpired lease), if any."""
    now = now or timezone.now()
    return Lead.objects.select_related("campaign").filter(_holding(now), leased_by=rep).first()


def _held_query():
    held = Lead.objects.filter(_holding(SENTINEL_NOW), leased_by=OuterRef("pk")).values("pk")[:1]
    return (
        User.objects.select_for_update(of=("self",))
        .filter(pk=SENTINEL_PK)
        .annotate(held=Subquery(held))
        .values_list("held", flat=True)[:1]
    )


def _head_query():
    return _candidates(Campaign(pk=SENTINEL_PK), SENTINEL_NOW).values("pk")[:1]


def _lock_rep_and_find_held(rep: User, now: datetime) -> int | None:
    """Lock the rep's row and return the pk of the lead they hold, in one statement.

    One claim at a time per rep (a double click must not leave them holding two leads): the
    rep's row lock orders them, then the second sees the first's lease.
    """
    statement = precompiled("held", _held_query)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(rep.pk, now))
        row = cursor.fetchone()
    return row[0] if row else None


def _lease_head(campaign: Campaign, rep: User, now: datetime) -> Lead | None:
    """Lease the head of one campaign's queue in a single UPDATE ... RETURNING.

    The candidate subquery is `_candidates` itself (FOR UPDATE SKIP LOCKED on PostgreSQL), so
    concurrent claims skip each other's rows exactly as the two-statement form did, with one
    round trip fewer while the rep's row is locked (that lock time is what claims queue on).
    """
    head = precompiled("head", _head_query)
    table = connection.ops.quote_name(Lead._meta.db_table)
    expires = now + timedelta(minutes=campaign.lease_minutes)
    # raw(): Django's field converters still turn the returned row into a proper Lead.
    rows = list(
        Lead.objects.raw(
            f"UPDATE {table} SET leased_by_id = %s, lease_expires_at = %s "  # noqa: S608
            f"WHERE id = ({head.sql}) RETURNING *",
            [
                rep.pk,
                db_datetime(expires),
                *head.bind(campaign.pk, now),
            ],
        )
    )
    if not rows:
        return None
    lead = rows[0]
    lead.campaign = campaign  # already loaded: no query inside the lock
    return lead


def lead_claim(
    *, rep: User, now: datetime | None = None, ignore_window: bool = False
) -> Lead | None:
    """Lease the most due lead of the rep's active campaigns (callbacks, retries, then new)."""
    now = now or timezone.now()
    campaigns = [c for c in _rep_campaigns(rep) if ignore_window or window_open(c, now)]
    with transaction.atomic():
        held_pk = _lock_rep_and_find_held(rep, now)
        if held_pk is not None:
            return Lead.objects.select_related("campaign").get(pk=held_pk)
        if len(campaigns) == 1:
            # The usual case: one statement finds, locks and leases the head of the queue.
            return _lease_head(campaigns[0], rep, now)
        best: Lead | None = None
        for campaign in campaigns:
            candidate = _candidates(campaign, now).first()
            if candidate is not None and (best is None or _queue_key(candidate) < _queue_key(best)):
                candidate.campaign = campaign  # already loaded: no query inside the lock
                best = candidate
        if best is None:
            return None
        best.leased_by = rep
        best.lease_expires_at = now + timedelta(minutes=best.campaign.lease_minutes)
        best.save(update_fields=["leased_by", "lease_expires_at"])
    return best


def _held_lead_for_update(rep: User, lead_pk: int, now: datetime) -> Lead:
    lead = Lead.objects.select_for_update().select_related("campaign").filter(pk=lead_pk).first()
    if lead is None or lead.erased_at is not None:
        raise LeadUnavailable("This lead was erased; nothing more can be done with it.")
    if lead.disabled_at is not None:
        raise LeadUnavailable("This lead was disabled by the client; do not call it.")
    if lead.status != Lead.Status.QUEUED:
        raise LeadUnavailable("This lead is already processed.")
    if lead.leased_by_id != rep.pk or (lead.lease_expires_at or now) <= now:
        raise LeadUnavailable("Your hold on this lead expired; take the next lead.")
    return lead


def call_place(*, rep: User, lead_pk: int, now: datetime | None = None) -> CallAttempt:
    """Bridge the rep's phone and the lead's: the rep never sees or dials the number."""
    now = now or timezone.now()
    if not rep.phone_number:
        raise BadRequest("Your profile has no phone number to ring; ask an operator.")
    with transaction.atomic():
        lead = _held_lead_for_update(rep, lead_pk, now)
        if lead.attempts.filter(rep=rep, disposed_at__isnull=True, discarded=False).exists():
            raise Conflict("Record the outcome of the current call first.")
        provider = get_provider()
        attempt = CallAttempt.objects.create(
            lead=lead, campaign=lead.campaign, rep=rep, provider=provider.name, started_at=now
        )
        lead.attempts_count += 1
        lead.latest_called_at = now
        # A call in progress keeps the lead: the lease restarts from the call.
        lead.lease_expires_at = now + timedelta(minutes=lead.campaign.lease_minutes)
        lead.save(update_fields=["attempts_count", "latest_called_at", "lease_expires_at"])
        lead_phone = lead.phone_number
    call_id = provider.place_call(
        reference=str(attempt.uuid), rep_phone=rep.phone_number, lead_phone=lead_phone
    )
    CallAttempt.objects.filter(pk=attempt.pk).update(provider_call_id=call_id)
    attempt.provider_call_id = call_id
    return attempt


def call_refresh(*, attempt: CallAttempt, now: datetime | None = None) -> CallAttempt:
    """Bring the attempt up to date with the provider; store the recording once it ends."""
    now = now or timezone.now()
    if attempt.telephony_status in CallAttempt.FINISHED or not attempt.provider_call_id:
        return attempt
    provider = get_provider()
    state = provider.call_state(
        call_id=attempt.provider_call_id, placed_at=attempt.started_at, now=now
    )
    return call_event_record(
        attempt=attempt,
        status=state.status,
        answered_at=state.answered_at,
        ended_at=state.ended_at,
        duration_seconds=state.duration_seconds,
        now=now,
    )


def call_event_record(
    *,
    attempt: CallAttempt,
    status: str,
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
    duration_seconds: int | None = None,
    now: datetime | None = None,
) -> CallAttempt:
    """Record a telephony status event (polled, or pushed by a provider's callback)."""
    now = now or timezone.now()
    if status not in CallAttempt.TelephonyStatus.values:
        raise BadRequest(f"Unknown call status {status!r}.")
    audio = None
    if status == CallAttempt.TelephonyStatus.COMPLETED and not attempt.recording:
        # Fetched before the transaction: provider I/O never holds database locks.
        audio = get_provider().fetch_recording(call_id=attempt.provider_call_id)
    path = ""
    with transaction.atomic():
        fresh = CallAttempt.objects.select_for_update().select_related("lead").get(pk=attempt.pk)
        if fresh.telephony_status in CallAttempt.FINISHED:
            return fresh
        fresh.telephony_status = status
        fresh.answered_at = answered_at or fresh.answered_at
        fresh.ended_at = ended_at or fresh.ended_at
        fresh.duration_seconds = duration_seconds
        if audio and fresh.lead.erased_at is None and not fresh.discarded:
            path = recordings.recording_store(
                attempt_uuid=str(fresh.uuid),
                campaign_public_id=fresh.lead.campaign.public_id,
                audio=audio,
            )
            fresh.recording = path
        fresh.save()
        if status not in CallAttempt.FINISHED:
            # A live call keeps its lead: otherwise a call longer than the lease would let
            # another rep claim the lead mid-conversation.
            Lead.objects.filter(pk=fresh.lead_id, leased_by_id=fresh.rep_id).update(
                lease_expires_at=now + timedelta(minutes=fresh.lead.campaign.lease_minutes)
            )
    return fresh


def _outcome(campaign: Campaign, label: str) -> Outcome:
    outcome = campaign.outcomes.filter(label=label).first()
    if outcome is None:
        raise BadRequest("Pick one of the campaign's outcomes.", extra={"field": "outcome"})
    return outcome


def _retry_delay(campaign: Campaign, attempts_made: int) -> timedelta:
    delays = campaign.retry_delays_minutes or [0]
    return timedelta(minutes=delays[min(attempts_made - 1, len(delays) - 1)])


def _responses(lead: Lead) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for answers in (
        lead.attempts.filter(disposed_at__isnull=False, discarded=False)
        .order_by("started_at", "pk")
        .values_list("answers", flat=True)
    ):
        merged.update(answers or {})
    return merged


# What a disposition may change; saving only these keeps the UPDATEs small (no phone number,
# custom fields or other columns re-sent on every call).
DISPOSED_FIELDS = ["outcome", "connected", "answers", "callback_at", "disposed_at"]
LEAD_DISPOSITION_FIELDS = [
    "latest_recording",
    "latest_called_at",
    "leased_by",
    "lease_expires_at",
    "queue_class",
    "due_at",
    "status",
    "processed_at",
    "lead_outcome",
    "lead_responses",
    "updated_at",
]


def _release(lead: Lead) -> None:
    lead.leased_by = None
    lead.lease_expires_at = None


def disposition_submit(
    *,
    rep: User,
    attempt_uuid: str,
    outcome_label: str,
    answers: dict[str, Any],
    callback_at: datetime | None = None,
    now: datetime | None = None,
    skip_delays: bool = False,
) -> DispositionResult:
    """Record the call's outcome and answers; then retry, book the callback or process."""
    now = now or timezone.now()
    attempt = (
        CallAttempt.objects.select_related("campaign").filter(uuid=attempt_uuid, rep=rep).first()
    )
    if attempt is None:
        raise NotFound("No such call of yours.")
    if attempt.disposed_at is not None or attempt.discarded:
        raise Conflict("This call's outcome was already recorded.")
    campaign = attempt.campaign
    outcome = _outcome(campaign, outcome_label)
    try:
        cleaned = answers_clean(
            list(campaign.questions.all()), answers or {}, connected=outcome.connected
        )
    except AnswerError as exc:
        raise BadRequest("Some answers need fixing.", extra={"errors": exc.errors}) from None
    if not outcome.connected:
        cleaned = {}  # nobody was on the line to answer
    if outcome.effect == Outcome.Effect.CALLBACK and (callback_at is None or callback_at <= now):
        raise BadRequest("Pick a callback time in the future.", extra={"field": "callback_at"})

    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=attempt.lead_id)
        attempt = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.disposed_at is not None or attempt.discarded:
            # The same form submitted twice at once: the first one won the lock.
            raise Conflict("This call's outcome was already recorded.")
        if lead.erased_at is not None:
            # Erased mid-call: whatever was captured is discarded.
            attempt.discarded = True
            attempt.answers = {}
            attempt.save(update_fields=["discarded", "answers"])
            return DispositionResult("discarded", lead, attempt)
        attempt.outcome = outcome.label
        attempt.connected = outcome.connected
        attempt.answers = cleaned
        attempt.callback_at = callback_at if outcome.effect == Outcome.Effect.CALLBACK else None
        attempt.disposed_at = now
        attempt.save(update_fields=DISPOSED_FIELDS)
        if attempt.recording:
            lead.latest_recording = str(attempt.uuid)
        lead.latest_called_at = attempt.started_at
        held_by_other = lead.leased_by_id not in (None, rep.pk) and (
            lead.lease_expires_at is not None and lead.lease_expires_at > now
        )
        if lead.disabled_at is not None or lead.status != Lead.Status.QUEUED or held_by_other:
            # Disabled mid-call, already processed, or re-leased to another rep after this
            # rep's hold ran out: keep the record, change nothing else.
            if lead.leased_by_id == rep.pk:
                _release(lead)
            lead.save(update_fields=LEAD_DISPOSITION_FIELDS)
            return DispositionResult("stopped", lead, attempt)
        state = _apply_outcome(lead, outcome, attempt, now, skip_delays)
        lead.updated_at = now
        lead.save(update_fields=LEAD_DISPOSITION_FIELDS)
        if state == "processed":
            lead_hooks.lead_event(
                lead=lead,
                type=lead_hooks.LEAD_PROCESSED,
                payload=lead_result(lead=lead, campaign=lead.campaign),
            )
    return DispositionResult(state, lead, attempt)


def _apply_outcome(
    lead: Lead, outcome: Outcome, attempt: CallAttempt, now: datetime, skip_delays: bool
) -> str:
    campaign = lead.campaign
    _release(lead)
    if outcome.effect == Outcome.Effect.CALLBACK:
        if lead.attempts_count < campaign.max_attempts + CALLBACKS_BEYOND_MAX_ATTEMPTS:
            lead.queue_class = Lead.QueueClass.CALLBACK
            lead.due_at = now if skip_delays else attempt.callback_at
            return "callback"
    elif outcome.effect == Outcome.Effect.RETRY and lead.attempts_count < campaign.max_attempts:
        lead.queue_class = Lead.QueueClass.RETRY
        lead.due_at = now if skip_delays else now + _retry_delay(campaign, lead.attempts_count)
        return "retry"
    # Final outcome, or attempts (callbacks) ran out: processed with this outcome.
    lead.status = Lead.Status.PROCESSED
    lead.processed_at = now
    lead.lead_outcome = outcome.label
    lead.lead_responses = _responses(lead)
    return "processed"


def leases_expire(*, now: datetime | None = None) -> int:
    """Clear expired leases (the claim query ignores them anyway; this keeps views honest)."""
    now = now or timezone.now()
    return Lead.objects.filter(lease_expires_at__lte=now, status=Lead.Status.QUEUED).update(
        leased_by=None, lease_expires_at=None
    )


def calls_erase_for_lead(lead: Lead) -> None:
    """Erasure hook: the lead's answers and recordings go (files once the erasure commits)."""
    attempts = CallAttempt.objects.filter(lead=lead)
    files = [path for path in attempts.values_list("recording", flat=True) if path]
    attempts.update(answers={}, recording="", provider_call_id="")
    transaction.on_commit(lambda: [recordings.recording_delete(path) for path in files])
