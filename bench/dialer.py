"""Figures 3 and 4: the dialer.

3. "Next lead" latency: concurrent claimers, each in its own process with its own database
   connection, calling leadline.dialer.services.lead_claim on a campaign of 1,000,000 queued
   leads, beside the same claim as one SQL statement plus the lease UPDATE over the driver,
   by the same number of processes.
4. `leadline simulate --fast-forward` throughput in leads per second, beside the minimum
   database work per attempt done over the driver by as many threads as simulated reps.

The Django side runs in child processes (bench/agent.py); this module only seeds data over the
driver, starts them and reports.
"""

import os
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from . import report
from .agent import FINAL_OUTCOME
from .infra import ROOT, Database, Server
from .infra import leadline as run_leadline
from .ingest import INSERT_COLUMNS, make_leads
from .measure import HttpClient, Latencies

CLAIM_TARGET_P99_MS = 50
# Mean time a rep of the reps scenario holds a lead before releasing it (a compressed call).
HOLD_MS = 1000
REP_PREFIX = "bench-claimer"
NEW = 2  # Lead.QueueClass.NEW


def agent(env: dict[str, str], *args: str, timeout: float = 900) -> dict:
    """Run `python -m bench.agent ...` with the server's environment; its JSON answer."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.agent", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.agent {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return orjson.loads(result.stdout.strip().splitlines()[-1])


# --- figure 3: claims -----------------------------------------------------------------------


def seed_queue(db: Database, campaign_pk: int, count: int) -> float:
    """Data setup, not measured: `count` new leads waiting in one campaign (queue_class new,
    priority 0, due in the past, no attempts), lead_count to match, then VACUUM ANALYZE."""
    started = time.perf_counter()
    rng = random.Random(4)
    first = datetime.now(UTC) - timedelta(days=10)
    step = 5 * 86400 / count  # created (and due) over five days, ids growing with time
    ts = db.timestamp

    def rows():
        for i in range(count):
            created = ts(first + timedelta(seconds=i * step))
            yield (
                campaign_pk,
                f"q-{i:07d}",
                f"+9198{rng.randrange(10**8):08d}",
                f"Customer {i}",
                f'{{"city": "Pune", "policy_no": "POL-{i:08d}"}}',
                "queued",
                created,
                created,
                "{}",
                NEW,
                0,
                created,
                0,
                i + 1,  # position: the campaign is new
            )

    db.load_leads(campaign_pk, INSERT_COLUMNS, rows())
    return time.perf_counter() - started


def wait_for_connections(db: Database, needed: int, budget_s: float = 180) -> None:
    """PostgreSQL refuses clients beyond max_connections; wait (bounded) until `needed` more
    fit, rather than fail half-way with "too many clients" when other programs hold some."""
    if not db.is_postgres:
        return
    deadline = time.monotonic() + budget_s
    with psycopg.connect(db.url, autocommit=True) as conn:
        while True:
            limit, reserved, used = conn.execute(
                "SELECT current_setting('max_connections')::int, "
                "current_setting('superuser_reserved_connections')::int, "
                "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
            ).fetchone()
            free = limit - reserved - used
            if free >= needed:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{needed} more PostgreSQL connections are needed, {free} are free "
                    f"(max_connections {limit}, {used} in use): stop other clients or lower "
                    "--claimers"
                )
            time.sleep(1)


@dataclass
class ClaimRun:
    latencies: Latencies
    wall_s: float
    client_cpu_s: float
    db_cpu_s: float | None
    queries: list[str]

    @property
    def rate(self) -> float:
        return self.latencies.count / self.wall_s if self.wall_s else 0.0


def _claims(
    env, public_id: str, mode: str, procs: int, claims: int, hold_ms: float = 0
) -> ClaimRun:
    out = agent(
        env, "claims", "--campaign", public_id, "--prefix", REP_PREFIX, "--mode", mode,
        "--procs", str(procs), "--claims", str(claims), "--hold-ms", str(hold_ms),
    )  # fmt: skip
    return ClaimRun(
        Latencies(out["samples_ms"]),
        out["wall_s"],
        out["client_cpu_s"],
        out["db_cpu_s"],
        out.get("queries", []),
    )


def run_claims(
    *, db: Database, env: dict[str, str], public_id: str, count: int, procs: int, claims: int
) -> None:
    report.heading(
        f"Next-lead claims, {db.label}: {procs} concurrent claimers on a campaign of "
        f"{count:,} queued leads"
    )
    campaign_pk = db.campaign_pk(public_id)
    seconds = seed_queue(db, campaign_pk, count)
    report.note(
        f"data setup, not measured: {count:,} queued leads "
        f"({'COPY' if db.is_postgres else 'executemany INSERT'}; new, priority 0, due in the "
        f"past) and lead_count in {seconds:.1f} s incl. "
        f"{'VACUUM ANALYZE, CHECKPOINT' if db.is_postgres else 'ANALYZE'}"
    )
    started = time.perf_counter()
    agent(env, "reps", "--campaign", public_id, "--prefix", REP_PREFIX, "--count", str(procs))
    report.note(
        f"{procs} reps with phone numbers assigned to the campaign through "
        f"accounts.services.rep_upsert in {time.perf_counter() - started:.1f} s"
    )
    single = max(20, min(200, procs * claims // 10))
    held = max(5, claims // 2)
    # (label, processes, claims each, mean hold in ms).
    scenarios = [
        ("1 claimer, sequential", 1, single, 0),
        (f"{procs} reps, each on a ~{HOLD_MS / 1000:g} s call", procs, held, HOLD_MS),
        (f"{procs} claimers back to back", procs, claims, 0),
    ]
    runs: dict[tuple[str, str], ClaimRun] = {}
    for label, procs_now, per_proc, hold_ms in scenarios:
        # Baseline first, then the real path, each after a maintenance pass, so neither pays
        # for cleaning up after the other's dead rows while timed.
        for mode in ("raw", "orm"):
            db.maintain()
            wait_for_connections(db, procs_now + 2)
            runs[(mode, label)] = _claims(env, public_id, mode, procs_now, per_proc, hold_ms)

    rows = []
    for label, procs_now, _per_proc, _hold_ms in scenarios:
        orm, raw = runs[("orm", label)], runs[("raw", label)]
        # Both concurrent rows are held to the target: reps on calls, and the harsher case
        # of every process claiming again at once.
        judged = procs_now > 1
        met = orm.latencies.p99 < CLAIM_TARGET_P99_MS
        rows.append(
            [
                label,
                f"{orm.latencies.count:,}",
                report.ms(orm.latencies.p50),
                report.ms(orm.latencies.p99),
                report.ms(raw.latencies.p50),
                report.ms(raw.latencies.p99),
                report.ratio(orm.latencies.p50 / raw.latencies.p50),
                report.ratio(orm.latencies.p99 / raw.latencies.p99),
                f"< {CLAIM_TARGET_P99_MS}" if judged else "",
                (report.verdict(met) if db.is_postgres else "") if judged else "",
            ]
        )
    report.table(
        [
            "claim (ms)",
            "n",
            "lead_claim p50",
            "p99",
            "raw p50",
            "raw p99",
            "p50 ratio",
            "p99 ratio",
            "target p99",
            "",
        ],
        rows,
    )
    report.note(
        f"reps row: each of the {procs} processes holds every lead it claims for a random "
        f"{HOLD_MS * 0.5:g}-{HOLD_MS * 1.5:g} ms (its call, compressed from minutes) before "
        f"releasing it, {held} claims each: {procs} reps claiming concurrently at the pace of "
        "very short calls. Back-to-back row: no call at all, every process claims again at "
        "once, which saturates this machine's CPU (see below)."
    )
    label = scenarios[-1][0]
    orm, raw = runs[("orm", label)], runs[("raw", label)]
    report.note(
        f"each claimer is a process forked from one Django process, with its own database "
        f"connection; after 1 untimed claim they start together and make {claims} claims each "
        f"(the sequential row: 1 process, {single} claims). Only the claim is timed."
    )
    report.note(
        "lead_claim(rep=..., now=timezone.now(), ignore_window=True), then released the real "
        f"way: call_place + disposition_submit with {FINAL_OUTCOME!r} (final), which processes "
        "the lead and writes its lead.processed event."
    )
    sql_claim = "SELECT ... ORDER BY queue_class, priority DESC, due_at, id LIMIT 1"
    report.note(
        f"raw: BEGIN; {sql_claim}"
        + (" FOR UPDATE SKIP LOCKED" if db.is_postgres else "")
        + "; UPDATE lease; COMMIT over "
        + ("psycopg" if db.is_postgres else "sqlite3 (BEGIN IMMEDIATE)")
        + ", same filters as the service; released with one UPDATE (processed)."
    )
    if orm.queries:
        report.note(
            f"statements one lead_claim sends: {len(orm.queries)} "
            f"({_describe_queries(orm.queries)}); raw: "
            + ("3 (SELECT, UPDATE, COMMIT)" if db.is_postgres else "4 (BEGIN, SELECT, ...)")
        )
        report.note("their plans, after the runs: " + _plans(db, orm.queries))
    for name, run in (("lead_claim", orm), ("raw", raw)):
        db_part = (
            f", their PostgreSQL backends {run.db_cpu_s:.1f}" if run.db_cpu_s is not None else ""
        )
        cpu_ms = (run.client_cpu_s + (run.db_cpu_s or 0)) / run.latencies.count * 1000
        report.note(
            f"{name}, {procs} back-to-back claimers: {run.latencies.count:,} claims in "
            f"{run.wall_s:.1f} s "
            f"({run.rate:,.0f} claims/s incl. releases); CPU-seconds: claimer processes "
            f"{run.client_cpu_s:.1f}{db_part} (machine: {_cores()} cores = "
            f"{_cores() * run.wall_s:.1f} per wall run), {cpu_ms:.1f} ms per claim + release"
        )
    report.note(
        "back-to-back claimers have no call between claims: with that much CPU per cycle, "
        "more claimers than cores queue for the CPU, and p99 is mostly that wait; "
        "the raw claimers only claim, so they meet each other at the head of the queue far "
        "more often."
    )
    if not db.is_postgres:
        report.note(
            "SQLite serialises write transactions (BEGIN IMMEDIATE): claims queue behind each "
            "other and behind releases, waiting in SQLite's busy handler (sleeps of up to "
            f"100 ms); SQLite runs {claims} claims per claimer; the target is set for "
            "PostgreSQL only."
        )


def _query_name(sql: str) -> str:
    text = " ".join(sql.split())
    upper = text.upper()
    if upper in ("BEGIN", "COMMIT") or upper.startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
        return upper.split()[0]
    if upper.startswith("UPDATE") and "RETURNING" in upper:
        return "UPDATE lease WHERE id = (SELECT candidate" + (
            " FOR UPDATE SKIP LOCKED) RETURNING" if "SKIP" in upper else ") RETURNING"
        )
    if upper.startswith("UPDATE"):
        return "UPDATE lease"
    if 'FROM "accounts_user"' in text:
        held = " + held lead" if '"leased_by_id"' in text else ""
        return "SELECT rep" + held + (" FOR UPDATE" * ("FOR UPDATE" in upper))
    if '"leased_by_id" =' in text and "FOR UPDATE" not in upper:
        return "SELECT held lead"
    if "campaigns_campaign_reps" in text:
        return "SELECT rep's campaigns"
    if 'FROM "leads_lead"' in text:
        return "SELECT candidate" + (" FOR UPDATE SKIP LOCKED" * ("SKIP" in upper))
    if 'FROM "campaigns_campaign"' in text:
        return "SELECT lead's campaign"
    return upper.split()[0]


def _describe_queries(queries: list[str]) -> str:
    """Name each statement one lead_claim sent, in order."""
    return ", ".join(_query_name(sql) for sql in queries)


def _plans(db: Database, queries: list[str]) -> str:
    """How the database plans each SELECT one lead_claim sent (EXPLAIN, not run), as far as
    leads_lead goes: "SCAN leads_lead" (SQLite) or "Seq Scan" would read the whole table."""
    conn = db.connect()
    parts = []
    try:
        for sql in queries:
            upper = sql.lstrip().upper()
            # EXPLAIN without ANALYZE plans a statement without running it, UPDATEs included.
            if not (upper.startswith("SELECT") or "RETURNING" in upper):
                continue
            if db.is_postgres:
                rows = conn.execute("EXPLAIN (COSTS OFF) " + sql).fetchall()
                steps = [
                    row[0].strip().removeprefix("->").strip()
                    for row in rows
                    if ("Scan" in row[0] or "Sort" in row[0]) and "Key:" not in row[0]
                ]
            else:
                rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
                steps = [row[3] for row in rows]
            # The big table is what matters; small ones are scanned whatever the plan.
            steps = [step for step in steps if "leads_lead" in step] or steps[:1]
            parts.append(f"{_query_name(sql).removeprefix('SELECT ')}: {'; '.join(steps)}")
        if db.is_postgres:
            conn.rollback()
    finally:
        conn.close()
    return " | ".join(parts)


def _cores() -> int:
    return os.cpu_count() or 1


# --- figure 4: simulate ---------------------------------------------------------------------


def create_leads(server: Server, token: str, public_id: str, count: int, seed: int) -> float:
    """Leads created through POST /api/v4/leads/create/ (1,000 a request); returns seconds."""
    leads = make_leads(count, seed=seed)
    client = HttpClient(server.port, token)
    started = time.perf_counter()
    try:
        for i in range(0, count, 1000):
            status, body = client.request(
                "POST", f"/api/v4/leads/create/{public_id}/", orjson.dumps(leads[i : i + 1000])
            )
            if status != 201:
                raise RuntimeError(f"create answered {status}: {body[:300]!r}")
    finally:
        client.close()
    return time.perf_counter() - started


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simulate(env: dict[str, str], public_id: str, reps: int) -> tuple[dict, float, float]:
    """`leadline simulate --fast-forward --json`: its report, the command's wall time and
    CPU time (both including its start-up)."""
    started, cpu = time.perf_counter(), _children_cpu_s()
    out = run_leadline(
        env, "simulate", "--campaign", public_id, "--reps", str(reps), "--fast-forward",
        "--seed", "7", "--json", timeout=900,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - started, _children_cpu_s() - cpu
    result = orjson.loads(out.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"simulate reported errors: {result['errors'][:3]}")
    return result, wall, cpu


def webhook_add(env: dict[str, str], public_id: str, url: str) -> int:
    """An endpoint through `leadline webhook add` (127.0.0.1 URLs need ALLOW_PRIVATE)."""
    env = {**env, "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1"}
    out = run_leadline(
        env, "webhook", "add", "--campaign", public_id, "--url", url, "--rate", "1000000",
        "--json",
    )  # fmt: skip
    return orjson.loads(out.strip().splitlines()[-1])["endpoint_id"]


def _table_rows(db: Database) -> int:
    conn = db.connect()
    try:
        return conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    finally:
        conn.close()


def run_simulate(
    *,
    db: Database,
    env: dict[str, str],
    server: Server,
    token: str,
    sim_campaign: str,
    raw_campaign: str,
    count: int,
    reps: int,
) -> None:
    report.heading(
        f"leadline simulate --fast-forward, {db.label}: {count:,} leads, {reps} simulated reps"
    )
    api_s = create_leads(server, token, sim_campaign, count, seed=11)
    create_leads(server, token, raw_campaign, count, seed=12)
    # Both campaigns have a subscribed endpoint, as a client's would: each processed lead
    # writes its event and one delivery. The baseline's endpoint is disabled, so nothing
    # ever sends them; nobody sends the simulated ones either (no worker runs here).
    webhook_add(env, sim_campaign, "http://127.0.0.1:9/unused")
    raw_endpoint = webhook_add(env, raw_campaign, "http://127.0.0.1:9/unused")
    run_leadline(env, "webhook", "disable", str(raw_endpoint))
    report.note(
        f"data setup, not measured: 2 x {count:,} leads created through the API "
        f"({api_s:.1f} s each), one webhook endpoint subscribed to each campaign"
    )

    db.no_call_caps()
    db.maintain()
    table_rows = _table_rows(db)
    result, wall, sim_cpu = simulate(env, sim_campaign, reps)
    if result["leads_processed"] != count:
        raise RuntimeError(f"simulate processed {result['leads_processed']} of {count} leads")
    db.maintain()
    raw = agent(
        env, "raw-work", "--campaign", raw_campaign, "--threads", str(reps),
        "--attempts", str(result["attempts"]),
    )  # fmt: skip
    if raw["processed"] != count:
        raise RuntimeError(f"the baseline processed {raw['processed']} of {count} leads")

    sim_rate = result["leads_processed"] / result["elapsed_seconds"]
    raw_rate = raw["processed"] / raw["elapsed_s"]
    sim_attempts = result["attempts"] / result["elapsed_seconds"]
    raw_attempts = raw["attempts"] / raw["elapsed_s"]
    report.table(
        ["", "simulate", "raw baseline", "simulate/raw"],
        [
            [
                "leads processed / s",
                f"{sim_rate:,.1f}",
                f"{raw_rate:,.1f}",
                report.ratio(sim_rate / raw_rate),
            ],
            [
                "call attempts / s",
                f"{sim_attempts:,.1f}",
                f"{raw_attempts:,.1f}",
                report.ratio(sim_attempts / raw_attempts),
            ],
            [
                "seconds",
                f"{result['elapsed_seconds']:.1f}",
                f"{raw['elapsed_s']:.1f}",
                report.ratio(result["elapsed_seconds"] / raw["elapsed_s"]),
            ],
        ],
    )
    calls = ", ".join(f"{k} {v:,}" for k, v in result["telephony"].items())
    report.note(
        f"simulate: {result['leads_processed']:,} leads processed in {result['attempts']:,} "
        f"attempts ({calls}); the command took {wall:.1f} s wall including its start-up; "
        "the rate is over the command's own clock (reps working)."
    )
    report.note(
        f"simulate: {reps} rep threads in one process, each its own connection, through "
        "lead_claim, call_place, call_refresh (the simulator; answered calls get a 64 KB WAV "
        "written to media storage), disposition_submit with generated answers."
    )
    report.note(
        f"raw: {reps} threads, one psycopg/sqlite3 connection each, the same number of attempts "
        "spread over as many leads; per attempt three transactions: claim (SELECT ... LIMIT 1"
        + (" FOR UPDATE SKIP LOCKED" if db.is_postgres else "")
        + " + lease UPDATE), call (attempt INSERT + lead UPDATE), outcome (attempt UPDATE + "
        "lead UPDATE, and on the lead's last attempt its event and delivery INSERTs). No "
        "telephony state, recording, answers, or reading back of the lead."
    )
    report.note(
        f"leads_lead held {table_rows:,} rows (all campaigns) when simulate started. "
        f"CPU-seconds: the simulate command {sim_cpu:.1f} (incl. start-up), the baseline "
        f"process {raw['client_cpu_s']:.1f}; database backends not metered."
    )
