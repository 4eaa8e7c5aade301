"""Recording: store each try's answer and move its delivery on (done, retried, given up).

A fixed number of statements per batch whatever its size; the status of each delivery is
read under its row lock, so an erasure that cancelled one while it was posted is kept.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from leadline.core import metrics
from leadline.core.db import is_postgres, pg_cursor, pg_ids

from ..models import (
    DISABLED_FAILING,
    DISABLED_GONE,
    ERASED_PAYLOAD,
    Delivery,
    DeliveryAttempt,
    WebhookEndpoint,
)
from .claim import DELIVERY_TABLE, ENDPOINT_TABLE, EVENT_TABLE, deliveries_release
from .sender import PostResult

# Seconds to wait before each retry (Svix's schedule): immediately, 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h: about 27 h in all. Scaled by LEADLINE_WEBHOOK_SCHEDULE_SCALE for tests.
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER_FAILING = timedelta(days=5)
# last_success_at is a health stamp for people (dashboard, admin): moved at most once a
# second per endpoint, so several workers do not queue up behind the endpoint's row lock
# for every recorded batch. A failing run (failing_since) is always ended at once.
SUCCESS_STAMP_EVERY = timedelta(seconds=1)

ATTEMPT_TABLE = DeliveryAttempt._meta.db_table
# ERASED_PAYLOAD as a jsonb literal for the statements below (jsonb compares by value, so
# orjson's spacing does not matter).
ERASED_JSONB = "'" + orjson.dumps(ERASED_PAYLOAD).decode().replace("'", "''") + "'::jsonb"

# Locks the tried deliveries in id order (so workers never deadlock on each other) and reads
# their status, attempts and whether their event was erased. Raw so the ids travel as one
# array parameter instead of an IN list quoted into the SQL text in Python.
PG_LOCK_TRIED = f"""
SELECT d.id, d.status, d.attempts_count, d.endpoint_id, e.payload = {ERASED_JSONB}
FROM {DELIVERY_TABLE} d JOIN {EVENT_TABLE} e ON e.id = d.event_id
WHERE d.id = ANY(%s::bigint[]) ORDER BY d.id FOR UPDATE OF d
"""  # noqa: S608
# Inserts one attempt row per try. Raw because the attempts travel as one JSON document
# (orjson builds it in microseconds; psycopg's Python array dumpers, and Django's bulk
# INSERT with its values quoted in Python, took longer than the INSERT itself).
PG_INSERT_ATTEMPTS = f"""
INSERT INTO {ATTEMPT_TABLE}
    (delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
SELECT * FROM json_to_recordset(%s::json) AS a(
    delivery_id bigint, attempted_at timestamptz, status_code int, latency_ms int,
    response_excerpt text, error text
)
"""  # noqa: S608
# Marks the deliveries whose post succeeded as done. Raw for the one array parameter.
PG_MARK_SUCCEEDED = f"""
UPDATE {DELIVERY_TABLE} SET status = 'succeeded', delivered_at = %s,
    attempts_count = attempts_count + 1, lease_expires_at = NULL
WHERE id = ANY(%s::bigint[])
"""  # noqa: S608
# A batch of successes (the common case) recorded by one statement, atomic on its own: the
# rows are locked in id order and their status read under the lock (an erasure that
# cancelled a delivery in flight keeps it cancelled, and its attempt keeps no response);
# each gets its attempt row; pending ones become succeeded; their endpoints' failing run
# ends. One round trip instead of six: the recording thread waits for the GIL after every
# round trip while the sender thread keeps it busy.
PG_RECORD_SUCCESSES = f"""
WITH o AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(outcomes)s::json) AS o(
        delivery_id bigint, attempted_at timestamptz, status_code int, latency_ms int,
        response_excerpt text, error text
    )
), locked AS MATERIALIZED (
    SELECT d.id, d.status, e.payload = {ERASED_JSONB} AS erased
    FROM {DELIVERY_TABLE} d JOIN {EVENT_TABLE} e ON e.id = d.event_id
    WHERE d.id IN (SELECT delivery_id FROM o)
    ORDER BY d.id FOR UPDATE OF d
), tried AS (
    INSERT INTO {ATTEMPT_TABLE}
        (delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
    SELECT o.delivery_id, o.attempted_at, o.status_code, o.latency_ms,
        CASE WHEN l.erased OR l.status <> 'pending' THEN '' ELSE o.response_excerpt END,
        o.error
    FROM o JOIN locked l ON l.id = o.delivery_id
    RETURNING 1
), done AS (
    UPDATE {DELIVERY_TABLE} d SET
        status = CASE WHEN l.status = 'pending' THEN 'succeeded' ELSE d.status END,
        delivered_at = CASE WHEN l.status = 'pending' THEN %(now)s ELSE d.delivered_at END,
        attempts_count = d.attempts_count + 1,
        lease_expires_at = NULL
    FROM locked l WHERE d.id = l.id
    RETURNING d.endpoint_id, l.status = 'pending' AS succeeded
), stamped AS (
    UPDATE {ENDPOINT_TABLE} w SET last_success_at = %(now)s, failing_since = NULL
    WHERE w.id IN (SELECT endpoint_id FROM done WHERE succeeded)
      AND (w.failing_since IS NOT NULL OR w.last_success_at IS NULL
           OR w.last_success_at < %(stamp_before)s)
)
SELECT count(*) FROM tried
"""  # noqa: S608
ATTEMPT_COLUMNS = (
    "delivery_id",
    "attempted_at",
    "status_code",
    "latency_ms",
    "response_excerpt",
    "error",
)


def _orm_lock(ids: list[int]) -> list[tuple]:
    """(id, status, attempts_count, endpoint_id, erased) of the deliveries, locked."""
    return list(
        Delivery.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .annotate(
            erased=ExpressionWrapper(Q(event__payload=ERASED_PAYLOAD), output_field=BooleanField())
        )
        .values_list("pk", "status", "attempts_count", "endpoint_id", "erased")
    )


def _pg_lock(ids: list[int]) -> list[tuple]:
    with pg_cursor() as cursor:
        cursor.execute(PG_LOCK_TRIED, (pg_ids(ids),))
        return cursor.fetchall()


def _pg_attempts_insert(attempts: list[tuple]) -> None:
    if attempts:
        with pg_cursor() as cursor:
            cursor.execute(PG_INSERT_ATTEMPTS, (_attempts_json(attempts),))


def _next_delay(attempts_made: int, retry_after: float | None) -> float | None:
    """Seconds until the next try after `attempts_made` failures, or None to give up."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[attempts_made] * settings.LEADLINE_WEBHOOK_SCHEDULE_SCALE
    delay *= random.uniform(0.9, 1.1)  # jitter: retries of a burst do not return as a burst
    if retry_after is not None:
        delay = max(delay, min(retry_after, 24 * 3600))
    return delay


def _attempts_json(rows) -> str:
    return orjson.dumps([dict(zip(ATTEMPT_COLUMNS, row, strict=True)) for row in rows]).decode()


def _pg_record_successes(results: list[PostResult], now: datetime) -> int:
    document = _attempts_json(
        (o.delivery_id, o.attempted_at, o.status_code, o.latency_ms, o.excerpt, o.error)
        for o in results
    )
    with pg_cursor() as cursor:
        cursor.execute(
            PG_RECORD_SUCCESSES,
            {"outcomes": document, "now": now, "stamp_before": now - SUCCESS_STAMP_EVERY},
        )
        return cursor.fetchone()[0]


@dataclass(slots=True)
class RecordPlan:
    """What a batch of tries does to the database, decided before any write."""

    # One DeliveryAttempt row per try, as tuples in ATTEMPT_COLUMNS order.
    attempts: list[tuple] = field(default_factory=list)
    succeeded: list[int] = field(default_factory=list)
    # No longer pending (cancelled by an erasure in flight): the try is only counted.
    settled: list[int] = field(default_factory=list)
    retried: list[Delivery] = field(default_factory=list)
    given_up: list[Delivery] = field(default_factory=list)
    succeeded_endpoints: set[int] = field(default_factory=set)
    failed_endpoints: set[int] = field(default_factory=set)
    gone_endpoints: set[int] = field(default_factory=set)


def results_record(results: list[PostResult], *, now: datetime | None = None) -> int:
    """Store each try and move its delivery on: done, scheduled again, or given up.

    Released deliveries only lose their lease. Returns how many tries were recorded. A fixed
    number of statements whatever the batch's size: on PostgreSQL a batch of successes is
    one statement (PG_RECORD_SUCCESSES); otherwise one INSERT for the attempts, one UPDATE
    for the successes, one (bulk) UPDATE for the retries and one for those given up.
    """
    now = now or timezone.now()
    released = [o.delivery_id for o in results if o.released]
    tried = {o.delivery_id: o for o in results if not o.released}
    if is_postgres() and tried and all(o.succeeded for o in tried.values()):
        if released:
            deliveries_release(released)
        recorded = _pg_record_successes(list(tried.values()), now)
        # Counted as the posts' outcome: one cancelled by an erasure in flight (kept
        # cancelled by the statement) is rare enough not to pay a second round trip.
        _count_delivered(list(tried.values()), now)
        return recorded
    with transaction.atomic():
        if released:
            deliveries_release(released)
        if not tried:
            return 0
        # Locked in id order (deterministic between workers); the status is read under the
        # lock, so an erasure that cancelled a delivery while it was in flight is seen.
        pg = is_postgres()
        locked = _pg_lock(sorted(tried)) if pg else _orm_lock(sorted(tried))
        plan = record_plan(tried, locked, now)
        _plan_apply(plan, now, pg)
    _count_delivered([tried[pk] for pk in plan.succeeded], now)
    for result, deliveries in (
        ("settled", plan.settled),
        ("retrying", plan.retried),
        ("gave_up", plan.given_up),
    ):
        if deliveries:
            metrics.WEBHOOK_DELIVERIES.labels(result).inc(len(deliveries))
    return len(plan.attempts)


def _count_delivered(results: list[PostResult], now: datetime) -> None:
    if not results:
        return
    metrics.WEBHOOK_DELIVERIES.labels("succeeded").inc(len(results))
    for result in results:
        if result.event_created_at is not None:
            delay = (now - result.event_created_at).total_seconds()
            metrics.WEBHOOK_DELIVERY_DELAY.observe(max(0.0, delay))


def record_plan(tried: dict[int, PostResult], locked: list[tuple], now: datetime) -> RecordPlan:
    """Sort the tries into what to write, from each delivery's locked row.

    `locked` holds (id, status, attempts_count, endpoint_id, erased) per tried delivery, in
    id order. Reads no database; only the retry delays draw random jitter.
    """
    plan = RecordPlan()
    for pk, status, attempts_count, endpoint_id, erased in locked:
        result = tried[pk]
        pending = status == Delivery.Status.PENDING
        plan.attempts.append(
            (
                pk,
                result.attempted_at,
                result.status_code,
                result.latency_ms,
                # An erased lead's event keeps no response either.
                "" if erased or not pending else result.excerpt,
                result.error,
            )
        )
        if not pending:
            plan.settled.append(pk)
        elif result.succeeded:
            plan.succeeded.append(pk)
            plan.succeeded_endpoints.add(endpoint_id)
        else:
            plan.failed_endpoints.add(endpoint_id)
            if result.status_code == 410:
                plan.gone_endpoints.add(endpoint_id)
            delay = _next_delay(attempts_count + 1, result.retry_after)
            failed = Delivery(pk=pk, attempts_count=attempts_count + 1, lease_expires_at=None)
            if delay is None:
                failed.status = Delivery.Status.FAILED
                plan.given_up.append(failed)
            else:
                failed.status = status
                failed.next_attempt_at = now + timedelta(seconds=delay)
                plan.retried.append(failed)
    return plan


def _plan_apply(plan: RecordPlan, now: datetime, pg: bool) -> None:
    """The plan's writes, in one fixed order (inside the caller's transaction)."""
    _attempts_insert(plan.attempts, pg)
    if plan.succeeded and pg:
        with pg_cursor() as cursor:
            cursor.execute(PG_MARK_SUCCEEDED, (now, pg_ids(plan.succeeded)))
    elif plan.succeeded:
        Delivery.objects.filter(pk__in=plan.succeeded).update(
            status=Delivery.Status.SUCCEEDED,
            delivered_at=now,
            attempts_count=F("attempts_count") + 1,
            lease_expires_at=None,
        )
    if plan.settled:
        Delivery.objects.filter(pk__in=plan.settled).update(
            attempts_count=F("attempts_count") + 1, lease_expires_at=None
        )
    if plan.retried:
        Delivery.objects.bulk_update(
            plan.retried, ["attempts_count", "lease_expires_at", "next_attempt_at"]
        )
    if plan.given_up:
        Delivery.objects.bulk_update(
            plan.given_up, ["attempts_count", "lease_expires_at", "status"]
        )
    if plan.succeeded_endpoints:
        WebhookEndpoint.objects.filter(pk__in=plan.succeeded_endpoints).filter(
            Q(failing_since__isnull=False)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - SUCCESS_STAMP_EVERY)
        ).update(last_success_at=now, failing_since=None)
    if plan.gone_endpoints:
        WebhookEndpoint.objects.filter(pk__in=plan.gone_endpoints).update(
            enabled=False, disabled_reason=DISABLED_GONE
        )
    failing = plan.failed_endpoints - plan.succeeded_endpoints
    if failing:
        # A run of failures starts now, or, begun over 5 days ago, disables the endpoint.
        WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
            failing_since=now
        )
        WebhookEndpoint.objects.filter(
            pk__in=failing, failing_since__lt=now - DISABLE_AFTER_FAILING
        ).update(enabled=False, disabled_reason=DISABLED_FAILING)


def _attempts_insert(attempts: list[tuple], pg: bool) -> None:
    if pg:
        _pg_attempts_insert(attempts)
        return
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=pk,
            attempted_at=at,
            status_code=code,
            latency_ms=latency,
            response_excerpt=excerpt,
            error=error,
        )
        for pk, at, code, latency, excerpt, error in attempts
    )
