"""Fixed-window rate limiting shared by every process: in the database, or Redis if configured.

A window is one minute aligned to the epoch; each limiter key counts its hits per window.
The database backend is one atomic upsert per hit (INSERT ... ON CONFLICT ... RETURNING works
on SQLite and PostgreSQL alike); the Redis backend is INCR plus EXPIRE in one round trip.
"""

import functools
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from .models import RateLimitBucket

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitStatus:
    policy: str
    limit: int
    hits: int
    reset_seconds: int

    @property
    def allowed(self) -> bool:
        return self.hits <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.hits)

    def headers(self) -> dict[str, str]:
        # draft-ietf-httpapi-ratelimit-headers (-08 and later): structured-field lists.
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


# One hit is one atomic upsert that returns the window's new count: the ORM would need a
# get_or_create plus an F() update (two statements and a race between them).
_TABLE = RateLimitBucket._meta.db_table
UPSERT_HIT = (
    f"INSERT INTO {_TABLE} (key, window_start, hits) VALUES (%s, %s, %s) "  # noqa: S608
    f"ON CONFLICT (key, window_start) DO UPDATE SET hits = {_TABLE}.hits + %s RETURNING hits"
)


# On PostgreSQL a hit does not wait for its commit to reach the disk: that flush was the
# larger part of the upsert's time on every API request, and what a crash can lose is the
# last fraction of a second of hits, a few more requests allowed in the minute after a
# restart. SET LOCAL lasts for the implicit transaction of this one simple query (Django's
# psycopg cursor sends both statements so). Only in autocommit: inside a caller's transaction
# it would make the caller's own commit asynchronous too.
_UPSERT_HIT_NO_FLUSH = "SET LOCAL synchronous_commit TO OFF; " + UPSERT_HIT


def _db_hit(key: str, window_start: int, cost: int) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.get_autocommit():
            cursor.execute(_UPSERT_HIT_NO_FLUSH, [key, window_start, cost, cost])
            cursor.nextset()
        else:
            cursor.execute(UPSERT_HIT, [key, window_start, cost, cost])
        row = cursor.fetchone()
    assert row is not None  # RETURNING always yields the row it wrote
    return int(row[0])


@functools.cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis_hit(key: str, window_start: int, cost: int) -> int:
    client = _redis_client(settings.REDIS_URL)
    redis_key = f"{settings.REDIS_KEY_PREFIX}:rl:{key}:{window_start}"
    pipe = client.pipeline(transaction=True)
    pipe.incrby(redis_key, cost)
    pipe.expire(redis_key, WINDOW_SECONDS * 2)
    hits, _ = pipe.execute()
    return int(hits)


def hit(
    *, key: str, limit: int, policy: str, now: float | None = None, cost: int = 1
) -> RateLimitStatus:
    """Count `cost` requests against `key` and say whether it is within `limit` per minute."""
    now = time.time() if now is None else now
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    record = _redis_hit if settings.REDIS_URL else _db_hit
    hits = record(key, window_start, cost)
    reset = max(1, window_start + WINDOW_SECONDS - int(now))
    return RateLimitStatus(policy=policy, limit=limit, hits=hits, reset_seconds=reset)


def purge_expired(*, now: float | None = None) -> int:
    """Delete database buckets of past windows; Redis keys expire by themselves."""
    now = time.time() if now is None else now
    current = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    deleted, _ = RateLimitBucket.objects.filter(window_start__lt=current).delete()
    return deleted
