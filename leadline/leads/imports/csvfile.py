"""The CSV side of an import: decoding, the header's mapping onto API fields, rows cleaned as
the API would clean them, and the problem report written back as CSV."""

# UploadedFile is generic only in django-stubs: its subscript must not be evaluated.
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from leadline.core.csvfile import LineWriter, safe_row
from leadline.leads.models import LeadImport
from leadline.leads.validation import (
    CORE_INPUT_KEYS,
    CUSTOM_KEY_MAX,
    CleanLead,
    FieldProblem,
    clean_new_lead,
    problem,
)

from .errors import ImportRejected
from .selectors import problems_iter

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
REQUIRED_COLUMNS = ("lead_id", "phone_number", "contact_name")
# How far the upload check reads looking for the first data row (beyond: the worker decides).
_HEAD_RECORDS = 1000


def _utf8_lines(binary: Iterable[bytes]) -> Iterator[str]:
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


def _csv_records(binary: Iterable[bytes]) -> Iterator[list[str]]:
    reader = csv.reader(_utf8_lines(binary))
    try:
        yield from reader
    except csv.Error as exc:
        # csv's messages describe the syntax ("field larger than field limit"), not the data.
        raise ImportRejected(
            f"The file is not valid CSV near line {reader.line_num}: {exc}."
        ) from None


# Public for the dashboard's do-not-call upload, which reads its files the same way.
csv_records = _csv_records


def _is_blank(cells: list[str]) -> bool:
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


def _read_header(records: Iterator[list[str]]) -> list[str | None]:
    header = next(records, None)
    if header is None or _is_blank(header):
        raise ImportRejected("The file is empty, or its first row is blank; it must be the header.")
    return parse_header(header)


def row_item(names: list[str | None], cells: list[str]) -> dict[str, str]:
    """The API payload of one data row (see the package docstring), or FieldProblem."""
    if len(cells) > len(names) and not _is_blank(cells[len(names) :]):
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
class CheckedRow:
    number: int  # spreadsheet row: the header is row 1
    lead: CleanLead | None
    problem: dict[str, Any] | None


def checked_rows(binary: Iterable[bytes]) -> Iterator[CheckedRow]:
    """Every data row, cleaned as the API would, with file-wide duplicate detection."""
    records = _csv_records(binary)
    names = _read_header(records)
    id_column = names.index("lead_id")
    first_row_of: dict[str, int] = {}
    limit = settings.LEADLINE_IMPORT_MAX_ROWS
    count = 0
    for number, cells in enumerate(records, start=2):
        if _is_blank(cells):
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
            yield CheckedRow(number, None, problem(number, raw_id, p))
            continue
        first = first_row_of.setdefault(lead.lead_id, number)
        if first != number:
            repeated = FieldProblem(
                "lead_id", "duplicate", f"lead_id is repeated in this file (row {first})."
            )
            yield CheckedRow(number, None, problem(number, lead.lead_id, repeated))
            continue
        yield CheckedRow(number, lead, None)


def in_chunks(rows: Iterator[CheckedRow], size: int) -> Iterator[list[CheckedRow]]:
    chunk: list[CheckedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_upload_head(upload: UploadedFile[bytes]) -> None:
    """Refuse at once what the first rows already show wrong: encoding, header, no data."""
    upload.seek(0)
    records = _csv_records(upload)
    _read_header(records)
    for seen, cells in enumerate(records):
        if not _is_blank(cells) or seen >= _HEAD_RECORDS:
            break
    else:
        raise ImportRejected("The file has a header row but no data rows.")
    upload.seek(0)


def problems_csv(*, lead_import: LeadImport) -> Iterator[str]:
    """The per-row report as CSV text, streamed: row, lead_id, field, code, message.

    lead_id is the file's raw cell and field may be a custom column's name, both the
    client's text: every string cell is made spreadsheet-safe (`core.csvfile`).
    """
    writer = LineWriter()
    yield writer.writerow(["row", "lead_id", "field", "code", "message"])
    batch: list[str] = []
    for p in problems_iter(lead_import=lead_import):
        row = [p.row, p.lead_id or "", p.field, p.code, p.message]
        batch.append(writer.writerow(safe_row(row)))
        if len(batch) >= 500:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
