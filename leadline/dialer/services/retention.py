"""Recording retention: calls older than their business's setting lose their recording."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leadline.accounts.selectors import retention_cutoffs
from leadline.core import recordings
from leadline.leads.models import Lead

from ..models import CallAttempt

# Recordings one run deletes at most: a short transaction, a bounded run.
RETENTION_BATCH = 1000


def _recordings_purge(ids: list[int], cutoff: datetime) -> int:
    with transaction.atomic():
        # Locked and read again: the file deleted is the one whose path this clears.
        attempts = list(
            CallAttempt.objects.select_for_update()
            .filter(pk__in=ids, started_at__lt=cutoff)
            .exclude(recording="")
            .values_list("pk", "uuid", "lead_id", "recording")
        )
        if not attempts:
            return 0
        CallAttempt.objects.filter(pk__in=[pk for pk, *_ in attempts]).update(recording="")
        # A lead's latest_recording names the attempt (leads.results signs a URL from it):
        # cleared, the lead's latest_recording_url reads null instead of a URL that 404s.
        Lead.objects.filter(
            pk__in={lead_id for _, _, lead_id, _ in attempts},
            latest_recording__in=[str(uuid) for _, uuid, _, _ in attempts],
        ).update(latest_recording=None)
        files = [path for *_, path in attempts]

        def delete_files() -> None:
            # After commit, as erasure does: a rollback must not leave rows naming lost files.
            for path in files:
                recordings.recording_delete(path)

        transaction.on_commit(delete_files)
    return len(attempts)


def recordings_purge(*, now: datetime | None = None, limit: int = RETENTION_BATCH) -> int:
    """Retention: delete the recordings of calls (by `started_at`) older than the business's
    `recording_retention_days`, files after commit. Returns how many (at most `limit`)."""
    now = now or timezone.now()
    purged = 0
    for cutoff, business_ids in retention_cutoffs(field="recording_retention_days", now=now):
        due = CallAttempt.objects.filter(
            campaign__business_id__in=business_ids, started_at__lt=cutoff
        ).exclude(recording="")
        # Unordered (CallAttempt sorts newest first): any due rows will do, read through
        # attempt_recording_kept_idx.
        ids = list(due.order_by().values_list("pk", flat=True)[: limit - purged])
        if ids:
            purged += _recordings_purge(ids, cutoff)
        if purged >= limit:
            break
    return purged
