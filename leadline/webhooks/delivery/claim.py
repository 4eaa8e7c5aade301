"""Claiming: lease due deliveries to this worker, within each endpoint's pace and share.

A lease (`lease_expires_at`) keeps other workers off a delivery while it is posted; one that
is never recorded simply expires and the delivery is claimed again (at-least-once).
"""

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leadline.accounts import ratelimit
from leadline.core.db import is_postgres, pg_cursor, pg_ids

from ..models import Delivery, Event, WebhookEndpoint
from ..services import endpoint_secrets
from ..signing import secret_key

LEASE_MARGIN = timedelta(seconds=30)
BATCH_SIZE = 200
# A post starts only while its lease still covers the whole post (the timeout) plus this
# long to record the answer; later, the delivery is released unposted. A lease is the
# timeout + LEASE_MARGIN from the claim, so a delivery may wait LEASE_MARGIN - RECORD_SLACK
# in the worker's queue (behind a slow endpoint's in-flight limit) before it is given back.
RECORD_SLACK = timedelta(seconds=10)


@dataclass(slots=True)
class ClaimedDelivery:
    """A leased delivery with its body (orjson, built once per claim) and what signs it."""

    pk: int
    message_id: str
    endpoint_id: int
    event_type: str
    body: bytes
    start_by: float  # time.monotonic() after which it is released instead of posted
    event_created_at: datetime  # for the created -> delivered delay (metrics)
    request_id: str  # of the request that caused the event, bound while it is posted


@dataclass(slots=True)
class EndpointTarget:
    """An endpoint as a claim saw it: where to post, how many at once, the signing keys."""

    pk: int
    url: str
    max_in_flight: int
    keys: list[bytes]


@dataclass
class ClaimedBatch:
    deliveries: list[ClaimedDelivery]
    targets: dict[int, EndpointTarget]
    more_due: bool  # more may be due right now (as many as asked for, or some given back)


# What a claim needs of each endpoint, read with the deliveries (no query of its own).
ENDPOINT_FIELDS = (
    "url",
    "max_in_flight",
    "rate_per_minute",
    "secret_encrypted",
    "previous_secret_encrypted",
    "previous_secret_expires_at",
)
DELIVERY_TABLE = Delivery._meta.db_table
EVENT_TABLE = Event._meta.db_table
ENDPOINT_TABLE = WebhookEndpoint._meta.db_table

# Picks the due deliveries of enabled endpoints (skipping locked rows and the endpoints
# passed in), leases them and returns each with its event and endpoint: the claim of
# _orm_claim in one statement, so one round trip and atomic without a transaction of our
# own. Raw because the ORM cannot express UPDATE ... FROM ... RETURNING; the filters and the
# order are the ORM path's, so the same partial index (delivery_due_idx) serves it.
PG_CLAIM_DUE = f"""
WITH due AS (
    SELECT d.id FROM {DELIVERY_TABLE} d JOIN {ENDPOINT_TABLE} w ON w.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND w.enabled
      AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= %(now)s)
      AND d.endpoint_id <> ALL(%(skip_endpoints)s::bigint[])
    ORDER BY d.next_attempt_at, d.id LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE {DELIVERY_TABLE} d SET lease_expires_at = %(lease)s
FROM due, {EVENT_TABLE} e, {ENDPOINT_TABLE} w
WHERE d.id = due.id AND e.id = d.event_id AND w.id = d.endpoint_id
RETURNING d.id, d.message_id, d.endpoint_id, e.type, e.payload::text,
    e.created_at, e.request_id, {", ".join(f"w.{name}" for name in ENDPOINT_FIELDS)}
"""  # noqa: S608  (table names from the models)


def batch_claim(
    *,
    limit: int = BATCH_SIZE,
    now: datetime | None = None,
    skip_endpoints: Collection[int] = (),
    endpoint_room: Callable[[int, int], int] | None = None,
) -> ClaimedBatch:
    """Lease up to `limit` due deliveries to enabled endpoints, within each endpoint's pace.

    Endpoints in `skip_endpoints` are left out; `endpoint_room(endpoint_id, max_in_flight)`
    caps how many of one endpoint's are kept (the rest is given back at once, unposted).
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=settings.LEADLINE_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    start_by = time.monotonic() + (LEASE_MARGIN - RECORD_SLACK).total_seconds()
    if is_postgres():
        rows = _pg_claim(now, lease_until, limit, skip_endpoints)
    else:
        rows = _orm_claim(now, lease_until, limit, skip_endpoints)
    if not rows:
        return ClaimedBatch([], {}, False)
    rows.sort()
    by_endpoint: dict[int, list[ClaimedDelivery]] = {}
    endpoints: dict[int, WebhookEndpoint] = {}
    for row in rows:
        pk, message_id, endpoint_id, event_type, payload, created_at, request_id = row[:7]
        endpoint_values = row[7:]
        body = orjson.dumps(orjson.loads(payload))
        delivery = ClaimedDelivery(
            pk, message_id, endpoint_id, event_type, body, start_by, created_at, request_id
        )
        by_endpoint.setdefault(endpoint_id, []).append(delivery)
        if endpoint_id not in endpoints:
            endpoints[endpoint_id] = WebhookEndpoint(
                pk=endpoint_id, **dict(zip(ENDPOINT_FIELDS, endpoint_values, strict=True))
            )
    targets: dict[int, EndpointTarget] = {}
    kept: list[ClaimedDelivery] = []
    more_due = len(rows) == limit
    for endpoint in endpoints.values():
        # At least one post at a time: a limit of 0 would hold its deliveries forever.
        in_flight = max(1, endpoint.max_in_flight)
        claimed = by_endpoint[endpoint.pk]
        if endpoint_room is not None:
            keep = max(0, endpoint_room(endpoint.pk, in_flight))
            if keep < len(claimed):
                deliveries_release([d.pk for d in claimed[keep:]])
                more_due = True  # due, and taken as soon as the endpoint has room
                claimed = claimed[:keep]
            if not claimed:
                continue
        kept += _within_rate(endpoint, claimed, now)
        keys = [secret_key(s) for s in endpoint_secrets(endpoint, now)]
        targets[endpoint.pk] = EndpointTarget(endpoint.pk, endpoint.url, in_flight, keys)
    kept.sort(key=lambda delivery: delivery.pk)
    return ClaimedBatch(kept, targets, more_due)


def deliveries_release(ids: list[int]) -> None:
    """Never posted: any worker may take these at once, with no attempt counted."""
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
        lease_expires_at=None
    )


def _pg_claim(
    now: datetime, lease_until: datetime, limit: int, skip_endpoints: Collection[int]
) -> list[tuple]:
    with pg_cursor() as cursor:
        params = {
            "now": now,
            "limit": limit,
            "lease": lease_until,
            "skip_endpoints": pg_ids(skip_endpoints),
        }
        cursor.execute(PG_CLAIM_DUE, params)
        return cursor.fetchall()


def _orm_claim(
    now: datetime, lease_until: datetime, limit: int, skip_endpoints: Collection[int]
) -> list[tuple]:
    """(id, message_id, endpoint_id, event type, payload as JSON text, event created_at,
    event request_id, *ENDPOINT_FIELDS) of each delivery leased."""
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
            )
            .exclude(lease_expires_at__gt=now)
            .exclude(endpoint_id__in=list(skip_endpoints))
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
            "event__created_at",
            "event__request_id",
            *(f"endpoint__{name}" for name in ENDPOINT_FIELDS),
        )
    )


def _within_rate(
    endpoint: WebhookEndpoint, claimed: list[ClaimedDelivery], now: datetime
) -> list[ClaimedDelivery]:
    """Keep what the endpoint's per-minute budget allows; push the rest to the next window."""
    status = ratelimit.hit(
        key=f"webhook:{endpoint.pk}",
        limit=endpoint.rate_per_minute,
        policy="webhook",
        cost=len(claimed),
    )
    allowed = max(0, len(claimed) - max(0, status.hits - status.limit))
    later = [d.pk for d in claimed[allowed:]]
    if later:
        # Spread, not dropped: these go out in the next window, with no attempt counted.
        Delivery.objects.filter(pk__in=later).update(
            next_attempt_at=now + timedelta(seconds=status.reset_seconds),
            lease_expires_at=None,
        )
    return claimed[:allowed]
