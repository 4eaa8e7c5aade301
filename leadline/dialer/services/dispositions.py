"""The call's outcome: recorded with its answers, then the lead is retried, called back or
processed (the `lead.processed` event goes out through `leads.hooks`)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome
from leadline.campaigns.rules import AnswerError, answers_clean
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.core.errors import BadRequest, Conflict, NotFound
from leadline.leads import counts as lead_counts
from leadline.leads import hooks as lead_hooks
from leadline.leads.models import Lead
from leadline.leads.results import lead_result
from leadline.leads.suppression_effects import leads_withdraw_suppressed

from .. import reports
from ..models import CallAttempt
from . import states
from .reservations import reserved_until

# A rep may keep booking callbacks for a lead, but not forever.
CALLBACKS_BEYOND_MAX_ATTEMPTS = 2

# What a disposition may change; saving only these keeps the UPDATEs small (no phone number,
# custom fields or other columns re-sent on every call).
DISPOSED_FIELDS = [
    "outcome",
    "connected",
    "answers",
    "callback_at",
    "callback_owner",
    "disposed_at",
]
LEAD_DISPOSITION_FIELDS = [
    "latest_recording",
    "latest_called_at",
    "leased_by",
    "lease_expires_at",
    "reserved_for",
    "reserved_until",
    "queue_class",
    "due_at",
    "status",
    "processed_at",
    "lead_outcome",
    "lead_responses",
    "updated_at",
]
ALREADY_RECORDED = "This call's outcome was already recorded."
CALLBACK_ANYONE = "anyone"
CALLBACK_ME = "me"
DO_NOT_CALL_REASON = "Asked not to be called (rep outcome)"


@dataclass(frozen=True)
class DispositionResult:
    state: str  # "processed", "retry", "callback", "stopped" or "discarded"
    lead: Lead
    attempt: CallAttempt


def _campaign_outcome(campaign: Campaign, label: str) -> Outcome:
    outcome = campaign.outcomes.filter(label=label).first()
    if outcome is None:
        raise BadRequest("Pick one of the campaign's outcomes.", extra={"field": "outcome"})
    return outcome


def _retry_delay(campaign: Campaign, attempts_made: int) -> timedelta:
    delays = campaign.retry_delays_minutes or [0]
    return timedelta(minutes=delays[min(attempts_made - 1, len(delays) - 1)])


def _merged_answers(lead: Lead) -> dict[str, Any]:
    """Every recorded call's answers, later calls overriding earlier ones."""
    merged: dict[str, Any] = {}
    for answers in (
        lead.attempts.filter(disposed_at__isnull=False, discarded=False)
        .order_by("started_at", "pk")
        .values_list("answers", flat=True)
    ):
        merged.update(answers or {})
    return merged


def _lease_release(lead: Lead) -> None:
    lead.leased_by = None
    lead.lease_expires_at = None


def _undisposed_attempt(rep: User, attempt_uuid: str) -> CallAttempt:
    attempt = (
        CallAttempt.objects.select_related("campaign").filter(uuid=attempt_uuid, rep=rep).first()
    )
    if attempt is None:
        raise NotFound("No such call of yours.")
    if attempt.disposed_at is not None or attempt.discarded:
        raise Conflict(ALREADY_RECORDED)
    return attempt


def _answers_checked(
    campaign: Campaign, outcome: Outcome, answers: dict[str, Any]
) -> dict[str, Any]:
    # Someone who asks not to be called again answers no script: required questions bind
    # other connected calls only (answers given are still kept).
    binding = outcome.connected and not outcome.do_not_call
    try:
        cleaned = answers_clean(list(campaign.questions.all()), answers or {}, connected=binding)
    except AnswerError as exc:
        raise BadRequest("Some answers need fixing.", extra={"errors": exc.errors}) from None
    # Nobody was on the line to answer.
    return cleaned if outcome.connected else {}


def _callback_time_check(outcome: Outcome, callback_at: datetime | None, now: datetime) -> None:
    if outcome.effect == Outcome.Effect.CALLBACK and (callback_at is None or callback_at <= now):
        raise BadRequest("Pick a callback time in the future.", extra={"field": "callback_at"})


def _lock_lead_and_attempt(attempt: CallAttempt) -> tuple[Lead, CallAttempt]:
    # The lead's row only, not the campaign's (see calls._held_lead_for_update).
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .get(pk=attempt.lead_id)
    )
    attempt = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.disposed_at is not None or attempt.discarded:
        # The same form submitted twice at once: the first one won the lock.
        raise Conflict(ALREADY_RECORDED)
    return lead, attempt


def _attempt_discard(attempt: CallAttempt) -> None:
    attempt.discarded = True
    attempt.answers = {}
    attempt.save(update_fields=["discarded", "answers"])


def _attempt_dispose(
    attempt: CallAttempt,
    outcome: Outcome,
    answers: dict[str, Any],
    callback_at: datetime | None,
    now: datetime,
) -> None:
    attempt.outcome = outcome.label
    attempt.connected = outcome.connected
    attempt.answers = answers
    attempt.callback_at = callback_at if outcome.effect == Outcome.Effect.CALLBACK else None
    if attempt.callback_at is None:
        attempt.callback_owner = None
    attempt.disposed_at = now
    attempt.save(update_fields=DISPOSED_FIELDS)


def _lead_out_of_reach(lead: Lead, rep: User, now: datetime) -> bool:
    """Disabled mid-call, already processed, or re-leased to another rep after this rep's
    hold ran out: the call's record stays, the lead's course does not change."""
    held_by_other = lead.leased_by_id not in (None, rep.pk) and (
        lead.lease_expires_at is not None and lead.lease_expires_at > now
    )
    return lead.disabled_at is not None or lead.status != Lead.Status.QUEUED or held_by_other


def disposition_submit(
    *,
    rep: User,
    attempt_uuid: str,
    outcome_label: str,
    answers: dict[str, Any],
    callback_at: datetime | None = None,
    now: datetime | None = None,
    skip_delays: bool = False,
    callback_for: str = CALLBACK_ANYONE,
) -> DispositionResult:
    """Record the call's outcome and answers; then retry, book the callback or process.

    `callback_for` "me" books a personal callback: the lead is reserved for this rep, who
    gets it when due; if they are offline, any rep may take it after the campaign's grace
    time (see reservations)."""
    now = now or timezone.now()
    if callback_for not in (CALLBACK_ANYONE, CALLBACK_ME):
        raise BadRequest("A callback is for “me” or “anyone”.", extra={"field": "callback_for"})
    attempt = _undisposed_attempt(rep, attempt_uuid)
    outcome = _campaign_outcome(attempt.campaign, outcome_label)
    cleaned = _answers_checked(attempt.campaign, outcome, answers)
    _callback_time_check(outcome, callback_at, now)

    with transaction.atomic():
        lead, attempt = _lock_lead_and_attempt(attempt)
        counted_before = lead_counts.counted(lead)
        attempt.callback_owner = rep if callback_for == CALLBACK_ME else None
        if lead.erased_at is not None:
            # Erased mid-call: whatever was captured is discarded.
            _attempt_discard(attempt)
            return DispositionResult("discarded", lead, attempt)
        _attempt_dispose(attempt, outcome, cleaned, callback_at, now)
        listed = _do_not_call_record(lead, outcome)
        if attempt.recording or attempt.recording_status == CallAttempt.RecordingStatus.PENDING:
            # A real provider's recording may still be on its way: the signed URL answers a
            # 404 saying so until the worker has stored it.
            lead.latest_recording = str(attempt.uuid)
        lead.latest_called_at = attempt.started_at
        if _lead_out_of_reach(lead, rep, now):
            if lead.leased_by_id == rep.pk:
                _lease_release(lead)
            lead.save(update_fields=LEAD_DISPOSITION_FIELDS)
            state = "stopped"
        else:
            state = _apply_outcome(lead, outcome, attempt, now, skip_delays)
            lead.updated_at = now
            lead.save(update_fields=LEAD_DISPOSITION_FIELDS)
        # The campaign's counts change with the lead, in this transaction.
        lead_counts.counts_lead_changed(lead=lead, before=counted_before)
        reports.report_call_disposed(attempt=attempt, lead=lead, processed=state == "processed")
        if state == "processed":
            lead_hooks.lead_event(
                lead=lead,
                type=lead_hooks.LEAD_PROCESSED,
                payload=lead_result(lead=lead, campaign=lead.campaign),
            )
    _withdraw_others(lead, listed)
    # After the commit, as every state change (see states: no lead row is locked meanwhile).
    states.rep_call_disposed(rep_id=rep.pk, now=now)
    return DispositionResult(state, lead, attempt)


def _do_not_call_record(lead: Lead, outcome: Outcome) -> SuppressionItem | None:
    """A do-not-call outcome puts the number on the business-wide list, in the disposition's
    transaction: the request is kept even when the lead itself is out of reach (disabled or
    processed meanwhile), since the person asked. The entry holds the number's hash only."""
    if not outcome.do_not_call or not lead.phone_number:
        return None
    item = SuppressionItem(phone=lead.phone_number, reason=DO_NOT_CALL_REASON)
    campaign = lead.campaign
    suppressions_add(business=campaign.business, items=[item], source=Suppression.Source.REP)
    return item


def _withdraw_others(lead: Lead, listed: SuppressionItem | None) -> None:
    """After commit, the business's other queued leads with the number are processed without
    a call. Outside the disposition's transaction, so no other lead is locked while this one
    is; if this fails, the claim still refuses them at dial time (it asks the list)."""
    if listed is not None:
        leads_withdraw_suppressed(business=lead.campaign.business, items=[listed])


def _apply_outcome(
    lead: Lead, outcome: Outcome, attempt: CallAttempt, now: datetime, skip_delays: bool
) -> str:
    campaign = lead.campaign
    _lease_release(lead)
    # Whatever the outcome, a reservation served its purpose (a new one may follow).
    lead.reserved_for = None
    lead.reserved_until = None
    effect = Outcome.Effect.FINAL if outcome.do_not_call else outcome.effect
    if effect == Outcome.Effect.CALLBACK:
        if lead.attempts_count < campaign.max_attempts + CALLBACKS_BEYOND_MAX_ATTEMPTS:
            lead.queue_class = Lead.QueueClass.CALLBACK
            due = now if skip_delays else attempt.callback_at
            assert due is not None  # a callback outcome always books a time
            lead.due_at = due
            if attempt.callback_owner_id is not None:
                # Personal: reserved, not leased (nobody holds it until it is due; the
                # dashboard shows a scheduled callback). Their own claim gets it once due.
                lead.reserved_for_id = attempt.callback_owner_id
                lead.reserved_until = reserved_until(
                    rep_id=attempt.callback_owner_id,
                    due=due,
                    grace_minutes=campaign.callback_grace_minutes,
                )
            return "callback"
    elif effect == Outcome.Effect.RETRY and lead.attempts_count < campaign.max_attempts:
        lead.queue_class = Lead.QueueClass.RETRY
        lead.due_at = now if skip_delays else now + _retry_delay(campaign, lead.attempts_count)
        return "retry"
    # Final outcome, a do-not-call request (whatever effect an operator gave it: the number is
    # on the list now, so a retry could never be dialled), or attempts (callbacks) ran out:
    # processed with this outcome.
    lead.status = Lead.Status.PROCESSED
    lead.processed_at = now
    lead.lead_outcome = outcome.label
    lead.lead_responses = _merged_answers(lead)
    return "processed"
