"""What the sync and async clients share: configuration, request bodies, retry decisions,
rate-limit pacing and the chunking of large creates. No I/O here."""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._errors import (
    APIStatusError,
    ConflictError,
    LeadlineError,
    UnprocessableEntityError,
    error_for,
)
from ._models import ChunkResult, CreateResult, LeadCheck, LeadsCreated

VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 4
# The server's documented per-request limit of create; a longer list is sent in chunks.
MAX_LEADS_PER_REQUEST = 10_000
DEFAULT_PAGE_SIZE = 1000  # the server's maximum: fewest requests for a full walk
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A Retry-After (or RateLimit reset) longer than this is not slept through: the caller gets
# the RateLimitError and decides.
MAX_WAIT = 90.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The server keeps a replayable response only up to 64 KiB; for a larger one it keeps the
# status and answers a retry with a 422 naming it (the request is never run twice).
_TOO_LARGE_REPLAY = re.compile(r"\(status (\d{3})\) was too large to keep")
_RATELIMIT_FIELD = re.compile(r"\b([rt])=(\d+)")

LeadInput = Mapping[str, Any]
LeadIdInput = str | int


class MissingApiKey(LeadlineError):
    pass


@dataclass(frozen=True)
class Config:
    api_key: str
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    max_leads_per_request: int

    @classmethod
    def build(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_leads_per_request: int,
    ) -> Config:
        key = api_key or os.environ.get("LEADLINE_API_KEY")
        if not key:
            raise MissingApiKey("Pass api_key=... or set LEADLINE_API_KEY.")
        url = base_url or os.environ.get("LEADLINE_BASE_URL") or DEFAULT_BASE_URL
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if not 1 <= max_leads_per_request <= MAX_LEADS_PER_REQUEST:
            raise ValueError(f"max_leads_per_request must be 1 to {MAX_LEADS_PER_REQUEST}")
        return cls(
            api_key=key,
            base_url=url.rstrip("/"),
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            max_retries=max_retries,
            max_leads_per_request=max_leads_per_request,
        )

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"leadline-client/{VERSION}",
        }


@dataclass(frozen=True)
class Call:
    """One API request before it is sent (the same for the sync and the async client)."""

    method: str
    path: str
    params: dict[str, str] | None = None
    body: bytes | None = None
    idempotency_key: str | None = None
    # A POST that changes nothing (the dry runs): retried like a GET, without a key.
    safe: bool = False


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: Any) -> bytes:
    return json.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode()


def new_key() -> str:
    return uuid.uuid4().hex


def write_call(method: str, path: str, payload: Any, key: str | None) -> Call:
    # Every write carries a key, so any write may be retried safely (the server replays the
    # first answer to a retry instead of running the request twice).
    return Call(method, path, body=dumps(payload), idempotency_key=key or new_key())


def read_call(path: str, payload: Any) -> Call:
    # The dry runs store nothing and echo what was sent: no key (the server would otherwise
    # keep the answer, numbers and all, for a day), and safe to retry.
    return Call("POST", path, body=dumps(payload), safe=True)


def lead_id_str(value: LeadIdInput) -> str:
    # The server treats 1 and "1" as the same lead and answers with the string form.
    return str(value)


def epoch(value: datetime | float | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("pass an aware datetime (with a tzinfo), or epoch seconds")
        value = value.timestamp()
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def responses_params(
    *,
    processed_after: datetime | float | int | None,
    processed_before: datetime | float | int | None,
    lead_id: LeadIdInput | None,
    page_size: int | None,
) -> dict[str, str]:
    params: dict[str, str] = {}
    if lead_id is not None:
        params["lead_id"] = lead_id_str(lead_id)
    for name, value in (
        ("processed_after", processed_after),
        ("processed_before", processed_before),
    ):
        text = epoch(value)
        if text is not None:
            params[name] = text
    params["page_size"] = str(DEFAULT_PAGE_SIZE if page_size is None else page_size)
    return params


def relative(url: str) -> str:
    """The path and query of a `next` link. Sent against our own base URL: behind a proxy the
    server may build its links with a host this client cannot reach."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def as_items(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [value]
    return list(value)


# --- retries and pacing -------------------------------------------------------------------


def backoff(attempt: int) -> float:
    """Capped exponential backoff with jitter (half fixed, half random, so retries of many
    clients spread out but never come back at once)."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


def retry_delay(
    call: Call, attempt: int, response: httpx.Response | None, max_retries: int
) -> float | None:
    """Seconds to wait before retrying `call`, or None to stop.

    A response of None means the connection failed. Writes are retried only because they
    carry an Idempotency-Key (always, see write_call); a 409 means the first try with that key
    is still running on the server, so waiting and asking again gets its answer.
    """
    if attempt >= max_retries:
        return None
    if call.method != "GET" and not call.safe and call.idempotency_key is None:
        return None
    if response is None:
        return backoff(attempt)
    status = response.status_code
    if status == 409 and call.idempotency_key is not None:
        return backoff(attempt)
    if status not in RETRY_STATUSES and status < 500:
        return None
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        try:
            wait = float(retry_after)
        except ValueError:
            wait = backoff(attempt)
        # A small jitter beyond the server's wait: a whole window's worth of clients must not
        # all come back in the same millisecond.
        return None if wait > MAX_WAIT else wait + random.uniform(0, 0.25)
    return backoff(attempt)


class Pacer:
    """Paces requests ahead of a 429 from the `RateLimit` header the server sends on every
    answer (`"business";r=<left>;t=<seconds to reset>`): when nothing is left in the window,
    the next request waits for the reset instead of spending a request on a 429."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0

    def wait_time(self) -> float:
        with self._lock:
            return max(0.0, self._not_before - time.monotonic())

    def observe(self, response: httpx.Response) -> None:
        header = response.headers.get("ratelimit")
        if not header:
            return
        fields = dict(_RATELIMIT_FIELD.findall(header))
        if "r" not in fields or "t" not in fields:
            return
        remaining, reset = int(fields["r"]), int(fields["t"])
        if remaining > 0 or reset > MAX_WAIT:
            return
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + reset)


def raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_for(response)


def json_body(response: httpx.Response) -> Any:
    raise_for(response)
    return response.json()


# --- chunked creates ----------------------------------------------------------------------


def plan_chunks(
    total: int, size: int, key: str | None, resume: CreateResult | None, campaign_id: str
) -> list[ChunkResult]:
    """The chunks of a create of `total` leads: fresh ones, or those of `resume` (whose done
    chunks are then skipped)."""
    if resume is not None:
        if resume.campaign_id != campaign_id or (resume.chunks and resume.chunks[-1].stop != total):
            raise ValueError("resume= must be the result of a create of the same leads")
        for chunk in resume.chunks:
            if not chunk.done and _definitely_not_created(chunk.error):
                # The server stored that final refusal under the old key: resending the same
                # key would replay it, a changed body with it would be a 422.
                chunk.idempotency_key = new_key()
            chunk.error = None
        return resume.chunks
    base = key or new_key()
    starts = range(0, total, size)
    if len(starts) == 1:
        return [ChunkResult(index=0, start=0, stop=total, idempotency_key=base)]
    return [
        ChunkResult(index=i, start=s, stop=min(total, s + size), idempotency_key=f"{base}-{i}")
        for i, s in enumerate(starts)
    ]


def _definitely_not_created(error: Exception | None) -> bool:
    # Create is all or nothing: a final 4xx answer (not 409/429, which say "not yet")
    # created nothing.
    return (
        isinstance(error, APIStatusError)
        and 400 <= error.status_code < 500
        and not isinstance(error, ConflictError)
        and error.status_code not in (408, 429)
        and not too_large_replay_status(error)
    )


def too_large_replay_status(error: Exception) -> int | None:
    if isinstance(error, UnprocessableEntityError):
        match = _TOO_LARGE_REPLAY.search(error.detail)
        if match:
            return int(match.group(1))
    return None


def chunk_created(response: httpx.Response, items: Sequence[Mapping[str, Any]]) -> LeadsCreated:
    """The answer to one chunk. A 422 saying the first answer (a 201) was too large to keep
    means this chunk was created by an earlier try whose answer was lost: all of its leads
    exist (create is all or nothing), so the result is rebuilt from the request."""
    if response.status_code == 422:
        error = error_for(response)
        if too_large_replay_status(error) == 201:
            ids = [lead_id_str(item.get("lead_id", "")) for item in items]
            return LeadsCreated(
                detail=f"{len(ids)} lead(s) created.",
                created=len(ids),
                lead_ids=ids,
                extra={"replayed": True},
            )
        raise error
    return LeadsCreated.from_dict(json_body(response))


def chunk_error(result: CreateResult, chunk: ChunkResult, exc: Exception) -> Exception:
    """The exception for a failed chunk: the plain API error when the create was one request,
    otherwise a ChunkedCreateError whose problems' `index` is the position in the whole list."""
    chunk.error = exc
    if len(result.chunks) == 1:
        return exc
    from ._errors import ChunkedCreateError

    error = ChunkedCreateError(result, exc)
    if isinstance(exc, APIStatusError):
        from dataclasses import replace

        error.errors = [
            replace(p, index=None if p.index is None else p.index + chunk.start) for p in exc.errors
        ]
    return error


def consent_items(consents: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[Any]:
    return as_items(consents)


def phone_items(numbers: str | Iterable[str | Mapping[str, Any]]) -> list[Any]:
    if isinstance(numbers, str):
        return [{"phone_number": numbers}]
    return [n if isinstance(n, Mapping) else {"phone_number": n} for n in numbers]


SuppressionInput = str | Mapping[str, Any]


def suppression_items(
    entries: SuppressionInput | Iterable[SuppressionInput],
    campaign_id: str | None,
    reason: str | None,
) -> list[dict[str, Any]]:
    """The body of a do-not-call create or delete: each entry a number or an object;
    `campaign_id` and `reason` fill in what an entry does not say itself."""
    items = phone_items(entries) if not isinstance(entries, Mapping) else [entries]
    body = []
    for item in items:
        entry = dict(item)
        if campaign_id is not None:
            entry.setdefault("campaign_id", campaign_id)
        if reason is not None:
            entry.setdefault("reason", reason)
        body.append(entry)
    return body


def number_list(phone_numbers: str | Iterable[str]) -> list[str]:
    return [phone_numbers] if isinstance(phone_numbers, str) else list(phone_numbers)


def list_params(campaign_id: str | None, page_size: int | None) -> dict[str, str]:
    params = {"page_size": str(DEFAULT_PAGE_SIZE if page_size is None else page_size)}
    if campaign_id is not None:
        params["campaign_id"] = campaign_id
    return params


def checked_leads(data: Any, start: int) -> list[LeadCheck]:
    """One answer of the create dry run, its positions made positions in the whole list."""
    from dataclasses import replace

    checks = []
    for item in data.get("results") or []:
        check = LeadCheck.from_dict(item)
        if start:
            errors = [
                replace(p, index=None if p.index is None else p.index + start) for p in check.errors
            ]
            check = replace(check, index=check.index + start, errors=errors)
        checks.append(check)
    return checks
