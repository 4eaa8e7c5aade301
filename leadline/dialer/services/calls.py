"""The bridged call: placed on a held lead, followed through the provider, recorded.

Progress reaches an attempt three ways, all through `call_event_record`:
- polled (`call_refresh`): the simulator, whose state costs no I/O, on every console poll;
- pushed (`call_callback_receive`): a real provider's status callback, verified (Twilio signs
  them) or confirmed by reading the call back from the provider (Exotel does not sign);
- reconciled (`calls_reconcile`, a worker loop): providers drop callbacks, so a call with no
  final status after a few minutes is read back from the provider.
Events may arrive twice or out of order: a status never moves backwards and a finished call
never changes again, so every path is safe to repeat.

Provider I/O never happens inside a database transaction (a slow provider must not hold
locks), and the lead's number goes from the database to `place_call` and nowhere else.
"""

import hashlib
import logging
import secrets
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadline.accounts import audit, ratelimit
from leadline.accounts.models import User
from leadline.campaigns.models import TelephonyAccount
from leadline.compliance.services import (
    number_call_count,
    number_call_lock,
    number_call_uncount,
)
from leadline.core import metrics, recordings
from leadline.core.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from leadline.leads.hooks import ErasureOutcome
from leadline.leads.models import Lead

from .. import reports
from ..availability import (
    NOT_YOURS,
    UNAVAILABLE_MESSAGES,
    LeadUnavailable,
    rep_leads,
    unavailable_kind,
)
from ..models import CallAttempt
from ..telephony import (
    CallbackEvent,
    CallbackRejected,
    CallRequest,
    CallState,
    Provider,
    ProviderError,
)
from ..telephony import provider_for as _provider_for
from ..telephony.accounts import line_for_account, line_for_campaign
from . import states
from .claims import lead_dial_allowed, lead_dial_check

logger = logging.getLogger(__name__)

Status = CallAttempt.TelephonyStatus
# A status only moves forward: a late "ringing" after "answered" changes nothing.
_RANK = {
    Status.INITIATED: 0,
    Status.RINGING: 1,
    Status.ANSWERED: 2,
    Status.COMPLETED: 3,
    Status.BUSY: 3,
    Status.NO_ANSWER: 3,
    Status.FAILED: 3,
}
NOT_PLACED = "The call could not be placed; try again."


def callback_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_url(token: str) -> str:
    return f"{settings.LEADLINE_PUBLIC_URL}/telephony/callbacks/{token}/"


def attempt_provider(attempt: CallAttempt) -> Provider:
    """The provider an attempt went through (its account's, or the default one)."""
    account = attempt.telephony_account
    return _provider_for(line_for_account(account) if account is not None else None)


def _call_audit(rep: User, lead: Lead, attempt: CallAttempt, now: datetime) -> dict[str, Any]:
    """The `call.placed` entry: which rep called which lead, never the number."""
    return {
        "actor": audit.actor_for_user(rep),
        "business": lead.campaign.business_id,
        "target": f"{lead.campaign.public_id} call #{attempt.pk}",
        "lead_ids": [lead.lead_id] if lead.lead_id else [],
        "at": now,
    }


def _held_lead_for_update(rep: User, lead_pk: int, now: datetime) -> Lead:
    # Only the lead's row (of=self): a join's rows are locked too by default, and the campaign's
    # row is what inserts and erasures of the whole campaign take, so calls would queue on them.
    lead = (
        rep_leads(rep)
        .select_for_update(of=("self",))
        .select_related("campaign")
        .filter(pk=lead_pk)
        .first()
    )
    if lead is None:
        # Another rep's or business's lead, or none: one answer for all, so a guessed id
        # tells nothing of whether that lead exists or was disabled, processed or erased.
        raise LeadUnavailable(NOT_YOURS)
    kind = unavailable_kind(rep=rep, lead=lead, now=now)
    if kind is not None:
        raise LeadUnavailable(UNAVAILABLE_MESSAGES[kind])
    return lead


def _pace(account: TelephonyAccount | None) -> None:
    """Stay under the provider's per-account call rate (Exotel: 200 a minute) across every
    process, with the same shared limiter the API uses."""
    if account is None:
        return
    status = ratelimit.hit(
        key=f"telephony:{account.pk}",
        limit=settings.LEADLINE_TELEPHONY_CALLS_PER_MINUTE,
        policy="telephony",
    )
    if not status.allowed:
        raise RateLimited(
            f"Calls through this telephony account are paced; try again in "
            f"{status.reset_seconds} seconds.",
            headers={"Retry-After": str(status.reset_seconds)},
        )


def _provider_error(exc: ProviderError) -> ApiError:
    """What the rep sees when the provider refuses: its detail (written for them, no numbers)."""
    if exc.kind == ProviderError.RATE_LIMITED:
        retry = int(exc.retry_after or 60)
        return RateLimited(exc.detail, headers={"Retry-After": str(retry)})
    if exc.kind in (ProviderError.INVALID_NUMBER, ProviderError.REJECTED):
        return BadRequest(exc.detail)
    return ServiceUnavailable(exc.detail)


def _placement_failed(
    attempt: CallAttempt,
    lead_state: tuple[int, datetime | None],
    why: str,
    *,
    business_id: int,
    phone: str,
    previous_call: datetime | None,
) -> None:
    """No call happened: the attempt says why and needs no outcome; the lead keeps its count
    and its rep, who can press Call again, and the number's call caps do not count it."""
    attempts_count, latest_called_at = lead_state
    with transaction.atomic():
        # The lead's row first, then the number's counter: call_place's lock order.
        CallAttempt.objects.filter(pk=attempt.pk).update(
            telephony_status=Status.FAILED,
            failure=why[:300],
            discarded=True,
            callback_token_hash="",
        )
        Lead.objects.filter(pk=attempt.lead_id).update(
            attempts_count=attempts_count, latest_called_at=latest_called_at
        )
        number_call_uncount(
            business_id=business_id, phone=phone, at=attempt.started_at, previous=previous_call
        )


class _NotAllowed(Exception):
    """Compliance refused the call inside call_place's transaction (nothing written yet)."""


def call_place(*, rep: User, lead_pk: int, now: datetime | None = None) -> CallAttempt:
    """Bridge the rep's phone and the lead's: the rep never sees or dials the number."""
    now = now or timezone.now()
    if not rep.phone_number:
        raise BadRequest("Your profile has no phone number to ring; ask an operator.")
    refused: Lead | None = None
    try:
        with transaction.atomic():
            lead = _held_lead_for_update(rep, lead_pk, now)
            if lead.attempts.filter(rep=rep, disposed_at__isnull=True, discarded=False).exists():
                raise Conflict("Record the outcome of the current call first.")
            campaign = lead.campaign
            assert lead.phone_number is not None  # only an erased lead's tombstone has none
            # The number's call counter is locked before compliance is asked, so reps calling
            # the same number from any campaign of the business decide and count one at a time
            # and a cap can never be overshot. Lock order: the lead, then the counter.
            counter = number_call_lock(business_id=campaign.business_id, phone=lead.phone_number)
            # Compliance again at dial time, under the lead's lock: a number suppressed (or
            # capped) since the claim is never rung. The window was checked by the claim: a
            # rep holding a lead may still call it (as before caps).
            if not lead_dial_allowed(lead=lead, now=now, window=False):
                refused = lead
                raise _NotAllowed
            try:
                line = line_for_campaign(campaign)  # undecryptable credentials raise here
            except ProviderError as exc:
                raise _provider_error(exc) from None
            provider = _provider_for(line)
            _pace(campaign.telephony_account)
            token = secrets.token_urlsafe(32)
            attempt = CallAttempt.objects.create(
                lead=lead,
                campaign=campaign,
                rep=rep,
                provider=provider.name,
                telephony_account=campaign.telephony_account,
                callback_token_hash=callback_token_hash(token),
                started_at=now,
            )
            before = (lead.attempts_count, lead.latest_called_at)
            lead.attempts_count += 1
            lead.latest_called_at = now
            # A call in progress keeps the lead: the lease restarts from the call.
            lead.lease_expires_at = now + timedelta(minutes=campaign.lease_minutes)
            lead.wait_reason = ""  # nothing holds it back any more
            lead.save(
                update_fields=[
                    "attempts_count",
                    "latest_called_at",
                    "lease_expires_at",
                    "wait_reason",
                ]
            )
            previous_call = number_call_count(counter=counter, now=now)
            # In the attempt's transaction: the trail has the call exactly when the row does.
            audit.audit_record(action="call.placed", **_call_audit(rep, lead, attempt, now))
            lead_phone = lead.phone_number
            assert lead_phone is not None  # only an erased lead's tombstone has no number
    except _NotAllowed:
        assert refused is not None
        # Withdraws or holds it, as a claim would (the window aside, as above).
        lead_dial_check(lead=refused, now=now, window=False)
        raise Conflict("This lead may not be called now; take the next lead.") from None
    states.rep_call_started(rep_id=rep.pk, campaign_id=campaign.pk, now=now)
    request = CallRequest(
        reference=str(attempt.uuid),
        rep_phone=rep.phone_number,
        lead_phone=lead_phone,
        caller_id=line.caller_id if line is not None else "",
        callback_url=callback_url(token),
        ring_seconds=campaign.max_ring_seconds,
        max_call_seconds=campaign.max_call_seconds,
    )
    try:
        call_id = provider.place_call(request)
    except ProviderError as exc:
        logger.warning("call %s not placed by %s: %s", attempt.uuid, provider.name, exc.kind)
        metrics.CALLS.labels(provider.name, "not_placed").inc()
        _placement_failed(
            attempt,
            before,
            exc.detail,
            business_id=campaign.business_id,
            phone=lead_phone,
            previous_call=previous_call,
        )
        states.rep_call_not_placed(rep_id=rep.pk, now=now)
        raise _provider_error(exc) from None
    CallAttempt.objects.filter(pk=attempt.pk).update(provider_call_id=call_id, checked_at=now)
    metrics.CALLS.labels(provider.name, "placed").inc()
    attempt.provider_call_id = call_id
    attempt.checked_at = now
    return attempt


def call_refresh(
    *, attempt: CallAttempt, now: datetime | None = None, force: bool = False
) -> CallAttempt:
    """Bring the attempt up to date with the provider; store the recording once it ends.

    A provider that pushes its progress (callbacks) is only asked when `force`d (the
    reconcile loop): console polls then read the database, not the provider's API.
    """
    now = now or timezone.now()
    if attempt.telephony_status in CallAttempt.FINISHED or not attempt.provider_call_id:
        return attempt
    try:
        provider = attempt_provider(attempt)
        if provider.pushes_status and not force:
            return attempt
        state = provider.call_state(
            call_id=attempt.provider_call_id, placed_at=attempt.started_at, now=now
        )
    except ProviderError:
        if force:
            raise
        return attempt  # a page shows what we know; the reconcile loop asks again
    return call_event_record(attempt=attempt, state=state, now=now, provider=provider)


def call_event_record(
    *,
    attempt: CallAttempt,
    state: CallState | None = None,
    status: str | None = None,
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
    duration_seconds: int | None = None,
    now: datetime | None = None,
    provider: Provider | None = None,
) -> CallAttempt:
    """Record a telephony status event (polled, pushed by a callback, or reconciled)."""
    now = now or timezone.now()
    if state is None:
        if status is None:
            raise BadRequest("A call event needs a status.")
        state = CallState(status, answered_at, ended_at, duration_seconds)
    if state.status not in Status.values:
        raise BadRequest(f"Unknown call status {state.status!r}.")
    provider = provider or attempt_provider(attempt)
    finished = state.status in CallAttempt.FINISHED
    audio = None
    if provider.recording_inline and state.status == Status.COMPLETED and not attempt.recording:
        # Fetched before the transaction: provider I/O never holds database locks.
        audio = provider.fetch_recording(call_id=attempt.provider_call_id, recording_ref="")
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().select_related("lead").get(pk=attempt.pk)
        if locked.telephony_status in CallAttempt.FINISHED:
            _recording_ref_note(locked, state.recording_ref)
            return locked
        if _RANK[Status(state.status)] < _RANK[Status(locked.telephony_status)]:
            return locked  # out of order: an older event after a newer one
        lead = locked.lead
        gone = lead.erased_at is not None or locked.discarded
        locked.telephony_status = state.status
        locked.answered_at = state.answered_at or locked.answered_at
        if state.status == Status.ANSWERED and locked.answered_at is None:
            # Exotel does not say mid-call when the lead picked up: the event's time will do
            # until the final state brings the exact one.
            locked.answered_at = now
        locked.ended_at = state.ended_at or locked.ended_at
        if state.duration_seconds is not None or finished:
            locked.duration_seconds = state.duration_seconds
        locked.checked_at = now
        if state.detail and state.status == Status.FAILED:
            locked.failure = state.detail[:300]
        if state.recording_ref:
            locked.recording_ref = state.recording_ref[:500]
        if audio and not gone:
            locked.recording = recordings.recording_store(
                attempt_uuid=str(locked.uuid),
                campaign_public_id=lead.campaign.public_id,
                audio=audio.audio,
                extension=audio.extension,
            )
        elif state.status == Status.COMPLETED and not provider.recording_inline:
            # The provider records the conversation; the worker fetches it (it may take
            # minutes). An erased lead's audio is never fetched, only deleted at the provider.
            locked.provider_copy = True
            if not gone:
                locked.recording_status = CallAttempt.RecordingStatus.PENDING
                locked.recording_next_at = now
        if finished and lead.erased_at is not None and not locked.provider_copy:
            locked.provider_call_id = ""  # erased: nothing left to ask the provider about
        locked.save()
        if finished:
            _latest_recording_note(locked)
            reports.report_call_finished(attempt=locked)  # talk time, if disposed already
        else:
            # A live call keeps its lead: otherwise a call longer than the lease would let
            # another rep claim the lead mid-conversation.
            Lead.objects.filter(pk=locked.lead_id, leased_by_id=locked.rep_id).update(
                lease_expires_at=now + timedelta(minutes=lead.campaign.lease_minutes)
            )
    if finished:
        # Once per call: an attempt already finished returned above.
        metrics.CALLS.labels(provider.name, state.status).inc()
    if finished and locked.disposed_at is None and not locked.discarded:
        # After the commit: the rep's state row is never locked while a call row is.
        states.rep_call_ended(rep_id=locked.rep_id, now=now)
    return locked


def _recording_ref_note(locked: CallAttempt, ref: str) -> None:
    """A recording callback after the final status: remember where the audio is."""
    if ref and not locked.recording_ref:
        CallAttempt.objects.filter(pk=locked.pk).update(recording_ref=ref[:500])
        locked.recording_ref = ref[:500]


def _latest_recording_note(attempt: CallAttempt) -> None:
    """The outcome may be recorded before the call ends: once the recording is known, the
    lead's latest recording names it if this is still the lead's latest call."""
    has_audio = attempt.recording or attempt.recording_status == CallAttempt.RecordingStatus.PENDING
    if has_audio and attempt.disposed_at is not None:
        Lead.objects.filter(
            pk=attempt.lead_id, erased_at__isnull=True, latest_called_at__lte=attempt.started_at
        ).update(latest_recording=str(attempt.uuid))


def call_callback_receive(
    *,
    token: str,
    url: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
) -> CallAttempt:
    """A provider's status or recording callback for the attempt its URL's token names.

    Signed callbacks (Twilio) are verified and recorded as they say; unsigned ones (Exotel)
    are only a hint: the call is read back from the provider and that is what is recorded,
    so a forged callback can at most make us look. Raises NotFound, BadRequest/Forbidden
    (via CallbackRejected) or ServiceUnavailable; nothing changes on any of them.
    """
    now = now or timezone.now()
    attempt = (
        CallAttempt.objects.select_related("telephony_account", "lead")
        .filter(callback_token_hash=callback_token_hash(token))
        .exclude(callback_token_hash="")
        .first()
    )
    if attempt is None:
        raise NotFound("Unknown callback address.")
    try:
        provider = attempt_provider(attempt)
        event = provider.parse_callback(url=url, params=params, headers=headers, body=body)
    except ProviderError as exc:
        raise ServiceUnavailable(exc.detail) from None
    except CallbackRejected as exc:
        error = BadRequest(exc.detail)
        error.status = exc.status
        raise error from None
    if not attempt.provider_call_id or event.call_id != attempt.provider_call_id:
        raise BadRequest("The callback names another call.")
    state = event.state
    if not provider.signed_callbacks or state is None:
        if attempt.telephony_status in CallAttempt.FINISHED and attempt.recording_ref:
            return attempt  # already final: nothing the provider could add
        try:
            confirmed = provider.call_state(
                call_id=attempt.provider_call_id, placed_at=attempt.started_at, now=now
            )
        except ProviderError as exc:
            # The reconcile loop reads the call again later; the provider may retry too.
            raise ServiceUnavailable(exc.detail) from None
        claimed_final = state is not None and state.status in CallAttempt.FINISHED
        if claimed_final and confirmed.status not in CallAttempt.FINISHED:
            # A callback saying "ended" about a call the provider says is still live: forged,
            # or ahead of the provider's own records. Refused (Exotel retries a refused
            # callback); the reconcile loop catches up either way.
            raise Conflict("The callback disagrees with the provider's record of the call.")
        # What an unsigned callback says is never recorded, only what the provider confirms
        # (its recording URL included).
        state, event = confirmed, CallbackEvent(call_id=event.call_id)
    if event.recording_ref and not state.recording_ref:
        state = CallState(
            state.status,
            state.answered_at,
            state.ended_at,
            state.duration_seconds,
            event.recording_ref,
            state.detail,
        )
    return call_event_record(attempt=attempt, state=state, now=now, provider=provider)


def calls_reconcile(*, now: datetime | None = None, limit: int = 50) -> int:
    """Read back calls with no final status after a few minutes (dropped callbacks), and give
    up on placements that never got a call id. Returns how many calls it looked at."""
    now = now or timezone.now()
    after = timedelta(seconds=settings.LEADLINE_TELEPHONY_RECONCILE_AFTER_SECONDS)
    stale = list(
        CallAttempt.objects.select_related("telephony_account", "lead", "campaign")
        .filter(telephony_status__in=CallAttempt.LIVE, started_at__lte=now - after)
        .exclude(checked_at__gt=now - after / 2)
        .order_by("started_at")[:limit]
    )
    for attempt in stale:
        if not attempt.provider_call_id:
            # The placing request never returned (a crash, a killed worker): no call exists.
            CallAttempt.objects.filter(pk=attempt.pk, provider_call_id="").update(
                telephony_status=Status.FAILED, failure=NOT_PLACED, discarded=True, checked_at=now
            )
            continue
        try:
            call_refresh(attempt=attempt, now=now, force=True)
        except ProviderError as exc:
            logger.warning("call %s: provider not reachable: %s", attempt.uuid, exc.kind)
            CallAttempt.objects.filter(pk=attempt.pk).update(checked_at=now)
            give_up = attempt.started_at + timedelta(
                seconds=attempt.campaign.max_call_seconds + 2 * 3600
            )
            if now > give_up:
                CallAttempt.objects.filter(pk=attempt.pk).update(
                    telephony_status=Status.FAILED,
                    failure="The provider never reported how this call ended.",
                )
    return len(stale)


def calls_erase_for_lead(lead: Lead) -> ErasureOutcome:
    """Erasure hook: the lead's answers and recordings go (the files once the erasure commits,
    by the leads service that runs this hook).

    A provider's copy of a recording is deleted by the worker (`recordings_provider_delete`),
    which needs the call's ids until then; a call still live keeps its id so it can end.
    """
    attempts = CallAttempt.objects.filter(lead=lead)
    rows = list(attempts.values_list("answers", "recording", "provider_copy"))
    files = [path for _, path, _ in rows if path]
    attempts.update(answers={}, recording="", recording_status="", recording_error="")
    attempts.filter(provider_copy=False).exclude(telephony_status__in=CallAttempt.LIVE).update(
        provider_call_id="", recording_ref=""
    )
    return ErasureOutcome(
        counts={
            "attempt_answers": sum(1 for answers, _, _ in rows if answers),
            "recordings": len(files),
            "provider_recordings": sum(1 for _, _, copy in rows if copy),
        },
        files=files,
    )


def calls_erasure_pending(tombstone_pks: Collection[int]) -> set[int]:
    """Erasure check: leads with a provider's copy still to delete, or a call still live (its
    recording may yet appear at the provider)."""
    unfinished = CallAttempt.objects.filter(lead_id__in=tombstone_pks).filter(
        Q(provider_copy=True) | Q(telephony_status__in=CallAttempt.LIVE)
    )
    return set(unfinished.values_list("lead_id", flat=True))
