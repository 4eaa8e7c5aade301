"""`python -m bench`: figures of the Leads API v4 (ingest, GET latency), the dialer (next-lead
claims, `leadline simulate`), webhook delivery and the client dashboard (leads table, campaign
page, CSV export), each beside a raw baseline from the same run.

Per database engine: a fresh database, `leadline migrate`, tenants from `leadline bootstrap`,
one gunicorn server, then the selected benchmarks; the server, the database and every process
a benchmark started are removed again whatever happens. Options are for development;
`make bench` runs everything.
"""

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import orjson

from . import client, dashboard, dialer, floor, ingest, reads, report, webhooks
from .infra import (
    DEFAULT_PG_ADMIN_URL,
    SETTINGS_MODULE,
    Server,
    create_postgres,
    create_sqlite,
    server_env,
)
from .infra import leadline as run_leadline
from .measure import background_load

FULL_INGEST = 100_000
FULL_CAMPAIGN = 1_000_000
# SQLite's claim figures are for reference: a smaller queue keeps its setup cheap.
SQLITE_QUEUE = 100_000
# `simulate` manages a few dozen leads a second on PostgreSQL and a few on SQLite: enough
# leads for a steady rate (~1.75 attempts each), few enough to keep `make bench` short.
FULL_SIMULATE = 1_000
SQLITE_SIMULATE = 100
FULL_DELIVERIES = 5_000
SQLITE_DELIVERIES = 2_000
PARTS = [
    "ingest",
    "get",
    "claims",
    "floor",
    "reports",
    "simulate",
    "webhooks",
    "dashboard",
    "client",
]
BUSINESS = "Bench Co"
# Issue 14: a campaign of 10,000,000 leads. Only the read and dashboard campaigns grow past
# scale 1 (bulk-loaded, see reads.seed); the other parts measure rates, which a bigger run
# would only make longer, so their sizes stop at scale 1.
MAX_SCALE = 10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="run only this benchmark (repeat for several)",
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], help="run on one engine")
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("BENCH_SCALE", "1")),
        help="multiply the data sizes (100k ingest, 1M campaign); env BENCH_SCALE; "
        "e.g. 0.02 for a quick smoke run; above 1 (up to 10: a 10M-lead campaign) only the "
        "read and dashboard campaigns grow, every other size stays at scale 1",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=int(os.environ.get("BENCH_REQUESTS", "500")),
        help="timed GET requests per case (env BENCH_REQUESTS); 500 makes p99 the 6th "
        "slowest rather than a single outlier",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="ingest client threads (default 1: one client posting batches back to back)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="ingest rounds (median reported); 1 to 10"
    )
    parser.add_argument(
        "--claimers", type=int, default=50, help="concurrent claimer processes (and reps)"
    )
    parser.add_argument("--claims", type=int, default=40, help="timed claims per claimer")
    parser.add_argument(
        "--sim-reps", type=int, default=8, help="simulated reps of `leadline simulate`"
    )
    parser.add_argument(
        "--delay-leads", type=int, default=100, help="leads processed for the webhook delay"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="an existing PostgreSQL database on 127.0.0.1 to connect to for CREATE/DROP "
        "DATABASE leadline_bench_* (env BENCH_PG_URL)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: --scale 0.02 --requests 50 --rounds 1 --claims 5 --delay-leads 20 "
        "(env BENCH_QUICK=1)",
    )
    args = parser.parse_args(argv)
    if args.quick or os.environ.get("BENCH_QUICK") == "1":
        args.scale, args.requests, args.rounds = min(args.scale, 0.02), 50, 1
        args.claims, args.delay_leads = min(args.claims, 5), min(args.delay_leads, 20)
    if not 0 < args.scale <= MAX_SCALE:
        parser.error(f"--scale must be in (0, {MAX_SCALE}]")
    if not 1 <= args.requests <= 10_000:
        parser.error("--requests must be 1 to 10000")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be 1 to 10")
    if not 1 <= args.clients <= 32:
        parser.error("--clients must be 1 to 32")
    # Each claimer holds a connection; PostgreSQL's default max_connections is 100.
    if not 1 <= args.claimers <= 64:
        parser.error("--claimers must be 1 to 64")
    if not 1 <= args.claims <= 1000:
        parser.error("--claims must be 1 to 1000")
    if not 1 <= args.sim_reps <= 32:
        parser.error("--sim-reps must be 1 to 32")
    if not 1 <= args.delay_leads <= 1000:
        parser.error("--delay-leads must be 1 to 1000")
    return args


def ingest_size(scale: float) -> int:
    """Whole 1,000-lead requests, at least one."""
    scale = min(scale, 1.0)
    return max(ingest.BATCH, round(FULL_INGEST * scale / ingest.BATCH) * ingest.BATCH)


def campaign_size(scale: float) -> int:
    return max(1000, int(FULL_CAMPAIGN * scale))


def queue_size(engine: str, scale: float) -> int:
    scale = min(scale, 1.0)
    full = FULL_CAMPAIGN if engine == "postgres" else SQLITE_QUEUE
    return max(10_000, int(full * scale))


def claims_per_claimer(engine: str, claims: int) -> int:
    """SQLite serialises every claim and release: an eighth as many keeps its run short."""
    return claims if engine == "postgres" else max(1, claims // 8)


def _sized(full: int, scale: float, floor: int) -> int:
    """`full` scaled (10x less steeply than the data sizes: these are rates), in whole
    hundreds, at least `floor`."""
    return max(floor, round(full * min(1.0, scale * 10) / 100) * 100)


def simulate_size(engine: str, scale: float) -> int:
    if engine == "sqlite":
        return max(50, int(SQLITE_SIMULATE * min(1.0, scale * 10)))
    return _sized(FULL_SIMULATE, scale, 200)


def deliveries_size(engine: str, scale: float) -> int:
    return _sized(FULL_DELIVERIES if engine == "postgres" else SQLITE_DELIVERIES, scale, 500)


def bootstrap(env: dict[str, str], campaign: str) -> dict:
    """A campaign of the benchmark business, and a new token for it, via the real CLI."""
    out = run_leadline(
        env, "bootstrap", "--business", BUSINESS, "--campaign", campaign,
        "--rate-limit", "1000000", "--json",
    )  # fmt: skip
    return orjson.loads(out.strip().splitlines()[-1])


def run_engine(engine: str, args: argparse.Namespace, parts: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="leadline-bench-") as tmp:
        workdir = Path(tmp)
        db = create_postgres(args.pg_url) if engine == "postgres" else create_sqlite(workdir)
        server = None
        try:
            report.heading(f"{db.label}: setting up")
            env = server_env(db, workdir)
            started = time.perf_counter()
            run_leadline(env, "migrate", "--no-input", "-v0")
            tenant = bootstrap(env, "Default campaign")
            report.note(f"database: {db.version()}, fresh ({db.name or db.path})")
            server = Server(env, workdir, workers=args.workers, threads=args.threads)
            report.note(
                f"migrate + bootstrap + server start: {time.perf_counter() - started:.1f} s; "
                f"gunicorn gthread {args.workers} workers x {args.threads} threads on "
                f"127.0.0.1:{server.port}"
            )
            try:
                if "ingest" in parts:
                    other = bootstrap(env, "other")
                    ingest.run(
                        db=db,
                        server=server,
                        token=tenant["access_token"],
                        api_campaign=tenant["campaign_id"],
                        raw_campaign=other["campaign_id"],
                        fence_campaign=bootstrap(env, "fence")["campaign_id"],
                        count=ingest_size(args.scale),
                        rounds=args.rounds,
                        clients=args.clients,
                    )
                if "get" in parts:
                    big = bootstrap(env, "reads")
                    reads.run(
                        db=db,
                        server=server,
                        token=big["access_token"],
                        public_id=big["campaign_id"],
                        count=campaign_size(args.scale),
                        requests=args.requests,
                    )
                if "claims" in parts:
                    dialer.run_claims(
                        db=db,
                        env=env,
                        public_id=bootstrap(env, "claims")["campaign_id"],
                        count=queue_size(engine, args.scale),
                        procs=args.claimers,
                        claims=claims_per_claimer(engine, args.claims),
                    )
                if "floor" in parts:
                    floor.run(
                        db=db,
                        env=env,
                        public_id=bootstrap(env, "floor")["campaign_id"],
                        count=queue_size(engine, args.scale),
                        requests=args.requests,
                    )
                if "reports" in parts:
                    floor.run_reports(
                        db=db,
                        env=env,
                        public_id=bootstrap(env, "reports")["campaign_id"],
                        requests=args.requests,
                    )
                if "simulate" in parts:
                    sim = bootstrap(env, "simulate")
                    dialer.run_simulate(
                        db=db,
                        env=env,
                        server=server,
                        token=sim["access_token"],
                        sim_campaign=sim["campaign_id"],
                        raw_campaign=bootstrap(env, "simulate-raw")["campaign_id"],
                        count=simulate_size(engine, args.scale),
                        reps=args.sim_reps,
                    )
                if "webhooks" in parts:
                    hooks = bootstrap(env, "webhooks")
                    webhooks.run(
                        db=db,
                        env=env,
                        server=server,
                        token=hooks["access_token"],
                        public_id=hooks["campaign_id"],
                        latency_campaign=bootstrap(env, "webhook-delay")["campaign_id"],
                        count=deliveries_size(engine, args.scale),
                        delay_leads=args.delay_leads,
                        delay_interval=0.05,
                    )
                if "dashboard" in parts:
                    dashboard.run(
                        db=db,
                        env=env,
                        server=server,
                        public_id=bootstrap(env, "dashboard")["campaign_id"],
                        count=campaign_size(args.scale),
                        requests=args.requests,
                    )
                if "client" in parts:
                    sdk = bootstrap(env, "client")
                    client.run(
                        server=server,
                        token=sdk["access_token"],
                        raw_campaign=bootstrap(env, "client-raw")["campaign_id"],
                        client_campaign=sdk["campaign_id"],
                        fence_campaign=bootstrap(env, "client-fence")["campaign_id"],
                        count=ingest_size(args.scale),
                    )
            except BaseException:
                tail = server.log_tail()
                if tail:
                    report.out("--- gunicorn log (tail) ---\n" + tail)
                raise
        finally:
            if server is not None:
                server.stop()
            db.drop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    # `kill` / a CI timeout: unwind through the finally blocks so servers and databases go.
    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    started = time.perf_counter()
    parts = [part for part in PARTS if part in args.only] if args.only else PARTS
    engines = [args.db] if args.db else ["postgres", "sqlite"]
    report.heading("Leadline benchmark: Leads API v4, dialer, webhooks, dashboard")
    report.note(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; server settings {SETTINGS_MODULE} (DEBUG off, "
        "rate limits in the database, no access log); all traffic on 127.0.0.1"
    )
    report.note(
        f"sizes: ingest {ingest_size(args.scale):,} leads, "
        f"read and dashboard campaigns {campaign_size(args.scale):,} leads each, "
        f"{args.requests} timed requests per GET case; claim queue "
        f"{queue_size('postgres', args.scale):,} leads on PostgreSQL, "
        f"{queue_size('sqlite', args.scale):,} on SQLite, {args.claimers} claimers x "
        f"{args.claims} claims ({claims_per_claimer('sqlite', args.claims)} on SQLite); "
        f"simulate {simulate_size('postgres', args.scale):,} leads "
        f"({simulate_size('sqlite', args.scale):,} on SQLite) with {args.sim_reps} reps; "
        f"{deliveries_size('postgres', args.scale):,} webhook deliveries "
        f"({deliveries_size('sqlite', args.scale):,} on SQLite), "
        f"delay over {args.delay_leads} leads (scale {args.scale:g})"
    )
    busy = background_load()
    report.note(
        f"background load before starting: {busy:.2f} of {os.cpu_count()} cores busy"
        + ("  <-- NOT idle: other processes will disturb these figures" if busy > 0.2 else "")
    )
    failed = []
    try:
        for engine in engines:
            try:
                run_engine(engine, args, parts)
            except Exception:
                traceback.print_exc()
                failed.append(engine)
    except KeyboardInterrupt:
        report.out("interrupted; servers and databases removed")
        return 130
    finally:
        report.heading(f"total wall time {time.perf_counter() - started:.0f} s")
    if failed:
        report.out(f"FAILED on: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
