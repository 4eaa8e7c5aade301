"""Idempotency-Key support for the API's writes.

The first response to a key is stored (in the database even when Redis holds the rate limits:
it must be durable, and erasure must be able to find and delete it) and replayed for 24 hours
to a retry with the same method, path and body; the same key with another request gets 422,
and a retry while the first is still running gets 409.
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from leadline.core.errors import ApiError, BadRequest, Conflict, Unprocessable
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
    digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


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
                response = HttpResponse(
                    record.response_body or "",
                    status=record.response_status,
                    content_type=JSON_CONTENT_TYPE,
                )
                response["Idempotent-Replayed"] = "true"
                return response
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
    else:
        records.update(
            response_status=response.status_code, response_body=response.content.decode()
        )
    return response


def purge_expired() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.LEADLINE_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
