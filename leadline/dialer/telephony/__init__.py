"""Telephony providers place bridged calls: the rep's phone rings, then the lead's.

One interface (`Provider`), one module per provider: `simulator` (the default, no network),
`exotel` and `twilio`. A provider is built for a `Line` (the business's telephony account,
credentials decrypted, and the campaign's caller ID) by `provider_for`; a campaign without an
account uses `LEADLINE_TELEPHONY_PROVIDER` (`default_provider`).

Privacy: the lead's number goes from the database to `place_call` and from there only to the
provider. A provider never puts a number into an exception, a log line or a return value:
`ProviderError.detail` is written for the rep's screen and must stay free of numbers.

Statuses describe the lead's side of the bridge (`CallAttempt.TelephonyStatus` values):
`ringing` until the lead picks up, `answered` while they talk, then `completed` (with the
conversation's seconds), or `busy` / `no_answer` / `failed` (the rep's leg failing, a rejected
number, a provider error) with `CallState.detail` saying why in words fit for the rep.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

PROVIDER_NAMES = ("simulator", "exotel", "twilio")


@dataclass(frozen=True)
class Line:
    """A telephony account as a provider needs it: who we are to the provider, and the number
    the lead sees. `credentials` are decrypted: exotel `api_key`, `api_token`; twilio
    `auth_token`. `repr` hides them, so a Line in a traceback leaks nothing."""

    provider: str
    account_sid: str = ""
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_url: str = ""
    caller_id: str = ""


@dataclass(frozen=True)
class CallRequest:
    reference: str  # the attempt's UUID (Exotel's CustomField echoes it back)
    rep_phone: str  # E.164
    lead_phone: str = field(repr=False)  # E.164; never in a repr, log or error
    caller_id: str = ""  # what the lead sees: one of the account's numbers
    callback_url: str = ""  # absolute, under LEADLINE_PUBLIC_URL, naming the attempt by token
    ring_seconds: int = 30  # how long each leg may ring
    max_call_seconds: int = 3600  # the bridged call's time limit
    record: bool = True


@dataclass(frozen=True)
class CallState:
    status: str  # one of CallAttempt.TelephonyStatus values
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    # The provider's handle on the recording (a URL or an id), once it names one.
    recording_ref: str = ""
    detail: str = ""  # why a call failed, fit for the rep's screen; never a number


@dataclass(frozen=True)
class CallbackEvent:
    """What a status callback says. `call_id` is the provider's id of the call we placed."""

    call_id: str
    state: CallState | None = None  # None: the callback only says "look at this call"
    recording_ref: str = ""


@dataclass(frozen=True)
class Recording:
    audio: bytes
    content_type: str  # as the provider served it, e.g. audio/mpeg, audio/x-wav
    extension: str  # "mp3", "wav"


class ProviderError(Exception):
    """The provider refused or could not be reached. `detail` is shown to reps and operators
    (no numbers, no credentials); `kind` lets callers decide what to do next."""

    AUTH = "auth"  # 401/403: credentials wrong or revoked
    RATE_LIMITED = "rate_limited"  # 429, or our own pacing
    UNAVAILABLE = "unavailable"  # timeout, connection refused, 5xx
    INVALID_NUMBER = "invalid_number"  # the provider rejects a number or the caller ID
    REJECTED = "rejected"  # any other 4xx
    NOT_FOUND = "not_found"  # the call or recording is unknown to the provider

    def __init__(self, kind: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class RecordingNotReady(Exception):
    """The call was recorded but the provider does not serve the audio yet: try later."""


class CallbackRejected(Exception):
    """A forged, malformed or unverifiable callback: answered with a 4xx, changes nothing."""

    def __init__(self, detail: str, *, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class Provider(Protocol):
    name: ClassVar[str]
    # True when the provider pushes call progress (status callbacks): pages then read the
    # database instead of asking the provider on every poll, and the worker reconciles.
    pushes_status: ClassVar[bool]
    # True when callbacks are signed (`parse_callback` verifies them); False (Exotel): a
    # callback is only a hint, confirmed with `call_state` before anything is recorded.
    signed_callbacks: ClassVar[bool]
    # True when `fetch_recording` answers at once at the end of a call (the simulator): it is
    # stored with the final status; otherwise the worker fetches it, with retries.
    recording_inline: ClassVar[bool]

    def place_call(self, call: CallRequest) -> str:
        """Start a bridged call; returns the provider's call id. Raises ProviderError."""

    def call_state(self, *, call_id: str, placed_at: datetime, now: datetime) -> CallState:
        """The call's progress, read from the provider. Raises ProviderError."""

    def parse_callback(
        self, *, url: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> CallbackEvent:
        """Verify (where the provider signs) and parse a status or recording callback. `url`
        is the public URL the provider called. Raises CallbackRejected."""

    def fetch_recording(self, *, call_id: str, recording_ref: str) -> Recording | None:
        """The finished call's audio; None if the call has no recording (never answered).
        Raises RecordingNotReady while the provider is still preparing it, ProviderError."""

    def delete_recording(self, *, call_id: str, recording_ref: str) -> bool:
        """Delete the provider's copy; False where the provider offers no deletion."""

    def check(self) -> str:
        """One authenticated read call (no dialling) proving the credentials; returns a short
        description of the account. Raises ProviderError."""


def _provider_classes() -> dict[str, str]:
    return {
        "simulator": "leadline.dialer.telephony.simulator.SimulatorProvider",
        "exotel": "leadline.dialer.telephony.exotel.ExotelProvider",
        "twilio": "leadline.dialer.telephony.twilio.TwilioProvider",
    }


def provider_for(line: Line | None) -> Provider:
    """The provider for a business's account, or the default one for a campaign without."""
    if line is None:
        return default_provider()
    provider: Provider = import_string(_provider_classes()[line.provider])(line)
    return provider


@functools.cache
def default_provider() -> Provider:
    provider: Provider = import_string(settings.LEADLINE_TELEPHONY_PROVIDER)()
    return provider


# Kept for callers written before per-business accounts.
get_provider = default_provider
