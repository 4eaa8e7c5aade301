"""The bridged call: placed on a held lead, followed through the provider, recorded."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from leadline.accounts.models import User
from leadline.core import recordings
from leadline.core.errors import BadRequest, Conflict
from leadline.leads.models import Lead

from ..availability import (
    NOT_YOURS,
    UNAVAILABLE_MESSAGES,
    LeadUnavailable,
    rep_leads,
    unavailable_kind,
)
from ..models import CallAttempt
from ..telephony import CallRequest, get_provider


def _held_lead_for_update(rep: User, lead_pk: int, now: datetime) -> Lead:
    lead = rep_leads(rep).select_for_update().select_related("campaign").filter(pk=lead_pk).first()
    if lead is None:
        # Another rep's or business's lead, or none: one answer for all, so a guessed id
        # tells nothing of whether that lead exists or was disabled, processed or erased.
        raise LeadUnavailable(NOT_YOURS)
    kind = unavailable_kind(rep=rep, lead=lead, now=now)
    if kind is not None:
        raise LeadUnavailable(UNAVAILABLE_MESSAGES[kind])
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
        assert lead_phone is not None  # only an erased lead's tombstone has no number
    call_id = provider.place_call(
        CallRequest(reference=str(attempt.uuid), rep_phone=rep.phone_number, lead_phone=lead_phone)
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
        fetched = get_provider().fetch_recording(call_id=attempt.provider_call_id, recording_ref="")
        audio = fetched.audio if fetched else None
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().select_related("lead").get(pk=attempt.pk)
        if locked.telephony_status in CallAttempt.FINISHED:
            return locked
        locked.telephony_status = status
        locked.answered_at = answered_at or locked.answered_at
        locked.ended_at = ended_at or locked.ended_at
        locked.duration_seconds = duration_seconds
        if audio and locked.lead.erased_at is None and not locked.discarded:
            locked.recording = recordings.recording_store(
                attempt_uuid=str(locked.uuid),
                campaign_public_id=locked.lead.campaign.public_id,
                audio=audio,
            )
        locked.save()
        if status not in CallAttempt.FINISHED:
            # A live call keeps its lead: otherwise a call longer than the lease would let
            # another rep claim the lead mid-conversation.
            Lead.objects.filter(pk=locked.lead_id, leased_by_id=locked.rep_id).update(
                lease_expires_at=now + timedelta(minutes=locked.lead.campaign.lease_minutes)
            )
    return locked


def calls_erase_for_lead(lead: Lead) -> None:
    """Erasure hook: the lead's answers and recordings go (files once the erasure commits)."""
    attempts = CallAttempt.objects.filter(lead=lead)
    files = [path for path in attempts.values_list("recording", flat=True) if path]
    attempts.update(answers={}, recording="", provider_call_id="")

    def delete_files() -> None:
        for path in files:
            recordings.recording_delete(path)

    transaction.on_commit(delete_files)
