"""What the user (and the clock) do to an import: upload, decide, cancel, expire."""

# UploadedFile is generic only in django-stubs: its subscript must not be evaluated.
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from leadline.accounts.models import Business, User
from leadline.campaigns.models import Campaign
from leadline.core.errors import Conflict
from leadline.core.logs import current_request_id
from leadline.leads.models import LeadImport, LeadImportProblem

from .csvfile import check_upload_head
from .errors import ImportRejected, ImportTooLarge
from .selectors import imports_unfinished_count

logger = logging.getLogger("leadline.leads.imports")

Status = LeadImport.Status
ENDED_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELLED)


def import_start(
    *, business: Business, campaign: Campaign, user: User | None, upload: UploadedFile[bytes]
) -> LeadImport:
    """Store the upload and queue it for validation; ImportRejected/ImportTooLarge if hopeless."""
    assert campaign.business_id == business.pk
    limit = settings.LEADLINE_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImportTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB; split it.")
    if not upload.size:
        raise ImportRejected("The file is empty.")
    check_upload_head(upload)
    active = imports_unfinished_count(business=business)
    if active >= settings.LEADLINE_IMPORT_MAX_ACTIVE:
        raise ImportRejected(
            f"{active} imports are still in progress or waiting for a decision; finish or "
            "cancel one of them first."
        )
    lead_import = LeadImport(
        business=business,
        campaign=campaign,
        uploaded_by=user,
        original_name=(upload.name or "")[:255],
        size_bytes=upload.size,
        request_id=current_request_id(),
    )
    # The file is written first; if the row cannot be saved the file is removed again.
    lead_import.file.save("upload.csv", upload, save=False)
    try:
        lead_import.save()
    except BaseException:
        lead_import.file.delete(save=False)
        raise
    logger.info("lead import %s queued (%d bytes)", lead_import.pk, upload.size)
    return lead_import


def delete_file_on_commit(name: str | None) -> None:
    # Deleting before the commit could lose the file of an import whose transaction rolls back.
    if name:
        storage = LeadImport._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(name))


def import_proceed_with_valid_rows(*, lead_import: LeadImport) -> LeadImport:
    """The user's decision: import the rows without problems (in the background)."""
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != Status.NEEDS_DECISION:
            raise Conflict("This import is no longer waiting for a decision.")
        if locked.valid_rows == 0:
            raise Conflict("No row of this file is valid; there is nothing to import.")
        locked.status = Status.IMPORTING
        locked.valid_rows_only = True
        locked.request_id = current_request_id()
        locked.attempts = 0
        locked.lease_token = ""
        locked.lease_expires_at = None
        locked.save()
    return locked


def import_cancel(*, lead_import: LeadImport, reason: str = "") -> LeadImport:
    """Cancel an import that has imported nothing (validating or waiting); delete its file."""
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status not in (Status.VALIDATING, Status.NEEDS_DECISION):
            raise Conflict("Only an import that is validating or waiting can be cancelled.")
        delete_file_on_commit(locked.file.name)
        locked.status = Status.CANCELLED
        locked.failure = reason
        locked.file = ""
        locked.lease_token = ""
        locked.lease_expires_at = None
        locked.finished_at = timezone.now()
        locked.save()
    return locked


def imports_purge(*, now: datetime | None = None) -> int:
    """Expire undecided imports, drop old problem reports and any file an ended import kept."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LEADLINE_IMPORT_RETENTION_SECONDS)
    handled = 0
    for lead_import in LeadImport.objects.filter(
        status=Status.NEEDS_DECISION, validated_at__lt=cutoff
    ):
        try:
            import_cancel(
                lead_import=lead_import,
                reason="No decision was made within the retention period; the file was deleted.",
            )
            handled += 1
        except Conflict:
            pass  # decided meanwhile
    handled += LeadImportProblem.objects.filter(
        lead_import__status__in=ENDED_STATUSES, lead_import__finished_at__lt=cutoff
    ).delete()[0]
    # A crash between a commit and its on_commit deletion can leave a file behind.
    for lead_import in LeadImport.objects.filter(status__in=ENDED_STATUSES).exclude(file=""):
        with transaction.atomic():
            if LeadImport.objects.filter(pk=lead_import.pk, status__in=ENDED_STATUSES).update(
                file=""
            ):
                delete_file_on_commit(lead_import.file.name)
                handled += 1
    return handled
