"""The do-not-call CSV upload: every row checked before anything is added.

Read like the leads upload (`leads.imports.csvfile`: UTF-8 with or without a BOM, commas,
RFC 4180 quoting, the first row the header, cells trimmed, blank rows skipped, rows numbered
as a spreadsheet does with the header as row 1). Columns: `phone_number` (required),
`campaign_id` (a campaign's public id; empty: business-wide), `reason` (optional, at most 200
characters); any other column is refused, so a misspelt `campaign_id` cannot quietly make
every row business-wide. A problem never quotes a cell: a file without a header row has
numbers where the header should be, and a row's number is shown only masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from leadline.campaigns.models import Campaign
from leadline.compliance.services import SuppressionItem
from leadline.core.phones import normalize_indian_phone
from leadline.leads.imports import ImportRejected
from leadline.leads.imports.csvfile import csv_records

from .forms import CONTROL_CHARS, REASON_MAX

COLUMNS = ("phone_number", "campaign_id", "reason")
_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str  # fixed text, or a masked number: never a cell as written


@dataclass
class CheckedFile:
    items: list[SuppressionItem]
    rows: int
    problems: list[RowProblem]


def _header(cells: list[str]) -> dict[str, int]:
    if not any(cell.strip() for cell in cells):
        raise ImportRejected("The file is empty, or its first row is blank; it must be the header.")
    if len(cells) == 1 and (";" in cells[0] or "\t" in cells[0]):
        raise ImportRejected(
            "Columns must be separated by commas; this file seems to use semicolons or tabs."
        )
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        name = _SEPARATORS.sub("_", cell.strip().lower())
        if not name:
            continue
        if name not in COLUMNS:
            raise ImportRejected(
                f"Column {position + 1} of the header row is not phone_number, campaign_id or "
                "reason. The first row must be the header, naming only those columns."
            )
        if name in positions:
            raise ImportRejected(f"The header row names {name} twice.")
        positions[name] = position
    if "phone_number" not in positions:
        raise ImportRejected(
            "The header row (the first row) lacks the column phone_number. It must name "
            "phone_number, and may name campaign_id and reason."
        )
    return positions


def _cell(cells: list[str], positions: dict[str, int], name: str) -> str:
    position = positions.get(name)
    return cells[position].strip() if position is not None and position < len(cells) else ""


def check_file(binary: Iterable[bytes], *, campaigns: dict[str, Campaign]) -> CheckedFile:
    """Every data row as an entry to add, or its problems; ImportRejected for a file-level
    problem (encoding, CSV syntax, header, no rows, too many rows). `campaigns`: the
    business's campaigns by public id (another business's id is an unknown one)."""
    records = csv_records(binary)
    positions = _header(next(records, []))
    width = max(positions.values()) + 1
    limit = settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_ROWS
    items: dict[tuple[str, int], SuppressionItem] = {}
    problems: list[RowProblem] = []
    rows = 0
    for number, cells in enumerate(records, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        rows += 1
        if rows > limit:
            raise ImportRejected(
                f"The file has more than {limit:,} rows; split it into files of at most "
                f"{limit:,} rows."
            )
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            problems.append(
                RowProblem(number, "", "The row has more values than the header has columns.")
            )
            continue
        phone = normalize_indian_phone(_cell(cells, positions, "phone_number"))
        campaign_id = _cell(cells, positions, "campaign_id")
        reason = _cell(cells, positions, "reason")
        row_problems = []
        if not _cell(cells, positions, "phone_number"):
            row_problems.append(RowProblem(number, "phone_number", "The phone number is missing."))
        elif phone is None:
            row_problems.append(
                RowProblem(number, "phone_number", "This is not a valid Indian phone number.")
            )
        campaign = campaigns.get(campaign_id) if campaign_id else None
        if campaign_id and campaign is None:
            row_problems.append(
                RowProblem(number, "campaign_id", "No campaign of yours has this campaign_id.")
            )
        if len(reason) > REASON_MAX:
            row_problems.append(
                RowProblem(number, "reason", f"The reason is longer than {REASON_MAX} characters.")
            )
        elif CONTROL_CHARS.search(reason):
            row_problems.append(
                RowProblem(number, "reason", "The reason contains control characters.")
            )
        if row_problems or phone is None:
            problems.extend(row_problems)
            continue
        # The same number and scope twice is one entry (the first row's reason is kept).
        key = (phone, campaign.pk if campaign is not None else 0)
        items.setdefault(key, SuppressionItem(phone=phone, campaign=campaign, reason=reason))
    if rows == 0:
        raise ImportRejected("The file has a header row but no data rows.")
    return CheckedFile(items=list(items.values()), rows=rows, problems=problems)
