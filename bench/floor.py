"""The supervisor's wallboard refresh: reps on the floor, a campaign with a large queue; and
the report pages over a month of daily rows.

One refresh is `dialer.floor.floor_snapshot` (what `/console/floor.json` and each 3-second
poll of `/console/floor/` compute), timed in a child process beside the same figures read
with hand-written SQL. Its cost must grow with reps and campaigns, not with leads: the queue
counts stop at 1,000 rows.
"""

from . import report
from .dialer import agent, seed_queue
from .infra import Database

FLOOR_TARGET_P99_MS = 50
FLOOR_REPS = 200


def run(*, db: Database, env: dict[str, str], public_id: str, count: int, requests: int) -> None:
    report.heading(
        f"Wallboard refresh, {db.label}: {FLOOR_REPS} reps, a campaign of {count:,} queued leads"
    )
    seconds = seed_queue(db, db.campaign_pk(public_id), count)
    report.note(f"data setup, not measured: {count:,} queued leads in {seconds:.1f} s")
    db.maintain()
    result = agent(
        env,
        "floor",
        "--campaign",
        public_id,
        "--reps",
        str(FLOOR_REPS),
        "--requests",
        str(requests),
    )
    from .measure import Latencies

    orm, raw = Latencies(result["orm"]), Latencies(result["raw"])
    met = orm.p99 < FLOOR_TARGET_P99_MS
    report.table(
        ["refresh (ms)", "n", "floor_snapshot p50", "p99", "raw p50", "raw p99", "target p99", ""],
        [
            [
                f"{result['reps']} reps, 1 campaign",
                f"{orm.count:,}",
                report.ms(orm.p50),
                report.ms(orm.p99),
                report.ms(raw.p50),
                report.ms(raw.p99),
                f"< {FLOOR_TARGET_P99_MS}",
                report.verdict(met) if db.is_postgres else "",
            ]
        ],
    )
    report.note(
        "reps set up through the services: all available, every fifth paused (break), a tenth "
        "offline; a supervisor scoped to the campaign. floor_snapshot runs in one process "
        "with its own connection, sequentially; raw: the reps' states, their calls today and "
        "the three capped queue counts in hand-written SQL."
    )


REPORT_REPS = 200
REPORT_DAYS = 30


def run_reports(*, db: Database, env: dict[str, str], public_id: str, requests: int) -> None:
    report.heading(
        f"Report pages, {db.label}: {REPORT_REPS} reps, {REPORT_DAYS} days of daily figures"
    )
    result = agent(
        env,
        "report-pages",
        "--campaign",
        public_id,
        "--reps",
        str(REPORT_REPS),
        "--days",
        str(REPORT_DAYS),
        "--requests",
        str(requests),
    )
    from .measure import Latencies

    rows = []
    for name, label in (("supervisor", "reps and campaign"), ("client", "campaign only")):
        page, raw = Latencies(result[name]), Latencies(result[f"{name}_raw"])
        rows.append(
            [
                f"{label}, {REPORT_DAYS} days",
                f"{page.count:,}",
                report.ms(page.p50),
                report.ms(page.p99),
                report.ms(raw.p50),
                report.ms(raw.p99),
                report.ratio(page.p50 / raw.p50),
            ]
        )
    report.table(
        ["report page (ms)", "n", "page p50", "p99", "raw p50", "raw p99", "p50 ratio"], rows
    )
    report.note(
        f"{result['rows']:,} report rows as the compaction loop leaves them (one per figure), "
        "written in bulk as data setup. page: dialer.report_pages.report_build, its charts "
        "and dialer/_report.html rendered (what /console/reports/ and the client's campaign "
        "report compute, without the request's middleware); raw: the same rows summed with "
        "hand-written GROUP BY statements (and the reps' names)."
    )
