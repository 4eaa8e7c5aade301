"""The delivery loop: claim due deliveries with a lease, POST them outside any transaction, record.

At-least-once: a delivery is marked done only after its 2xx is recorded; a worker killed
mid-batch leaves leases that expire, and another worker (or the restarted one) sends those
deliveries again with the same `webhook-id`, so receivers can drop the duplicate.
"""

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from leadline.accounts import ratelimit

from .models import (
    DISABLED_FAILING,
    DISABLED_GONE,
    Delivery,
    DeliveryAttempt,
    WebhookEndpoint,
)
from .services import endpoint_secrets
from .signing import signature_header
from .urls_guard import GuardedResolver

logger = logging.getLogger(__name__)

# Seconds to wait before each retry (Svix's schedule): immediately, 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h: about 27 h in all. Scaled by LEADLINE_WEBHOOK_SCHEDULE_SCALE for tests.
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER_FAILING = timedelta(days=5)
EXCERPT_CHARS = 500
LEASE_MARGIN = timedelta(seconds=30)
BATCH_SIZE = 200


@dataclass
class Outcome:
    delivery_id: int
    attempted_at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliveries_claim(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> list[Delivery]:
    """Lease up to `limit` due deliveries to enabled endpoints, within each endpoint's pace."""
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=settings.LEADLINE_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
            )
            .exclude(lease_expires_at__gt=now)
            .order_by("next_attempt_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(id__in=ids).update(lease_expires_at=lease_until)
    claimed = list(
        Delivery.objects.filter(id__in=ids).select_related("event", "endpoint").order_by("id")
    )
    return _paced(claimed, now)


def _paced(claimed: list[Delivery], now: datetime) -> list[Delivery]:
    """Keep what each endpoint's per-minute budget allows; push the rest to the next window."""
    by_endpoint: dict[int, list[Delivery]] = {}
    for delivery in claimed:
        by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
    allowed: list[Delivery] = []
    for deliveries in by_endpoint.values():
        endpoint = deliveries[0].endpoint
        status = ratelimit.hit(
            key=f"webhook:{endpoint.pk}",
            limit=endpoint.rate_per_minute,
            policy="webhook",
            cost=len(deliveries),
        )
        room = max(0, len(deliveries) - max(0, status.hits - status.limit))
        allowed += deliveries[:room]
        later = [d.pk for d in deliveries[room:]]
        if later:
            # Spread, not dropped: these go out in the next window, with no attempt counted.
            Delivery.objects.filter(pk__in=later).update(
                next_attempt_at=now + timedelta(seconds=status.reset_seconds),
                lease_expires_at=None,
            )
    return allowed


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Sender:
    """Posts batches with one aiohttp session on one event loop, reused across batches."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None

    async def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(
                limit=200,
                resolver=GuardedResolver(settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE),
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=settings.LEADLINE_WEBHOOK_TIMEOUT_SECONDS),
                headers={"User-Agent": "Leadline-Webhooks/1"},
            )
        return self.session

    async def _post(self, delivery: Delivery, secrets_in_use, gate) -> Outcome:
        body = orjson.dumps(delivery.event.payload)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                secrets_in_use, delivery.message_id, timestamp, body
            ),
            "webhook-event-type": delivery.event.type,
        }
        outcome = Outcome(delivery.pk, timezone.now())
        session = await self._session()
        async with gate:
            started = time.perf_counter()
            try:
                async with session.post(
                    delivery.endpoint.url, data=body, headers=headers, allow_redirects=False
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

    async def _post_all(self, batch: list[Delivery]) -> list[Outcome]:
        gates: dict[int, asyncio.Semaphore] = {}
        secrets: dict[int, list[str]] = {}
        tasks = []
        for delivery in batch:
            endpoint = delivery.endpoint
            if endpoint.pk not in gates:
                gates[endpoint.pk] = asyncio.Semaphore(endpoint.max_in_flight)
                secrets[endpoint.pk] = endpoint_secrets(endpoint)
            tasks.append(self._post(delivery, secrets[endpoint.pk], gates[endpoint.pk]))
        return await asyncio.gather(*tasks)

    def send(self, batch: list[Delivery]) -> list[Outcome]:
        return self.loop.run_until_complete(self._post_all(batch))

    def close(self) -> None:
        if self.session is not None:
            self.loop.run_until_complete(self.session.close())
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


def outcomes_record(outcomes: list[Outcome], *, now: datetime | None = None) -> None:
    """Store each try and move its delivery on: done, scheduled again, or given up."""
    now = now or timezone.now()
    with transaction.atomic():
        deliveries = {
            d.pk: d
            for d in Delivery.objects.select_for_update()
            .select_related("endpoint", "event")
            .filter(pk__in=[o.delivery_id for o in outcomes])
        }
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery_id=o.delivery_id,
                attempted_at=o.attempted_at,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                # An erased lead's event keeps no response either.
                response_excerpt=""
                if deliveries[o.delivery_id].event.payload == {"erased": True}
                else o.excerpt,
                error=o.error,
            )
            for o in outcomes
            if o.delivery_id in deliveries
        )
        succeeded_endpoints: set[int] = set()
        failed_endpoints: dict[int, WebhookEndpoint] = {}
        succeeded_ids: list[int] = []
        for outcome in outcomes:
            delivery = deliveries.get(outcome.delivery_id)
            if delivery is None:
                continue
            if outcome.succeeded and delivery.status == Delivery.Status.PENDING:
                # The common case, recorded for the whole batch in one UPDATE below.
                succeeded_ids.append(delivery.pk)
                succeeded_endpoints.add(delivery.endpoint_id)
                continue
            delivery.attempts_count += 1
            delivery.lease_expires_at = None
            if delivery.status != Delivery.Status.PENDING:
                pass  # cancelled by an erasure while in flight: leave it cancelled
            else:
                failed_endpoints[delivery.endpoint_id] = delivery.endpoint
                if outcome.status_code == 410:
                    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
                        enabled=False, disabled_reason=DISABLED_GONE
                    )
                delay = _next_delay(delivery.attempts_count, outcome.retry_after)
                if delay is None:
                    delivery.status = Delivery.Status.FAILED
                else:
                    delivery.next_attempt_at = now + timedelta(seconds=delay)
            delivery.save(
                update_fields=["attempts_count", "lease_expires_at", "status", "next_attempt_at"]
            )
        if succeeded_ids:
            Delivery.objects.filter(pk__in=succeeded_ids).update(
                status=Delivery.Status.SUCCEEDED,
                delivered_at=now,
                attempts_count=F("attempts_count") + 1,
                lease_expires_at=None,
            )
        if succeeded_endpoints:
            WebhookEndpoint.objects.filter(pk__in=succeeded_endpoints).update(
                last_success_at=now, failing_since=None
            )
        for endpoint in failed_endpoints.values():
            if endpoint.pk in succeeded_endpoints:
                continue
            if endpoint.failing_since is None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                    failing_since=now
                )
            elif endpoint.failing_since < now - DISABLE_AFTER_FAILING:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    enabled=False,
                    disabled_reason=DISABLED_FAILING,
                )


class DeliveryLoop:
    """One worker's deliverer: claim, send, record; returns how many it handled."""

    def __init__(self):
        self.sender = Sender()

    def run_once(self) -> int:
        batch = deliveries_claim()
        if not batch:
            return 0
        outcomes = self.sender.send(batch)
        outcomes_record(outcomes)
        return len(outcomes)

    def close(self) -> None:
        self.sender.close()
