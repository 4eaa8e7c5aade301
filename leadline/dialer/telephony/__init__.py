"""Telephony providers place bridged calls: the rep's phone rings, then the lead's.

A provider never hands the lead's number to anything rep-facing; the dialer passes it
straight from the database to the provider. Real providers plug in behind `Provider`.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CallState:
    status: str  # one of CallAttempt.TelephonyStatus values
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None


class Provider(Protocol):
    name: str

    def place_call(self, *, reference: str, rep_phone: str, lead_phone: str) -> str:
        """Start a bridged call; returns the provider's call id."""

    def call_state(self, *, call_id: str, placed_at: datetime, now: datetime) -> CallState:
        """The call's progress (ringing, answered, completed with duration, busy, ...)."""

    def fetch_recording(self, *, call_id: str) -> bytes | None:
        """The finished call's audio (WAV), or None if the call was never answered."""


@functools.cache
def get_provider() -> Provider:
    return import_string(settings.LEADLINE_TELEPHONY_PROVIDER)()
