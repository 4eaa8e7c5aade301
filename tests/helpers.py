"""Helpers for the tests under tests/ that talk to real server processes."""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import requests
from requests.adapters import HTTPAdapter

from conftest import BIN, ROOT, leadline

IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
WINDOW_SECONDS = 60  # the rate limiter's fixed window, aligned to epoch minutes
HTTP_TIMEOUT = 30


def bootstrap(env: dict[str, str], *, rate_limit: int = 100_000, name: str = "Live") -> dict:
    """A new business, campaign and token in the database of `env` (`leadline bootstrap`)."""
    out = leadline(
        env,
        "bootstrap",
        "--business",
        f"{name} {uuid.uuid4().hex[:10]}",
        "--rate-limit",
        str(rate_limit),
        "--json",
    )
    return orjson.loads(out)


def calling_all_day(env: dict[str, str], campaign_id: str, **fields) -> None:
    """The campaign calls every day at every hour (and takes `fields` too), through the ORM
    in `leadline shell`: a browser test must not depend on the hour it runs, and the CLI's
    HH:MM window would still close for the last minute of the day."""
    extra = "".join(f", {name}={value!r}" for name, value in fields.items())
    leadline(
        env,
        "shell",
        "-c",
        "from datetime import time\n"
        "from leadline.campaigns.models import Campaign\n"
        f"Campaign.objects.filter(public_id={campaign_id!r}).update(\n"
        "    window_days=[0, 1, 2, 3, 4, 5, 6], window_start=time(0), window_end=time.max"
        f"{extra})\n",
    )


def no_call_gap(env, business_name: str) -> None:
    """Businesses named LIKE `business_name` without the 2-hour call gap and at the widest
    caps: `leadline simulate --fast-forward` calls retries and callbacks at once."""
    query_live_db(
        env,
        "UPDATE accounts_business SET min_gap_minutes = 0, calls_per_number_day = 20, "
        "calls_per_number_week = 100 WHERE name LIKE %s",
        (business_name,),
    )


def seconds_left_in_window(now: float | None = None) -> float:
    now = time.time() if now is None else now
    return WINDOW_SECONDS - now % WINDOW_SECONDS


def wait_for(predicate, *, timeout: float, what: str):
    """Poll `predicate` until it returns something truthy (returned), for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_for_fresh_window(min_seconds: float = 10.0) -> None:
    """Sleep into the next rate-limit window if fewer than `min_seconds` remain of this one.

    Sleeps at most `min_seconds` (+ a margin): the counting below then happens in one window.
    """
    left = seconds_left_in_window()
    if left < min_seconds:
        time.sleep(left + 0.2)
    assert seconds_left_in_window() >= min_seconds - 0.5


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def json_headers(token: str) -> dict[str, str]:
    return auth(token, **{"Content-Type": "application/json"})


def leads_payload(prefix: str, count: int, start: int = 0, **custom) -> list[dict]:
    return [
        {
            "lead_id": f"{prefix}-{i}",
            "phone_number": f"98765{i % 100_000:05d}",
            "contact_name": f"Person {i}",
            **custom,
        }
        for i in range(start, start + count)
    ]


def create_leads(base_url: str, token: str, campaign_id: str, leads: list[dict]) -> None:
    response = requests.post(
        f"{base_url}/api/v4/leads/create/{campaign_id}/",
        data=orjson.dumps(leads),
        headers=json_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 201, response.text


def get_page(base_url: str, token: str, campaign_id: str, **params) -> dict:
    response = requests.get(
        f"{base_url}/api/v4/leads/responses/{campaign_id}/",
        params=params,
        headers=auth(token),
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def all_results(base_url: str, token: str, campaign_id: str) -> list[dict]:
    body = get_page(base_url, token, campaign_id, page_size=1000)
    assert body["next"] is None, "helper only reads campaigns of up to 1000 leads"
    return body["results"]


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a chosen loopback address (127.x.y.z): a distinct client address."""

    def __init__(self, source_address: str, **kwargs):
        self.source_address = source_address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source_address: str) -> requests.Session:
    session = requests.Session()
    adapter = SourceAddressAdapter(source_address)
    session.mount("http://", adapter)
    return session


def query_live_db(env: dict[str, str], sql: str, params: tuple = ()) -> list[tuple]:
    """Runs one statement on the live servers' database (SQLite file or PostgreSQL), `%s`
    placeholders, and commits it: its rows for a query, [] for a write."""
    url = env["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(url) as conn:  # commits on leaving
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        cursor = conn.execute(sql.replace("%s", "?"), params)
        rows = cursor.fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


class Worker:
    """`leadline worker --only LOOP...` (the webhook loop by default), output appended to one
    log across restarts; every wait is bounded."""

    def __init__(
        self, env: dict[str, str], directory: Path, loops: tuple[str, ...] = ("deliver-webhooks",)
    ):
        self.env = env
        self.loops = loops
        self.log = directory / "worker.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        only = [arg for loop in self.loops for arg in ("--only", loop)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "leadline"), "worker", *only],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 60) -> None:
        """Until this start's loops run (its "worker started" line), not just the process."""
        deadline = time.monotonic() + timeout
        while self.output().count("worker started with loops") < self.starts:
            assert self.proc.poll() is None, f"the worker exited:\n{self.tail()}"
            assert time.monotonic() < deadline, f"the worker did not start:\n{self.tail()}"
            time.sleep(0.05)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])
