"""The sender: posts claimed deliveries from an asyncio event loop in a thread of its own.

Each endpoint has a queue here, drained by at most its max_in_flight posts at once; every
delivery handed in comes back exactly once on `Sender.results`, posted or given back.
"""

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from django.conf import settings

from leadline.core.logs import request_id_bound

from ..signing import signature_header_keys
from ..ssrf_guard import GuardedResolver, literal_refusal
from .claim import ClaimedBatch, ClaimedDelivery, EndpointTarget

# The package's name, not this module's: the logger operators already know.
logger = logging.getLogger(__package__)

EXCERPT_CHARS = 500


@dataclass(slots=True)
class PostResult:
    """What came of one claimed delivery: an HTTP answer, an error, or given back unposted."""

    delivery_id: int
    attempted_at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None
    released: bool = False  # claimed but never posted: clear the lease, count no attempt
    endpoint_id: int = 0
    event_created_at: datetime | None = None  # for the created -> delivered delay

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _log_post(delivery: ClaimedDelivery, result: PostResult) -> None:
    # Ids and the outcome only: never the URL (its query may hold the receiver's token), the
    # body (the lead's data) or the signature.
    fields = {
        "request_id": delivery.request_id,
        "webhook_id": delivery.message_id,
        "endpoint_id": delivery.endpoint_id,
        "event_type": delivery.event_type,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
    }
    if result.succeeded:
        logger.debug("webhook delivered", extra=fields)
    else:
        # The error's kind only: a message may quote the URL.
        reason = result.error.split(":", 1)[0] if result.error else result.status_code
        logger.info("webhook delivery failed: %s", reason, extra=fields)


def _unposted(delivery: ClaimedDelivery) -> PostResult:
    return PostResult(
        delivery.pk, datetime.now(UTC), released=True, endpoint_id=delivery.endpoint_id
    )


class _EndpointQueue:
    """One endpoint's deliveries waiting in the sender, and the posts draining them."""

    __slots__ = ("gone", "posting", "target", "waiting")

    def __init__(self, target: EndpointTarget):
        self.target = target
        self.waiting: deque[ClaimedDelivery] = deque()
        self.posting = 0  # drainer tasks running: at most target.max_in_flight
        self.gone = False  # answered 410: the rest is released, not posted


class Sender:
    """Posts with one aiohttp session (keep-alive) on an event loop in its own thread.

    `submit()` and `release_queued()` may be called from any thread; every answer (or
    release) is put on `results`, a thread-safe queue the delivery loop reads.
    """

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.results: queue.SimpleQueue[PostResult] = queue.SimpleQueue()
        self.session: aiohttp.ClientSession | None = None
        self._queues: dict[int, _EndpointQueue] = {}
        self._allow_private = False  # read with the session, like GuardedResolver's
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="webhook-sender", daemon=True
        )
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, batch: ClaimedBatch) -> None:
        self.loop.call_soon_threadsafe(self._enqueue, batch)

    def release_queued(self) -> None:
        """Give back every delivery not posted yet; posts in flight finish."""
        self.loop.call_soon_threadsafe(self._release_queued)

    def _release_queued(self) -> None:
        for endpoint_queue in self._queues.values():
            while endpoint_queue.waiting:
                delivery = endpoint_queue.waiting.popleft()
                self.results.put(_unposted(delivery))

    def _enqueue(self, batch: ClaimedBatch) -> None:
        fed: dict[int, _EndpointQueue] = {}
        for delivery in batch.deliveries:
            endpoint_queue = fed.get(delivery.endpoint_id)
            if endpoint_queue is None:
                target = batch.targets[delivery.endpoint_id]
                endpoint_queue = self._queues.get(delivery.endpoint_id)
                if endpoint_queue is None:
                    endpoint_queue = self._queues[delivery.endpoint_id] = _EndpointQueue(target)
                endpoint_queue.target = target  # the latest claim's view (url, limit, keys)
                fed[delivery.endpoint_id] = endpoint_queue
            endpoint_queue.waiting.append(delivery)
        for endpoint_queue in fed.values():
            # The endpoint's in-flight limit holds across overlapping batches: queues outlive
            # a batch, and only `posting` drainers post at once.
            start = min(
                endpoint_queue.target.max_in_flight - endpoint_queue.posting,
                len(endpoint_queue.waiting),
            )
            for _ in range(start):
                endpoint_queue.posting += 1
                self.loop.create_task(self._drain(endpoint_queue))

    async def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self._allow_private = settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE
            connector = aiohttp.TCPConnector(
                limit=200, resolver=GuardedResolver(self._allow_private)
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

    async def _drain(self, endpoint_queue: _EndpointQueue) -> None:
        try:
            while endpoint_queue.waiting:
                delivery = endpoint_queue.waiting.popleft()
                try:
                    if endpoint_queue.gone or time.monotonic() > delivery.start_by:
                        result = _unposted(delivery)
                    else:
                        session = await self._session()
                        # The request that caused the event names this post's log lines.
                        with request_id_bound(delivery.request_id):
                            result = await self._post(session, endpoint_queue.target, delivery)
                            _log_post(delivery, result)
                        if result.status_code == 410:
                            endpoint_queue.gone = True
                except Exception as exc:
                    # A bug, not an HTTP failure (_post catches those): still one result
                    # per delivery, so the loop's count holds; retried like a failure.
                    logger.exception("webhook sender failed")
                    result = PostResult(
                        delivery.pk,
                        datetime.now(UTC),
                        error=f"internal error: {type(exc).__name__}",
                        endpoint_id=delivery.endpoint_id,
                    )
                self.results.put(result)
        finally:
            endpoint_queue.posting -= 1
            if (
                not endpoint_queue.posting
                and not endpoint_queue.waiting
                and self._queues.get(endpoint_queue.target.pk) is endpoint_queue
            ):
                del self._queues[endpoint_queue.target.pk]

    async def _post(self, session, target: EndpointTarget, delivery: ClaimedDelivery) -> PostResult:
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
        result = PostResult(
            delivery.pk,
            datetime.now(UTC),
            endpoint_id=delivery.endpoint_id,
            event_created_at=delivery.event_created_at,
        )
        # A bare IP never reaches GuardedResolver, and the URL may have changed since it was
        # checked on saving: refuse here, never sent, recorded as a failed attempt.
        refusal = literal_refusal(target.url, self._allow_private)
        if refusal is not None:
            result.error = refusal
            return result
        started = time.perf_counter()
        try:
            async with session.post(
                target.url, data=delivery.body, headers=headers, allow_redirects=False
            ) as response:
                text = await response.content.read(EXCERPT_CHARS * 4)
                result.status_code = response.status
                result.excerpt = text.decode("utf-8", "replace")[:EXCERPT_CHARS]
                if response.status in (429, 503):
                    result.retry_after = _retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            result.error = "timed out"
        except (aiohttp.ClientError, OSError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.latency_ms = int((time.perf_counter() - started) * 1000)
        return result

    def close(self) -> None:
        async def session_close() -> None:
            if self.session is not None:
                await self.session.close()

        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(session_close(), self.loop).result(timeout=10)
            except Exception:  # closing: nothing more to do with the session
                logger.warning("webhook sender did not close cleanly", exc_info=True)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()
