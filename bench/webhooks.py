"""Figure 5: webhook delivery.

Throughput: deliveries per second from ONE `leadline worker --only deliver-webhooks` process
to a local receiver (an aiohttp server in its own process, answering 200 at once), beside a
bare aiohttp client posting the same bodies to the same receiver with the same concurrency.

Delay: with that worker running and otherwise idle, leads are processed one at a time at a
slow pace through the real services, and each lead's delay is the receiver's receive time
minus its processed_at (taken precisely by the process that processed it). Beside it, the
same process POSTs each payload straight to the receiver right after processing: the delay
an outbox could never beat.
"""

import contextlib
import http.client
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import report
from .agent import FINAL_OUTCOME
from .dialer import agent, create_leads, webhook_add
from .infra import BIN, ROOT, Database, Server, free_port
from .measure import _process_cpu_ticks, _ticks_per_second, percentile

RATE_TARGET_RATIO = 0.5
DELAY_TARGET_P99_S = 1.0
DELIVER_BUDGET_S = 600


class Receiver:
    """bench/receiver.py in its own process on 127.0.0.1."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log_path = workdir / f"receiver-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", "--port", str(self.port)],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(time.monotonic() + 30)
        except BaseException:
            self.stop()
            raise

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"receiver exited early:\n{self.log_path.read_text()}")
            with contextlib.suppress(OSError):
                self.stats()
                return
            time.sleep(0.05)
        raise RuntimeError("receiver did not start in 30 s")

    def _call(self, method: str, path: str):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"receiver {path} answered {response.status}")
            return orjson.loads(body)
        finally:
            conn.close()

    def stats(self) -> dict:
        return self._call("GET", "/_bench/stats")

    def dump(self) -> list:
        return self._call("GET", "/_bench/dump")

    def reset(self) -> None:
        self._call("POST", "/_bench/reset")

    def cpu_s(self) -> float:
        return _process_cpu_ticks(self.proc.pid) / _ticks_per_second()

    def stop(self) -> None:
        _stop(self.proc)
        with contextlib.suppress(OSError):
            self._log.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


class Worker:
    """`leadline worker --only deliver-webhooks`, one process."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.log_path = workdir / "worker.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(BIN / "leadline"), "worker", "--only", "deliver-webhooks"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{self.log_tail()}")

    def cpu_s(self) -> float:
        return _process_cpu_ticks(self.proc.pid) / _ticks_per_second()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        _stop(self.proc)
        with contextlib.suppress(OSError):
            self._log.close()


def _pending(db: Database, conn, endpoint_pk: int) -> int:
    return conn.execute(
        db.sql(
            "SELECT count(*) FROM webhooks_delivery WHERE status = 'pending' AND endpoint_id = %s"
        ),
        (endpoint_pk,),
    ).fetchone()[0]


def _wait_delivered(db: Database, endpoint_pk: int, worker: Worker, budget_s: float) -> float:
    """Poll until the endpoint has no pending delivery left; the perf_counter time seen."""
    conn = db.connect()
    if db.is_postgres:
        conn.autocommit = True
    try:
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            if _pending(db, conn, endpoint_pk) == 0:
                return time.time()
            worker.alive()
            time.sleep(0.02)
    finally:
        conn.close()
    raise RuntimeError(f"deliveries still pending after {budget_s:.0f} s:\n{worker.log_tail()}")


def _endpoint_bodies(db: Database, endpoint_pk: int) -> list[bytes]:
    """The bodies the worker will send to the endpoint: each event's payload, as orjson
    encodes it (what the worker does), in delivery order."""
    conn = db.connect()
    try:
        rows = conn.execute(
            db.sql(
                "SELECT e.payload FROM webhooks_delivery d JOIN webhooks_event e "
                "ON e.id = d.event_id WHERE d.endpoint_id = %s ORDER BY d.id"
            ),
            (endpoint_pk,),
        ).fetchall()
    finally:
        conn.close()
    return [orjson.dumps(r[0] if db.is_postgres else orjson.loads(r[0])) for r in rows]


@dataclass
class Throughput:
    count: int
    seconds: float
    sender_cpu_s: float
    receiver_cpu_s: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def bare_rate(env, receiver: Receiver, bodies: list[bytes], concurrency: int, tmp: Path):
    path = tmp / "bodies.jsonl"
    path.write_bytes(b"\n".join(bodies))
    receiver.reset()
    rcpu = receiver.cpu_s()
    out = agent(
        env, "bare-post", "--url", receiver.url("/hooks/bare"), "--bodies", str(path),
        "--concurrency", str(concurrency),
    )  # fmt: skip
    rcpu = receiver.cpu_s() - rcpu
    if out["statuses"] != {"200": len(bodies)}:
        raise RuntimeError(f"bare client got statuses {out['statuses']}")
    got = receiver.stats()["count"]
    if got != len(bodies):
        raise RuntimeError(f"receiver got {got} of {len(bodies)} bare posts")
    return Throughput(len(bodies), out["elapsed_s"], out["client_cpu_s"], rcpu)


def run(
    *,
    db: Database,
    env: dict[str, str],
    server: Server,
    token: str,
    public_id: str,
    latency_campaign: str,
    count: int,
    delay_leads: int,
    delay_interval: float,
) -> None:
    report.heading(
        f"Webhook delivery, {db.label}: {count:,} deliveries from one worker process; "
        f"delay over {delay_leads} leads"
    )
    env = {**env, "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1"}  # the receiver is on 127.0.0.1
    with tempfile.TemporaryDirectory(prefix="leadline-bench-hooks-") as tmp_name:
        tmp = Path(tmp_name)
        receiver = Receiver(tmp)
        worker = None
        try:
            endpoint = _setup(db, env, server, token, public_id, receiver, count)
            max_in_flight = _max_in_flight(db, endpoint)
            bodies = _endpoint_bodies(db, endpoint)
            db.maintain()

            bare = bare_rate(env, receiver, bodies, max_in_flight, tmp)

            receiver.reset()
            rcpu = receiver.cpu_s()
            worker = Worker(env, tmp)
            end = _wait_delivered(db, endpoint, worker, DELIVER_BUDGET_S)
            wcpu = worker.cpu_s()  # the worker's start-up included: it is one process
            rcpu = receiver.cpu_s() - rcpu
            stats = receiver.stats()
            if stats["count"] != count:
                raise RuntimeError(f"receiver got {stats['count']} of {count} deliveries")
            real = Throughput(count, end - stats["first"], wcpu, rcpu)

            delay = _delay(db, env, server, token, latency_campaign, receiver, worker,
                           delay_leads, delay_interval)  # fmt: skip
        except BaseException:
            if worker is not None:
                tail = worker.log_tail()
                if tail:
                    report.out("--- worker log (tail) ---\n" + tail)
            raise
        finally:
            if worker is not None:
                worker.stop()
            receiver.stop()

    ratio = real.rate / bare.rate
    met = ratio >= RATE_TARGET_RATIO
    report.table(
        ["", "worker", "bare aiohttp", "worker/bare", "target", ""],
        [
            [
                "deliveries / s",
                report.rate(real.rate),
                report.rate(bare.rate),
                report.ratio(ratio),
                f">= {RATE_TARGET_RATIO:.2f}x",
                report.verdict(met) if db.is_postgres else "",
            ],
            [
                "seconds",
                f"{real.seconds:.2f}",
                f"{bare.seconds:.2f}",
                report.ratio(real.seconds / bare.seconds),
                "",
                "",
            ],
        ],
    )
    report.note(
        f"{count:,} pending deliveries to one endpoint (rate 1,000,000/min, so pacing never "
        f"holds the worker back; max_in_flight {max_in_flight}, the default), bodies "
        f"{sum(map(len, bodies)) / len(bodies):,.0f} bytes on average."
    )
    report.note(
        "worker: `leadline worker --only deliver-webhooks`, started once everything was "
        "pending; timed from the receiver's first receipt to the moment no delivery is "
        "pending any more (polled every 20 ms), so each batch's claim, signing, posts and "
        "recording are inside (pipelined: the worker posts on an event loop in its own thread, "
        "at most max_in_flight at once, as the bare client, while its database thread records "
        "answers and claims the next batch); receiver CPU "
        f"{real.receiver_cpu_s:.1f} s, worker CPU {real.sender_cpu_s:.1f} s incl. its start-up."
    )
    report.note(
        f"bare: one aiohttp ClientSession, {max_in_flight} posts in flight (asyncio.Semaphore, "
        "the endpoint's max_in_flight), the same bodies with Content-Type and webhook-id only "
        f"(no signing, no database); receiver CPU {bare.receiver_cpu_s:.1f} s, client CPU "
        f"{bare.sender_cpu_s:.1f} s. Run first, before the worker starts."
    )
    _report_delay(delay, delay_leads, delay_interval, db)


def _max_in_flight(db: Database, endpoint_pk: int) -> int:
    conn = db.connect()
    try:
        return conn.execute(
            db.sql("SELECT max_in_flight FROM webhooks_webhookendpoint WHERE id = %s"),
            (endpoint_pk,),
        ).fetchone()[0]
    finally:
        conn.close()


def _setup(db, env, server, token, public_id, receiver, count) -> int:
    started = time.perf_counter()
    create_leads(server, token, public_id, count, seed=21)
    endpoint = webhook_add(env, public_id, receiver.url("/hooks/throughput"))
    out = agent(env, "outbox", "--campaign", public_id, "--count", str(count))
    conn = db.connect()
    try:
        pending = _pending(db, conn, endpoint)
    finally:
        conn.close()
    if pending != count:
        raise RuntimeError(f"{pending} deliveries pending, {count} expected")
    report.note(
        f"data setup, not measured ({time.perf_counter() - started:.1f} s): {count:,} leads "
        "created through the API, marked processed with one UPDATE, and each one's "
        "lead.processed event recorded through webhooks.services.event_record (payload "
        f"lead_result(), as disposition_submit does; {out['seconds']:.1f} s) with one endpoint "
        "subscribed (`leadline webhook add --rate 1000000`) and no worker running: "
        f"{count:,} pending deliveries"
    )
    return endpoint


@dataclass
class Delay:
    outbox_s: list[float]
    direct_s: list[float]
    commit_s: list[float]


def _delay(db, env, server, token, public_id, receiver, worker, leads, interval) -> Delay:
    create_leads(server, token, public_id, leads, seed=22)
    endpoint = webhook_add(env, public_id, receiver.url("/hooks/delay"))
    agent(env, "reps", "--campaign", public_id, "--prefix", "bench-pacer", "--count", "1")
    worker.alive()
    time.sleep(1.0)  # the worker is idle: its loop sleeps between empty claims
    receiver.reset()
    out = agent(
        env, "process", "--campaign", public_id, "--rep", "bench-pacer-001", "--count",
        str(leads), "--interval", str(interval), "--direct-url", receiver.url("/direct"),
    )  # fmt: skip
    _wait_delivered(db, endpoint, worker, 60)
    received: dict[tuple[str, bool], float] = {}
    for at, _message_id, direct, lead_id in receiver.dump():
        received.setdefault((lead_id, direct), at)
    outbox, direct, commit = [], [], []
    for record in out["records"]:
        lead_id = record["lead_id"]
        if (lead_id, False) not in received or (lead_id, True) not in received:
            raise RuntimeError(f"no receipt for lead {lead_id}")
        outbox.append(received[(lead_id, False)] - record["processed_at"])
        direct.append(received[(lead_id, True)] - record["processed_at"])
        commit.append(record["committed"] - record["processed_at"])
    return Delay(outbox, direct, commit)


def _report_delay(delay: Delay, leads: int, interval: float, db: Database) -> None:
    def ms(values: list[float], q: float) -> str:
        return report.ms(percentile(values, q) * 1000)

    p99 = percentile(delay.outbox_s, 99)
    rows = []
    for q in (50, 99, 100):
        name = "max" if q == 100 else f"p{q}"
        out_q, direct_q = percentile(delay.outbox_s, q), percentile(delay.direct_s, q)
        rows.append(
            [
                f"processed -> received, {name} (ms)",
                ms(delay.outbox_s, q),
                ms(delay.direct_s, q),
                report.ratio(out_q / direct_q),
                f"< {DELAY_TARGET_P99_S * 1000:.0f}" if q == 99 else "",
                report.verdict(p99 < DELAY_TARGET_P99_S) if q == 99 and db.is_postgres else "",
            ]
        )
    report.table(["", "outbox + worker", "direct POST", "ratio", "target", ""], rows)
    report.note(
        f"{leads} leads processed one at a time, one every {interval * 1000:.0f} ms, by one "
        "process through lead_claim + call_place + disposition_submit "
        f"({FINAL_OUTCOME!r}), with the worker above running and otherwise idle; delay = "
        "receiver's receive time - the lead's processed_at (the `now` handed to "
        "disposition_submit, to the microsecond; same machine clock)."
    )
    report.note(
        "direct POST: the same process posts the payload to the receiver itself right after "
        "the disposition commits (what no outbox can beat); the disposition transaction took "
        f"p50 {ms(delay.commit_s, 50)} ms / max {ms(delay.commit_s, 100)} ms of both delays."
    )
    if not db.is_postgres:
        report.note("targets are set for PostgreSQL; shown here for reference.")
