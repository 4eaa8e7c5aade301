"""Figure 1: leads/s through POST /api/v4/leads/create/ beside a raw batched insert of the same
rows into the same table of the same database (another campaign, so they never collide)."""

import contextlib
import functools
import itertools
import operator
import random
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from . import report
from .infra import Database, Server
from .measure import CpuMeter, CpuUse, HttpClient, Latencies, percentile

BATCH = 1000
# Leads of the fence campaign (see `fence`): enough to fill a few leaf pages of each index.
FENCE_LEADS = 2000
# Issue 14: one client posting 1,000-lead batches back to back reaches 0.7 of a raw COPY on
# PostgreSQL (`--clients 1`, the default).
API_TARGET_RATIO = 0.7
CITIES = ("Mumbai", "Pune", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Jaipur", "Lucknow")
# What leads.services._insert_rows writes (the benchmark cannot import it without Django).
INSERT_COLUMNS = (
    "campaign_id",
    "lead_id",
    "phone_number",
    "contact_name",
    "custom_fields",
    "status",
    "created_at",
    "updated_at",
    "lead_responses",
    "queue_class",
    "priority",
    "due_at",
    "attempts_count",
    # The lead's place in its campaign (1, 2, 3, ...), which the service gives at insert.
    "position",
)


def make_leads(count: int, *, seed: int = 1) -> list[dict]:
    """API payload items: unique lead_id (per seed), a valid Indian mobile, a name and 2
    custom fields."""
    rng = random.Random(seed)
    return [
        {
            "lead_id": f"s{seed}-lead-{i:07d}",
            # Every 98xxx prefix is a valid Indian mobile range; the rest varies freely.
            "phone_number": f"98{rng.randrange(10**8):08d}",
            "contact_name": f"Customer {i}",
            "city": CITIES[i % len(CITIES)],
            "policy_no": f"POL-{i:08d}",
        }
        for i in range(count)
    ]


def raw_batches(
    db: Database, leads: list[dict], campaign_pk: int, first_position: int = 1
) -> list[list[tuple]]:
    """The rows the API stores for `leads` (phone in E.164, custom fields as JSON), built
    before timing just as the API bodies are encoded before timing."""
    now = db.timestamp(datetime.now(UTC))
    rows = [
        (
            campaign_pk,
            lead["lead_id"],
            "+91" + lead["phone_number"],
            lead["contact_name"],
            orjson.dumps({"city": lead["city"], "policy_no": lead["policy_no"]}).decode(),
            "queued",
            now,
            now,
            "{}",
            2,  # Lead.QueueClass.NEW: due at once, as the service queues them
            0,
            now,
            0,
            first_position + n,
        )
        for n, lead in enumerate(leads)
    ]
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


@dataclass(frozen=True)
class IngestRun:
    leads: int
    seconds: float
    latencies: Latencies
    cpu: CpuUse
    complete: bool
    split: list[int] | None = None  # client connections held by each gunicorn worker

    @property
    def rate(self) -> float:
        return self.leads / self.seconds if self.seconds else 0.0


def raw_insert(db: Database, batches: list[list[tuple]], *, budget_s: float) -> IngestRun:
    """One connection, one transaction per batch: COPY on PostgreSQL, executemany on SQLite."""
    columns = ", ".join(INSERT_COLUMNS)
    copy_sql = f"COPY leads_lead ({columns}) FROM STDIN"
    marks = ", ".join(["?"] * len(INSERT_COLUMNS))
    insert_sql = f"INSERT INTO leads_lead ({columns}) VALUES ({marks})"
    samples, done = [], 0
    conn = db.connect()
    backend = [conn.info.backend_pid] if db.is_postgres else []
    try:
        with CpuMeter([], (lambda: backend) if db.is_postgres else None) as meter:
            deadline = time.monotonic() + budget_s
            start = time.perf_counter()
            for batch in batches:
                t0 = time.perf_counter_ns()
                if db.is_postgres:
                    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                        for row in batch:
                            copy.write_row(row)
                    conn.commit()
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(insert_sql, batch)
                    conn.execute("COMMIT")
                samples.append((time.perf_counter_ns() - t0) / 1e6)
                done += len(batch)
                if time.monotonic() > deadline:
                    break
            seconds = time.perf_counter() - start
    finally:
        conn.close()
    total = sum(len(b) for b in batches)
    return IngestRun(done, seconds, Latencies(samples), meter.result, done == total)


def api_ingest(
    *,
    db: Database,
    server: Server,
    token: str,
    campaign_id: str,
    bodies: list[bytes],
    batch_sizes: list[int],
    clients: int,
    budget_s: float,
) -> IngestRun:
    """POST every body once, spread over `clients` threads with one keep-alive connection each."""
    path = f"/api/v4/leads/create/{campaign_id}/"
    next_index = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    samples: list[float] = []
    created = [0]
    errors: list[BaseException] = []
    connected = threading.Barrier(clients + 1, timeout=60)
    go = threading.Barrier(clients + 1, timeout=60)
    deadline = [0.0]

    def worker() -> None:
        client = HttpClient(server.port, token)
        try:
            # Connect and let the worker load the API before the clock starts.
            status, body = client.get(f"/api/v4/leads/responses/{campaign_id}/?page_size=1")
            if status != 200:
                raise RuntimeError(f"warm-up GET answered {status}: {body[:300]!r}")
            connected.wait()
            go.wait()
            while time.monotonic() < deadline[0]:
                index = next(next_index)
                if index >= len(bodies):
                    return
                t0 = time.perf_counter_ns()
                status, body = client.request("POST", path, bodies[index])
                elapsed = (time.perf_counter_ns() - t0) / 1e6
                if status != 201:
                    raise RuntimeError(f"create answered {status}: {body[:500]!r}")
                count = orjson.loads(body)["created"]
                if count != batch_sizes[index]:
                    raise RuntimeError(f"created {count} of {batch_sizes[index]} leads")
                with lock:
                    samples.append(elapsed)
                    created[0] += count
        except BaseException as exc:
            errors.append(exc)
            connected.abort()
            go.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + budget_s + 60  # provisional, until the clock starts
    split = None
    # A broken barrier means a client failed while warming up; its error is raised below.
    with contextlib.suppress(threading.BrokenBarrierError):
        connected.wait()
        split = server.connections_per_worker()
    # The meter takes its (slowish) snapshot before the clients are let go, not on the clock.
    with CpuMeter(server.worker_pids(), db.backend_pids if db.is_postgres else None) as meter:
        deadline[0] = time.monotonic() + budget_s
        with contextlib.suppress(threading.BrokenBarrierError):
            go.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join(timeout=budget_s + 120)
        seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("an ingest client did not finish in time")
    total = sum(batch_sizes)
    return IngestRun(
        created[0], seconds, Latencies(samples), meter.result, created[0] == total, split
    )


def fence(db: Database, fence_pk: int) -> None:
    """Put a few leads, untimed, into a campaign created after the API's and the baseline's.

    Five of the table's indexes lead with the campaign. The campaign with the highest id
    holding leads appends at the right edge of each: PostgreSQL's fast path for the rightmost
    leaf page skips the descent, and a rightmost page splits leaving its left half full.
    Every other campaign inserts inside the trees, with a descent per entry and even splits.
    Without the fence the baseline's campaign, created second, had the edge: a raw COPY of
    1,000 leads into it took 19.5 ms against 23.7 ms into the first campaign (the same rows,
    interleaved on one connection; the commits took about 10 ms both). With the fence both
    insert inside the trees, as every campaign but the newest does in production."""
    leads = make_leads(FENCE_LEADS, seed=0)
    raw_insert(db, raw_batches(db, leads, fence_pk), budget_s=300)


def _count_rows(db: Database, campaign_pk: int) -> tuple[int, int]:
    """(rows stored for the campaign, its lead_count)."""
    conn = db.connect()
    try:
        rows = conn.execute(
            db.sql("SELECT count(*) FROM leads_lead WHERE campaign_id = %s"), (campaign_pk,)
        ).fetchone()[0]
        lead_count = conn.execute(
            db.sql("SELECT lead_count FROM campaigns_campaign WHERE id = %s"), (campaign_pk,)
        ).fetchone()[0]
    finally:
        conn.close()
    return rows, lead_count


def run(
    *,
    db: Database,
    server: Server,
    token: str,
    api_campaign: str,
    raw_campaign: str,
    fence_campaign: str,
    count: int,
    rounds: int,
    clients: int,
) -> None:
    report.heading(
        f"Ingest, {db.label}: {count:,} leads in {BATCH:,}-lead requests, {rounds} round(s)"
    )
    api_pk, raw_pk = db.campaign_pk(api_campaign), db.campaign_pk(raw_campaign)
    fence(db, db.campaign_pk(fence_campaign))
    api_runs: list[IngestRun] = []
    raw_runs: list[IngestRun] = []
    request_bytes = 0
    for round_no in range(1, rounds + 1):
        # New lead_ids each round (same campaigns): a round is a couple of seconds, so one
        # alone is at the mercy of a stray checkpoint; the median of a few is steadier.
        leads = make_leads(count, seed=round_no)
        bodies = [orjson.dumps(leads[i : i + BATCH]) for i in range(0, count, BATCH)]
        batch_sizes = [len(leads[i : i + BATCH]) for i in range(0, count, BATCH)]
        request_bytes = len(bodies[0])
        batches = raw_batches(db, leads, raw_pk, first_position=(round_no - 1) * count + 1)
        # Baseline first, then the API, each after a maintenance pass, so that neither pays
        # for cleaning up after the other's rows (autovacuum, WAL checkpoint) while timed.
        db.maintain()
        raw_runs.append(raw_insert(db, batches, budget_s=300))
        db.maintain()
        api_runs.append(
            api_ingest(
                db=db,
                server=server,
                token=token,
                campaign_id=api_campaign,
                bodies=bodies,
                batch_sizes=batch_sizes,
                clients=clients,
                budget_s=300,
            )
        )

    api_done = sum(r.leads for r in api_runs)
    raw_done = sum(r.leads for r in raw_runs)
    api_rows, api_count = _count_rows(db, api_pk)
    raw_rows, _ = _count_rows(db, raw_pk)
    if (api_rows, api_count, raw_rows) != (api_done, api_done, raw_done):
        raise RuntimeError(
            f"stored rows disagree: API {api_rows} rows / lead_count {api_count} for "
            f"{api_done} created, raw {raw_rows} rows for {raw_done} inserted"
        )

    api_rate = statistics.median(r.rate for r in api_runs)
    raw_rate = statistics.median(r.rate for r in raw_runs)
    api_lat = Latencies([x for r in api_runs for x in r.latencies.samples_ms])
    raw_lat = Latencies([x for r in raw_runs for x in r.latencies.samples_ms])
    met = api_rate / raw_rate >= API_TARGET_RATIO
    rows = [
        [
            "leads/s (median of rounds)",
            report.rate(api_rate),
            report.rate(raw_rate),
            report.ratio(api_rate / raw_rate),
            f">= {API_TARGET_RATIO:.2f}x" + ("" if db.is_postgres else " (set for PG)"),
            report.verdict(met) if db.is_postgres else "",
        ],
    ]
    for q in (50, 99):
        api_ms, raw_ms = percentile(api_lat.samples_ms, q), percentile(raw_lat.samples_ms, q)
        rows.append(
            [
                f"ms per 1,000-lead batch, p{q}",
                report.ms(api_ms),
                report.ms(raw_ms),
                report.ratio(api_ms / raw_ms),
                "",
                "",
            ]
        )
    report.table(["", "API (HTTP)", "raw baseline", "API/raw", "target", ""], rows)
    report.note(
        "leads/s per round: API "
        + ", ".join(report.rate(r.rate) for r in api_runs)
        + "; raw "
        + ", ".join(report.rate(r.rate) for r in raw_runs)
    )
    splits = [r.split for r in api_runs]
    if all(splits):
        report.note(
            "API client connections per gunicorn worker, per round (kept by keep-alive, "
            "split by chance at accept): " + ", ".join("+".join(map(str, s)) for s in splits)
        )
    raw_how = "COPY ... FROM STDIN" if db.is_postgres else "executemany INSERT"
    report.note(
        f"API: {clients} client threads, one keep-alive http.client connection each, bodies "
        f"pre-encoded with orjson ({request_bytes / 1024:.0f} KiB per request); batch latency "
        f"is measured under that {clients}-way load."
    )
    report.note(
        f"raw: {raw_how} of the same rows (into another campaign), one transaction per "
        f"{BATCH:,} rows, 1 connection, rows pre-built; run just before the API in each round."
    )
    report.note(
        f"a third campaign, created after both and holding {FENCE_LEADS:,} leads, keeps either "
        "from appending at the right edge of the campaign-leading indexes (bench/ingest.py "
        "fence)"
    )
    if not all(r.complete for r in api_runs + raw_runs):
        report.note("INCOMPLETE: a time budget ran out; rates cover the leads done.")
    report.note("API runs' " + _cpu_total(api_runs).describe())
    report.note("raw runs' " + _cpu_total(raw_runs).describe(client="inserting process"))


def _cpu_total(runs: list[IngestRun]) -> CpuUse:
    return functools.reduce(operator.add, [r.cpu for r in runs])
