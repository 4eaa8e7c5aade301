"""The delivery loop: claim due deliveries with a lease, POST them outside any transaction, record.

At-least-once: a delivery is marked done only after its 2xx is recorded; a worker killed
mid-batch leaves leases that expire, and another worker (or the restarted one) sends those
deliveries again with the same `webhook-id`, so receivers can drop the duplicate.

Pipelined: the posts run on an asyncio event loop in the sender's own thread, while the
loop's thread (the one with the database connection) records the answers that came back and
claims the next batch as soon as fewer than CLAIM_BELOW claimed deliveries are unanswered.
The database round trips therefore overlap the posts instead of alternating with them. Each
claimed delivery yields exactly one Outcome: an HTTP try, or "released" (never posted: the
worker is stopping, its lease is too short to start a post safely, or its endpoint just
answered 410), which clears the lease so any worker can take it at once, with no attempt
counted.
"""

import asyncio
import contextlib
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leadline.accounts import ratelimit

from .models import (
    DISABLED_FAILING,
    DISABLED_GONE,
    ERASED_PAYLOAD,
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
)
from .services import endpoint_secrets
from .signing import secret_key, signature_header_keys
from .ssrf_guard import GuardedResolver

logger = logging.getLogger(__name__)

# Seconds to wait before each retry (Svix's schedule): immediately, 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h: about 27 h in all. Scaled by LEADLINE_WEBHOOK_SCHEDULE_SCALE for tests.
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER_FAILING = timedelta(days=5)
EXCERPT_CHARS = 500
LEASE_MARGIN = timedelta(seconds=30)
BATCH_SIZE = 200
# A post starts only while its lease still covers the whole post (the timeout) plus this
# long to record the answer; later, the delivery is released unposted. A lease is the
# timeout + LEASE_MARGIN from the claim, so a delivery may wait LEASE_MARGIN - RECORD_SLACK
# in the worker's queue (behind a slow endpoint's in-flight limit) before it is given back.
RECORD_SLACK = timedelta(seconds=10)
# Claim the next batch once fewer than this many claimed deliveries are unanswered: the
# queue never runs dry while the claim's round trips are under way.
CLAIM_BELOW = BATCH_SIZE
# Answers are recorded together, at most this long after the first of them came back (and
# at once when nothing else is in flight): one transaction per ~this many seconds of posts.
RECORD_EVERY_S = 0.05
# Per endpoint, a worker holds at most as many claimed deliveries as it can expect to post
# in QUEUE_S at the endpoint's observed latency and in-flight limit (at least max_in_flight,
# at most ENDPOINT_QUEUE_MAX; BATCH_SIZE until a latency is known). A slow endpoint then
# neither holds deliveries until their lease runs short nor keeps other endpoints' waiting
# behind it: it is left out of claims while it has its share.
QUEUE_S = 5.0
ENDPOINT_QUEUE_MAX = 2 * BATCH_SIZE
# How often the recording thread looks at the queue between records.
POLL_S = 0.01
# One run_once() claims for at most this long, then lets everything in flight finish and
# records it: the worker's loop gets control back regularly (connection checks, back-off).
SESSION_S = 5.0
# last_success_at is a health stamp for people (dashboard, admin): moved at most once a
# second per endpoint, so several workers do not queue up behind the endpoint's row lock
# for every recorded batch. A failing run (failing_since) is always ended at once.
SUCCESS_STAMP_EVERY = timedelta(seconds=1)


@dataclass(slots=True)
class Outcome:
    delivery_id: int
    attempted_at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None
    released: bool = False  # claimed but never posted: clear the lease, count no attempt
    endpoint_id: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class Claimed:
    """A leased delivery with its body (orjson, built once per claim) and what signs it."""

    pk: int
    message_id: str
    endpoint_id: int
    event_type: str
    body: bytes
    start_by: float  # time.monotonic() after which it is released instead of posted


@dataclass(slots=True)
class Target:
    """An endpoint as a claim saw it: where to post, how many at once, the signing keys."""

    pk: int
    url: str
    max_in_flight: int
    keys: list[bytes]


@dataclass
class Claim:
    deliveries: list[Claimed]
    targets: dict[int, Target]
    full: bool  # more may be due right now (as many as asked for, or some given back)


def batch_claim(
    *,
    limit: int = BATCH_SIZE,
    now: datetime | None = None,
    busy: Collection[int] = (),
    room: Callable[[int, int], int] | None = None,
) -> Claim:
    """Lease up to `limit` due deliveries to enabled endpoints, within each endpoint's pace.

    Endpoints in `busy` are left out; `room(endpoint_id, max_in_flight)` caps how many of
    one endpoint's are kept (the rest is given back at once, unposted).
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=settings.LEADLINE_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    start_by = time.monotonic() + (LEASE_MARGIN - RECORD_SLACK).total_seconds()
    if connection.vendor == "postgresql":
        rows = _pg_claim(now, lease_until, limit, busy)
    else:
        rows = _orm_claim(now, lease_until, limit, busy)
    if not rows:
        return Claim([], {}, False)
    rows.sort()
    by_endpoint: dict[int, list[Claimed]] = {}
    endpoints: dict[int, WebhookEndpoint] = {}
    for pk, message_id, endpoint_id, event_type, payload, *endpoint_values in rows:
        body = orjson.dumps(orjson.loads(payload))
        claimed = Claimed(pk, message_id, endpoint_id, event_type, body, start_by)
        by_endpoint.setdefault(endpoint_id, []).append(claimed)
        if endpoint_id not in endpoints:
            endpoints[endpoint_id] = WebhookEndpoint(
                pk=endpoint_id, **dict(zip(ENDPOINT_FIELDS, endpoint_values, strict=True))
            )
    targets: dict[int, Target] = {}
    allowed: list[Claimed] = []
    more = len(rows) == limit
    for endpoint in endpoints.values():
        # At least one post at a time: a limit of 0 would hold its deliveries forever.
        in_flight = max(1, endpoint.max_in_flight)
        claimed = by_endpoint[endpoint.pk]
        if room is not None:
            keep = max(0, room(endpoint.pk, in_flight))
            if keep < len(claimed):
                _release([d.pk for d in claimed[keep:]])
                more = True  # due, and taken as soon as the endpoint has room
                claimed = claimed[:keep]
            if not claimed:
                continue
        allowed += _paced(endpoint, claimed, now)
        keys = [secret_key(s) for s in endpoint_secrets(endpoint, now)]
        targets[endpoint.pk] = Target(endpoint.pk, endpoint.url, in_flight, keys)
    allowed.sort(key=lambda claimed: claimed.pk)
    return Claim(allowed, targets, more)


def _orm_claim(now: datetime, lease_until: datetime, limit: int, busy) -> list[tuple]:
    """(id, message_id, endpoint_id, event type, payload as JSON text, *ENDPOINT_FIELDS) of
    each delivery leased."""
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
            )
            .exclude(lease_expires_at__gt=now)
            .exclude(endpoint_id__in=list(busy))
            .order_by("next_attempt_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids).update(lease_expires_at=lease_until)
    return list(
        Delivery.objects.filter(id__in=ids).values_list(
            "id",
            "message_id",
            "endpoint_id",
            "event__type",
            Cast("event__payload", TextField()),
            *(f"endpoint__{name}" for name in ENDPOINT_FIELDS),
        )
    )


# What a claim needs of each endpoint, read with the deliveries (no query of its own).
ENDPOINT_FIELDS = (
    "url",
    "max_in_flight",
    "rate_per_minute",
    "secret_encrypted",
    "previous_secret_encrypted",
    "previous_secret_expires_at",
)
DELIVERY = Delivery._meta.db_table
EVENT = Event._meta.db_table
ENDPOINT = WebhookEndpoint._meta.db_table
ATTEMPT = DeliveryAttempt._meta.db_table
# ERASED_PAYLOAD as a jsonb literal for the statements below (jsonb compares by value, so
# orjson's spacing does not matter).
ERASED_JSONB = "'" + orjson.dumps(ERASED_PAYLOAD).decode().replace("'", "''") + "'::jsonb"

# The claim of _orm_claim as one statement (one round trip, atomic on its own): the same
# filters and order, so the same partial index (delivery_due_idx) serves it.
PG_CLAIM = f"""
WITH due AS (
    SELECT d.id FROM {DELIVERY} d JOIN {ENDPOINT} w ON w.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND w.enabled
      AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= %(now)s)
      AND d.endpoint_id <> ALL(%(busy)s::bigint[])
    ORDER BY d.next_attempt_at, d.id LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE {DELIVERY} d SET lease_expires_at = %(lease)s FROM due, {EVENT} e, {ENDPOINT} w
WHERE d.id = due.id AND e.id = d.event_id AND w.id = d.endpoint_id
RETURNING d.id, d.message_id, d.endpoint_id, e.type, e.payload::text,
    {", ".join(f"w.{name}" for name in ENDPOINT_FIELDS)}
"""  # noqa: S608  (table names from the models)
PG_LOCK = f"""
SELECT d.id, d.status, d.attempts_count, d.endpoint_id, e.payload = {ERASED_JSONB}
FROM {DELIVERY} d JOIN {EVENT} e ON e.id = d.event_id
WHERE d.id = ANY(%s::bigint[]) ORDER BY d.id FOR UPDATE OF d
"""  # noqa: S608
# The attempts travel as one JSON document (orjson builds it in microseconds; psycopg's
# Python array dumpers took longer than the INSERT itself).
PG_ATTEMPTS = f"""
INSERT INTO {ATTEMPT}
    (delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
SELECT * FROM json_to_recordset(%s::json) AS a(
    delivery_id bigint, attempted_at timestamptz, status_code int, latency_ms int,
    response_excerpt text, error text
)
"""  # noqa: S608
PG_SUCCEEDED = f"""
UPDATE {DELIVERY} SET status = 'succeeded', delivered_at = %s,
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
    FROM {DELIVERY} d JOIN {EVENT} e ON e.id = d.event_id
    WHERE d.id IN (SELECT delivery_id FROM o)
    ORDER BY d.id FOR UPDATE OF d
), tried AS (
    INSERT INTO {ATTEMPT}
        (delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
    SELECT o.delivery_id, o.attempted_at, o.status_code, o.latency_ms,
        CASE WHEN l.erased OR l.status <> 'pending' THEN '' ELSE o.response_excerpt END,
        o.error
    FROM o JOIN locked l ON l.id = o.delivery_id
    RETURNING 1
), done AS (
    UPDATE {DELIVERY} d SET
        status = CASE WHEN l.status = 'pending' THEN 'succeeded' ELSE d.status END,
        delivered_at = CASE WHEN l.status = 'pending' THEN %(now)s ELSE d.delivered_at END,
        attempts_count = d.attempts_count + 1,
        lease_expires_at = NULL
    FROM locked l WHERE d.id = l.id
    RETURNING d.endpoint_id, l.status = 'pending' AS succeeded
), stamped AS (
    UPDATE {ENDPOINT} w SET last_success_at = %(now)s, failing_since = NULL
    WHERE w.id IN (SELECT endpoint_id FROM done WHERE succeeded)
      AND (w.failing_since IS NOT NULL OR w.last_success_at IS NULL
           OR w.last_success_at < %(stamp_before)s)
)
SELECT count(*) FROM tried
"""  # noqa: S608
ATTEMPT_KEYS = (
    "delivery_id",
    "attempted_at",
    "status_code",
    "latency_ms",
    "response_excerpt",
    "error",
)


def _pg_ids(ids: list[int]) -> str:
    """A bigint[] literal: one short string parameter instead of a list dumped item by item."""
    return "{" + ",".join(map(str, ids)) + "}"


@contextlib.contextmanager
def _pg_cursor():
    """A psycopg cursor with server-side binding on Django's connection (and transaction).

    Django's own cursor binds on the client: every id of an `IN (...)` list, and every value
    of a bulk INSERT, is quoted into the SQL text in Python, which cost more CPU than the
    posts. Here a list of ids travels as one binary array parameter.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _pg_claim(now: datetime, lease_until: datetime, limit: int, busy) -> list[tuple]:
    with _pg_cursor() as cursor:
        params = {"now": now, "limit": limit, "lease": lease_until, "busy": _pg_ids(busy)}
        cursor.execute(PG_CLAIM, params)
        return cursor.fetchall()


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
    with _pg_cursor() as cursor:
        cursor.execute(PG_LOCK, (_pg_ids(ids),))
        return cursor.fetchall()


def _pg_attempts_insert(attempts: list[tuple]) -> None:
    if attempts:
        with _pg_cursor() as cursor:
            cursor.execute(PG_ATTEMPTS, (_attempts_json(attempts),))


def deliveries_claim(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> list[Claimed]:
    """Lease up to `limit` due deliveries (see batch_claim); just the deliveries."""
    return batch_claim(limit=limit, now=now).deliveries


def _paced(endpoint: WebhookEndpoint, claimed: list[Claimed], now: datetime) -> list[Claimed]:
    """Keep what the endpoint's per-minute budget allows; push the rest to the next window."""
    status = ratelimit.hit(
        key=f"webhook:{endpoint.pk}",
        limit=endpoint.rate_per_minute,
        policy="webhook",
        cost=len(claimed),
    )
    room = max(0, len(claimed) - max(0, status.hits - status.limit))
    later = [d.pk for d in claimed[room:]]
    if later:
        # Spread, not dropped: these go out in the next window, with no attempt counted.
        Delivery.objects.filter(pk__in=later).update(
            next_attempt_at=now + timedelta(seconds=status.reset_seconds),
            lease_expires_at=None,
        )
    return claimed[:room]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _released(delivery: Claimed) -> Outcome:
    return Outcome(delivery.pk, datetime.now(UTC), released=True, endpoint_id=delivery.endpoint_id)


class _Lane:
    """One endpoint's queue in the sender: at most max_in_flight posts drain it at once."""

    __slots__ = ("active", "gone", "queue", "target")

    def __init__(self, target: Target):
        self.target = target
        self.queue: deque[Claimed] = deque()
        self.active = 0
        self.gone = False  # answered 410: the rest is released, not posted


class Sender:
    """Posts with one aiohttp session (keep-alive) on an event loop in its own thread.

    `submit()` and `release_queued()` may be called from any thread; every answer (or
    release) is put on `outcomes`, a thread-safe queue the delivery loop reads.
    """

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.session: aiohttp.ClientSession | None = None
        self._lanes: dict[int, _Lane] = {}
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="webhook-sender", daemon=True
        )
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, claim: Claim) -> None:
        self.loop.call_soon_threadsafe(self._enqueue, claim)

    def release_queued(self) -> None:
        """Give back every delivery not posted yet; posts in flight finish."""
        self.loop.call_soon_threadsafe(self._release_queued)

    def _release_queued(self) -> None:
        for lane in self._lanes.values():
            while lane.queue:
                delivery = lane.queue.popleft()
                self.outcomes.put(_released(delivery))

    def _enqueue(self, claim: Claim) -> None:
        touched: dict[int, _Lane] = {}
        for delivery in claim.deliveries:
            lane = touched.get(delivery.endpoint_id)
            if lane is None:
                target = claim.targets[delivery.endpoint_id]
                lane = self._lanes.get(delivery.endpoint_id)
                if lane is None:
                    lane = self._lanes[delivery.endpoint_id] = _Lane(target)
                lane.target = target  # the latest claim's view (url, limit, keys)
                touched[delivery.endpoint_id] = lane
            lane.queue.append(delivery)
        for lane in touched.values():
            # The endpoint's in-flight limit holds across overlapping batches: lanes outlive
            # a batch, and only `active` drainers post at once.
            spawn = min(lane.target.max_in_flight - lane.active, len(lane.queue))
            for _ in range(spawn):
                lane.active += 1
                self.loop.create_task(self._drain(lane))

    async def _open(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(
                limit=200,
                resolver=GuardedResolver(settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE),
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=settings.LEADLINE_WEBHOOK_TIMEOUT_SECONDS),
                headers={"User-Agent": "Leadline-Webhooks/1"},
                # A receiver's cookies are never sent anywhere (nor kept): no jar to consult
                # and update on every post.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.session

    async def _drain(self, lane: _Lane) -> None:
        try:
            while lane.queue:
                delivery = lane.queue.popleft()
                try:
                    if lane.gone or time.monotonic() > delivery.start_by:
                        outcome = _released(delivery)
                    else:
                        session = await self._open()
                        outcome = await self._post(session, lane.target, delivery)
                        if outcome.status_code == 410:
                            lane.gone = True
                except Exception as exc:
                    # A bug, not an HTTP failure (_post catches those): still one outcome
                    # per delivery, so the loop's count holds; retried like a failure.
                    logger.exception("webhook sender failed")
                    outcome = Outcome(
                        delivery.pk,
                        datetime.now(UTC),
                        error=f"internal error: {type(exc).__name__}",
                        endpoint_id=delivery.endpoint_id,
                    )
                self.outcomes.put(outcome)
        finally:
            lane.active -= 1
            if not lane.active and not lane.queue and self._lanes.get(lane.target.pk) is lane:
                del self._lanes[lane.target.pk]

    async def _post(self, session, target: Target, delivery: Claimed) -> Outcome:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header_keys(
                target.keys, delivery.message_id, timestamp, delivery.body
            ),
            "webhook-event-type": delivery.event_type,
        }
        outcome = Outcome(delivery.pk, datetime.now(UTC), endpoint_id=delivery.endpoint_id)
        started = time.perf_counter()
        try:
            async with session.post(
                target.url, data=delivery.body, headers=headers, allow_redirects=False
            ) as response:
                text = await response.content.read(EXCERPT_CHARS * 4)
                outcome.status_code = response.status
                outcome.excerpt = text.decode("utf-8", "replace")[:EXCERPT_CHARS]
                if response.status in (429, 503):
                    outcome.retry_after = _retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            outcome.error = "timed out"
        except (aiohttp.ClientError, OSError) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"[:300]
        outcome.latency_ms = int((time.perf_counter() - started) * 1000)
        return outcome

    def close(self) -> None:
        async def shut() -> None:
            if self.session is not None:
                await self.session.close()

        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(shut(), self.loop).result(timeout=10)
            except Exception:  # closing: nothing more to do with the session
                logger.warning("webhook sender did not close cleanly", exc_info=True)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


def _next_delay(attempts_made: int, retry_after: float | None) -> float | None:
    """Seconds until the next try after `attempts_made` failures, or None to give up."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[attempts_made] * settings.LEADLINE_WEBHOOK_SCHEDULE_SCALE
    delay *= random.uniform(0.9, 1.1)  # jitter: retries of a burst do not return as a burst
    if retry_after is not None:
        delay = max(delay, min(retry_after, 24 * 3600))
    return delay


def _release(ids: list[int]) -> None:
    """Never posted: any worker may take these at once, with no attempt counted."""
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
        lease_expires_at=None
    )


def _attempts_json(rows) -> str:
    return orjson.dumps([dict(zip(ATTEMPT_KEYS, row, strict=True)) for row in rows]).decode()


def _pg_record_successes(outcomes: list[Outcome], now: datetime) -> int:
    document = _attempts_json(
        (o.delivery_id, o.attempted_at, o.status_code, o.latency_ms, o.excerpt, o.error)
        for o in outcomes
    )
    with _pg_cursor() as cursor:
        cursor.execute(
            PG_RECORD_SUCCESSES,
            {"outcomes": document, "now": now, "stamp_before": now - SUCCESS_STAMP_EVERY},
        )
        return cursor.fetchone()[0]


def outcomes_record(outcomes: list[Outcome], *, now: datetime | None = None) -> int:
    """Store each try and move its delivery on: done, scheduled again, or given up.

    Released deliveries only lose their lease. Returns how many tries were recorded. A fixed
    number of statements whatever the batch's size: on PostgreSQL a batch of successes is
    one statement (PG_RECORD_SUCCESSES); otherwise one INSERT for the attempts, one UPDATE
    for the successes, one (bulk) UPDATE for the retries and one for those given up.
    """
    now = now or timezone.now()
    released = [o.delivery_id for o in outcomes if o.released]
    tried = {o.delivery_id: o for o in outcomes if not o.released}
    if connection.vendor == "postgresql" and tried and all(o.succeeded for o in tried.values()):
        if released:
            _release(released)
        return _pg_record_successes(list(tried.values()), now)
    with transaction.atomic():
        if released:
            _release(released)
        if not tried:
            return 0
        # Locked in id order (deterministic between workers); the status is read under the
        # lock, so an erasure that cancelled a delivery while it was in flight is seen.
        pg = connection.vendor == "postgresql"
        rows = _pg_lock(sorted(tried)) if pg else _orm_lock(sorted(tried))
        attempts: list[tuple] = []
        succeeded: list[int] = []
        settled: list[int] = []  # no longer pending (cancelled by an erasure in flight)
        failed: list[Delivery] = []
        succeeded_endpoints: set[int] = set()
        failed_endpoints: set[int] = set()
        gone_endpoints: set[int] = set()
        for pk, status, attempts_count, endpoint_id, erased in rows:
            outcome = tried[pk]
            pending = status == Delivery.Status.PENDING
            attempts.append(
                (
                    pk,
                    outcome.attempted_at,
                    outcome.status_code,
                    outcome.latency_ms,
                    # An erased lead's event keeps no response either.
                    "" if erased or not pending else outcome.excerpt,
                    outcome.error,
                )
            )
            if not pending:
                settled.append(pk)
            elif outcome.succeeded:
                succeeded.append(pk)
                succeeded_endpoints.add(endpoint_id)
            else:
                failed_endpoints.add(endpoint_id)
                if outcome.status_code == 410:
                    gone_endpoints.add(endpoint_id)
                delay = _next_delay(attempts_count + 1, outcome.retry_after)
                failed.append(
                    Delivery(
                        pk=pk,
                        attempts_count=attempts_count + 1,
                        lease_expires_at=None,
                        status=Delivery.Status.FAILED if delay is None else status,
                        next_attempt_at=None if delay is None else now + timedelta(seconds=delay),
                    )
                )
        if pg:
            _pg_attempts_insert(attempts)
        else:
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
        if succeeded and pg:
            with _pg_cursor() as cursor:
                cursor.execute(PG_SUCCEEDED, (now, _pg_ids(succeeded)))
        elif succeeded:
            Delivery.objects.filter(pk__in=succeeded).update(
                status=Delivery.Status.SUCCEEDED,
                delivered_at=now,
                attempts_count=F("attempts_count") + 1,
                lease_expires_at=None,
            )
        if settled:
            Delivery.objects.filter(pk__in=settled).update(
                attempts_count=F("attempts_count") + 1, lease_expires_at=None
            )
        given_up = [d for d in failed if d.status == Delivery.Status.FAILED]
        retried = [d for d in failed if d.status != Delivery.Status.FAILED]
        if retried:
            Delivery.objects.bulk_update(
                retried, ["attempts_count", "lease_expires_at", "next_attempt_at"]
            )
        if given_up:
            Delivery.objects.bulk_update(given_up, ["attempts_count", "lease_expires_at", "status"])
        if succeeded_endpoints:
            WebhookEndpoint.objects.filter(pk__in=succeeded_endpoints).filter(
                Q(failing_since__isnull=False)
                | Q(last_success_at__isnull=True)
                | Q(last_success_at__lt=now - SUCCESS_STAMP_EVERY)
            ).update(last_success_at=now, failing_since=None)
        if gone_endpoints:
            WebhookEndpoint.objects.filter(pk__in=gone_endpoints).update(
                enabled=False, disabled_reason=DISABLED_GONE
            )
        failing = failed_endpoints - succeeded_endpoints
        if failing:
            # A run of failures starts now, or, begun over 5 days ago, disables the endpoint.
            WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
            WebhookEndpoint.objects.filter(
                pk__in=failing, failing_since__lt=now - DISABLE_AFTER_FAILING
            ).update(enabled=False, disabled_reason=DISABLED_FAILING)
    return len(attempts)


@dataclass
class DeliveryLoop:
    """One worker's deliverer: a pipeline of claims, posts and records (see the module doc).

    `run_once()` claims for up to SESSION_S, then lets what it claimed finish and records
    it; it returns how many tries it recorded. Once the worker's stop event (`bind_stop`) is
    set it claims nothing more, gives back what it has not started posting, and returns when
    the posts in flight are answered (or time out) and recorded.
    """

    sender: Sender = field(default_factory=Sender)
    stop: threading.Event | None = None
    # Claimed and handed to the sender, outcome not yet taken back; and taken back but not
    # yet recorded. Both survive a run that failed (the database went away): the next run
    # records them first.
    outstanding: int = 0
    unrecorded: list[Outcome] = field(default_factory=list)
    _record_due: float = 0.0
    # Per endpoint: deliveries outstanding, and the latency of its answers (moving average).
    _held: dict[int, int] = field(default_factory=dict)
    _latency_s: dict[int, float] = field(default_factory=dict)
    _max_in_flight: dict[int, int] = field(default_factory=dict)

    def bind_stop(self, stop: threading.Event) -> None:
        self.stop = stop

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _cap(self, endpoint_id: int, max_in_flight: int) -> int:
        latency = self._latency_s.get(endpoint_id)
        if latency is None:
            return BATCH_SIZE
        expected = int(max_in_flight * QUEUE_S / max(latency, 0.001))
        return max(max_in_flight, min(ENDPOINT_QUEUE_MAX, expected))

    def _room(self, endpoint_id: int, max_in_flight: int) -> int:
        return self._cap(endpoint_id, max_in_flight) - self._held.get(endpoint_id, 0)

    def _busy(self) -> list[int]:
        return [
            endpoint_id
            for endpoint_id, held in self._held.items()
            if held >= self._cap(endpoint_id, self._max_in_flight[endpoint_id])
        ]

    def _claim(self) -> bool:
        """Claim for the endpoints with room; False once nothing more is due for them."""
        busy = self._busy()
        if self.outstanding - sum(self._held[e] for e in busy) >= CLAIM_BELOW:
            return True
        claim = batch_claim(busy=busy, room=self._room)
        for delivery in claim.deliveries:
            self._held[delivery.endpoint_id] = self._held.get(delivery.endpoint_id, 0) + 1
        for target in claim.targets.values():
            self._max_in_flight[target.pk] = target.max_in_flight
        if claim.deliveries:
            self.outstanding += len(claim.deliveries)
            self.sender.submit(claim)
        return claim.full

    def _took(self, outcome: Outcome) -> None:
        self.unrecorded.append(outcome)
        self.outstanding -= 1
        held = self._held.get(outcome.endpoint_id, 0) - 1
        if held > 0:
            self._held[outcome.endpoint_id] = held
        else:
            self._held.pop(outcome.endpoint_id, None)
        if outcome.latency_ms is not None:
            latency = outcome.latency_ms / 1000
            before = self._latency_s.get(outcome.endpoint_id, latency)
            self._latency_s[outcome.endpoint_id] = 0.8 * before + 0.2 * latency

    def _take(self, wait_s: float) -> None:
        """Wait up to `wait_s` for the first answer, then take every answer ready."""
        if not self.unrecorded:
            try:
                self._took(self.sender.outcomes.get(timeout=max(0.0, wait_s)))
            except queue.Empty:
                return
            self._record_due = time.monotonic() + RECORD_EVERY_S
        elif wait_s > 0:
            # Sleep rather than wake for each answer (the sender thread keeps the GIL), but
            # briefly: the next claim is due as soon as the queue runs low.
            time.sleep(min(wait_s, POLL_S))
        while self.outstanding:
            try:
                self._took(self.sender.outcomes.get_nowait())
            except queue.Empty:
                break

    def _record(self) -> int:
        recorded = outcomes_record(self.unrecorded)
        self.unrecorded = []
        return recorded

    def run_once(self) -> int:
        handled = 0
        claiming = True
        released = False
        ends = time.monotonic() + SESSION_S
        try:
            while True:
                if self._stopping() and not released:
                    self.sender.release_queued()
                    claiming, released = False, True
                elif claiming and time.monotonic() > ends:
                    claiming = False
                if claiming:
                    claiming = self._claim()
                if self.outstanding and not self.sender.alive():
                    raise RuntimeError("the webhook sender thread is gone")
                if not self.outstanding:
                    if self.unrecorded:
                        handled += self._record()
                    if not claiming:
                        return handled
                    continue
                if self.unrecorded:
                    self._take(self._record_due - time.monotonic())
                else:
                    self._take(RECORD_EVERY_S)
                if self.unrecorded and (
                    not self.outstanding or time.monotonic() >= self._record_due or released
                ):
                    handled += self._record()
        except BaseException:
            # The database failed (or we are being torn down): post nothing more; what is in
            # flight still comes back on the queue, and the next run records it.
            self.sender.release_queued()
            raise

    def close(self) -> None:
        self.sender.close()
