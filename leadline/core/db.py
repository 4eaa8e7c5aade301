"""Database-specific helpers: the one place that knows which engine we run on.

Everything else goes through the ORM. Raw SQL is kept for hot paths where measurement showed
the ORM's Python cost, or its client-side parameter binding, to dominate; each such statement
lives in a named constant beside its caller, with a comment saying what it does and why it is
raw. The helpers here are what those callers share: the engine check, a psycopg cursor that
binds on the server, id arrays, chunked `IN` lookups for SQLite, and statements compiled once
per process from ORM querysets.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

# SQLite caps bound parameters per statement (32,766 in current builds, 999 in old ones);
# chunks of 900 stay inside both.
SQLITE_MAX_PARAMS = 900


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextlib.contextmanager
def pg_cursor() -> Iterator[Any]:
    """A psycopg cursor with server-side binding on Django's connection (and transaction).

    Django's own cursor binds on the client: every id of an `IN (...)` list, and every value
    of a bulk INSERT, is quoted into the SQL text in Python. Here a list of ids travels as one
    array parameter, and COPY is available. PostgreSQL only.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


_JSON_DECODER = json.JSONDecoder()


def pg_binary_json(cursor: Any) -> None:
    """Make `cursor`'s binary results decode json/jsonb as JSONField.from_db_value does
    (json.loads of the text), minus json.loads' encoding sniffing of bytes: PostgreSQL sends
    UTF-8. Measured at half of a results page's Python time before."""
    from psycopg.types.json import set_json_loads

    set_json_loads(_json_utf8_loads, cursor)


def pg_text_timestamps(cursor: Any) -> None:
    """Read timestamptz text on `cursor` with psycopg's own loader (C, with psycopg-binary)
    instead of the pure-Python one Django registers: the same aware datetimes in the
    session's time zone, which Django sets to UTC. For cursors Django opens itself (a
    server-side cursor), whose result format cannot be switched to binary."""
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.adapters.types["timestamptz"].oid
    cursor.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, Format.TEXT))


def _json_utf8_loads(data: str | bytes) -> Any:
    return _JSON_DECODER.decode(data if isinstance(data, str) else data.decode())


def pg_ids(ids: Iterable[int]) -> str:
    """A bigint[] literal: one short string parameter instead of a list dumped item by item."""
    return "{" + ",".join(map(str, ids)) + "}"


def values_in(sql: str, params: Sequence[Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of `sql` for `values`, where `sql` ends in `{in_values}` standing for the list.

    PostgreSQL gets `= ANY(%s)` with one array parameter; SQLite gets `IN (%s, ...)` in
    chunks that stay inside its bound-parameter cap. `params` come before the values.
    """
    if not values:
        return []
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(sql.format(in_values="= ANY(%s)"), [*params, list(values)])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
        rows = []
        for start in range(0, len(values), SQLITE_MAX_PARAMS):
            chunk = values[start : start + SQLITE_MAX_PARAMS]
            marks = ",".join(["%s"] * len(chunk))
            cursor.execute(sql.format(in_values=f"IN ({marks})"), [*params, *chunk])
            rows.extend(cursor.fetchall())
        return rows


def db_datetime(value: datetime) -> Any:
    """A datetime as this engine's driver takes it in raw SQL (SQLite: a string)."""
    return connection.ops.adapt_datetimefield_value(value)


# Precompiled statements. Building a queryset's SQL costs more Python than the database needs
# to run a small indexed statement (about 2.5 ms each on the benchmark machine), so a hot path
# may compile its queryset once per process with sentinel values standing in for a pk and the
# time; later calls only swap in their own values.
SENTINEL_PK = -(2**62) + 12345
SENTINEL_NOW = datetime(1999, 12, 31, 23, 59, 58, 123457, tzinfo=UTC)


@dataclass(frozen=True)
class PrecompiledStatement:
    sql: str
    params: list[Any]
    pk_at: tuple[int, ...]  # where the pk goes in params
    now_at: tuple[int, ...]  # where the time goes

    def bind(self, pk: int, now: datetime | None = None) -> list[Any]:
        params = list(self.params)
        for i in self.pk_at:
            params[i] = pk
        if self.now_at:
            adapted = db_datetime(now) if now is not None else None
            for i in self.now_at:
                params[i] = adapted
        return params


_PRECOMPILED: dict[tuple[str, str], PrecompiledStatement] = {}


def precompiled(
    name: str, queryset: Callable[[], QuerySet[Any]], uses_now: bool = True
) -> PrecompiledStatement:
    """`queryset()` (built with SENTINEL_PK and, if `uses_now`, SENTINEL_NOW) compiled once."""
    key = (connection.vendor, name)
    if key not in _PRECOMPILED:
        sql, params = queryset().query.sql_with_params()
        sentinel_now = db_datetime(SENTINEL_NOW)
        pk_at = tuple(i for i, p in enumerate(params) if p == SENTINEL_PK)
        now_at = tuple(i for i, p in enumerate(params) if p == sentinel_now)
        if not pk_at or (uses_now and not now_at):
            # Django changed how it passes these values: fail loudly, never bind wrongly.
            raise RuntimeError(f"cannot precompile the {name} statement")
        _PRECOMPILED[key] = PrecompiledStatement(sql, list(params), pk_at, now_at)
    return _PRECOMPILED[key]


def epoch_slot_sql(column: str, seconds: int) -> str:
    """SQL for the `seconds`-long slot since the Unix epoch a timestamp column falls in (whole
    seconds floored, then whole slots), the same as `int(at.timestamp()) // seconds`."""
    if is_postgres():
        return f"(FLOOR(EXTRACT(EPOCH FROM {column}))::bigint / {int(seconds)})"
    return f"(CAST(strftime('%%s', {column}) AS INTEGER) / {int(seconds)})"
