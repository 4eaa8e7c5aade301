"""Loop heartbeats: the worker stamps each loop's successful runs; /readyz and /metrics read
the stamps back to tell a loop that stopped (stuck, or failing on every run) from one that
is only idle."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from leadline.core.loops import Loop

from .models import LoopHeartbeat

# A busy loop (webhook deliveries every 0.2 s) writes its stamp at most this often.
HEARTBEAT_EVERY_S = 10.0


class Heartbeat:
    """One loop's stamps from one worker thread, throttled to HEARTBEAT_EVERY_S."""

    def __init__(self, loop: Loop):
        self.loop = loop
        self.every = min(HEARTBEAT_EVERY_S, loop.interval_seconds)
        self._written = float("-inf")

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._written < self.every:
            return
        LoopHeartbeat.objects.bulk_create(
            [
                LoopHeartbeat(
                    name=self.loop.name,
                    last_success_at=timezone.now(),
                    interval_seconds=self.loop.interval_seconds,
                )
            ],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["last_success_at", "interval_seconds"],
        )
        self._written = now


@dataclass(frozen=True)
class LoopLag:
    name: str
    last_success_at: datetime
    lag_seconds: float
    late_after_seconds: float

    @property
    def late(self) -> bool:
        return self.lag_seconds > self.late_after_seconds

    def as_dict(self) -> dict[str, object]:
        return {
            "last_success_at": self.last_success_at.isoformat(),
            "lag_seconds": round(self.lag_seconds, 1),
            "late_after_seconds": round(self.late_after_seconds, 1),
            "ok": not self.late,
        }


def late_after(interval_seconds: float) -> float:
    """How old a loop's last success may get: its interval times LEADLINE_LOOP_LAG_FACTOR,
    plus LEADLINE_LOOP_LAG_GRACE_SECONDS for the throttled stamp and one long run."""
    return (
        interval_seconds * settings.LEADLINE_LOOP_LAG_FACTOR
        + settings.LEADLINE_LOOP_LAG_GRACE_SECONDS
    )


def loop_lags(names: set[str] | None = None, now: datetime | None = None) -> list[LoopLag]:
    """Every stamped loop (of `names`, the loops this code still has), oldest stamp first.

    A loop never stamped is not listed: a deployment whose worker runs some loops only
    (`--only`) or has not started yet is not "late"."""
    now = now or timezone.now()
    rows = LoopHeartbeat.objects.order_by("last_success_at")
    lags = []
    for row in rows:
        if names is not None and row.name not in names:
            continue
        lag = max(0.0, (now - row.last_success_at).total_seconds())
        lags.append(LoopLag(row.name, row.last_success_at, lag, late_after(row.interval_seconds)))
    return lags
