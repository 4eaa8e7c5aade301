"""CSV export of a campaign's results: the API's GET result items, one row each, streamed.

Rows and values are built by `results.result_item`, the builder behind the API's GET and the
webhook payloads, over the same filter (`selectors._filtered`) and in the same order (by id;
with a processed window by processing time, then id), so a row holds exactly what the
API returns for that lead.

Columns: the API item's fixed keys in the API's order, then one column per custom field: the
union of the custom keys of the exported leads, found by the database in a first pass
(`jsonb_object_keys` / `json_each` with DISTINCT, so no lead is loaded for it), sorted by
name. A custom key named like a fixed key is left out, as the API item leaves it out. When
the leads carry more than LEADLINE_EXPORT_MAX_CUSTOM_COLUMNS distinct keys (or when asked),
all custom fields go into one `custom_fields` column holding a JSON object instead.

Cells: a string is written as is, except that one a spreadsheet would run as a formula
(starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`
(`core.csvfile.spreadsheet_safe`; header cells too, since custom field names come from
clients). `phone_number` is exempt: it is always E.164 as we validated it (`+` and digits),
which no spreadsheet runs. Null (and a custom field the lead lacks) is an empty cell;
anything else (numbers, booleans, `lead_responses`, nested custom values) is its JSON text,
exactly as the API encodes it, never neutralised: a JSON number -5 is data, and JSON text of
a list or object starts with `[` or `{`. The API's JSON keeps every value as stored.
No BOM: spreadsheets that need one import UTF-8 explicitly.

Memory: the rows come from `.iterator(chunk_size=...)` (a server-side cursor on PostgreSQL,
chunked fetches on SQLite) and are written as they arrive, so a million-lead export never
holds more than a chunk.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection

from leadline.campaigns.models import Campaign
from leadline.core.csvfile import FORMULA_STARTS, LineWriter, safe_row
from leadline.core.db import is_postgres, pg_text_timestamps

from .results import FIXED_KEYS, RESULT_FIELDS, result_item
from .selectors import ResultsQuery, _filtered

CUSTOM_JSON_COLUMN = "custom_fields"
_ROWS_PER_WRITE = 500


def chunk_size() -> int:
    return getattr(settings, "LEADLINE_EXPORT_CHUNK_ROWS", 2_000)


def max_custom_columns() -> int:
    return getattr(settings, "LEADLINE_EXPORT_MAX_CUSTOM_COLUMNS", 200)


@dataclass(frozen=True)
class ExportLayout:
    custom_keys: tuple[str, ...]
    custom_as_json: bool

    @property
    def header(self) -> list[str]:
        """The column names as stored (what `export_row` cells line up with)."""
        if self.custom_as_json:
            return [*FIXED_KEYS, CUSTOM_JSON_COLUMN]
        return [*FIXED_KEYS, *self.custom_keys]


def custom_keys(*, campaign: Campaign, query: ResultsQuery) -> list[str]:
    """Every custom field name among the exported leads, sorted (a DISTINCT in the database)."""
    sql, params = _filtered(campaign, query).values("custom_fields").query.sql_with_params()
    if is_postgres():
        keys_sql = (
            f"SELECT DISTINCT k FROM ({sql}) AS l, "  # noqa: S608
            "LATERAL jsonb_object_keys(l.custom_fields) AS k "
            "WHERE jsonb_typeof(l.custom_fields) = 'object'"
        )
    else:
        keys_sql = (
            f"SELECT DISTINCT j.key FROM ({sql}) AS l, json_each(l.custom_fields) AS j "  # noqa: S608
            "WHERE json_type(l.custom_fields) = 'object'"
        )
    with connection.cursor() as cursor:
        cursor.execute(keys_sql, params)
        keys = {row[0] for row in cursor.fetchall()}
    return sorted(keys - set(FIXED_KEYS))


def export_layout(
    *, campaign: Campaign, query: ResultsQuery, as_json: bool = False
) -> ExportLayout:
    if as_json:
        return ExportLayout((), True)
    keys = custom_keys(campaign=campaign, query=query)
    if len(keys) > max_custom_columns():
        return ExportLayout((), True)
    return ExportLayout(tuple(keys), False)


def csv_cell(value: Any, _formula_starts: frozenset[str] = FORMULA_STARTS) -> str:
    """A result value as a CSV cell (see the module docstring)."""
    if isinstance(value, str):
        # `core.csvfile.spreadsheet_safe`, inlined: this runs for every cell of every row,
        # where a function call costs more than the first-character test itself.
        return "'" + value if value and value[0] in _formula_starts else value
    if value is None:
        return ""
    return orjson.dumps(value).decode()  # a JSON number (-5) is data: never neutralised


# Columns whose values we produced and validated ourselves are written unchanged: the phone
# number is E.164 (`+` and digits), no formula, and a quote would only spoil it.
PLAIN_COLUMNS = frozenset({"phone_number"})
_CHECKED_FIXED_KEYS = tuple(key for key in FIXED_KEYS if key not in PLAIN_COLUMNS)
# export_row writes the phone number first, where the API item has it.
assert FIXED_KEYS[0] == "phone_number"


def column_cell(column: str, value: Any) -> str:
    """The cell `export_row` writes for `value` in `column` (tests compare against it)."""
    if column in PLAIN_COLUMNS:
        return value or ""
    return csv_cell(value)


def export_row(item: dict[str, Any], layout: ExportLayout) -> list[str]:
    cells = [item["phone_number"] or ""]
    cells.extend([csv_cell(item[key]) for key in _CHECKED_FIXED_KEYS])
    if layout.custom_as_json:
        custom = {key: value for key, value in item.items() if key not in FIXED_KEYS}
        cells.append(orjson.dumps(custom).decode())
    else:
        cells.extend(csv_cell(item.get(key)) for key in layout.custom_keys)
    return cells


_JSON_FIELDS = ("custom_fields", "lead_responses")


def _result_rows(campaign: Campaign, query: ResultsQuery) -> Iterator[dict[str, Any]]:
    """The exported leads' RESULT_FIELDS, as `.values(...).iterator()` gives them.

    On PostgreSQL the same statement on the same server-side cursor, read without Django's
    per-row converters: timestamps by psycopg's C loader, jsonb text by json.loads (as
    JSONField.from_db_value does). Those converters were about 40% of an export's time.
    """
    order = ("processed_at", "id") if query.windowed else ("id",)
    leads = _filtered(campaign, query).order_by(*order).values(*RESULT_FIELDS)
    if not is_postgres():
        yield from leads.iterator(chunk_size=chunk_size())
        return
    sql, params = leads.query.sql_with_params()
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        pg_text_timestamps(cursor.cursor)
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        json_at = [names.index(name) for name in _JSON_FIELDS]
        while records := cursor.fetchmany(chunk_size()):
            for record in records:
                values = list(record)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = loads(values[i])
                yield dict(zip(names, values, strict=True))


def results_csv(*, campaign: Campaign, query: ResultsQuery, layout: ExportLayout) -> Iterator[str]:
    """The CSV text in pieces: the header, then batches of rows, read in chunks."""
    writer = LineWriter()
    yield writer.writerow(safe_row(layout.header))
    batch: list[str] = []
    for row in _result_rows(campaign, query):
        batch.append(writer.writerow(export_row(result_item(row, campaign.public_id), layout)))
        if len(batch) >= _ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
