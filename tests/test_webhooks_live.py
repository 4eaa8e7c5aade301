"""Webhooks end to end with real processes: API server, `leadline simulate`, `leadline worker`
(its `deliver-webhooks` loop) and a receiver process on 127.0.0.1 (tests/receiver.py).

Leads are created through the HTTP API and processed by `leadline simulate --fast-forward`;
every `lead.processed` event must reach the receiver, verify with the `standardwebhooks`
package under the endpoint's secret, and carry a body equal to the lead's GET item. Faults:

- the worker is killed with SIGKILL at random moments (at least 10 times, some of them while
  the receiver holds a request) during a 1,000-event run, and restarted each time: every
  event is still delivered, and any duplicate carries the same webhook-id and body;
- the receiver is down (connection refused), then up but answering 503, then healthy: all
  deliveries succeed after recovery, with the failed tries on record;
- PostgreSQL is restarted while deliveries are in flight, then stopped for 2 s while the
  worker idles (PostgreSQL only; `pg_ctlcluster` of the local cluster on DATABASE_URL's
  port, or the command in LEADLINE_TEST_PG_CTL, given stop/start/restart): the same worker
  process recovers by itself and delivers what was in flight and what came after.

Retries are compressed with LEADLINE_WEBHOOK_SCHEDULE_SCALE. A delivery leased by a worker
that died (or lost its database) before recording the answer is sent again once its lease
expires (timeout + 30 s), so the fault tests wait for that; every wait is bounded. The kill
moments are random; LEADLINE_TEST_SEED replays a run's.
"""

import base64
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import requests
import standardwebhooks

from conftest import BIN, ROOT, LiveServer, free_port, leadline
from tests.helpers import (
    IS_POSTGRES,
    Worker,
    all_results,
    bootstrap,
    create_leads,
    leads_payload,
    no_call_gap,
    query_live_db,
)

pytestmark = pytest.mark.live

RECEIVER = Path(__file__).with_name("receiver.py")
SCHEDULE_SCALE = "0.001"  # retries after 0, 0.005, 0.3, 1.8, 7.2, 18 s ...
WEBHOOK_TIMEOUT = "2"  # seconds; a killed worker's leases expire after this + 30 s
LEASE_SECONDS = float(WEBHOOK_TIMEOUT) + 30
KILLS = 12
KILL_TEST_EVENTS = 1000


# --- processes ------------------------------------------------------------------------------


class Receiver:
    """tests/receiver.py in its own process, on a fixed port so it can come back after dying."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/leadline"
        self.log = directory / "received.jsonl"
        self.log.touch()
        self.errors = directory / "receiver.stderr"
        self.proc: subprocess.Popen | None = None

    def start(self, *options: str) -> None:
        assert self.proc is None or self.proc.poll() is not None
        args = [sys.executable, str(RECEIVER), "--port", str(self.port), "--log", str(self.log)]
        with open(self.errors, "ab") as errors:
            self.proc = subprocess.Popen(
                [*args, *options],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        line = self.proc.stdout.readline()  # EOF if it could not start
        assert line.startswith("listening on"), f"receiver did not start: {line!r}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def size(self) -> int:
        return self.log.stat().st_size

    def records(self) -> list[dict]:
        data = self.log.read_bytes()
        # A line is written whole and flushed before the answer; skip a torn last line only.
        return [orjson.loads(line) for line in data.split(b"\n") if line.endswith(b"}")]


_requests_get = requests.get


def _patient_get(*args, **kwargs):
    try:
        return _requests_get(*args, **kwargs)
    except requests.Timeout as exc:
        raise requests.ConnectionError(exc) from exc


@pytest.fixture(scope="module")
def api_server(live_db):
    """A gunicorn API server on the live database.

    conftest's LiveServer polls /healthz with a 1 s timeout and retries only on
    ConnectionError: while gunicorn's workers are still booting on a busy machine, the poll
    times out instead (ReadTimeout), escapes, and leaves the server running with nobody to
    stop it. Here a timeout counts as "not up yet", as a refused connection does.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests, "get", _patient_get)
        server = LiveServer(live_db)
    yield server
    server.stop()


@pytest.fixture
def hook_env(live_db, tmp_path):
    """The live database's environment, plus what the worker and the simulator need."""
    return {
        **live_db,
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEADLINE_WEBHOOK_SCHEDULE_SCALE": SCHEDULE_SCALE,
        "LEADLINE_WEBHOOK_TIMEOUT": WEBHOOK_TIMEOUT,
        "LEADLINE_LOG_LEVEL": "INFO",  # Worker.wait_ready reads "worker started"
        # Simulated recordings go here, not into the checkout's var/.
        "LEADLINE_VAR_DIR": str(tmp_path / "var"),
        # Most simulated calls are answered: fewer attempts per processed lead.
        "LEADLINE_SIMULATOR_ANSWER": "0.8",
    }


@pytest.fixture
def receiver(tmp_path):
    server = Receiver(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def worker(hook_env, tmp_path):
    runner = Worker(hook_env, tmp_path)
    yield runner
    runner.stop()


@pytest.fixture
def tenant(hook_env, receiver):
    """A business and campaign (`bootstrap`) with an endpoint at the receiver (`webhook add`)."""
    tenant = bootstrap(hook_env, name="Webhooks")
    # The simulator retries leads minutes apart, more than 3 times a simulated day: no
    # minimum gap and the widest call caps, or the run would wait for them.
    no_call_gap(hook_env, "Webhooks %")  # bootstrap adds a random suffix
    added = leadline(
        hook_env,
        "webhook",
        "add",
        "--campaign",
        tenant["campaign_id"],
        "--url",
        receiver.url,
        "--rate",
        "100000",
        "--json",
    )
    return {**tenant, **orjson.loads(added)}


# --- helpers --------------------------------------------------------------------------------


def create(server, tenant, prefix: str, count: int) -> set[str]:
    leads = leads_payload(prefix, count, city="Pune")
    create_leads(server.url, tenant["access_token"], tenant["campaign_id"], leads)
    return {lead["lead_id"] for lead in leads}


_simulations: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_simulation_left_behind():
    yield
    while _simulations:
        proc = _simulations.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def simulate_start(env, tenant, directory: Path, name: str = "simulate"):
    """`leadline simulate --fast-forward` of the campaign, in the background."""
    args = [str(BIN / "leadline"), "simulate", "--campaign", tenant["campaign_id"]]
    args += ["--fast-forward", "--seed", "7", "--json"]
    out, err = directory / f"{name}.out", directory / f"{name}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=stdout, stderr=stderr)
    _simulations.append(proc)
    return proc, out, err


def simulate_finish(started, *, expected: int, timeout: float = 240) -> dict:
    proc, out, err = started
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"simulate took over {timeout} s") from None
    assert proc.returncode == 0, err.read_text()[-3000:]
    report = orjson.loads(out.read_bytes())
    assert report["leads_processed"] == expected, report
    assert report["left_queued"] == 0 and not report["errors"], report
    return report


def simulate(env, tenant, directory: Path, *, expected: int, name: str = "simulate") -> dict:
    return simulate_finish(simulate_start(env, tenant, directory, name), expected=expected)


def deliveries(env, endpoint_id: int) -> dict[str, tuple[str, int]]:
    """message_id -> (status, attempts_count) of the endpoint's deliveries."""
    rows = query_live_db(
        env,
        "SELECT message_id, status, attempts_count FROM webhooks_delivery WHERE endpoint_id = %s",
        (endpoint_id,),
    )
    return {message_id: (status, count) for message_id, status, count in rows}


def attempts(env, endpoint_id: int) -> dict[str, list[tuple[int | None, str]]]:
    """message_id -> [(status_code, error), ...] in the order they were tried."""
    rows = query_live_db(
        env,
        "SELECT d.message_id, a.status_code, a.error FROM webhooks_deliveryattempt a "
        "JOIN webhooks_delivery d ON d.id = a.delivery_id WHERE d.endpoint_id = %s "
        "ORDER BY a.attempted_at, a.id",
        (endpoint_id,),
    )
    tried: dict[str, list[tuple[int | None, str]]] = defaultdict(list)
    for message_id, status_code, error in rows:
        tried[message_id].append((status_code, error))
    return tried


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2, tail=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception as exc:  # the database may be restarting: try again
            value, error = None, exc
        else:
            error = None
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\nlast error: {error!r}" if error else ""
            extra += f"\nworker log:\n{tail()}" if tail else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(interval)


def all_succeeded(env, endpoint_id: int, count: int):
    def check():
        found = deliveries(env, endpoint_id)
        done = len(found) == count and all(s == "succeeded" for s, _ in found.values())
        return found if done else None

    return check


def check_received(receiver, tenant, stored: dict, items: dict[str, dict]) -> dict:
    """What the receiver got is exactly the stored deliveries: signed, equal to GET items.

    Returns counts: requests, distinct webhook-ids, ids received more than once.
    """
    hook = standardwebhooks.Webhook(tenant["secret"])
    by_id: dict[str, list[tuple[bytes, dict, int]]] = defaultdict(list)
    records = receiver.records()
    for record in records:
        headers = {name.lower(): value for name, value in record["headers"].items()}
        body = base64.b64decode(record["body_b64"])
        payload = hook.verify(body, headers)  # raises unless signed with the secret
        assert record["method"] == "POST" and record["path"] == urlsplit(receiver.url).path
        assert headers["content-type"] == "application/json"
        assert headers["webhook-event-type"] == "lead.processed"
        assert headers["user-agent"].startswith("Leadline-Webhooks/")
        by_id[headers["webhook-id"]].append((body, payload, record["status"]))
    # Every stored event arrived, and nothing else did.
    missing = set(stored) - set(by_id)
    assert not missing, f"{len(missing)} events never received, e.g. {sorted(missing)[:3]}"
    assert set(by_id) == set(stored), "received webhook-ids that were never stored"
    ids_by_lead: dict[str, set[str]] = defaultdict(set)
    for message_id, copies in by_id.items():
        # Duplicates only as the same message: same webhook-id, byte-identical body.
        assert len({body for body, _, _ in copies}) == 1, message_id
        assert any(200 <= status < 300 for _, _, status in copies), message_id
        payload = copies[0][1]
        ids_by_lead[payload["lead_id"]].add(message_id)
        assert payload == items[payload["lead_id"]], payload["lead_id"]
    assert set(ids_by_lead) == set(items), "not every processed lead was announced"
    twice = {lead: ids for lead, ids in ids_by_lead.items() if len(ids) > 1}
    assert not twice, f"leads announced under more than one webhook-id: {twice}"
    return {
        "requests": len(records),
        "events": len(by_id),
        "duplicated": sum(1 for copies in by_id.values() if len(copies) > 1),
    }


def get_items(server, tenant) -> dict[str, dict]:
    """lead_id -> the lead's item from GET /api/v4/leads/responses/{campaign_id}/."""
    results = all_results(server.url, tenant["access_token"], tenant["campaign_id"])
    assert all(item["processed_at"] for item in results)
    return {item["lead_id"]: item for item in results}


# --- tests ----------------------------------------------------------------------------------


def test_every_processed_lead_is_delivered_once_signed_and_equal_to_its_get_item(
    api_server, hook_env, tenant, receiver, worker, tmp_path
):
    count = 60
    receiver.start()
    worker.start()
    lead_ids = create(api_server, tenant, "happy", count)
    simulate(hook_env, tenant, tmp_path, expected=count)
    stored = wait_until(
        all_succeeded(hook_env, tenant["endpoint_id"], count),
        timeout=60,
        what="every delivery to succeed",
        tail=worker.tail,
    )
    items = get_items(api_server, tenant)
    assert set(items) == lead_ids
    stats = check_received(receiver, tenant, stored, items)
    # A healthy receiver and worker: exactly one request per event, one attempt each.
    assert stats == {"requests": count, "events": count, "duplicated": 0}
    assert {tries for _, tries in stored.values()} == {1}
    assert worker.proc.poll() is None, worker.tail()


def test_worker_killed_at_random_moments_still_delivers_all_1000_events(
    api_server, hook_env, tenant, receiver, worker, tmp_path
):
    seed = int(os.environ.get("LEADLINE_TEST_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    print(f"\nkill moments from seed {seed} (LEADLINE_TEST_SEED)")
    started = time.monotonic()
    lead_ids = create(api_server, tenant, "kill", KILL_TEST_EVENTS)
    # A slow receiver: a request waits 0.1 s for its answer, a window for killing the worker
    # after it sent a delivery and before it could record the outcome.
    receiver.start("--delay", "0.1")
    worker.start()
    simulation = simulate_start(hook_env, tenant, tmp_path)
    kills = in_flight_kills = 0
    deadline = time.monotonic() + 180
    while kills < KILLS and time.monotonic() < deadline:
        worker.wait_ready()  # a random moment of its work, not of Python starting up
        time.sleep(rng.uniform(0.1, 2.0))
        in_flight = False
        if rng.random() < 0.5:
            # Kill right after a request reaches the receiver, while its answer is pending.
            size = receiver.size()
            until = time.monotonic() + 5
            while not in_flight and time.monotonic() < until:
                time.sleep(0.003)
                in_flight = receiver.size() != size
        assert worker.proc.poll() is None, f"the worker died by itself:\n{worker.tail()}"
        worker.kill9()
        kills += 1
        in_flight_kills += in_flight
        worker.start()
    assert kills >= 10, f"only {kills} kills in the time allowed"
    report = simulate_finish(simulation, expected=KILL_TEST_EVENTS)
    simulated = time.monotonic()
    stored = wait_until(
        all_succeeded(hook_env, tenant["endpoint_id"], KILL_TEST_EVENTS),
        timeout=LEASE_SECONDS + 90,
        what="every delivery to succeed after the kills",
        interval=0.5,
        tail=worker.tail,
    )
    delivered = time.monotonic()
    items = get_items(api_server, tenant)
    assert set(items) == lead_ids
    stats = check_received(receiver, tenant, stored, items)
    print(
        f"kill -9 run: {kills} kills ({in_flight_kills} with a request in "
        f"flight), {worker.starts} worker starts, {report['attempts']} call attempts; "
        f"{stats['requests']} requests for {stats['events']} events, {stats['duplicated']} "
        f"sent more than once; simulated in {simulated - started:.1f} s, all delivered "
        f"{delivered - simulated:.1f} s later"
    )
    if in_flight_kills:
        # A worker killed while its request was in flight never recorded the answer: that
        # delivery went out again once its lease expired, under the same webhook-id.
        assert stats["duplicated"] >= 1
    tried = attempts(hook_env, tenant["endpoint_id"])
    assert all(tried[message_id][-1][0] == 200 for message_id in stored)


def test_receiver_down_then_back_gets_everything_after_recovery(
    api_server, hook_env, tenant, receiver, worker, tmp_path
):
    count = 40
    endpoint_id = tenant["endpoint_id"]
    receiver.start()
    worker.start()
    receiver.kill9()  # down: connections are refused
    lead_ids = create(api_server, tenant, "down", count)
    simulate(hook_env, tenant, tmp_path, expected=count)

    def tried_twice():
        found = deliveries(hook_env, endpoint_id)
        return len(found) == count and min(n for _, n in found.values()) >= 2

    wait_until(tried_twice, timeout=30, what="two failed tries each", tail=worker.tail)
    assert receiver.records() == []
    # Up, but failing: 503 with Retry-After.
    receiver.start("--status", "503", "--retry-after", "1")
    wait_until(receiver.records, timeout=30, what="a try answered 503", tail=worker.tail)
    receiver.stop()
    receiver.start()  # healthy again
    stored = wait_until(
        all_succeeded(hook_env, endpoint_id, count),
        timeout=60,
        what="every delivery to succeed after recovery",
        tail=worker.tail,
    )
    items = get_items(api_server, tenant)
    assert set(items) == lead_ids
    stats = check_received(receiver, tenant, stored, items)
    tried = attempts(hook_env, endpoint_id)
    for message_id, (_, count_tried) in stored.items():
        history = tried[message_id]
        assert len(history) == count_tried >= 3
        # Refused twice while down (no status, an error), answered 2xx once, last.
        assert all(code is None and error for code, error in history[:2]), history
        assert history[-1] == (200, "") and all(code != 200 for code, _ in history[:-1])
    statuses = [record["status"] for record in receiver.records()]
    assert 503 in statuses and statuses.count(200) == count
    assert stats["events"] == count
    assert worker.proc.poll() is None, worker.tail()


def _pg_ctl_command() -> list[str] | None:
    """A command that takes `stop`, `start` or `restart` for the DATABASE_URL's server.

    LEADLINE_TEST_PG_CTL if set; else Debian's `pg_ctlcluster` for the local cluster that
    listens on the URL's port.
    """
    custom = os.environ.get("LEADLINE_TEST_PG_CTL")
    if custom:
        return shlex.split(custom)
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.hostname not in ("127.0.0.1", "localhost", "::1") or not shutil.which("pg_lsclusters"):
        return None
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30
    ).stdout
    for line in listing.splitlines():
        version, cluster, port, *_ = line.split()
        if int(port) == (url.port or 5432):
            return ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster]
    return None


@pytest.fixture
def pg_ctl():
    """pg_ctl(action): stop, start or restart the database server; returns seconds taken."""
    if not IS_POSTGRES:
        pytest.skip("restarts PostgreSQL: only with a PostgreSQL DATABASE_URL")
    command = _pg_ctl_command()
    if command is None:
        pytest.skip("no way to restart PostgreSQL here (set LEADLINE_TEST_PG_CTL)")

    def run(action: str) -> float:
        started = time.monotonic()
        subprocess.run([*command, action], check=True, capture_output=True, timeout=120)
        return time.monotonic() - started

    stopped = []

    def ctl(action: str) -> float:
        stopped[:] = [action == "stop"]
        return run(action)

    yield ctl
    if any(stopped):
        run("start")  # never leave the server down for what runs next
    # This process's own connections (pytest-django's) died with the server.
    from django.db import connections

    connections.close_all()


def succeeded_for(env, endpoint_id: int, prefix: str) -> int:
    """How many deliveries of events about leads `prefix-*` succeeded."""
    [(count,)] = query_live_db(
        env,
        "SELECT COUNT(*) FROM webhooks_delivery d JOIN webhooks_event e ON e.id = d.event_id "
        "JOIN leads_lead l ON l.id = e.lead_id "
        "WHERE d.endpoint_id = %s AND d.status = 'succeeded' AND l.lead_id LIKE %s",
        (endpoint_id, f"{prefix}-%"),
    )
    return count


def test_worker_recovers_by_itself_when_postgresql_restarts_mid_run(
    api_server, hook_env, tenant, receiver, worker, tmp_path, pg_ctl
):
    first, second = 150, 50
    endpoint_id = tenant["endpoint_id"]
    lead_ids = create(api_server, tenant, "pg-before", first)
    simulate(hook_env, tenant, tmp_path, expected=first, name="simulate-1")
    # 150 deliveries, ten at a time, 0.3 s each: about 4.5 s of sending to restart during.
    receiver.start("--delay", "0.3")
    worker.start()
    pid = worker.proc.pid
    wait_until(lambda: len(receiver.records()) >= 20, timeout=30, what="deliveries in flight")
    took = [pg_ctl("restart")]  # the worker's connection dies under its batch
    assert worker.proc.poll() is None, worker.tail()
    # After the restart: more events, which the same worker delivers at once (the batch it
    # could not record stays leased for a while).
    lead_ids |= create(api_server, tenant, "pg-after", second)
    simulate(hook_env, tenant, tmp_path, expected=second, name="simulate-2")
    wait_until(
        lambda: succeeded_for(hook_env, endpoint_id, "pg-after") == second,
        timeout=30,
        what="the events made after the restart to be delivered",
        tail=worker.tail,
    )
    # Stopped while the worker polls (idle: the unrecorded batch is still leased), down for
    # a while, then started again.
    took.append(pg_ctl("stop"))
    time.sleep(2)
    took.append(pg_ctl("start"))
    stored = wait_until(
        all_succeeded(hook_env, endpoint_id, first + second),
        timeout=LEASE_SECONDS + 60,
        what="every delivery to succeed after the restarts",
        interval=0.5,
        tail=worker.tail,
    )
    assert worker.proc.poll() is None and worker.proc.pid == pid and worker.starts == 1
    output = worker.output()
    # It saw both outages (the exact database error text varies with timing and load) and
    # came back by itself: the same process delivered everything above.
    assert output.count("loop deliver-webhooks failed; retrying") >= 2, worker.tail()
    items = get_items(api_server, tenant)
    assert set(items) == lead_ids
    stats = check_received(receiver, tenant, stored, items)
    print(
        f"\nPostgreSQL restart took {took[0]:.1f} s; stop, 2 s down and start took "
        f"{sum(took[1:]) + 2:.1f} s; {stats}"
    )
