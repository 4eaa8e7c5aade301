"""What the worker runs: claim the next import under a lease, then validate its rows and, when
they are all valid or the user chose the valid ones, insert them through the API's service."""

import contextlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from leadline.core.errors import Conflict
from leadline.core.logs import request_id_bound
from leadline.leads import services as lead_services
from leadline.leads.models import LeadImport, LeadImportProblem
from leadline.leads.selectors import lead_ids_existing
from leadline.leads.validation import LEAD_ID_MAX, FieldProblem, problem

from .csvfile import CheckedRow, checked_rows, in_chunks
from .errors import ImportRejected
from .selectors import problem_row_numbers
from .services import delete_file_on_commit

logger = logging.getLogger("leadline.leads.imports")

Status = LeadImport.Status
WORK_STATUSES = (Status.VALIDATING, Status.IMPORTING)
# A poison file (one that crashes the worker every time) is failed after this many claims.
MAX_ATTEMPTS = 5


class _LeaseLost(Exception):
    """Another worker took the import over, or the user cancelled it: stop quietly."""


class _LeadIdsTakenMeanwhile(Exception):
    def __init__(self, problems: list[dict[str, Any]]):
        self.problems = problems


# --- the lease -------------------------------------------------------------------------------


def import_claim(*, now: datetime | None = None) -> LeadImport | None:
    """Lease the oldest import waiting for a worker (or whose worker's lease ran out)."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = (
            LeadImport.objects.filter(status__in=WORK_STATUSES)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .order_by("id")
        )
        if connection.features.has_select_for_update_skip_locked:
            waiting = waiting.select_for_update(skip_locked=True)
        lead_import = waiting.first()
        if lead_import is None:
            return None
        token = secrets.token_hex(16)
        LeadImport.objects.filter(pk=lead_import.pk).update(
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.LEADLINE_IMPORT_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    lead_import.refresh_from_db()
    return lead_import


def _held(lead_import: LeadImport, expected: str, /):
    """The import, if this worker still holds its lease and it is in the `expected` status."""
    return LeadImport.objects.filter(
        pk=lead_import.pk, lease_token=lead_import.lease_token, status=expected
    )


def _update_held(lead_import: LeadImport, expected: str, /, **fields: Any) -> None:
    """Write as the lease holder of an import in the `expected` status, or _LeaseLost."""
    if not _held(lead_import, expected).update(updated_at=timezone.now(), **fields):
        raise _LeaseLost


def _renewed_lease_expiry() -> datetime:
    return timezone.now() + timedelta(seconds=settings.LEADLINE_IMPORT_LEASE_SECONDS)


def _end_held(lead_import: LeadImport, expected: str, status: str, **fields: Any) -> None:
    with transaction.atomic():
        _update_held(
            lead_import,
            expected,
            status=status,
            file="",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
            **fields,
        )
        delete_file_on_commit(lead_import.file.name)


# --- running a claimed import ----------------------------------------------------------------


def imports_process_next() -> int:
    lead_import = import_claim()
    if lead_import is None:
        return 0
    import_process(lead_import)
    return 1


def import_process(lead_import: LeadImport) -> None:
    """Run the claimed import's current phase (validation, then the import if all is valid),
    under the request id of the request that queued it."""
    with request_id_bound(lead_import.request_id):
        _import_process(lead_import)


def _import_process(lead_import: LeadImport) -> None:
    status = lead_import.status
    try:
        if lead_import.attempts > MAX_ATTEMPTS:
            raise ImportRejected(
                "The file could not be processed (the worker failed on it repeatedly)."
            )
        if status == Status.VALIDATING:
            status = _validate_rows(lead_import)
        if status == Status.IMPORTING:
            _import_rows(lead_import)
    except (ImportRejected, FileNotFoundError) as exc:
        reason = (
            exc.detail
            if isinstance(exc, ImportRejected)
            else "The uploaded file is gone; upload it again."
        )
        logger.info("lead import %s failed: %s", lead_import.pk, reason)
        with contextlib.suppress(_LeaseLost):
            _fail_held(lead_import, status, reason)
    except Conflict:
        # lead_create_batch met an erasure mid-way twice: try again soon, from the start.
        _held(lead_import, status).update(lease_expires_at=timezone.now())
    except _LeaseLost:
        logger.info("lead import %s: lease lost or cancelled; stopping", lead_import.pk)


def _fail_held(lead_import: LeadImport, status: str, reason: str) -> None:
    # A file-level failure: a partial per-row report would only mislead.
    with transaction.atomic():
        _end_held(lead_import, status, Status.FAILED, failure=reason, progress=0)
        LeadImportProblem.objects.filter(lead_import=lead_import).delete()


def _problem_record(lead_import: LeadImport, p: dict[str, Any]) -> LeadImportProblem:
    lead_id = p["lead_id"]
    return LeadImportProblem(
        lead_import=lead_import,
        row=p["index"],
        lead_id=str(lead_id)[:LEAD_ID_MAX] if lead_id is not None else None,
        field=(p["field"] or "")[:255],
        code=p["code"][:32],
        message=p["message"][:500],
    )


# --- validation ------------------------------------------------------------------------------


def _bytes_read(binary) -> int:
    # How far the reader got (by 64 KiB chunks); storages without tell() show no progress.
    try:
        return binary.file.tell()
    except (AttributeError, OSError, ValueError):
        return 0


def _restart_validation(lead_import: LeadImport) -> None:
    # A resumed validation starts over: the previous worker's partial report goes.
    with transaction.atomic():
        _update_held(
            lead_import,
            Status.VALIDATING,
            total_rows=0,
            valid_rows=0,
            error_rows=0,
            progress=0,
            lease_expires_at=_renewed_lease_expiry(),
        )
        LeadImportProblem.objects.filter(lead_import=lead_import).delete()


def _chunk_problems(lead_import: LeadImport, chunk: list[CheckedRow]) -> list[dict[str, Any]]:
    """The chunk's row problems, plus its clean rows whose lead_id the campaign already has."""
    candidates = [(row.number, row.lead) for row in chunk if row.lead is not None]
    existing = lead_ids_existing(
        campaign=lead_import.campaign, lead_ids=[lead.lead_id for _, lead in candidates]
    )
    problems = [row.problem for row in chunk if row.problem is not None]
    for number, lead in candidates:
        if lead.lead_id in existing:
            p = FieldProblem("lead_id", "duplicate", "A lead with this lead_id already exists.")
            problems.append(problem(number, lead.lead_id, p))
    return problems


def _validate_file(lead_import: LeadImport) -> tuple[int, int]:
    """Check the file chunk by chunk, recording problems and progress; (rows, with problems)."""
    total = errors = 0
    size = max(1, lead_import.size_bytes)
    with lead_import.file.open("rb") as binary:
        for chunk in in_chunks(checked_rows(binary), settings.LEADLINE_IMPORT_CHUNK_ROWS):
            problems = _chunk_problems(lead_import, chunk)
            total += len(chunk)
            errors += len(problems)
            with transaction.atomic():
                _update_held(
                    lead_import,
                    Status.VALIDATING,
                    total_rows=total,
                    valid_rows=total - errors,
                    error_rows=errors,
                    progress=min(99, _bytes_read(binary) * 100 // size),
                    lease_expires_at=_renewed_lease_expiry(),
                )
                LeadImportProblem.objects.bulk_create(
                    [_problem_record(lead_import, p) for p in problems]
                )
    return total, errors


def _validate_rows(lead_import: LeadImport) -> str:
    """Check every row; the next status (waiting for the user, or importing at once)."""
    _restart_validation(lead_import)
    total, errors = _validate_file(lead_import)
    if total == 0:
        raise ImportRejected("The file has a header row but no data rows.")
    status = Status.NEEDS_DECISION if errors else Status.IMPORTING
    fields: dict[str, Any] = {"status": status, "progress": 100, "validated_at": timezone.now()}
    if errors:
        fields.update(lease_token="", lease_expires_at=None)
    _update_held(lead_import, Status.VALIDATING, **fields)
    lead_import.status = status
    logger.info(
        "lead import %s validated: %d rows, %d with problems", lead_import.pk, total, errors
    )
    return status


# --- the import ------------------------------------------------------------------------------


def _create_leads(lead_import: LeadImport, skip: set[int]) -> int:
    """Insert the file's rows but the `skip` row numbers, chunk by chunk; how many."""
    imported = 0
    with lead_import.file.open("rb") as binary:
        rows = (r for r in checked_rows(binary) if r.number not in skip)
        for chunk in in_chunks(rows, settings.LEADLINE_IMPORT_CHUNK_ROWS):
            leads = [row.lead for row in chunk if row.lead is not None]
            if len(leads) != len(chunk):
                # Validation found no problem here: the file changed under us.
                raise ImportRejected("The stored file changed after validation.")
            try:
                lead_services.lead_create_batch(campaign=lead_import.campaign, leads=leads)
            except lead_services.LeadProblems as exc:
                numbers = [row.number for row in chunk]
                found = exc.extra["errors"]
                raise _LeadIdsTakenMeanwhile(
                    [{**p, "index": numbers[p["index"]]} for p in found]
                ) from None
            imported += len(chunk)
    return imported


def _create_leads_and_finish(lead_import: LeadImport, skip: set[int]) -> int:
    """All of the import's leads and its end in one transaction: all or nothing."""
    with transaction.atomic():
        # Our lease and status, under the row's lock: a worker that lost its lease waits
        # here behind the one that took over, then finds the import no longer its own.
        if not list(_held(lead_import, Status.IMPORTING).select_for_update().values("pk")):
            raise _LeaseLost
        imported = _create_leads(lead_import, skip)
        _end_held(lead_import, Status.IMPORTING, Status.DONE, imported_rows=imported)
    return imported


def _back_to_decision(lead_import: LeadImport, problems: list[dict[str, Any]]) -> None:
    with transaction.atomic():
        _update_held(
            lead_import,
            Status.IMPORTING,
            status=Status.NEEDS_DECISION,
            valid_rows=F("valid_rows") - len(problems),
            error_rows=F("error_rows") + len(problems),
            valid_rows_only=False,
            lease_token="",
            lease_expires_at=None,
        )
        LeadImportProblem.objects.bulk_create([_problem_record(lead_import, p) for p in problems])


def _import_rows(lead_import: LeadImport) -> None:
    """Insert the file's rows (all, or the valid ones) in one transaction through the API's
    service; a lead_id taken meanwhile sends the import back to needs_decision."""
    skip = problem_row_numbers(lead_import=lead_import)
    if skip and not lead_import.valid_rows_only:
        raise ImportRejected("The file has rows with problems and no decision was made.")
    try:
        imported = _create_leads_and_finish(lead_import, skip)
    except _LeadIdsTakenMeanwhile as taken:
        _back_to_decision(lead_import, taken.problems)
        logger.info(
            "lead import %s: %d lead_id(s) taken meanwhile; back to needs_decision",
            lead_import.pk,
            len(taken.problems),
        )
        return
    logger.info("lead import %s done: %d leads created", lead_import.pk, imported)
