"""CSV imports of leads from the dashboard: upload, background validation, decision, import.

The file goes through the API's own path: each row becomes the dict a JSON client would send,
`validation.clean_new_lead` checks it, and `services.lead_create_batch` inserts it (so the
campaign's `lead_count`, the queue and the per-campaign insert order stay exactly as for API
leads). Only the CSV-specific parts live here.

CSV mapping (also on the upload page):
- UTF-8 (a BOM is fine); anything else is refused with a clear error, as are UTF-16 files.
- Comma separated, RFC 4180 quoting (what spreadsheets write). The first row is the header.
- Header names are trimmed; `lead_id`, `phone_number` and `contact_name` are matched without
  case, with spaces or hyphens as underscores ("Phone Number"). Every other named column is a
  custom field under its trimmed name, as written. Two columns with one name are refused.
- Every cell is trimmed. An empty cell is an absent value: a missing lead_id, phone number or
  name is a "required" problem, and an empty custom cell stores no key (CSV cannot tell ""
  from absent, and a file exported with the union of all custom columns has blanks in most).
- Values are strings: lead_id as written ("00123" stays "00123"), custom fields as text.
- Blank rows are skipped. Row numbers are spreadsheet rows: the header is row 1.
- A value under a column without a name, or more values than header columns, is a row problem.
- Duplicate lead_ids: the first row with an id is kept, later ones are problems; ids already
  in the campaign are problems too (and `lead_create_batch`'s constraint check catches any
  created between validation and import).

Lifecycle (status): validating -> importing -> done when every row is valid (one transaction,
all or nothing); validating -> needs_decision when some rows have problems, then the user
imports the valid rows (-> importing -> done) or cancels (-> cancelled); validating ->
failed for a file-level problem (encoding, CSV syntax, no rows, too many rows). An undecided
import expires after LEADLINE_IMPORT_RETENTION_SECONDS (-> cancelled). A lead created through
the API with one of the file's ids while the import waits sends it back to needs_decision.

Privacy: the stored file is deleted as soon as the import ends; the problem rows hold the
row number, the client's lead_id, the field, a code and a fixed message (never a cell value,
so never a phone number or name); they are deleted LEADLINE_IMPORT_RETENTION_SECONDS after the
import ended, and erasing a lead clears its lead_id from them (`services.lead_erase`).

Workers claim imports with a lease (SKIP LOCKED on PostgreSQL); every write a worker makes
checks its lease token and the expected status, so a worker whose lease was taken over (or
whose import was cancelled) stops at its next write. A crashed worker's import is claimed
again once its lease expires and starts its phase over: validation from the first row, the
import from scratch (its transaction never committed).
"""

import contextlib
import csv
import logging
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from leadline.accounts.models import Business, User
from leadline.campaigns.models import Campaign
from leadline.core.errors import BadRequest, Conflict, NotFound, PayloadTooLarge

from . import services
from .models import Lead, LeadImport, LeadImportProblem
from .validation import (
    CORE_INPUT_KEYS,
    CUSTOM_KEY_MAX,
    LEAD_ID_MAX,
    CleanLead,
    FieldProblem,
    clean_new_lead,
    problem,
)

logger = logging.getLogger("leadline.leads.imports")

Status = LeadImport.Status
WORK_STATUSES = (Status.VALIDATING, Status.IMPORTING)
ENDED_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELLED)
# A poison file (one that crashes the worker every time) is failed after this many claims.
MAX_ATTEMPTS = 5
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
REQUIRED_COLUMNS = ("lead_id", "phone_number", "contact_name")
# How far the upload check reads looking for the first data row (beyond: the worker decides).
_HEAD_RECORDS = 1000


class ImportRejected(BadRequest):
    """A file-level problem; the message is shown to the user and never quotes a cell."""


class ImportTooLarge(PayloadTooLarge):
    pass


class _LeaseLost(Exception):
    """Another worker took the import over, or the user cancelled it: stop quietly."""


# --- reading ---------------------------------------------------------------------------------


def _lines(binary: Iterable[bytes]) -> Iterator[str]:
    # Django's File iterates by line on \n, \r\n and \r; those bytes never occur inside a
    # UTF-8 sequence, so decoding line by line is exact and can name the line.
    for number, raw in enumerate(binary, start=1):
        if number == 1:
            if raw.startswith(_UTF16_BOMS):
                raise ImportRejected(
                    'The file is UTF-16 text (Excel\'s "Unicode Text"). Save it as '
                    '"CSV UTF-8 (Comma delimited)" and upload it again.'
                )
            raw = raw.removeprefix(_UTF8_BOM)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRejected(
                f"The file is not UTF-8 text (line {number}). Save it as "
                '"CSV UTF-8 (Comma delimited)" and upload it again.'
            ) from None


def _records(binary: Iterable[bytes]) -> Iterator[list[str]]:
    reader = csv.reader(_lines(binary))
    try:
        yield from reader
    except csv.Error as exc:
        # csv's messages describe the syntax ("field larger than field limit"), not the data.
        raise ImportRejected(
            f"The file is not valid CSV near line {reader.line_num}: {exc}."
        ) from None


def _blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _column_name(cell: str) -> str:
    name = cell.strip()
    core = _HEADER_SEPARATORS.sub("_", name.lower())
    return core if core in CORE_INPUT_KEYS else name


def parse_header(cells: list[str]) -> list[str | None]:
    """Column names by position (None: unnamed), or ImportRejected. Never quotes a cell: a
    file without a header row would have personal data there."""
    if len(cells) == 1 and (";" in cells[0] or "\t" in cells[0]):
        raise ImportRejected(
            "Columns must be separated by commas; this file seems to use semicolons or tabs."
        )
    names: list[str | None] = []
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells, start=1):
        name = _column_name(cell)
        if not name:
            names.append(None)
            continue
        if len(name) > CUSTOM_KEY_MAX:
            raise ImportRejected(f"The name of column {position} is longer than 255 characters.")
        if name in positions:
            raise ImportRejected(
                f"Columns {positions[name]} and {position} have the same name in the header row."
            )
        positions[name] = position
        names.append(name)
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise ImportRejected(
            f"The header row (the first row) lacks the column(s) {', '.join(missing)}. It must "
            "name lead_id, phone_number and contact_name; other columns are custom fields."
        )
    return names


def row_item(names: list[str | None], cells: list[str]) -> dict[str, str]:
    """The API payload of one data row (see the module docstring), or FieldProblem."""
    if len(cells) > len(names) and not _blank(cells[len(names) :]):
        raise FieldProblem(None, "invalid", "The row has more values than the header has columns.")
    item: dict[str, str] = {}
    for name, cell in zip(names, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        if name is None:
            raise FieldProblem(
                None, "invalid", "A value is in a column that has no name in the header row."
            )
        item[name] = value
    return item


@dataclass
class _Row:
    number: int  # spreadsheet row: the header is row 1
    lead: CleanLead | None
    problem: dict[str, Any] | None


def _checked_rows(binary: Iterable[bytes]) -> Iterator[_Row]:
    """Every data row, cleaned as the API would, with file-wide duplicate detection."""
    records = _records(binary)
    header = next(records, None)
    if header is None or _blank(header):
        raise ImportRejected("The file is empty, or its first row is blank; it must be the header.")
    names = parse_header(header)
    id_column = names.index("lead_id")
    first_row_of: dict[str, int] = {}
    limit = settings.LEADLINE_IMPORT_MAX_ROWS
    count = 0
    for number, cells in enumerate(records, start=2):
        if _blank(cells):
            continue
        count += 1
        if count > limit:
            raise ImportRejected(
                f"The file has more than {limit:,} rows; split it into files of at most "
                f"{limit:,} rows."
            )
        # The report names the row's lead_id even when the row itself is malformed.
        raw_id = cells[id_column].strip() or None if id_column < len(cells) else None
        try:
            lead = clean_new_lead(row_item(names, cells))
        except FieldProblem as p:
            yield _Row(number, None, problem(number, raw_id, p))
            continue
        first = first_row_of.setdefault(lead.lead_id, number)
        if first != number:
            p = FieldProblem(
                "lead_id", "duplicate", f"lead_id is repeated in this file (row {first})."
            )
            yield _Row(number, None, problem(number, lead.lead_id, p))
            continue
        yield _Row(number, lead, None)


def _chunks(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _existing_ids(campaign: Campaign, lead_ids: list[str]) -> set[str]:
    found: set[str] = set()
    # 500 per query keeps inside SQLite's bound-parameter limit.
    for start in range(0, len(lead_ids), 500):
        found.update(
            Lead.objects.filter(
                campaign=campaign, lead_id__in=lead_ids[start : start + 500]
            ).values_list("lead_id", flat=True)
        )
    return found


def _problem_row(lead_import: LeadImport, p: dict[str, Any]) -> LeadImportProblem:
    lead_id = p["lead_id"]
    return LeadImportProblem(
        lead_import=lead_import,
        row=p["index"],
        lead_id=str(lead_id)[:LEAD_ID_MAX] if lead_id is not None else None,
        field=(p["field"] or "")[:255],
        code=p["code"][:32],
        message=p["message"][:500],
    )


# --- upload, decisions -----------------------------------------------------------------------


def check_head(upload: UploadedFile) -> None:
    """Refuse at once what the first rows already show wrong: encoding, header, no data."""
    upload.seek(0)
    records = _records(upload)
    header = next(records, None)
    if header is None or _blank(header):
        raise ImportRejected("The file is empty, or its first row is blank; it must be the header.")
    parse_header(header)
    for seen, cells in enumerate(records):
        if not _blank(cells) or seen >= _HEAD_RECORDS:
            break
    else:
        raise ImportRejected("The file has a header row but no data rows.")
    upload.seek(0)


def import_start(
    *, business: Business, campaign: Campaign, user: User | None, upload: UploadedFile
) -> LeadImport:
    """Store the upload and queue it for validation; ImportRejected/ImportTooLarge if hopeless."""
    assert campaign.business_id == business.pk
    limit = settings.LEADLINE_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImportTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB; split it.")
    if not upload.size:
        raise ImportRejected("The file is empty.")
    check_head(upload)
    active = LeadImport.objects.filter(
        business=business, status__in=[*WORK_STATUSES, Status.NEEDS_DECISION]
    ).count()
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


def _delete_file_on_commit(name: str) -> None:
    if name:
        storage = LeadImport._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(name))


def import_import_valid_rows(*, lead_import: LeadImport) -> LeadImport:
    """The user's decision: import the rows without problems (in the background)."""
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != Status.NEEDS_DECISION:
            raise Conflict("This import is no longer waiting for a decision.")
        if locked.valid_rows == 0:
            raise Conflict("No row of this file is valid; there is nothing to import.")
        locked.status = Status.IMPORTING
        locked.valid_rows_only = True
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
        _delete_file_on_commit(locked.file.name)
        locked.status = Status.CANCELLED
        locked.failure = reason
        locked.file = ""
        locked.lease_token = ""
        locked.lease_expires_at = None
        locked.finished_at = timezone.now()
        locked.save()
    return locked


# --- reads -------------------------------------------------------------------------------------


def lead_import_get(*, business: Business, campaign: Campaign, pk: int) -> LeadImport:
    lead_import = (
        LeadImport.objects.filter(business=business, campaign=campaign, pk=pk)
        .select_related("campaign")
        .first()
    )
    if lead_import is None:
        raise NotFound("Import not found.")
    return lead_import


def lead_imports_recent(*, business: Business, campaign: Campaign, limit: int = 10):
    return list(
        LeadImport.objects.filter(business=business, campaign=campaign).order_by("-id")[:limit]
    )


def problems_iter(*, lead_import: LeadImport) -> Iterator[LeadImportProblem]:
    return (
        LeadImportProblem.objects.filter(lead_import=lead_import)
        .order_by("row", "id")
        .iterator(chunk_size=2000)
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def problems_csv(*, lead_import: LeadImport) -> Iterator[str]:
    """The per-row report as CSV text, streamed: row, lead_id, field, code, message."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["row", "lead_id", "field", "code", "message"])
    batch: list[str] = []
    for p in problems_iter(lead_import=lead_import):
        batch.append(writer.writerow([p.row, p.lead_id or "", p.field, p.code, p.message]))
        if len(batch) >= 500:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def problems_sample(*, lead_import: LeadImport, limit: int = 20) -> list[LeadImportProblem]:
    return list(
        LeadImportProblem.objects.filter(lead_import=lead_import).order_by("row", "id")[:limit]
    )


# --- the worker ------------------------------------------------------------------------------


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


def _mine(lead_import: LeadImport, expected: str, /):
    return LeadImport.objects.filter(
        pk=lead_import.pk, lease_token=lead_import.lease_token, status=expected
    )


def _update_mine(lead_import: LeadImport, expected: str, /, **fields: Any) -> None:
    """Write as the lease holder of an import in the `expected` status, or _LeaseLost."""
    if not _mine(lead_import, expected).update(updated_at=timezone.now(), **fields):
        raise _LeaseLost


def _renewed_lease() -> datetime:
    return timezone.now() + timedelta(seconds=settings.LEADLINE_IMPORT_LEASE_SECONDS)


def _end(lead_import: LeadImport, expected: str, status: str, **fields: Any) -> None:
    with transaction.atomic():
        _update_mine(
            lead_import,
            expected,
            status=status,
            file="",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
            **fields,
        )
        _delete_file_on_commit(lead_import.file.name)


def import_process(lead_import: LeadImport) -> None:
    """Run the claimed import's current phase (validation, then the import if all is valid)."""
    status = lead_import.status
    try:
        if lead_import.attempts > MAX_ATTEMPTS:
            raise ImportRejected(
                "The file could not be processed (the worker failed on it repeatedly)."
            )
        if status == Status.VALIDATING:
            status = _validate(lead_import)
        if status == Status.IMPORTING:
            _import(lead_import)
    except (ImportRejected, FileNotFoundError) as exc:
        reason = (
            exc.detail
            if isinstance(exc, ImportRejected)
            else "The uploaded file is gone; upload it again."
        )
        logger.info("lead import %s failed: %s", lead_import.pk, reason)
        with contextlib.suppress(_LeaseLost):
            _fail(lead_import, status, reason)
    except Conflict:
        # lead_create_batch met an erasure mid-way twice: try again soon, from the start.
        _mine(lead_import, status).update(lease_expires_at=timezone.now())
    except _LeaseLost:
        logger.info("lead import %s: lease lost or cancelled; stopping", lead_import.pk)


def _fail(lead_import: LeadImport, status: str, reason: str) -> None:
    # A file-level failure: a partial per-row report would only mislead.
    with transaction.atomic():
        _end(lead_import, status, Status.FAILED, failure=reason, progress=0)
        LeadImportProblem.objects.filter(lead_import=lead_import).delete()


def _position(binary) -> int:
    # How far the reader got (by 64 KiB chunks); storages without tell() show no progress.
    try:
        return binary.file.tell()
    except (AttributeError, OSError, ValueError):
        return 0


def _validate(lead_import: LeadImport) -> str:
    """Check every row, recording problems and progress chunk by chunk; the next status."""
    campaign = lead_import.campaign
    with transaction.atomic():
        # A resumed validation starts over: the previous worker's partial report goes.
        _update_mine(
            lead_import,
            Status.VALIDATING,
            total_rows=0,
            valid_rows=0,
            error_rows=0,
            progress=0,
            lease_expires_at=_renewed_lease(),
        )
        LeadImportProblem.objects.filter(lead_import=lead_import).delete()
    total = valid = errors = 0
    size = max(1, lead_import.size_bytes)
    with lead_import.file.open("rb") as binary:
        for chunk in _chunks(_checked_rows(binary), settings.LEADLINE_IMPORT_CHUNK_ROWS):
            candidates = [row for row in chunk if row.lead is not None]
            existing = _existing_ids(campaign, [row.lead.lead_id for row in candidates])
            problems = [row.problem for row in chunk if row.problem is not None]
            for row in candidates:
                if row.lead.lead_id in existing:
                    p = FieldProblem(
                        "lead_id", "duplicate", "A lead with this lead_id already exists."
                    )
                    problems.append(problem(row.number, row.lead.lead_id, p))
            total += len(chunk)
            errors += len(problems)
            valid = total - errors
            with transaction.atomic():
                _update_mine(
                    lead_import,
                    Status.VALIDATING,
                    total_rows=total,
                    valid_rows=valid,
                    error_rows=errors,
                    progress=min(99, _position(binary) * 100 // size),
                    lease_expires_at=_renewed_lease(),
                )
                LeadImportProblem.objects.bulk_create(
                    [_problem_row(lead_import, p) for p in problems]
                )
    if total == 0:
        raise ImportRejected("The file has a header row but no data rows.")
    status = Status.NEEDS_DECISION if errors else Status.IMPORTING
    fields: dict[str, Any] = {"status": status, "progress": 100, "validated_at": timezone.now()}
    if errors:
        fields.update(lease_token="", lease_expires_at=None)
    _update_mine(lead_import, Status.VALIDATING, **fields)
    lead_import.status = status
    logger.info(
        "lead import %s validated: %d rows, %d with problems", lead_import.pk, total, errors
    )
    return status


class _NewProblems(Exception):
    def __init__(self, problems: list[dict[str, Any]]):
        self.problems = problems


def _import(lead_import: LeadImport) -> None:
    """Insert the file's rows (all, or the valid ones) in one transaction through the API's
    service; a lead_id taken meanwhile sends the import back to needs_decision."""
    campaign = lead_import.campaign
    skip = set(
        LeadImportProblem.objects.filter(lead_import=lead_import).values_list("row", flat=True)
    )
    if skip and not lead_import.valid_rows_only:
        raise ImportRejected("The file has rows with problems and no decision was made.")
    try:
        with transaction.atomic():
            # Our lease and status, under the row's lock: a worker that lost its lease waits
            # here behind the one that took over, then finds the import no longer its own.
            if not list(_mine(lead_import, Status.IMPORTING).select_for_update().values("pk")):
                raise _LeaseLost
            imported = 0
            with lead_import.file.open("rb") as binary:
                rows = (r for r in _checked_rows(binary) if r.number not in skip)
                for chunk in _chunks(rows, settings.LEADLINE_IMPORT_CHUNK_ROWS):
                    if any(row.lead is None for row in chunk):
                        # Validation found no problem here: the file changed under us.
                        raise ImportRejected("The stored file changed after validation.")
                    try:
                        services.lead_create_batch(
                            campaign=campaign, leads=[row.lead for row in chunk]
                        )
                    except services.LeadProblems as exc:
                        numbers = [row.number for row in chunk]
                        found = exc.extra["errors"]
                        raise _NewProblems(
                            [{**p, "index": numbers[p["index"]]} for p in found]
                        ) from None
                    imported += len(chunk)
            _update_mine(
                lead_import,
                Status.IMPORTING,
                status=Status.DONE,
                imported_rows=imported,
                file="",
                lease_token="",
                lease_expires_at=None,
                finished_at=timezone.now(),
            )
            _delete_file_on_commit(lead_import.file.name)
    except _NewProblems as new:
        with transaction.atomic():
            _update_mine(
                lead_import,
                Status.IMPORTING,
                status=Status.NEEDS_DECISION,
                valid_rows=F("valid_rows") - len(new.problems),
                error_rows=F("error_rows") + len(new.problems),
                valid_rows_only=False,
                lease_token="",
                lease_expires_at=None,
            )
            LeadImportProblem.objects.bulk_create(
                [_problem_row(lead_import, p) for p in new.problems]
            )
        logger.info(
            "lead import %s: %d lead_id(s) taken meanwhile; back to needs_decision",
            lead_import.pk,
            len(new.problems),
        )
        return
    logger.info("lead import %s done: %d leads created", lead_import.pk, imported)


def imports_process_next() -> int:
    lead_import = import_claim()
    if lead_import is None:
        return 0
    import_process(lead_import)
    return 1


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
                _delete_file_on_commit(lead_import.file.name)
                handled += 1
    return handled
