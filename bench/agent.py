"""The benchmark's hands inside the project: `python -m bench.agent <command> ...`, run as a child
process with the server's environment (settings, DATABASE_URL) and printing one JSON line.

The benchmark process itself never imports Django (see infra.py); what must go through the
real services (leadline.dialer.services, the webhook outbox) runs here instead:

    reps       create reps of a campaign through accounts.services.rep_upsert (as `leadline rep
               add` does, without a process start per rep)
    claims     concurrent claimers in forked processes, each with its own database connection:
               `--mode orm` calls dialer.services.lead_claim (timed) and releases the lead
               through call_place + disposition_submit (untimed); `--mode raw` claims with the
               one SQL statement and an UPDATE over the driver, and releases with one UPDATE
    raw-work   the minimum database work of `leadline simulate`, per attempt, in threads with
               one connection each (the simulate baseline)
    outbox     record lead.processed events (and their deliveries) through
               webhooks.services.event_record, for the delivery benchmark's backlog
    process    process leads one at a time at a fixed pace through the real services and say
               exactly when each was processed (webhook delay); optionally also POST each
               payload straight to a receiver (the baseline)
    bare-post  a bare aiohttp client posting bodies to a receiver (the webhook baseline; no
               Django)
    floor      reps of a campaign with floor states (dialer.services.states) and a supervisor,
               then the wallboard snapshot (dialer.floor.floor_snapshot) timed, beside the
               same figures read with hand-written SQL (the wallboard baseline)
    report-pages  reps of a campaign and a month of their daily report rows, then the report
               pages' work (dialer.report_pages: the figures, the charts, the tables rendered)
               timed, beside the same rows read with hand-written SQL (the reports baseline)
    dashboard  a client-staff login of a campaign's business (through
               accounts.services.dashboard_user_create), and the SQL statements each given
               dashboard page sends, with their parameters (the dashboard baselines)

Every loop is bounded by a count and a deadline.
"""

import argparse
import asyncio
import contextlib
import http.client
import multiprocessing
import os
import random
import sys
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from .infra import database_from_url
from .measure import _process_cpu_ticks, _ticks_per_second

BARRIER_TIMEOUT = 300
FINAL_OUTCOME = "Wrong Number"  # a default final outcome that needs no answers
LEASE = timedelta(minutes=10)  # a bootstrap campaign's lease_minutes

# The claim of dialer.services.claims._candidates, written once by hand: the same filters and order,
# so the same partial index (lead_queue_idx) serves both.
CLAIM_SQL = (
    "SELECT id FROM leads_lead WHERE campaign_id = %s AND status = 'queued' AND due_at <= %s "
    "AND disabled_at IS NULL AND erased_at IS NULL "
    "AND (lease_expires_at IS NULL OR lease_expires_at <= %s) "
    "ORDER BY queue_class, priority DESC, due_at, id LIMIT 1"
)
LEASE_SQL = "UPDATE leads_lead SET leased_by_id = %s, lease_expires_at = %s WHERE id = %s"
RELEASE_SQL = (
    "UPDATE leads_lead SET status = 'processed', processed_at = %s, updated_at = %s, "
    "lead_outcome = %s, leased_by_id = NULL, lease_expires_at = NULL WHERE id = %s"
)


def emit(result: dict) -> None:
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


def django_setup() -> None:
    import django

    django.setup()


def _ts(db, value: datetime):
    return db.timestamp(value)


def _raw_connect(db):
    """A driver connection of the kind the baseline uses (autocommit off on PostgreSQL)."""
    return db.connect()


def _backend_pid(db, conn) -> int | None:
    return conn.info.backend_pid if db.is_postgres else None


def _begin(db, conn) -> None:
    if not db.is_postgres:
        conn.execute("BEGIN IMMEDIATE")


def _commit(db, conn) -> None:
    if db.is_postgres:
        conn.commit()
    else:
        conn.execute("COMMIT")


# --- reps -----------------------------------------------------------------------------------


def cmd_reps(args) -> None:
    django_setup()
    from leadline.accounts.services import rep_upsert
    from leadline.campaigns.models import Campaign

    campaign = Campaign.objects.get(public_id=args.campaign)
    names = []
    for number in range(1, args.count + 1):
        username = f"{args.prefix}-{number:03d}"
        # password=None: an unusable password, no hashing (nobody logs in as these reps).
        rep_upsert(
            campaign=campaign, username=username, phone_number=f"+9191{number:08d}", password=None
        )
        names.append(username)
    emit({"reps": names})


# --- floor ----------------------------------------------------------------------------------

# The wallboard's figures written by hand: one statement for the reps' states, one for their
# calls today, and per campaign the capped queue counts (same filters, same indexes).
FLOOR_RAW_REPS = (
    "SELECT u.id, u.username, s.state, s.pause_code, s.since FROM accounts_user u "
    "JOIN campaigns_campaign_reps r ON r.user_id = u.id "
    "LEFT JOIN dialer_repstate s ON s.rep_id = u.id WHERE r.campaign_id = %s"
)
FLOOR_RAW_CALLS = (
    "SELECT rep_id, COUNT(*), SUM(duration_seconds) FROM dialer_callattempt "
    "WHERE campaign_id = %s AND started_at >= %s GROUP BY rep_id"
)
# (statement, which values it binds: c campaign, n now, d start of the day, g overdue cutoff)
FLOOR_RAW_COUNTS = [
    (
        "SELECT COUNT(*) FROM (SELECT id FROM leads_lead WHERE campaign_id = %s AND status = "
        "'queued' AND due_at <= %s AND disabled_at IS NULL AND erased_at IS NULL AND "
        "(lease_expires_at IS NULL OR lease_expires_at <= %s) LIMIT 1000) q",
        "cnn",
    ),
    (
        "SELECT COUNT(*) FROM (SELECT id FROM leads_lead WHERE campaign_id = %s AND status = "
        "'queued' AND queue_class = 0 AND due_at < %s AND disabled_at IS NULL AND "
        "erased_at IS NULL LIMIT 1000) q",
        "cg",
    ),
    (
        "SELECT COUNT(*) FROM (SELECT id FROM leads_lead WHERE campaign_id = %s AND erased_at "
        "IS NULL AND processed_at >= %s LIMIT 1000) q",
        "cd",
    ),
]


def cmd_floor(args) -> None:
    django_setup()
    from django.db import connection
    from django.utils import timezone

    from leadline.accounts.services import rep_upsert, supervisor_upsert
    from leadline.campaigns.models import Campaign
    from leadline.campaigns.services import campaign_supervisors_set
    from leadline.dialer import services
    from leadline.dialer.floor import floor_snapshot

    campaign = Campaign.objects.get(public_id=args.campaign)
    reps = []
    for number in range(1, args.reps + 1):
        rep, _ = rep_upsert(
            campaign=campaign,
            username=f"bench-floor-{number:03d}",
            phone_number=f"+9192{number:08d}",
            password=None,
        )
        reps.append(rep)
    # A floor in mid-shift: most reps available, every fifth paused, every tenth offline.
    for number, rep in enumerate(reps, start=1):
        services.rep_available(rep=rep)
        if number % 5 == 0:
            services.rep_pause(rep=rep, code="break")
        elif number % 10 == 3:
            services.rep_offline(rep_id=rep.pk)
    boss, _ = supervisor_upsert(username="bench-floor-boss")
    campaign_supervisors_set(supervisor=boss, campaigns=[campaign])

    def orm(_):
        floor_snapshot(supervisor=boss)

    def raw(_):
        now = timezone.now()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_RAW_REPS, [campaign.pk])
            cursor.fetchall()
            cursor.execute(FLOOR_RAW_CALLS, [campaign.pk, day])
            cursor.fetchall()
            values = {"c": campaign.pk, "n": now, "d": day, "g": now - timedelta(minutes=15)}
            for sql, binds in FLOOR_RAW_COUNTS:
                cursor.execute(sql, [values[b] for b in binds])
                cursor.fetchall()

    from .measure import time_calls

    warmup = 5
    items = range(args.requests + warmup)
    orm_lat = time_calls(orm, items, warmup=warmup, budget_s=120)
    raw_lat = time_calls(raw, items, warmup=warmup, budget_s=120)
    emit({"orm": orm_lat.samples_ms, "raw": raw_lat.samples_ms, "reps": len(reps)})


# --- report pages ---------------------------------------------------------------------------

# The report pages' rows written by hand: a rep's figures per day, and the campaign's.
REPORT_RAW_REPS = (
    "SELECT rep_id, day, kind, key, SUM(n) FROM dialer_daycount WHERE day >= %s AND day <= %s "
    "AND rep_id IS NOT NULL AND campaign_id = %s GROUP BY rep_id, day, kind, key"
)
REPORT_RAW_CAMPAIGN = (
    "SELECT campaign_id, day, kind, key, SUM(n) FROM dialer_daycount WHERE day >= %s AND "
    "day <= %s AND campaign_id = %s AND kind NOT IN ('state', 'pause', 'skips') "
    "GROUP BY campaign_id, day, kind, key"
)
REPORT_RAW_NAMES = (
    "SELECT id, username, first_name, last_name FROM accounts_user WHERE id = ANY(%s)"
)


def cmd_report_pages(args) -> None:
    django_setup()
    from datetime import date

    from django.db import connection
    from django.template.loader import render_to_string

    from leadline.accounts.services import rep_upsert
    from leadline.campaigns.models import Campaign
    from leadline.dialer import report_pages
    from leadline.dialer.models import DayCount

    campaign = Campaign.objects.get(public_id=args.campaign)
    reps = [
        rep_upsert(
            campaign=campaign,
            username=f"bench-report-{number:03d}",
            phone_number=f"+9193{number:08d}",
            password=None,
        )[0]
        for number in range(1, args.reps + 1)
    ]
    # Data setup, not measured: the rows as the compaction loop leaves them (one per figure)
    # for every rep on every day, written in bulk (the services write them one call at a time;
    # tests check those).
    end = date(2026, 11, 30)
    days = [end - timedelta(days=i) for i in range(args.days)]
    figures = [
        ("calls", "", 60),
        ("connects", "", 30),
        ("talk", "", 5400),
        ("skips", "", 2),
        ("outcome", "Connected : Objective Met", 20),
        ("outcome", "Wrong Number", 10),
        ("outcome", "No Answer", 30),
        ("state", "available", 9_000_000_000),
        ("state", "on_call", 7_200_000_000),
        ("state", "wrap_up", 1_800_000_000),
        ("state", "paused", 3_600_000_000),
        ("pause", "break", 1_800_000_000),
        ("pause", "lunch", 1_800_000_000),
    ]
    rows = [
        DayCount(rep=rep, campaign=campaign, day=day, kind=kind, key=key, n=n, compacted=True)
        for rep in reps
        for day in days
        for kind, key, n in figures
    ]
    rows += [
        DayCount(campaign=campaign, day=day, kind=kind, n=n, compacted=True)
        for day in days
        for kind, n in (("processed", 5000), ("processed_attempts", 9000), ("conversions", 300))
    ]
    DayCount.objects.bulk_create(rows, batch_size=5000)
    start = days[-1]

    def page(with_reps):
        def run(_):
            report = report_pages.report_build(
                campaigns=[campaign], start=start, end=end, with_reps=with_reps
            )
            render_to_string("dialer/_report.html", report_pages.report_context(report))

        return run

    def raw(with_reps):
        def run(_):
            with connection.cursor() as cursor:
                if with_reps:
                    cursor.execute(REPORT_RAW_REPS, [start, end, campaign.pk])
                    ids = sorted({row[0] for row in cursor.fetchall()})
                    if connection.vendor == "postgresql":
                        cursor.execute(REPORT_RAW_NAMES, [ids])
                    else:
                        marks = ", ".join("%s" for _ in ids)
                        cursor.execute(REPORT_RAW_NAMES.replace("= ANY(%s)", f"IN ({marks})"), ids)
                    cursor.fetchall()
                cursor.execute(REPORT_RAW_CAMPAIGN, [start, end, campaign.pk])
                cursor.fetchall()

        return run

    from .measure import time_calls

    warmup = 3
    items = range(args.requests + warmup)
    out = {"rows": len(rows), "reps": len(reps), "days": len(days)}
    for name, with_reps in (("supervisor", True), ("client", False)):
        out[name] = time_calls(page(with_reps), items, warmup=warmup, budget_s=120).samples_ms
        out[f"{name}_raw"] = time_calls(
            raw(with_reps), items, warmup=warmup, budget_s=120
        ).samples_ms
    emit(out)


# --- claims ---------------------------------------------------------------------------------


def _orm_claimer(rep_pk: int, campaign_pk: int, db):
    """(claim, release) for one process: claim timed by the caller, release the real way."""
    from django.utils import timezone

    from leadline.accounts.models import User
    from leadline.dialer import services

    rep = User.objects.get(pk=rep_pk)

    def claim():
        return services.lead_claim(rep=rep, now=timezone.now(), ignore_window=True)

    def release(lead) -> None:
        attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=timezone.now())
        services.disposition_submit(
            rep=rep,
            attempt_uuid=str(attempt.uuid),
            outcome_label=FINAL_OUTCOME,
            answers={},
            now=timezone.now(),
        )

    def backend() -> int | None:
        from django.db import connection

        connection.ensure_connection()
        return connection.connection.info.backend_pid if db.is_postgres else None

    def close() -> None:
        from django.db import connections

        connections.close_all()

    return claim, release, backend, close


def _raw_claimer(rep_pk: int, campaign_pk: int, db):
    conn = _raw_connect(db)
    claim_sql, lease_sql, release_sql = db.sql(CLAIM_SQL), db.sql(LEASE_SQL), db.sql(RELEASE_SQL)
    if db.is_postgres:
        claim_sql += " FOR UPDATE SKIP LOCKED"

    def claim():
        now = datetime.now(UTC)
        _begin(db, conn)
        row = conn.execute(claim_sql, (campaign_pk, _ts(db, now), _ts(db, now))).fetchone()
        if row is None:
            _commit(db, conn)
            return None
        conn.execute(lease_sql, (rep_pk, _ts(db, now + LEASE), row[0]))
        _commit(db, conn)
        return row[0]

    def release(lead_pk) -> None:
        now = _ts(db, datetime.now(UTC))
        _begin(db, conn)
        conn.execute(release_sql, (now, now, FINAL_OUTCOME, lead_pk))
        _commit(db, conn)

    return claim, release, lambda: _backend_pid(db, conn), conn.close


def _claimer_main(
    mode, rep_pk, campaign_pk, count, warmup, hold_ms, barrier, results, index
) -> None:
    """One claimer process: warm up, wait for all, then `count` timed claims."""
    hold = random.Random(index)
    db = database_from_url(os.environ["DATABASE_URL"])
    close = None
    try:
        make = _orm_claimer if mode == "orm" else _raw_claimer
        claim, release, backend, close = make(rep_pk, campaign_pk, db)
        for _ in range(warmup):
            lead = claim()
            if lead is None:
                raise RuntimeError("the queue ran dry while warming up")
            release(lead)
        backend_pid = backend()
        barrier.wait()
        cpu0, db0 = time.process_time(), _process_cpu_ticks(backend_pid) if backend_pid else 0
        samples = []
        for _ in range(count):
            t0 = time.perf_counter_ns()
            lead = claim()
            samples.append((time.perf_counter_ns() - t0) / 1e6)
            if lead is None:
                raise RuntimeError("the queue ran dry")
            if hold_ms:
                # The rep on the call: minutes in real life, compressed here.
                time.sleep(hold.uniform(0.5, 1.5) * hold_ms / 1000)
            release(lead)
        results.put(
            {
                "index": index,
                "samples_ms": samples,
                "cpu_s": time.process_time() - cpu0,
                "db_cpu_s": (
                    (_process_cpu_ticks(backend_pid) - db0) / _ticks_per_second()
                    if backend_pid
                    else None
                ),
                "finished": time.perf_counter(),
            }
        )
    except BaseException:
        barrier.abort()
        results.put({"index": index, "error": traceback.format_exc()})
    finally:
        if close is not None:
            close()


def _probe_queries(rep_pk: int) -> dict:
    """The statements one ORM claim sends (measured once, untimed, before the run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    claim, release, _, _ = _orm_claimer(rep_pk, 0, database_from_url(os.environ["DATABASE_URL"]))
    with CaptureQueriesContext(connection) as captured:
        lead = claim()
    if lead is None:
        raise RuntimeError("the queue is empty")
    release(lead)
    return {"queries": [q["sql"] for q in captured.captured_queries]}


def cmd_claims(args) -> None:
    django_setup()
    from django.db import connections

    from leadline.accounts.models import User
    from leadline.campaigns.models import Campaign

    campaign_pk = Campaign.objects.get(public_id=args.campaign).pk
    reps = list(
        User.objects.filter(username__startswith=f"{args.prefix}-")
        .order_by("username")
        .values_list("pk", flat=True)[: args.procs]
    )
    if len(reps) < args.procs:
        raise SystemExit(f"only {len(reps)} reps named {args.prefix}-*")
    probe = _probe_queries(reps[0]) if args.mode == "orm" else {}
    # No connection may cross the fork: each child opens its own.
    connections.close_all()

    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(args.procs + 1, timeout=BARRIER_TIMEOUT)
    results = ctx.Queue()
    children = [
        ctx.Process(
            target=_claimer_main,
            args=(
                args.mode,
                rep,
                campaign_pk,
                args.claims,
                args.warmup,
                args.hold_ms,
                barrier,
                results,
                i,
            ),
            daemon=True,
        )
        for i, rep in enumerate(reps)
    ]
    for child in children:
        child.start()
    outputs, started = [], None
    try:
        try:
            barrier.wait()
            started = time.perf_counter()
        except threading.BrokenBarrierError:
            pass
        deadline = time.monotonic() + args.budget
        while len(outputs) < len(children):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"claimers did not finish in {args.budget:.0f} s")
            outputs.append(results.get(timeout=remaining))
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
    errors = [o["error"] for o in outputs if "error" in o]
    # A failing claimer breaks the barrier for the others: report the cause, not that.
    errors.sort(key=lambda text: "BrokenBarrierError" in text)
    if errors:
        raise RuntimeError(f"{len(errors)} claimer(s) failed; the first:\n" + errors[0])
    finished = max(o["finished"] for o in outputs)
    db_cpu = [o["db_cpu_s"] for o in outputs]
    emit(
        {
            "samples_ms": [x for o in outputs for x in o["samples_ms"]],
            "wall_s": finished - started,
            "client_cpu_s": sum(o["cpu_s"] for o in outputs),
            "db_cpu_s": sum(db_cpu) if all(x is not None for x in db_cpu) else None,
            **probe,
        }
    )


# --- the simulate baseline ------------------------------------------------------------------


def cmd_raw_work(args) -> None:
    """Per attempt, the statements the real path cannot do without, over the driver:

    claim (SELECT ... SKIP LOCKED + lease UPDATE), place the call (attempt INSERT + lead
    UPDATE), record the outcome (attempt UPDATE + lead UPDATE, and on the final attempt the
    event and delivery INSERTs): three transactions. Each lead gets the number of attempts
    `--attempts` spreads over the campaign's leads, retries queued again at once (as
    --fast-forward does).
    """
    db = database_from_url(os.environ["DATABASE_URL"])
    conn = _raw_connect(db)
    try:
        campaign_pk, business_pk = conn.execute(
            db.sql("SELECT id, business_id FROM campaigns_campaign WHERE public_id = %s"),
            (args.campaign,),
        ).fetchone()
        lead_pks = [
            row[0]
            for row in conn.execute(
                db.sql(
                    "SELECT id FROM leads_lead WHERE campaign_id = %s AND status = 'queued' "
                    "ORDER BY id"
                ),
                (campaign_pk,),
            ).fetchall()
        ]
        endpoint_pks = [
            row[0]
            for row in conn.execute(
                db.sql("SELECT id FROM webhooks_webhookendpoint WHERE campaign_id = %s"),
                (campaign_pk,),
            ).fetchall()
        ]
        rep_pks = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM accounts_user WHERE role = 'rep' ORDER BY id"
            ).fetchall()
        ][: args.threads]
        if db.is_postgres:
            conn.commit()
    finally:
        conn.close()
    if len(rep_pks) < args.threads:
        raise SystemExit("not enough reps")
    leads = len(lead_pks)
    extra = max(0, args.attempts - leads)
    # Planned attempts per lead: 1, plus retries spread evenly (at most 2 more each).
    plan = {
        pk: 1 + (extra * (i + 1) // leads - extra * i // leads) for i, pk in enumerate(lead_pks)
    }
    payload = orjson.dumps(
        {
            "lead_id": "bench-lead-0000000",
            "campaign_id": args.campaign,
            "phone_number": "+919800000000",
            "contact_name": "Customer 0",
            "custom_fields": {"city": "Pune", "policy_no": "POL-00000000"},
            "created_at": "2026-01-01T00:00:00Z",
            "latest_called_at": "2026-01-01T00:00:00Z",
            "latest_recording_url": None,
            "lead_outcome": FINAL_OUTCOME,
            "lead_responses": {},
            "processed_at": "2026-01-01T00:00:00Z",
        }
    ).decode()
    claim_sql = db.sql(CLAIM_SQL) + (" FOR UPDATE SKIP LOCKED" if db.is_postgres else "")
    returning = " RETURNING id"
    insert_attempt = db.sql(
        "INSERT INTO dialer_callattempt (uuid, lead_id, campaign_id, rep_id, provider, "
        "provider_call_id, telephony_status, started_at, recording, outcome, answers, "
        "discarded, callback_token_hash, failure, provider_copy, recording_error, "
        "recording_ref, recording_status, recording_tries) VALUES (%s, %s, %s, %s, "
        "'simulator', %s, 'initiated', %s, '', '', '{}', false, '', '', false, '', '', '', 0)"
        + returning
    )
    call_lead = db.sql(
        "UPDATE leads_lead SET attempts_count = attempts_count + 1, latest_called_at = %s, "
        "lease_expires_at = %s WHERE id = %s RETURNING attempts_count"
    )
    dispose = db.sql(
        "UPDATE dialer_callattempt SET telephony_status = 'no_answer', outcome = %s, "
        "connected = false, disposed_at = %s WHERE id = %s"
    )
    retry = db.sql(
        "UPDATE leads_lead SET queue_class = 1, due_at = %s, updated_at = %s, "
        "leased_by_id = NULL, lease_expires_at = NULL WHERE id = %s"
    )
    insert_event = db.sql(
        "INSERT INTO webhooks_event (business_id, campaign_id, lead_id, type, payload, "
        "created_at, request_id) VALUES (%s, %s, %s, 'lead.processed', %s, %s, '')" + returning
    )
    insert_delivery = db.sql(
        "INSERT INTO webhooks_delivery (event_id, endpoint_id, message_id, status, "
        "attempts_count, next_attempt_at, created_at) VALUES (%s, %s, %s, 'pending', 0, %s, %s)"
    )
    import uuid

    counts = {"attempts": 0, "processed": 0}
    lock = threading.Lock()
    errors: list[str] = []
    go = threading.Barrier(args.threads + 1, timeout=BARRIER_TIMEOUT)
    deadline = [time.monotonic() + args.budget]

    def rep_loop(rep_pk: int) -> None:
        conn = _raw_connect(db)
        try:
            go.wait()
            while time.monotonic() < deadline[0]:
                now = datetime.now(UTC)
                ts = _ts(db, now)
                _begin(db, conn)
                row = conn.execute(claim_sql, (campaign_pk, ts, ts)).fetchone()
                if row is None:
                    _commit(db, conn)
                    return
                lead_pk = row[0]
                conn.execute(db.sql(LEASE_SQL), (rep_pk, _ts(db, now + LEASE), lead_pk))
                _commit(db, conn)
                attempt_uuid = uuid.uuid4()
                _begin(db, conn)
                attempt_pk = conn.execute(
                    insert_attempt,
                    (
                        attempt_uuid if db.is_postgres else attempt_uuid.hex,
                        lead_pk,
                        campaign_pk,
                        rep_pk,
                        f"sim-{attempt_uuid}",
                        ts,
                    ),
                ).fetchone()[0]
                made = conn.execute(call_lead, (ts, _ts(db, now + LEASE), lead_pk)).fetchone()[0]
                _commit(db, conn)
                _begin(db, conn)
                conn.execute(dispose, (FINAL_OUTCOME, ts, attempt_pk))
                if made < plan[lead_pk]:
                    conn.execute(retry, (ts, ts, lead_pk))
                else:
                    conn.execute(db.sql(RELEASE_SQL), (ts, ts, FINAL_OUTCOME, lead_pk))
                    event_pk = conn.execute(
                        insert_event, (business_pk, campaign_pk, lead_pk, payload, ts)
                    ).fetchone()[0]
                    for endpoint_pk in endpoint_pks:
                        conn.execute(
                            insert_delivery,
                            (event_pk, endpoint_pk, f"msg_{uuid.uuid4().hex}", ts, ts),
                        )
                _commit(db, conn)
                with lock:
                    counts["attempts"] += 1
                    counts["processed"] += made >= plan[lead_pk]
        except BaseException:
            errors.append(traceback.format_exc())
            go.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=rep_loop, args=(pk,), daemon=True) for pk in rep_pks]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        go.wait()
    started = time.perf_counter()
    cpu0 = time.process_time()
    for thread in threads:
        thread.join(timeout=args.budget + 30)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError("a raw rep failed:\n" + errors[0])
    emit(
        {
            "leads": leads,
            "processed": counts["processed"],
            "attempts": counts["attempts"],
            "elapsed_s": elapsed,
            "client_cpu_s": time.process_time() - cpu0,
        }
    )


# --- webhook outbox -------------------------------------------------------------------------


def cmd_outbox(args) -> None:
    """Data setup for the delivery benchmark: `--count` leads of the campaign marked processed
    (one UPDATE: the dialer path would take minutes for thousands), then each one's
    lead.processed event recorded through webhooks.services.event_record, payload
    lead_result(), exactly as disposition_submit records it: one delivery per subscribed
    endpoint, 500 events per transaction."""
    django_setup()
    from django.db import transaction
    from django.utils import timezone

    from leadline.campaigns.models import Campaign
    from leadline.leads.models import Lead
    from leadline.leads.results import lead_result
    from leadline.webhooks.models import Event
    from leadline.webhooks.services import event_record

    campaign = Campaign.objects.get(public_id=args.campaign)
    pks = list(
        Lead.objects.filter(campaign=campaign, status=Lead.Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)[: args.count]
    )
    if len(pks) < args.count:
        raise SystemExit(f"only {len(pks)} queued leads")
    started = time.perf_counter()
    now = timezone.now()
    Lead.objects.filter(pk__in=pks).update(
        status=Lead.Status.PROCESSED,
        processed_at=now,
        updated_at=now,
        latest_called_at=now,
        lead_outcome=FINAL_OUTCOME,
        queue_class=Lead.QueueClass.NEW,
    )
    for start in range(0, len(pks), 500):
        with transaction.atomic():
            for lead in Lead.objects.select_related("campaign").filter(
                pk__in=pks[start : start + 500]
            ):
                event_record(
                    lead=lead,
                    type=Event.Type.LEAD_PROCESSED,
                    payload=lead_result(lead=lead, campaign=lead.campaign),
                )
    emit({"events": len(pks), "seconds": time.perf_counter() - started})


# --- webhook delay --------------------------------------------------------------------------


def cmd_process(args) -> None:
    """Process `--count` leads of the campaign one at a time, one every `--interval` seconds,
    through lead_claim + call_place + disposition_submit (a final outcome)."""
    django_setup()
    from django.utils import timezone

    from leadline.accounts.models import User
    from leadline.campaigns.models import Campaign
    from leadline.dialer import services
    from leadline.leads.results import lead_result

    campaign = Campaign.objects.get(public_id=args.campaign)
    rep = User.objects.get(username=args.rep)
    direct = None
    if args.direct_url:
        parts = urlsplit(args.direct_url)
        direct = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    records = []
    start = time.monotonic() + args.interval
    deadline = start + args.count * args.interval + 120
    for i in range(args.count):
        pause = start + i * args.interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if time.monotonic() > deadline:
            raise RuntimeError("processing fell too far behind its pace")
        lead = services.lead_claim(rep=rep, now=timezone.now(), ignore_window=True)
        if lead is None:
            raise RuntimeError("no lead left to process")
        attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=timezone.now())
        processed_at = timezone.now()
        result = services.disposition_submit(
            rep=rep,
            attempt_uuid=str(attempt.uuid),
            outcome_label=FINAL_OUTCOME,
            answers={},
            now=processed_at,
        )
        committed = time.time()
        if result.state != "processed":
            raise RuntimeError(f"lead ended {result.state}, not processed")
        record = {
            "lead_id": lead.lead_id,
            "processed_at": processed_at.timestamp(),
            "committed": committed,
        }
        if direct is not None:
            body = orjson.dumps(lead_result(lead=result.lead, campaign=campaign))
            record["direct_sent"] = time.time()
            direct.request(
                "POST",
                parts.path or "/",
                body=body,
                headers={"Content-Type": "application/json", "bench-direct": "1"},
            )
            response = direct.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"receiver answered {response.status}")
        records.append(record)
    emit({"records": records})


# --- bare aiohttp client --------------------------------------------------------------------


async def _bare_post(url: str, bodies: list[bytes], ids: list[str], concurrency: int) -> dict:
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    statuses: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(body: bytes, message_id: str) -> None:
            async with (
                gate,
                session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", "webhook-id": message_id},
                ) as response,
            ):
                await response.read()
                statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1

        # One untimed request (not recorded by the receiver) opens a connection.
        parts = urlsplit(url)
        async with session.get(f"{parts.scheme}://{parts.netloc}/_bench/stats") as response:
            await response.read()
        started = time.perf_counter()
        cpu0 = time.process_time()
        await asyncio.wait_for(
            asyncio.gather(*(post(b, i) for b, i in zip(bodies, ids, strict=True))), 600
        )
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu0
    return {"elapsed_s": elapsed, "statuses": statuses, "client_cpu_s": cpu}


def cmd_bare_post(args) -> None:
    lines = Path(args.bodies).read_bytes().splitlines()
    ids = [f"bare-{i}" for i in range(len(lines))]
    emit(asyncio.run(_bare_post(args.url, lines, ids, args.concurrency)))


# --- dashboard ------------------------------------------------------------------------------


def _json_param(value):
    """A statement parameter as JSON: datetimes tagged (the bench turns them back)."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"unexpected statement parameter {type(value).__name__}")


def cmd_dashboard(args) -> None:
    """A new dashboard login for the campaign's business, then each of `--paths` requested once
    through Django's test client as that user, recording every statement the page sends
    (`connection.execute_wrapper`: the SQL with its placeholders, and the parameters). A
    streamed response is read only until its first rows (its statements have run by then)."""
    django_setup()
    from django.db import connection
    from django.test import Client

    from leadline.accounts.services import dashboard_user_create
    from leadline.campaigns.models import Campaign
    from leadline.leads import exports

    campaign = Campaign.objects.select_related("business").get(public_id=args.campaign)
    user, password = dashboard_user_create(business=campaign.business, username=args.username)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    pages = {}
    recorded: list[list] = []

    def record(execute, sql, params, many, context):
        recorded.append([sql, [_json_param(p) for p in params or ()]])
        return execute(sql, params, many, context)

    # PostgreSQL's export runs its COPY on a connection of its own, out of the wrapper's
    # sight: its statement is recorded where the export builds it.
    rows_sql = exports._rows_sql

    def record_rows_sql(*args, **kwargs):
        sql, params = rows_sql(*args, **kwargs)
        recorded.append([sql, [_json_param(p) for p in params]])
        return sql, params

    exports._rows_sql = record_rows_sql
    for path in orjson.loads(args.paths):
        recorded = []
        with connection.execute_wrapper(record):
            response = client.get(path)
            if response.streaming:
                pieces = iter(response.streaming_content)
                next(pieces, None)  # the header
                next(pieces, None)  # the first rows: the row query has started
                response.close()
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        pages[path] = recorded
    emit({"username": user.username, "password": password, "pages": pages})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agent")
    sub = parser.add_subparsers(dest="command", required=True)
    reps = sub.add_parser("reps")
    reps.add_argument("--campaign", required=True)
    reps.add_argument("--prefix", required=True)
    reps.add_argument("--count", type=int, required=True)
    claims = sub.add_parser("claims")
    claims.add_argument("--campaign", required=True)
    claims.add_argument("--prefix", required=True)
    claims.add_argument("--mode", choices=["orm", "raw"], required=True)
    claims.add_argument("--procs", type=int, required=True)
    claims.add_argument("--claims", type=int, required=True)
    claims.add_argument("--warmup", type=int, default=1)
    claims.add_argument("--budget", type=float, default=600)
    claims.add_argument(
        "--hold-ms",
        type=float,
        default=0,
        help="mean time a claimer holds its lead before releasing it (a compressed call; "
        "uniform in [0.5, 1.5] x this); 0: back to back",
    )
    raw = sub.add_parser("raw-work")
    raw.add_argument("--campaign", required=True)
    raw.add_argument("--threads", type=int, required=True)
    raw.add_argument("--attempts", type=int, required=True)
    raw.add_argument("--budget", type=float, default=600)
    outbox = sub.add_parser("outbox")
    outbox.add_argument("--campaign", required=True)
    outbox.add_argument("--count", type=int, required=True)
    process = sub.add_parser("process")
    process.add_argument("--campaign", required=True)
    process.add_argument("--rep", required=True)
    process.add_argument("--count", type=int, required=True)
    process.add_argument("--interval", type=float, required=True)
    process.add_argument("--direct-url")
    bare = sub.add_parser("bare-post")
    bare.add_argument("--url", required=True)
    bare.add_argument("--bodies", required=True, help="a file of JSON bodies, one a line")
    bare.add_argument("--concurrency", type=int, required=True)
    floor = sub.add_parser("floor")
    floor.add_argument("--campaign", required=True)
    floor.add_argument("--reps", type=int, required=True)
    floor.add_argument("--requests", type=int, required=True)
    pages = sub.add_parser("report-pages")
    pages.add_argument("--campaign", required=True)
    pages.add_argument("--reps", type=int, required=True)
    pages.add_argument("--days", type=int, required=True)
    pages.add_argument("--requests", type=int, required=True)
    dashboard = sub.add_parser("dashboard")
    dashboard.add_argument("--campaign", required=True)
    dashboard.add_argument("--username", required=True)
    dashboard.add_argument("--paths", required=True, help="a JSON list of paths to capture")
    args = parser.parse_args(argv)
    {
        "reps": cmd_reps,
        "claims": cmd_claims,
        "raw-work": cmd_raw_work,
        "outbox": cmd_outbox,
        "process": cmd_process,
        "bare-post": cmd_bare_post,
        "dashboard": cmd_dashboard,
        "floor": cmd_floor,
        "report-pages": cmd_report_pages,
    }[args.command](args)


if __name__ == "__main__":
    main()
