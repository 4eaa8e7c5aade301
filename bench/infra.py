"""Real processes for the benchmarks: a fresh database, the `leadline` CLI and gunicorn.

Mirrors what conftest.py does for the live tests, without importing it (that would pull pytest
and its fixtures into a plain script), but with the production settings module: the test
settings differ only in things that don't matter here, and the point is to measure what ships.
"""

import contextlib
import http.client
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from leadline.core.gunicorn import gunicorn_argv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SETTINGS_MODULE = "config.settings.bench"


def sqlite_init_command() -> str:
    """The PRAGMAs the server runs on each SQLite connection, read from the settings themselves
    so the raw baseline can never drift from them."""
    from config.settings.base import database_from_url

    return database_from_url("sqlite:///unused.sqlite3")["OPTIONS"]["init_command"]


@dataclass
class Database:
    """A database created for one benchmark run; `drop()` removes it (idempotent)."""

    engine: str  # "postgresql" or "sqlite"
    url: str
    label: str
    admin_url: str | None = None
    name: str | None = None
    path: Path | None = None
    _dropped: bool = field(default=False, repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgresql"

    def connect(self):
        """A raw DB-API connection (autocommit off on PostgreSQL; explicit BEGIN on SQLite)."""
        if self.is_postgres:
            return psycopg.connect(self.url)
        # isolation_level=None: the caller writes BEGIN IMMEDIATE/COMMIT itself, as Django's
        # backend does with transaction_mode=IMMEDIATE.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.executescript(sqlite_init_command())
        return conn

    def sql(self, text: str) -> str:
        """`text` written with %s placeholders, in this driver's paramstyle."""
        return text if self.is_postgres else text.replace("%s", "?")

    def timestamp(self, value: datetime):
        """A datetime as the column stores it: Django keeps naive UTC text in SQLite."""
        if self.is_postgres:
            return value
        return str(value.astimezone(UTC).replace(tzinfo=None))

    def campaign_pk(self, public_id: str) -> int:
        conn = self.connect()
        try:
            row = conn.execute(
                self.sql("SELECT id FROM campaigns_campaign WHERE public_id = %s"), (public_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            raise RuntimeError(f"no campaign {public_id}")
        return row[0]

    def no_call_caps(self) -> None:
        """Every business without the per-number gap and at the widest caps: the simulator
        fast-forwards retries into seconds, which the 2-hour default gap would hold back."""
        conn = self.connect()
        try:
            if not self.is_postgres:
                conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE accounts_business SET min_gap_minutes = 0, calls_per_number_day = 20, "
                "calls_per_number_week = 100"
            )
            conn.commit() if self.is_postgres else conn.execute("COMMIT")
        finally:
            conn.close()

    def maintain(self) -> None:
        """What the database would have done by itself after a bulk load, done now so that it
        does not land inside a timed run: VACUUM (visibility map, so the index-only scans the
        API relies on stay index-only), ANALYZE and a CHECKPOINT on PostgreSQL; a WAL
        checkpoint and ANALYZE on SQLite."""
        if self.is_postgres:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
                # Needs superuser (or pg_checkpoint); without it the server checkpoints alone.
                with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                    conn.execute("CHECKPOINT")
            return
        conn = self.connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("ANALYZE")
        finally:
            conn.close()

    def load_leads(self, campaign_pk: int, columns: tuple[str, ...], rows) -> int:
        """Data setup, never measured: bulk-load `rows` (tuples in `columns` order) into one
        campaign (COPY on PostgreSQL, one executemany on SQLite), set its lead_count and
        last_position as the lead services keep them, maintain; returns the rows in leads_lead."""
        names = ", ".join(columns)
        conn = self.connect()
        try:
            if self.is_postgres:
                # Sorted index builds after the load instead of ~11 index insertions per row:
                # what makes a 10M-lead campaign (--scale 10) a matter of minutes. Same
                # transaction, so a failed load leaves the table and its indexes as they were.
                conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
                # Django's foreign keys are deferred: checked now, row by row, instead of
                # queued until commit, where they would forbid the index rebuild below.
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                rebuild = _drop_secondary_indexes(conn, "leads_lead")
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY leads_lead ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                for statement in rebuild:
                    conn.execute(statement)
            else:
                conn.execute("BEGIN IMMEDIATE")
                marks = ", ".join(["?"] * len(columns))
                conn.executemany(f"INSERT INTO leads_lead ({names}) VALUES ({marks})", rows)
            # The API's `count` is Campaign.lead_count, which the lead services keep equal to
            # the number of live leads, and its last_position equal to the highest position
            # given (where the next create's positions start); a bulk load has to do the same.
            conn.execute(
                self.sql(
                    "UPDATE campaigns_campaign SET lead_count = (SELECT count(*) FROM leads_lead "
                    "WHERE campaign_id = %s AND erased_at IS NULL), last_position = (SELECT "
                    "COALESCE(MAX(position), 0) FROM leads_lead WHERE campaign_id = %s) "
                    "WHERE id = %s"
                ),
                (campaign_pk, campaign_pk, campaign_pk),
            )
            if self.is_postgres:
                conn.commit()
            else:
                conn.execute("COMMIT")
            table_rows = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
        finally:
            conn.close()
        self.maintain()
        return table_rows

    def backend_pids(self) -> list[int]:
        """PostgreSQL server processes connected to this database (not this query's own)."""
        if not self.is_postgres:
            return []
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]

    def version(self) -> str:
        if self.is_postgres:
            with psycopg.connect(self.url) as conn:
                return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
        return "SQLite " + sqlite3.sqlite_version

    def drop(self) -> None:
        if self._dropped:
            return
        self._dropped = True
        if self.is_postgres:
            # A server restarting (another program on a shared machine) refuses connections
            # for a few seconds: retry for a minute rather than leave the database behind.
            deadline = time.monotonic() + 60
            while True:
                try:
                    with psycopg.connect(self.admin_url, autocommit=True) as conn:
                        conn.execute(
                            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                                sql.Identifier(self.name)
                            )
                        )
                    return
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(2)
        # A SQLite file lives in the run's temporary directory, removed with it.


def _drop_secondary_indexes(conn, table: str) -> list[str]:
    """Drop `table`'s indexes but its primary key (unique constraints included); returns the
    statements that build them again, exactly as they were defined (PostgreSQL only)."""
    rows = conn.execute(
        "SELECT (SELECT relname FROM pg_class WHERE oid = i.indexrelid), "
        "pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_index i LEFT JOIN pg_constraint c "
        "ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
        (table,),
    ).fetchall()
    rebuild = []
    for index, index_def, constraint, constraint_def in rows:
        if constraint is not None:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(constraint)
                )
            )
            rebuild.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table), sql.Identifier(constraint)
                )
                + sql.SQL(constraint_def)
            )
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
            rebuild.append(sql.SQL(index_def))
    return rebuild


def _require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(
            f"refusing a non-loopback database host {host!r}: bench talks to 127.0.0.1"
        )


def create_postgres(admin_url: str) -> Database:
    """A new empty database `leadline_bench_<random>` on the server of `admin_url`."""
    _require_loopback(admin_url)
    name = f"leadline_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    return Database("postgresql", url, "PostgreSQL", admin_url=admin_url, name=name)


def create_sqlite(workdir: Path) -> Database:
    path = workdir / "bench.sqlite3"
    return Database("sqlite", f"sqlite:///{path}", "SQLite", path=path)


def database_from_url(url: str) -> Database:
    """The Database a child process was handed as DATABASE_URL (it never drops it)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return Database("sqlite", url, "SQLite", path=path, _dropped=True)
    _require_loopback(url)
    return Database("postgresql", url, "PostgreSQL", name=parts.path.lstrip("/"), _dropped=True)


def server_env(database: Database, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database.url,
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        LEADLINE_SECRET_KEY=secrets.token_urlsafe(50),
        # Keeps static/media dirs the settings create out of the checkout's var/.
        LEADLINE_VAR_DIR=str(workdir / "var"),
        LEADLINE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    # Rate limits always use the database backend here, whatever the caller's shell has, so
    # runs are comparable; every API request therefore pays one upsert for its budget.
    env.pop("REDIS_URL", None)
    return env


def leadline(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run the real `leadline` CLI and return its stdout; raise with its stderr on failure."""
    result = subprocess.run(
        [str(BIN / "leadline"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"leadline {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with gthread workers, as `leadline serve` starts it (without the access log:
    a line per request would be measured too, and `serve` is not the only way to deploy)."""

    def __init__(self, env: dict[str, str], workdir: Path, *, workers: int, threads: int):
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            gunicorn_argv(
                bind=f"127.0.0.1:{self.port}",
                workers=workers,
                threads=threads,
                worker_class="gthread",
                timeout=60,
                # Short, so stop() never waits long for a keep-alive connection left open.
                graceful_timeout=5,
                log_level="warning",
            ),
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_healthy(deadline=time.monotonic() + 30)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, *, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise RuntimeError(f"gunicorn did not become healthy in 30 s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master), for CPU accounting."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def connections_per_worker(self) -> list[int] | None:
        """How many established client connections each worker holds (from `ss`; None when
        unavailable): a keep-alive connection stays with the worker that accepted it, and
        that split is luck, so it explains much of the run-to-run spread."""
        try:
            out = subprocess.run(
                ["ss", "-tnpH", "state", "established", f"( sport = :{self.port} )"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        counts = dict.fromkeys(self.worker_pids(), 0)
        for line in out.splitlines():
            for pid in counts:
                if f"pid={pid}," in line:
                    counts[pid] += 1
        return sorted(counts.values(), reverse=True) if counts else None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        with contextlib.suppress(OSError):
            self._log.close()
