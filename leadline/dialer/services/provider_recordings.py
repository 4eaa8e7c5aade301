"""Recordings made by a real provider: fetched into our storage by the worker, then deleted at
the provider, so a lead's audio lives in one place that erasure and retention reach.

Providers publish a recording minutes after the call, and sometimes not at all: each attempt
is tried again with a growing delay (15 s doubling, at most 10 minutes apart) until
`LEADLINE_RECORDING_FETCH_GIVE_UP_SECONDS` after the call, then given up with the reason kept
on the attempt (`recording_error`), which the dashboard and the recording URL show.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadline.core import recordings
from leadline.leads.models import Lead

from ..models import CallAttempt
from ..telephony import ProviderError, Recording, RecordingNotReady
from .calls import attempt_provider

logger = logging.getLogger(__name__)

Pending = CallAttempt.RecordingStatus
FIRST_RETRY_SECONDS = 15
MAX_RETRY_SECONDS = 600
NOT_PUBLISHED = "The provider did not publish the recording in time."


def _retry_delay(tries: int) -> timedelta:
    return timedelta(seconds=min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, tries - 1)))


def _store(attempt: CallAttempt, audio: Recording) -> bool:
    """Keep the audio unless the lead was erased (or the attempt discarded) meanwhile."""
    with transaction.atomic():
        locked = (
            CallAttempt.objects.select_for_update()
            .select_related("lead__campaign")
            .get(pk=attempt.pk)
        )
        if locked.recording_status != Pending.PENDING or locked.lead.erased_at is not None:
            return False
        locked.recording = recordings.recording_store(
            attempt_uuid=str(locked.uuid),
            campaign_public_id=locked.lead.campaign.public_id,
            audio=audio.audio,
            extension=audio.extension,
        )
        locked.recording_status = Pending.STORED
        locked.recording_error = ""
        locked.recording_next_at = None
        locked.save(
            update_fields=["recording", "recording_status", "recording_error", "recording_next_at"]
        )
    return True


def _none(attempt: CallAttempt) -> None:
    """The provider made no recording (the call was never bridged)."""
    CallAttempt.objects.filter(pk=attempt.pk, recording_status=Pending.PENDING).update(
        recording_status=Pending.NONE, recording_next_at=None, provider_copy=False
    )
    Lead.objects.filter(pk=attempt.lead_id, latest_recording=str(attempt.uuid)).update(
        latest_recording=None
    )


def _later(attempt: CallAttempt, now: datetime, why: str) -> None:
    tries = attempt.recording_tries + 1
    ended = attempt.ended_at or attempt.started_at
    give_up = now - ended >= timedelta(seconds=settings.LEADLINE_RECORDING_FETCH_GIVE_UP_SECONDS)
    CallAttempt.objects.filter(pk=attempt.pk, recording_status=Pending.PENDING).update(
        recording_tries=tries,
        recording_error=why[:300],
        recording_status=Pending.FAILED if give_up else Pending.PENDING,
        recording_next_at=None if give_up else now + _retry_delay(tries),
    )


def recordings_fetch(*, now: datetime | None = None, limit: int = 20) -> int:
    """Fetch due recordings from their providers. Returns how many attempts it worked on."""
    now = now or timezone.now()
    due = list(
        CallAttempt.objects.select_related("telephony_account")
        .filter(recording_status=Pending.PENDING, recording_next_at__lte=now)
        .order_by("recording_next_at")[:limit]
    )
    for attempt in due:
        try:
            provider = attempt_provider(attempt)
            audio = provider.fetch_recording(
                call_id=attempt.provider_call_id, recording_ref=attempt.recording_ref
            )
        except RecordingNotReady:
            _later(attempt, now, NOT_PUBLISHED)
            continue
        except ProviderError as exc:
            logger.warning("recording of call %s: %s", attempt.uuid, exc.kind)
            _later(attempt, now, exc.detail)
            continue
        if audio is None:
            _none(attempt)
        elif _store(attempt, audio):
            logger.info("recording of call %s stored (%d bytes)", attempt.uuid, len(audio.audio))
    return len(due)


def recordings_provider_delete(*, limit: int = 50) -> int:
    """Delete the provider's copy of recordings we hold (or whose lead was erased). Where the
    provider offers no deletion (Exotel) the copy is left to the provider's own retention,
    as docs/operations.md says. Returns how many copies it dealt with."""
    copies = list(
        CallAttempt.objects.select_related("telephony_account", "lead")
        .filter(provider_copy=True)
        .exclude(telephony_status__in=CallAttempt.LIVE)
        .filter(recording_status__in=[Pending.STORED, Pending.NONE])
        .order_by("pk")[:limit]
    )
    for attempt in copies:
        try:
            provider = attempt_provider(attempt)
            provider.delete_recording(
                call_id=attempt.provider_call_id, recording_ref=attempt.recording_ref
            )
        except ProviderError as exc:
            logger.warning("provider copy of call %s not deleted: %s", attempt.uuid, exc.kind)
            continue
        erased = attempt.lead.erased_at is not None
        CallAttempt.objects.filter(pk=attempt.pk).update(
            provider_copy=False,
            **({"provider_call_id": "", "recording_ref": ""} if erased else {}),
        )
    return len(copies)
