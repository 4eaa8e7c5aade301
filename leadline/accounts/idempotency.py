"""Idempotency-Key support for the API's writes.

The first response to a key is stored (in the database even when Redis holds the rate limits:
it must be durable, and erasure must be able to find and delete it) and replayed for 24 hours
to a retry with the same method, path, query string and body; the same key with another
request gets 422, and a retry while the first is still running gets 409.

What one business may park here is bounded (each request body may be 10 MB): a response over
LEADLINE_IDEMPOTENCY_MAX_RESPONSE_BYTES is not kept, only its status (a retry gets 422 saying
so, and the request is not run again), and a business holding
LEADLINE_IDEMPOTENCY_MAX_RECORDS live keys gets 429 for a new key until the oldest expires.
"""

import hashlib
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from leadline.core.errors import ApiError, BadRequest, Conflict, RateLimited, Unprocessable
from leadline.core.http import JSON_CONTENT_TYPE, error_response

from .models import Business, IdempotencyRecord

HEADER = "Idempotency-Key"
# A first request that died without answering stops blocking its key after this long.
ABANDONED_AFTER = timedelta(minutes=2)


def _fingerprint(request: HttpRequest) -> str:
    # Only HttpRequest built by hand lacks a method; every request Django handles has one.
    assert request.method is not None
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.path_info.encode())
    # The query string can change what a write does (`?suppress=true` on an erasure). Only a
    # non-empty one is hashed, so keys stored before it counted keep matching their retries.
    query = request.META.get("QUERY_STRING", "")
    if query:
        digest.update(b"?")
        digest.update(query.encode())
    digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _check_capacity(business: Business, now: datetime, ttl: timedelta) -> None:
    """429 when the business already holds the most live keys allowed (checked per new key).

    Bounds what one business stores (at most this many records of at most the response cap);
    a new key is refused rather than silently not stored, so a client relying on replay is
    never run twice unknowingly. Concurrent new keys may overshoot the cap by a few.
    """
    cap = settings.LEADLINE_IDEMPOTENCY_MAX_RECORDS
    live = IdempotencyRecord.objects.filter(business=business, created_at__gte=now - ttl)
    if live.count() < cap:
        return
    oldest = live.order_by("created_at").values_list("created_at", flat=True).first()
    wait = 1 if oldest is None else max(1, math.ceil((oldest + ttl - now).total_seconds()))
    raise RateLimited(
        f"This business holds {cap} live Idempotency-Keys, the most allowed; retry in {wait} "
        "seconds, or send the request without the key.",
        extra={"limit": cap, "retry_after": wait},
        headers={"Retry-After": str(wait)},
    )


def _replay(record: IdempotencyRecord) -> HttpResponse:
    if record.response_body is None:
        # The marker of a response over the size cap: only its status was kept.
        raise Unprocessable(
            f"The first response to this Idempotency-Key (status {record.response_status}) "
            "was too large to keep for replay; the request was not run again. Check the "
            "current state, or resend without the key."
        )
    response = HttpResponse(
        record.response_body, status=record.response_status, content_type=JSON_CONTENT_TYPE
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(business: Business, key: str, fingerprint: str) -> HttpResponse | None:
    """Reserve the key for this request, or return the response a retry must get."""
    now = timezone.now()
    ttl = timedelta(seconds=settings.LEADLINE_IDEMPOTENCY_TTL_SECONDS)
    for _ in range(3):
        with transaction.atomic():
            record = (
                IdempotencyRecord.objects.select_for_update()
                .filter(business=business, key=key)
                .first()
            )
            if record is not None:
                stale = record.created_at < now - ttl or (
                    record.response_status is None and record.created_at < now - ABANDONED_AFTER
                )
                if stale:
                    record.delete()
                    record = None
            if record is not None:
                if record.request_hash != fingerprint:
                    raise Unprocessable(
                        "This Idempotency-Key was already used with a different request."
                    )
                if record.response_status is None:
                    raise Conflict("A request with this Idempotency-Key is still in progress.")
                return _replay(record)
        _check_capacity(business, now, ttl)
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    business=business, key=key, request_hash=fingerprint, created_at=now
                )
            return None
        except IntegrityError:
            continue  # another process claimed it first: read what it stored
    raise Conflict("A request with this Idempotency-Key is still in progress.")


def idempotent(
    request: HttpRequest, business: Business, handler: Callable[[], HttpResponse]
) -> HttpResponse:
    """Run `handler` once per Idempotency-Key (when the client sent one)."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not key or len(key) > 255 or not key.isprintable():
        raise BadRequest(f"{HEADER} must be 1 to 255 printable characters.")
    fingerprint = _fingerprint(request)
    replay = _claim(business, key, fingerprint)
    if replay is not None:
        return replay
    try:
        try:
            response = handler()
        except ApiError as exc:
            response = error_response(exc)
    except BaseException:
        IdempotencyRecord.objects.filter(business=business, key=key).delete()
        raise
    records = IdempotencyRecord.objects.filter(business=business, key=key)
    if response.status_code >= 500 or response.status_code == 429:
        records.delete()  # not a final answer: let the client retry for real
    elif len(response.content) > settings.LEADLINE_IDEMPOTENCY_MAX_RESPONSE_BYTES:
        # Keep the key (the request must not run twice) but not the body: a null body with a
        # status is the marker _replay answers 422 to.
        records.update(response_status=response.status_code, response_body=None)
    else:
        records.update(
            response_status=response.status_code, response_body=response.content.decode()
        )
    return response


def purge_expired() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.LEADLINE_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
