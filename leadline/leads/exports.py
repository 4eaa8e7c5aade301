"""CSV export of a campaign's results: the API's GET result items, one row each, streamed.

Rows are the leads the API's GET returns, over the same filter (`selectors._filtered`: no
erased lead, the lead_id filter, the processed window) and in the same order (by id; with a
processed window by processing time, then id).

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
timestamps are UTC to the second (`2026-12-07T02:40:00+00:00`, as the API writes them);
anything else (numbers, booleans, `lead_responses`, nested custom values) is JSON text of the
value, never neutralised: a JSON number -5 is data, and JSON text of a list or object starts
with `[` or `{`. JSON cells are defined as the same JSON *value* as the API's, not the same
bytes: on PostgreSQL they are jsonb's own text (`{"a": 1}`, a number as the client wrote it,
`1.10`), on SQLite orjson's (`{"a":1}`, `1.1`); any JSON reader gets the same value.
Lines end in `\\n` on both paths (the Python writer cuts it from the csv module's `\\r\\n`,
so a lone `\\r` in a cell is still quoted); no BOM: spreadsheets that need one import UTF-8
explicitly.

Two paths write those cells:
- SQLite (and PostgreSQL when a test asks, `in_sql=False`): Python per row, with
  `results.result_item`, the builder behind the API's GET and the webhook payloads, then
  `export_row` / `csv_cell` and the csv module.
- PostgreSQL: the database writes the CSV. `_rows_sql` wraps the same row statement in
  `COPY (SELECT <cells> FROM (<rows>) ...) TO STDOUT WITH (FORMAT csv)`; each cell is an SQL
  expression restating `export_row(result_item(...))` for its column, NULL where the cell is
  empty, the recording URL signed in SQL by `core.recordings.recording_url_sql`, and
  PostgreSQL's CSV writer quotes where the csv module quotes (a comma, quote, CR or LF
  inside; NULL is an unquoted empty cell, as the csv module writes ""; it also quotes a lone
  `\\.` as the first cell, which the phone number never is). The COPY runs on a connection
  of the export's own (`core.db.pg_own_connection`): a COPY holds its connection until its
  last row, and the export's run is renewed on Django's connection while the download
  streams (`export_runs.ExportStream`); so it reads committed rows only. No Python per cell.
  Bench (300k leads, none with a recording, shared 2-core machine): 0.52-0.68x the rows/s
  of a raw COPY of the same rows (the earlier one-text-line SELECT on a server-side cursor:
  0.22-0.34x). A signed recording URL costs the server about 8 us a row more.
  A test exports a varied campaign both ways and compares them cell for cell: a new column
  or cell rule must be written on both paths.
Every recording URL of one export is signed for one `now`, taken when the rows start.

Memory: both paths read the rows as they arrive (PostgreSQL: COPY's rows, or for the Python
path a server-side cursor; chunked fetches on SQLite) and write them a chunk at a time
(LEADLINE_EXPORT_CHUNK_ROWS), so a million-lead export never holds more than a chunk.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection

from leadline.campaigns.models import Campaign
from leadline.core.csvfile import FORMULA_STARTS, LineWriter, safe_row
from leadline.core.db import is_postgres, pg_own_connection, pg_text_timestamps
from leadline.core.recordings import recording_sql_keys, recording_url_sql

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


def _python_rows(
    campaign: Campaign, query: ResultsQuery, layout: ExportLayout, writer: LineWriter, now: float
) -> Iterator[str]:
    """The rows built in Python: SQLite's path (and PostgreSQL's when asked, for tests)."""
    batch: list[str] = []
    public_id = campaign.public_id
    for row in _result_rows(campaign, query):
        batch.append(writer.writerow(export_row(result_item(row, public_id, now), layout)))
        if len(batch) >= _ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


# --- PostgreSQL: the CSV lines written by the database --------------------------------------

# The alias of the wrapped row statement. bench/dashboard.py finds the row statement by it
# (its raw baseline COPYs that plain statement): keep the two in step.
ROW_ALIAS = "lead_row"
_TIMESTAMP_FORMAT = '\'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\''


# A JSON value's text (as ->> gives it) that is not a string starts with one of these:
# a number, true, false, an array or an object (null gives NULL).
_NON_STRING_STARTS = frozenset("-0123456789tf[{")


def _guarded_sql(text: str, is_string: str | None = None) -> str:
    """`csv_cell` of the text `text` in SQL: a `'` before a formula start, NULL (an unquoted
    empty cell, as Python's csv writes "") for empty.

    On the first character's code (`ascii`, an integer: '' gives 0), evaluated once by a
    simple CASE; in the bench's data about a quarter less server time for these cells than
    `left(...) IN (...)` with NULLIF, and a custom key is looked up once or twice, not 5x. With
    `is_string` (a JSON value's text), a start a number could have too (`-`) is guarded only
    where `is_string` holds: -5 the number is data.
    """
    guarded = f"chr(39) || {text}"
    whens = []
    for char in sorted(FORMULA_STARTS):
        then = guarded
        if is_string is not None and char in _NON_STRING_STARTS:
            then = f"CASE WHEN {is_string} THEN {guarded} ELSE {text} END"
        whens.append(f"WHEN {ord(char)} THEN {then}")
    return f"CASE ascii({text}) WHEN 0 THEN NULL {' '.join(whens)} ELSE {text} END"


def _text_sql(value: str) -> str:
    """`csv_cell` of a text column."""
    return _guarded_sql(value)


def _json_value_sql(json: str, key: str) -> str:
    """`csv_cell` of the value under `key` in the jsonb `json`: ->> gives a string's text, a
    number's, true's or false's as jsonb writes them, an array's or object's JSON text, and
    NULL for null or no such key."""
    return _guarded_sql(f"({json} ->> {key})", f"jsonb_typeof({json} -> {key}) = 'string'")


def _timestamp_sql(column: str) -> str:
    # `results.iso`: isoformat(timespec="seconds") of the UTC datetime; both truncate.
    return f"to_char({column} AT TIME ZONE 'UTC', {_TIMESTAMP_FORMAT})"


def _cells_sql(
    campaign: Campaign, query: ResultsQuery, layout: ExportLayout, now: float
) -> tuple[list[str], list[Any], str, list[Any], tuple[str, ...]]:
    """Per column, an SQL expression for the cell `export_row(result_item(...))` writes there,
    as text, NULL where the cell is empty; with their parameters, and the row statement
    (`_result_rows`' statement: the same filter and order) they read as ROW_ALIAS."""
    order = ("processed_at", "id") if query.windowed else ("id",)
    leads = _filtered(campaign, query).order_by(*order).values(*RESULT_FIELDS)
    rows_sql, rows_params = leads.query.sql_with_params()
    row = ROW_ALIAS
    url_sql, url_params = recording_url_sql(
        f"{row}.latest_recording",
        f"{row}.latest_called_at",
        now=now,
        # csv_cell's guard, decided once: every URL starts with the public URL.
        prefix_guard="'" if settings.LEADLINE_PUBLIC_URL[:1] in FORMULA_STARTS else "",
    )
    responses = f"{row}.lead_responses"
    # (expression, its parameters) per fixed column, in the item's order
    cells: dict[str, tuple[str, list[Any]]] = {
        "phone_number": (f"NULLIF({row}.phone_number, '')", []),
        "lead_id": (_text_sql(f"{row}.lead_id"), []),
        "latest_recording_url": (url_sql, url_params),
        "campaign_id": ("%s", [csv_cell(campaign.public_id) or None]),
        "latest_called_at": (_timestamp_sql(f"{row}.latest_called_at"), []),
        "lead_outcome": (_text_sql(f"{row}.lead_outcome"), []),
        "processed_at": (_timestamp_sql(f"{row}.processed_at"), []),
        "contact_name": (_text_sql(f"{row}.contact_name"), []),
        "created_at": (_timestamp_sql(f"{row}.created_at"), []),
        # `row["lead_responses"] or {}`: every falsy JSON value becomes {}
        "lead_responses": (
            f"CASE WHEN {responses} IS NULL OR {responses} IN "
            f"('null', 'false', '0', '\"\"', '[]', '{{}}') THEN '{{}}' ELSE {responses}::text END",
            [],
        ),
    }
    assert tuple(cells) == FIXED_KEYS  # one expression per fixed column, in the item's order
    columns = [expression for expression, _ in cells.values()]
    params = [param for _, params in cells.values() for param in params]
    custom = f"{row}.custom_fields"
    if layout.custom_as_json:
        # Our own key names (identifiers), not client text: safe as literals.
        assert all(key.isidentifier() for key in FIXED_KEYS)
        fixed = ", ".join(f"'{key}'" for key in FIXED_KEYS)
        columns.append(f"(COALESCE({custom}, '{{}}'::jsonb) - ARRAY[{fixed}])::text")
    else:
        for key in layout.custom_keys:  # client text: parameters, never SQL text
            cell = _json_value_sql(custom, "%s")
            columns.append(cell)
            params.extend([key] * cell.count("%s"))  # each placeholder is this key
    return columns, params, rows_sql, list(rows_params), order


def _rows_sql(
    campaign: Campaign, query: ResultsQuery, layout: ExportLayout, now: float
) -> tuple[str, list[Any]]:
    """The export's rows as one statement: `COPY (SELECT <cells> FROM (<rows>) ...) TO STDOUT`
    in CSV: PostgreSQL's CSV writer quotes each cell where the csv module quotes."""
    columns, params, rows_sql, rows_params, order = _cells_sql(campaign, query, layout, now)
    row = ROW_ALIAS
    order_by = ", ".join(f"{row}.{column}" for column in order)
    select = ",\n".join(columns)
    sql = (
        f"COPY (SELECT {select}\nFROM ({rows_sql}) AS {row} ORDER BY {order_by}) "
        "TO STDOUT WITH (FORMAT csv)"
    )
    return sql, [*params, *rows_params]


def _sql_rows(
    campaign: Campaign, query: ResultsQuery, layout: ExportLayout, now: float
) -> Iterator[str]:
    """PostgreSQL's CSV lines, read from a COPY on a connection of the export's own."""
    sql, params = _rows_sql(campaign, query, layout, now)
    with (
        pg_own_connection() as conn,
        recording_sql_keys(conn),
        conn.cursor() as cursor,
        cursor.copy(sql, params) as copy,
    ):
        rows = chunk_size()
        batch: list[Any] = []
        for data in copy:  # one row each
            batch.append(data)
            if len(batch) >= rows:
                yield b"".join(batch).decode()
                batch = []
        if batch:
            yield b"".join(batch).decode()


def results_csv(
    *,
    campaign: Campaign,
    query: ResultsQuery,
    layout: ExportLayout,
    in_sql: bool | None = None,
    now: float | None = None,
) -> Iterator[str]:
    """The CSV text in pieces: the header, then the rows, read as they are sent.

    `in_sql`: PostgreSQL writes the rows itself; None chooses it on PostgreSQL,
    False builds them in Python (SQLite's path; tests compare the two on PostgreSQL).
    `now`: the time every recording URL of the export is signed for (default: its start).
    """
    writer = LineWriter(newline="\n")
    yield writer.writerow(safe_row(layout.header))
    if now is None:
        now = time.time()
    if in_sql is None:
        in_sql = is_postgres()
    if in_sql:
        yield from _sql_rows(campaign, query, layout, now)
    else:
        yield from _python_rows(campaign, query, layout, writer, now)
