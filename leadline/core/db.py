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
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
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


@contextlib.contextmanager
def pg_own_connection() -> Iterator[Any]:
    """A psycopg connection of its own to Django's database, in autocommit, closed on the
    way out: for one long statement (an export's COPY) that must not hold Django's connection
    while it runs. It sees committed rows only, not those of Django's open transaction.
    Built from Django's connection parameters (its adapters, client-side binding); without
    `init_connection_state`, so the session time zone is the server's: statements run here
    name their time zone. PostgreSQL only.
    """
    import psycopg

    with connection.wrap_database_errors:
        own = psycopg.connect(autocommit=True, **connection.get_connection_params())
    try:
        with connection.wrap_database_errors:
            yield own
    finally:
        own.close()


_JSON_DECODER = json.JSONDecoder()


def pg_binary_json(cursor: Any) -> None:
    """Make `cursor`'s binary results decode json/jsonb to what JSONField.from_db_value gives
    (json.loads of the text), minus json.loads' encoding sniffing of bytes (PostgreSQL sends
    UTF-8), and through orjson where its answer is the same. Decoding was half of a results
    page's Python time with json.loads."""
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


# A run of 19 digits may be an integer past 64 bits, which orjson reads as a float where
# json.loads keeps the int (jsonb prints 1e25 as 26 digits).
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _json_utf8_loads(data: str | bytes) -> Any:
    """json.loads' answer, from orjson where that is the same (several times faster): not for
    long digit runs (see above) nor for what orjson refuses (a lone surrogate escape)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not _LONG_NUMBER.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _JSON_DECODER.decode(raw.decode())


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


@dataclass(frozen=True)
class _CompiledModelQuery:
    """A model queryset's SQL and what turning its rows into instances needs, as
    `ModelIterable` works them out on every execution."""

    sql: str
    params: tuple[Any, ...]
    slots: dict[str, tuple[int, ...]]  # where each named value goes in params
    compiler: Any
    converters: dict[int, Any]
    init_list: list[str]
    fields_start: int
    fields_end: int
    populators: list[Any]

    def first(self, values: dict[str, Any]) -> Any:
        params = list(self.params)
        for name, positions in self.slots.items():
            for i in positions:
                params[i] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchmany(1)
        if not rows:
            return None
        row = list(rows[0])
        # The ORM's converters (SQLite's datetimes, JSON fields, ...), given this thread's
        # connection as results_iter gives them its own.
        for at, (functions, expression) in self.converters.items():
            value = row[at]
            for convert in functions:
                value = convert(value, expression, connection)
            row[at] = value
        model = self.compiler.klass_info["model"]
        obj = model.from_db(
            connection.alias, self.init_list, row[self.fields_start : self.fields_end]
        )
        for populator in self.populators:
            populator.populate(row, obj)
        return obj


_MODEL_QUERIES: dict[tuple[str, str], _CompiledModelQuery] = {}
# Stand-ins for the values of a model query compiled once: no real id or text equals them.
_SENTINEL_TEXT = "\x1fleadline-precompiled:{}"


def precompiled_first(name: str, queryset: Callable[..., QuerySet[Any]], **values: Any) -> Any:
    """The first instance `queryset(**values)` yields (select_related included), or None.

    The same as `queryset(**values).first()` without `first()`'s ordering (the queryset must
    select at most one row), but the queryset is built and compiled once per process and
    engine: `queryset` is called with sentinels in place of `values` (ints and strings), and
    later calls only put their values where the sentinels landed. Building and compiling a
    small filtered queryset costs more Python than PostgreSQL spends answering it (each API
    request looks up its token and its campaign). The rows go through the ORM's own
    converters and related-object populators, so the instance is the ORM's.
    """
    key = (connection.vendor, name)
    compiled = _MODEL_QUERIES.get(key)
    if compiled is None:
        compiled = _MODEL_QUERIES[key] = _compile_model_query(name, queryset, values)
    return compiled.first(values)


def _compile_model_query(
    name: str, queryset: Callable[..., QuerySet[Any]], values: dict[str, Any]
) -> _CompiledModelQuery:
    from django.db.models.query import get_related_populators

    sentinels: dict[str, Any] = {}
    for i, (slot, value) in enumerate(values.items()):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"{name}: only int and str values can be precompiled ({slot})")
        sentinels[slot] = SENTINEL_PK - i if isinstance(value, int) else _SENTINEL_TEXT.format(slot)
    query = queryset(**sentinels)[:1].query
    compiler = query.get_compiler(using=connection.alias)
    sql, params = compiler.as_sql()
    slots = {
        slot: tuple(i for i, p in enumerate(params) if p == sentinel)
        for slot, sentinel in sentinels.items()
    }
    if not all(slots.values()):
        # Django changed how it passes these values: fail loudly, never bind wrongly.
        raise RuntimeError(f"cannot precompile the {name} query")
    klass_info, select = compiler.klass_info, compiler.select
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    return _CompiledModelQuery(
        sql=sql,
        params=tuple(params),
        slots=slots,
        compiler=compiler,
        converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
        init_list=[column[0].target.attname for column in select[start:end]],
        fields_start=start,
        fields_end=end,
        # Django 5.2 takes three arguments; the stubs already describe a later signature.
        populators=get_related_populators(klass_info, select, connection.alias),  # type: ignore[call-arg]
    )


def epoch_slot_sql(column: str, seconds: int) -> str:
    """SQL for the `seconds`-long slot since the Unix epoch a timestamp column falls in (whole
    seconds floored, then whole slots), the same as `int(at.timestamp()) // seconds`."""
    if is_postgres():
        return f"(FLOOR(EXTRACT(EPOCH FROM {column}))::bigint / {int(seconds)})"
    return f"(CAST(strftime('%%s', {column}) AS INTEGER) / {int(seconds)})"
