"""Figure 2: GET /api/v4/leads/responses/ latency on a campaign of 1,000,000 leads, each case
beside the single SQL query that answers it, run over the driver directly."""

import contextlib
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from . import report
from .infra import Database, Server
from .infra import leadline as run_leadline
from .measure import CpuMeter, HttpClient, Latencies, time_calls, time_gets

PAGE_SIZE = 100  # the API's default page_size
PROCESSED_SHARE = 0.3
PROCESSING_DAYS = 7  # processed_at spread over a week: ~1,800 leads per hour at 1M leads
CREATION_DAYS = 23
WINDOW_SECONDS = 3600
WARMUP = 10
CASE_BUDGET_S = 60
OUTCOMES = (
    "Connected : Objective Met",
    "Connected : Objective Not Met",
    "Not Connected : Busy",
    "Not Connected : No Answer",
    "Connected : Call Back Later",
)
RESPONSES = (
    '{"interested": "yes", "preferred_time": "evening"}',
    '{"interested": "no", "reason": "already insured"}',
    '{"interested": "maybe", "callback": "next week", "language": "Hindi"}',
)
SEED_COLUMNS = (
    "campaign_id",
    "lead_id",
    "phone_number",
    "contact_name",
    "custom_fields",
    "status",
    "created_at",
    "updated_at",
    "latest_called_at",
    "lead_outcome",
    "lead_responses",
    "processed_at",
    # The dialer's queue columns (no database defaults: Django fills them in on insert).
    "queue_class",
    "priority",
    "due_at",
    "attempts_count",
    # Set only by a state mix (StateMix): NULL for every lead of the read benchmark.
    "disabled_at",
    "converted_at",
    "conversion_detail",
    "erased_at",
    # The lead's place in its (new) campaign: 1, 2, 3, ... in id order, as the service gives.
    "position",
    # The last call's recording (an attempt UUID) on the leads whose call connected, so that
    # pages and the export sign URLs as they do for a real campaign.
    "latest_recording",
)
# The columns the API's selector reads for a page (leads.results.RESULT_FIELDS).
RESULT_COLUMNS = (
    "id, lead_id, phone_number, contact_name, custom_fields, created_at, latest_called_at, "
    "latest_recording, lead_outcome, lead_responses, processed_at"
)
# The baselines: for pages, the range seek on the leads' positions the selector itself uses
# (the count of tombstones before the page's first position, then the page's rows); for the
# others the direct query.
TOMBSTONES_SQL = (
    "SELECT count(*) FROM leads_lead WHERE campaign_id = %s AND erased_at IS NOT NULL "
    "AND position <= %s"
)
SEEK_SQL = (
    f"SELECT {RESULT_COLUMNS} FROM leads_lead WHERE campaign_id = %s AND erased_at IS NULL "
    "AND position >= %s ORDER BY position LIMIT %s"
)
# What a page cost before positions (the ids-first OFFSET walk), timed for the deep page only,
# for comparison.
PAGE_SQL = (
    f"SELECT {RESULT_COLUMNS} FROM leads_lead WHERE id IN ("
    "SELECT id FROM leads_lead WHERE campaign_id = %s AND erased_at IS NULL "
    "ORDER BY id LIMIT %s OFFSET %s) ORDER BY id"
)
LOOKUP_SQL = (
    f"SELECT {RESULT_COLUMNS} FROM leads_lead "
    "WHERE campaign_id = %s AND erased_at IS NULL AND lead_id = %s ORDER BY id LIMIT %s"
)
WINDOW_SQL = (
    f"SELECT {RESULT_COLUMNS} FROM leads_lead "
    "WHERE campaign_id = %s AND erased_at IS NULL AND processed_at IS NOT NULL "
    "AND processed_at >= %s AND processed_at < %s ORDER BY processed_at, id LIMIT %s"
)


@dataclass(frozen=True)
class StateMix:
    """More lead states than the read benchmark's queued/processed, drawn from their own random
    generator after the read seed's draws (so a seed without a mix is unchanged):

    - `outcomes`: (label, weight) for processed leads instead of OUTCOMES (a dashboard filters
      by the campaign's own taxonomy);
    - `disabled`: share of unprocessed leads disabled (status disabled, disabled_at);
    - `converted`: share of live leads marked converted (converted_at, conversion_detail);
    - `erased`: share of leads erased, as lead_erase leaves them (a tombstone: status erased,
      erased_at, every personal field and the outcome cleared).
    """

    outcomes: tuple[tuple[str, float], ...]
    disabled: float
    converted: float
    erased: float


@dataclass(frozen=True)
class Seeded:
    count: int
    processed: int
    processing_start: datetime
    processing_end: datetime
    seconds: float
    table_rows: int
    # Leads by dashboard state (queued, processed, disabled, erased; converted across them).
    states: dict[str, int] = field(default_factory=dict)


def _apply_mix(row: list, mix: StateMix, rng: random.Random, start: datetime, ts) -> None:
    labels = [label for label, _ in mix.outcomes]
    weights = [weight for _, weight in mix.outcomes]
    if row[5] == "processed":
        row[9] = rng.choices(labels, weights)[0]
        if row[21] is not None and not row[9].startswith("Connected"):
            row[21] = None  # only a connected call leaves a recording
    elif rng.random() < mix.disabled:
        row[5] = "disabled"
        row[16] = ts(start + timedelta(seconds=rng.random() * PROCESSING_DAYS * 86400))
    if rng.random() < mix.erased:
        erased = start + timedelta(days=PROCESSING_DAYS, seconds=rng.random() * 3000)
        row[1:5] = [None, None, None, "{}"]
        row[5], row[9], row[10], row[21] = "erased", None, "{}", None
        row[19] = ts(erased)
        row[7] = ts(erased)
    elif rng.random() < mix.converted:
        row[17] = row[7]
        row[18] = "PAID_PLAN"


def _seed_rows(
    campaign_pk: int,
    count: int,
    start: datetime,
    rng: random.Random,
    db: Database,
    mix: StateMix | None = None,
):
    """Rows for `count` leads created before `start`, ids growing with created_at as they do;
    the processed ones were processed within PROCESSING_DAYS from `start`; with a `mix`, some
    also disabled, converted or erased."""
    mix_rng = random.Random(5)
    first_created = start - timedelta(days=CREATION_DAYS)
    created_step = CREATION_DAYS * 86400 / count
    span = PROCESSING_DAYS * 86400
    ts = db.timestamp
    for i in range(count):
        created = ts(first_created + timedelta(seconds=i * created_step))
        custom = f'{{"city": "Pune", "policy_no": "POL-{i:08d}"}}'
        row = [
            campaign_pk,
            f"seed-{i:07d}",
            f"+9198{rng.randrange(10**8):08d}",
            f"Customer {i}",
            custom,
            "queued",
            created,
            created,
            None,
            None,
            "{}",
            None,
            2,  # Lead.QueueClass.NEW
            0,
            created,
            0,
            None,
            None,
            None,
            None,
            i + 1,
            None,
        ]
        if rng.random() < PROCESSED_SHARE:
            processed = start + timedelta(seconds=rng.random() * span)
            row[5] = "processed"
            row[7] = ts(processed)
            row[8] = ts(processed - timedelta(seconds=rng.uniform(30, 600)))
            row[9] = rng.choice(OUTCOMES)
            row[10] = rng.choice(RESPONSES)
            row[11] = ts(processed)
            row[15] = 1
            if row[9].startswith("Connected"):
                row[21] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if mix is not None:
            _apply_mix(row, mix, mix_rng, start, ts)
        yield row


def counts_repair(env: dict[str, str], public_id: str) -> float:
    """Fill a bulk-loaded campaign's kept counts (leads.counts) from a full recount through
    the real CLI; returns the seconds it took (setup, never measured)."""
    started = time.perf_counter()
    run_leadline(env, "counts", "verify", "--campaign", public_id, "--repair", timeout=1800)
    return time.perf_counter() - started


def seed(db: Database, campaign_pk: int, count: int, mix: StateMix | None = None) -> Seeded:
    """Data setup for the read benchmark (and the dashboard's), not a measured path: bulk-load
    `count` leads into one campaign, ~30% of them with processing results (the dialer would
    take hours to write a million), with `mix` some disabled, converted or erased, then set
    lead_count as the lead services keep it."""
    rng = random.Random(2)
    started = time.perf_counter()
    # Whole hours, ending an hour ago: every window lies in the past, as a client's would.
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=PROCESSING_DAYS)
    states: Counter[str] = Counter()

    def tallied():
        for row in _seed_rows(campaign_pk, count, start, rng, db, mix):
            states[row[5]] += 1
            states["converted"] += row[17] is not None
            yield row

    table_rows = db.load_leads(campaign_pk, SEED_COLUMNS, tallied())
    return Seeded(
        count=count,
        processed=states["processed"],
        processing_start=start,
        processing_end=end,
        seconds=time.perf_counter() - started,
        table_rows=table_rows,
        states=dict(states),
    )


@dataclass
class Case:
    name: str
    target_p99_ms: float | None
    api_paths: list[str]
    # Per request: one statement, or a list of statements run back to back.
    raw_queries: list
    check: Callable[[str, dict], None]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


# Issue 14: the first page under 10 ms at p99, and a deep page of the walk like the first.
FIRST_PAGE_TARGET_MS = 10


def _seek(campaign_pk: int, k: int) -> list[tuple[str, tuple]]:
    """The page starting at the k-th live lead as the selector reads it: the tombstones up to
    position k (none in this seed, so k is the position), then the rows from there."""
    return [(TOMBSTONES_SQL, (campaign_pk, k)), (SEEK_SQL, (campaign_pk, k, PAGE_SIZE))]


def build_cases(
    db: Database, public_id: str, campaign_pk: int, seeded: Seeded, requests: int
) -> list[Case]:
    """The four cases of the brief; the API and the baseline draw separate random samples from
    the same distribution, so neither warms the other's cache for the exact rows it reads."""
    rng = random.Random(3)
    base = f"/api/v4/leads/responses/{public_id}/"
    n = seeded.count
    deep_page = max(1, n // PAGE_SIZE // 2)
    first_count = min(PAGE_SIZE, n)
    deep_count = min(PAGE_SIZE, n - (deep_page - 1) * PAGE_SIZE)
    total = requests + WARMUP
    window_from = int(seeded.processing_start.timestamp())
    window_to = int(seeded.processing_end.timestamp()) - WINDOW_SECONDS

    def lead_ids() -> list[str]:
        return [f"seed-{rng.randrange(n):07d}" for _ in range(total)]

    def windows() -> list[int]:
        return [rng.randrange(window_from, window_to) for _ in range(total)]

    def at(epoch: int):
        return db.timestamp(datetime.fromtimestamp(epoch, UTC))

    def check_first(path: str, body: dict) -> None:
        _expect(body["count"] == n, f"count {body['count']} != {n}")
        _expect(len(body["results"]) == first_count, "first page is short")

    def check_deep(path: str, body: dict) -> None:
        _expect(len(body["results"]) == deep_count, "deep page is short")

    def check_lookup(path: str, body: dict) -> None:
        wanted = path.rsplit("=", 1)[1]
        _expect(body["count"] == 1, f"lead_id lookup found {body['count']} leads")
        _expect(body["results"][0]["lead_id"] == wanted, "lead_id lookup found another lead")

    def check_window(path: str, body: dict) -> None:
        _expect(body["count"] > 0, "empty processed window")
        _expect(all(r["processed_at"] for r in body["results"]), "unprocessed lead in window")

    api_windows, raw_windows = windows(), windows()
    return [
        Case(
            "first page",
            FIRST_PAGE_TARGET_MS,
            [base] * total,
            [_seek(campaign_pk, 1)] * total,
            check_first,
        ),
        Case(
            f"page {deep_page:,} (half-way)",
            FIRST_PAGE_TARGET_MS,  # the same as page 1: positions make depth free
            [f"{base}?page={deep_page}&page_size={PAGE_SIZE}"] * total,
            [_seek(campaign_pk, (deep_page - 1) * PAGE_SIZE + 1)] * total,
            check_deep,
        ),
        Case(
            "lead_id lookup",
            20,
            [f"{base}?lead_id={lead_id}" for lead_id in lead_ids()],
            [(LOOKUP_SQL, (campaign_pk, lead_id, PAGE_SIZE)) for lead_id in lead_ids()],
            check_lookup,
        ),
        Case(
            "processed window, 1 h",
            100,
            [
                f"{base}?processed_after={a}&processed_before={a + WINDOW_SECONDS}"
                for a in api_windows
            ],
            [
                (WINDOW_SQL, (campaign_pk, at(a), at(a + WINDOW_SECONDS), PAGE_SIZE))
                for a in raw_windows
            ],
            check_window,
        ),
    ]


def _api_latencies(port: int, token: str, paths: list[str], check) -> tuple[Latencies, list]:
    client = HttpClient(port, token)
    latencies, answers = time_gets(client, paths, warmup=WARMUP, budget_s=CASE_BUDGET_S)
    # Checked after the clock stopped: parsing 100 results is client work, not server latency.
    bodies = []
    for path, body in answers:
        parsed = orjson.loads(body) if check else None
        if check:
            check(path, parsed)
        bodies.append(parsed)
    return latencies, bodies


def _raw_latencies(db: Database, conn, queries: list[tuple[str, tuple]]) -> tuple[Latencies, int]:
    rows_seen = [0]

    def call(query) -> None:
        for text, params in query if isinstance(query, list) else [query]:
            rows_seen[0] = len(conn.execute(db.sql(text), params).fetchall())

    latencies = time_calls(call, queries, warmup=WARMUP, budget_s=CASE_BUDGET_S)
    return latencies, rows_seen[0]


def run(
    *, db: Database, server: Server, token: str, public_id: str, count: int, requests: int
) -> None:
    report.heading(f"GET latency, {db.label}: one campaign of {count:,} leads")
    campaign_pk = db.campaign_pk(public_id)
    seeded = seed(db, campaign_pk, count)
    report.note(
        f"data setup, not measured: {seeded.count:,} lead rows bulk-loaded into the campaign "
        f"({'COPY' if db.is_postgres else 'executemany INSERT'}) in {seeded.seconds:.1f} s incl. "
        f"{'VACUUM ANALYZE, CHECKPOINT' if db.is_postgres else 'ANALYZE'}; lead_count set to "
        f"match; leads_lead holds {seeded.table_rows:,} rows in all campaigns."
    )
    report.note(
        f"{seeded.processed:,} of them ({seeded.processed / seeded.count:.0%}) were seeded as "
        f"processed (processed_at spread over {PROCESSING_DAYS} days, outcome, responses): the "
        "dialer processes a few dozen leads a second (see simulate), too slow to build this."
    )

    rows = []
    port = server.port
    window_counts: list[int] = []
    # One baseline connection for all cases, open across the CPU meter so that its backend
    # is counted. Autocommit: a read left in an open transaction would hold back VACUUM.
    raw_conn = psycopg.connect(db.url, autocommit=True) if db.is_postgres else db.connect()
    # Mostly to name other programs busy meanwhile: latency suffers from them more than rates.
    with (
        contextlib.closing(raw_conn),
        CpuMeter(server.worker_pids(), db.backend_pids if db.is_postgres else None) as meter,
    ):
        health, _ = _api_latencies(port, "", ["/healthz"] * (requests + WARMUP), None)
        ping, _ = _raw_latencies(db, raw_conn, [("SELECT 1", ())] * (requests + WARMUP))
        rows.append(latency_row("floor: /healthz | SELECT 1", health, ping, None, db))
        for case in build_cases(db, public_id, campaign_pk, seeded, requests):
            api, bodies = _api_latencies(port, token, case.api_paths, case.check)
            raw, raw_rows = _raw_latencies(db, raw_conn, case.raw_queries)
            _expect(raw_rows > 0, f"baseline query of {case.name} returned no rows")
            if case.name.startswith("processed window"):
                window_counts = [body["count"] for body in bodies[WARMUP:]]
            rows.append(latency_row(case.name, api, raw, case.target_p99_ms, db))
        # What the deep page's rows cost before positions: the ids-first OFFSET walk.
        deep = max(1, seeded.count // PAGE_SIZE // 2)
        offset_sql = (PAGE_SQL, (campaign_pk, PAGE_SIZE, (deep - 1) * PAGE_SIZE))
        walk, _ = _raw_latencies(db, raw_conn, [offset_sql] * (requests + WARMUP))

    report.table(
        [
            "case (ms)",
            "n",
            "API p50",
            "API p99",
            "raw p50",
            "raw p99",
            "API/raw p50",
            "API/raw p99",
            "target API p99",
            "",
        ],
        rows,
    )
    report.note(
        f"n sequential requests (queries) per case on one keep-alive connection, after "
        f"{WARMUP} untimed; nearest-rank percentiles, so with n={requests} p99 is the "
        f"{_ordinal(requests - math.ceil(0.99 * requests) + 1)} slowest. The lead_id and "
        "window cases take a new random lead / window each request."
    )
    report.note(
        f"page {deep:,} by OFFSET (the walk before positions, ids-first subquery), raw only: "
        f"p50 {report.ms(walk.p50)} ms, p99 {report.ms(walk.p99)} ms; pages now seek by "
        "position (count the tombstones before it, then a range read), so raw = those two "
        "statements."
    )
    if window_counts:
        report.note(
            f"processed windows held {min(window_counts):,} to {max(window_counts):,} leads "
            f"(median {sorted(window_counts)[len(window_counts) // 2]:,}); the API also counts "
            "them, the baseline does not."
        )
    report.note(
        "raw = the SQL answering the case, over "
        f"{'psycopg (autocommit)' if db.is_postgres else 'sqlite3'} on one connection: "
        "pages as the selector reads them (the tombstone count, then the range read by "
        "position), lookup and window directly (ORDER BY ... LIMIT 100)."
    )
    report.note("while measuring, " + meter.result.describe(client="bench process"))
    if not db.is_postgres:
        report.note("targets are set for PostgreSQL; shown here for reference only.")


def latency_row(name: str, api: Latencies, raw: Latencies, target: float | None, db: Database):
    cells = [
        name,
        f"{min(api.count, raw.count)}",
        report.ms(api.p50),
        report.ms(api.p99),
        report.ms(raw.p50),
        report.ms(raw.p99),
        report.ratio(api.p50 / raw.p50),
        report.ratio(api.p99 / raw.p99),
    ]
    if target is None:
        return [*cells, "", ""]
    met = api.p99 < target
    return [*cells, f"< {target:.0f}", report.verdict(met) if db.is_postgres else ""]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
