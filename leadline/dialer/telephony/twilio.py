"""Twilio: the rep's phone rings first (an API call), then a TwiML <Dial> rings the lead.

Built on the `twilio` package (absolute imports below reach it, not this module). What we rely
on from Twilio's documentation and the package, in our words:

- `client.calls.create(to, from_, twiml=..., status_callback, status_callback_event, timeout,
  time_limit)` starts an outbound call (the *parent*: our rep) and answers its `CallSid`. The
  TwiML runs once the rep answers; `<Dial>` then calls the `<Number>` as a *child* call (the
  lead) whose `parent_call_sid` is the rep's call and whose `from` is the Dial's `callerId`.
  `From` must be one of the account's numbers. `timeout` is ring time (default 60, at most
  600), `timeLimit` the call's maximum length (at most 14400 s, four hours).
- Call statuses: queued, initiated, ringing, in-progress, completed, busy, no-answer, failed,
  canceled. Child calls skip queued. `duration` is a string of seconds, dates are RFC 2822.
- Status callbacks are signed form posts carrying CallSid, CallStatus, ParentCallSid (child
  calls), Timestamp (RFC 2822), SequenceNumber and, on the final event, CallDuration. Each
  `<Number>` has its own `statusCallback`/`statusCallbackEvent`; the API call has its own.
- `<Dial record="record-from-answer-dual">` records both legs from the answer, one channel each,
  into one recording whose `CallSid` is the parent call. `recordingStatusCallback` hears
  RecordingSid, RecordingUrl, RecordingStatus (completed when the file can be fetched),
  RecordingDuration. `recordings.list(call_sid=...)` finds it; `recordings(sid).delete()`
  removes Twilio's copy.
- Media: `/2010-04-01/Accounts/{AC}/Recordings/{RE}` serves WAV (`audio/x-wav`); `.mp3` serves
  MP3 (`audio/mpeg`). With media auth enforced the download needs Basic auth (account SID, auth
  token). We take MP3: about a tenth of the WAV's size for the same call, plays in every browser.
- `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, the full URL Twilio called + each POST
  parameter's name and value sorted by name)); `RequestValidator(auth_token).validate` checks it.
- Errors come back as `{"code", "message", "more_info", "status"}` and the package raises
  `TwilioRestException(status, uri, msg, code)`: 401 with 20003 for bad credentials, 429/20429
  for too many requests, 404/20404 for an unknown resource, 21211 (invalid To), 21212 (invalid
  From), 21210 (From not owned/verified), 21214 (To unreachable), 21217 (not a valid number).
  Messages can quote the numbers, so none of them ever leaves this module.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from . import (
    CallbackEvent,
    CallbackRejected,
    CallRequest,
    CallState,
    Line,
    ProviderError,
    Recording,
    RecordingNotReady,
)

logger = logging.getLogger(__name__)
# The package's HTTP client logs every request's URL and headers at INFO: kept to warnings.
http_logger = logging.getLogger(__name__ + ".http")
http_logger.setLevel(logging.WARNING)

DEFAULT_API_URL = "https://api.twilio.com"
TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
MAX_RECORDING_BYTES = 256 * 1024 * 1024
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
LEG_EVENTS = ["initiated", "ringing", "answered", "completed"]
RINGING = frozenset({"queued", "initiated", "ringing"})
CALL_STATUSES = RINGING | {"in-progress", "completed", "busy", "no-answer", "failed", "canceled"}

# Twilio error codes about a number or the caller ID (documented in its error dictionary).
CALLER_ID_CODES = frozenset({21210, 21212, 21213})
NUMBER_CODES = frozenset({21211, 21214, 21215, 21216, 21217, 21219, 21401, 13223, 13224})

# What the rep reads. Fixed wording: never Twilio's message, which may quote a number.
DETAILS = {
    ProviderError.AUTH: "Twilio refused the account's credentials (account SID, auth token).",
    ProviderError.RATE_LIMITED: "Twilio is limiting requests right now. Try again shortly.",
    ProviderError.UNAVAILABLE: "Twilio could not be reached. Try again shortly.",
    ProviderError.INVALID_NUMBER: "Twilio rejected a phone number of this call.",
    ProviderError.REJECTED: "Twilio refused the request.",
    ProviderError.NOT_FOUND: "Twilio does not know this call or recording.",
}
CALLER_ID_DETAIL = "Twilio rejected the campaign's caller ID (not a number of this account)."
REP_NUMBER_DETAIL = "Twilio rejected your phone number."
TIMEOUT_DETAIL = "Twilio did not answer in time. Try again shortly."
NO_ACCOUNT_DETAIL = "No Twilio account is set up for this campaign."

# The rep's leg (the parent call) ended without ever reaching the lead.
REP_LEG_DETAILS = {
    "no-answer": "Your phone did not answer.",
    "busy": "Your phone was busy.",
    "failed": "Your phone could not be reached.",
    "canceled": "The call was cancelled before it connected.",
    "completed": "The call ended before the lead was dialled.",
}
LEAD_FAILED_DETAIL = "The lead's number could not be reached."
LEAD_CANCELED_DETAIL = "The call ended before the lead answered."

T = TypeVar("T")


class LineHttpClient(TwilioHttpClient):
    """The package's own HTTP client, pointed at the account's API base and given timeouts.

    `Client(http_client=...)` is the package's documented injection point. The client builds
    every URL on Twilio's documented hosts (`https://api.twilio.com`, or
    `api[.edge].region.twilio.com` when a region is set); for an account whose `api_url` is
    elsewhere (the fake in tests, a proxy) we swap the scheme and host for that base, keeping
    the path. It also remembers the last answer's Retry-After, which the package's exception
    does not carry, per thread."""

    def __init__(self, api_url: str) -> None:
        super().__init__(pool_connections=True, logger=http_logger)
        # Set after the constructor, whose `timeout <= 0` check a (connect, read) pair fails;
        # requests, which does the sending, takes the pair.
        self.timeout = TIMEOUT
        base = urlsplit(api_url or DEFAULT_API_URL)
        self._base = base if (base.scheme, base.netloc) != ("https", "api.twilio.com") else None
        self._local = threading.local()

    def rewrite(self, url: str) -> str:
        if self._base is None:
            return url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not (
            host == "api.twilio.com" or (host.startswith("api.") and host.endswith(".twilio.com"))
        ):
            return url
        path = self._base.path.rstrip("/") + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, parts.fragment))

    @property
    def retry_after(self) -> float | None:
        value: float | None = getattr(self._local, "retry_after", None)
        return value

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> Any:
        self._local.retry_after = None
        response = super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=None,  # ours, set in the constructor
            allow_redirects=allow_redirects,
        )
        if response.status_code in (429, 503):
            self._local.retry_after = parse_retry_after((response.headers or {}).get("Retry-After"))
        return response


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number, or an HTTP date) or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _rfc2822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return max(0, int(str(value)))
    except ValueError:
        return None


def lead_state(
    status: str,
    *,
    duration: int | None = None,
    ended_at: datetime | None = None,
    answered_at: datetime | None = None,
    recording_ref: str = "",
) -> CallState:
    """Our state for the lead's leg (the child call) in Twilio `status`."""
    if status in RINGING:
        return CallState("ringing")
    if status == "in-progress":
        return CallState("answered", answered_at=answered_at)
    if status == "completed":
        if answered_at is None and ended_at is not None and duration is not None:
            answered_at = ended_at - timedelta(seconds=duration)
        return CallState(
            "completed",
            answered_at=answered_at,
            ended_at=ended_at,
            duration_seconds=duration or 0,
            recording_ref=recording_ref,
        )
    if status == "busy":
        return CallState("busy", ended_at=ended_at, duration_seconds=0)
    if status == "no-answer":
        return CallState("no_answer", ended_at=ended_at, duration_seconds=0)
    if status == "canceled":
        return CallState(
            "no_answer", ended_at=ended_at, duration_seconds=0, detail=LEAD_CANCELED_DETAIL
        )
    return CallState("failed", ended_at=ended_at, duration_seconds=0, detail=LEAD_FAILED_DETAIL)


def rep_leg_state(status: str, *, ended_at: datetime | None = None) -> CallState | None:
    """Our state when the rep's leg (the parent call) says it all: it is still ringing
    (`ringing`), or it ended without a lead's leg (`failed`, saying why). None otherwise."""
    if status in RINGING or status == "in-progress":
        return CallState("ringing")
    detail = REP_LEG_DETAILS.get(status)
    if detail is None:
        return None
    return CallState("failed", ended_at=ended_at, duration_seconds=0, detail=detail)


class TwilioProvider:
    name: ClassVar[str] = "twilio"
    pushes_status: ClassVar[bool] = True
    signed_callbacks: ClassVar[bool] = True
    recording_inline: ClassVar[bool] = False

    def __init__(self, line: Line | None = None) -> None:
        self.line = line
        self.account_sid = line.account_sid if line else ""
        self._auth_token = (line.credentials.get("auth_token", "") if line else "") or ""
        self.api_url = ((line.api_url if line else "") or DEFAULT_API_URL).rstrip("/")
        self._client: Client | None = None
        self._http: LineHttpClient | None = None

    def __repr__(self) -> str:
        return f"<TwilioProvider {self.account_sid or 'unconfigured'}>"

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        if not (self.account_sid and self._auth_token):
            raise ProviderError(ProviderError.AUTH, NO_ACCOUNT_DETAIL)
        if self._client is None:
            self._http = LineHttpClient(self.api_url)
            self._client = Client(
                self.account_sid,
                self._auth_token,
                account_sid=self.account_sid,
                http_client=self._http,
            )
        return self._client

    def _api(self, operation: str, action: Callable[[], T], *, number_role: str = "") -> T:
        """Run one API action; any failure becomes a ProviderError with fixed wording. The
        error is raised outside the `except` block so it carries no context: Twilio's own
        exception (whose message may quote a number) is not chained into tracebacks."""
        error: ProviderError
        try:
            return action()
        except ProviderError:
            raise
        except TwilioRestException as exc:
            error = self._rest_error(operation, exc.status, exc.code, number_role)
        except TwilioServiceException as exc:
            error = self._rest_error(operation, exc.status, exc.code, number_role)
        except requests.Timeout:
            logger.warning("twilio %s: timed out", operation)
            error = ProviderError(ProviderError.UNAVAILABLE, TIMEOUT_DETAIL)
        except (requests.RequestException, TwilioException, ValueError, KeyError) as exc:
            # Connection refused or reset, an unreadable answer (not JSON, no page): the type
            # names the failure; its text (URLs, maybe the answer) is not logged.
            logger.warning("twilio %s: %s", operation, type(exc).__name__)
            error = ProviderError(ProviderError.UNAVAILABLE, DETAILS[ProviderError.UNAVAILABLE])
        raise error

    def _rest_error(
        self, operation: str, status: object, code: object, number_role: str
    ) -> ProviderError:
        # Both come from the answer's JSON: read defensively.
        status = int(status) if isinstance(status, int) else 0
        code = int(code) if isinstance(code, int) else None
        logger.warning("twilio %s: HTTP %s, error code %s", operation, status, code)
        if status in (401, 403) or code in (20003, 20005, 20403):
            return ProviderError(ProviderError.AUTH, DETAILS[ProviderError.AUTH])
        if status == 429 or code == 20429:
            retry_after = self._http.retry_after if self._http else None
            return ProviderError(
                ProviderError.RATE_LIMITED,
                DETAILS[ProviderError.RATE_LIMITED],
                retry_after=retry_after,
            )
        if status >= 500:
            return ProviderError(
                ProviderError.UNAVAILABLE,
                DETAILS[ProviderError.UNAVAILABLE],
                retry_after=self._http.retry_after if self._http else None,
            )
        if code in CALLER_ID_CODES:
            return ProviderError(ProviderError.INVALID_NUMBER, CALLER_ID_DETAIL)
        if code in NUMBER_CODES:
            detail = REP_NUMBER_DETAIL if number_role == "rep" else DETAILS["invalid_number"]
            return ProviderError(ProviderError.INVALID_NUMBER, detail)
        if status == 404 or code == 20404:
            return ProviderError(ProviderError.NOT_FOUND, DETAILS[ProviderError.NOT_FOUND])
        return ProviderError(ProviderError.REJECTED, DETAILS[ProviderError.REJECTED])

    # -- placing a call ------------------------------------------------------------------------

    def twiml(self, call: CallRequest, caller_id: str) -> str:
        """What runs once the rep answers: dial the lead, recorded, with our callbacks."""
        response = VoiceResponse()
        dial_attrs: dict[str, Any] = {
            "caller_id": caller_id,
            "timeout": _clamp(call.ring_seconds, 5, 600),
            "time_limit": _clamp(call.max_call_seconds, 1, 14400),
        }
        if call.record:
            dial_attrs["record"] = "record-from-answer-dual"
            if call.callback_url:
                dial_attrs["recording_status_callback"] = call.callback_url
                dial_attrs["recording_status_callback_event"] = "completed"
        dial = response.dial(**dial_attrs)
        number_attrs: dict[str, Any] = {}
        if call.callback_url:
            number_attrs["status_callback"] = call.callback_url
            number_attrs["status_callback_event"] = " ".join(LEG_EVENTS)
        dial.number(call.lead_phone, **number_attrs)
        return str(response)

    def place_call(self, call: CallRequest) -> str:
        caller_id = call.caller_id or (self.line.caller_id if self.line else "")
        if not caller_id:
            raise ProviderError(
                ProviderError.INVALID_NUMBER, "No caller ID is set for this campaign."
            )
        options: dict[str, Any] = {
            "timeout": _clamp(call.ring_seconds, 5, 600),
            "time_limit": _clamp(call.max_call_seconds, 1, 14400),
        }
        if call.callback_url:
            options["status_callback"] = call.callback_url
            options["status_callback_event"] = LEG_EVENTS
            options["status_callback_method"] = "POST"
        twiml = self.twiml(call, caller_id)
        client = self.client
        created = self._api(
            "create call",
            lambda: client.calls.create(to=call.rep_phone, from_=caller_id, twiml=twiml, **options),
            number_role="rep",
        )
        sid = str(created.sid or "")
        if not CALL_SID.match(sid):
            raise ProviderError(ProviderError.UNAVAILABLE, DETAILS[ProviderError.UNAVAILABLE])
        return sid

    # -- reading a call ------------------------------------------------------------------------

    def call_state(self, *, call_id: str, placed_at: datetime, now: datetime) -> CallState:
        client = self.client
        parent = self._api("fetch call", lambda: client.calls(call_id).fetch())
        children = self._api(
            "list child calls", lambda: client.calls.list(parent_call_sid=call_id, limit=20)
        )
        child = _lead_leg(children)
        if child is None:
            state = rep_leg_state(str(parent.status or ""), ended_at=parent.end_time)
            return state or CallState("ringing")
        status = str(child.status or "")
        duration = _seconds(child.duration)
        recording_ref = ""
        if status == "completed":
            recording_ref = self._recording_sid(call_id) or ""
        return lead_state(
            status, duration=duration, ended_at=child.end_time, recording_ref=recording_ref
        )

    def _recording_sid(self, call_id: str) -> str | None:
        client = self.client
        recordings = self._api(
            "list recordings", lambda: client.recordings.list(call_sid=call_id, limit=20)
        )
        live = [r for r in recordings if str(r.status or "") != "deleted"]
        return str(live[0].sid) if live else None

    # -- callbacks -------------------------------------------------------------------------------

    def parse_callback(
        self, *, url: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> CallbackEvent:
        signature = _header(headers, "X-Twilio-Signature")
        if not self._auth_token:
            raise CallbackRejected("No Twilio account to verify this callback.", status=403)
        if not signature:
            raise CallbackRejected("The callback is not signed.", status=403)
        if not RequestValidator(self._auth_token).validate(url, params, signature):
            raise CallbackRejected("The callback's signature does not match.", status=403)

        call_sid = params.get("CallSid") or ""
        if not CALL_SID.match(call_sid):
            raise CallbackRejected("The callback names no call.")
        recording_sid = params.get("RecordingSid")
        if recording_sid is not None:
            if not RECORDING_SID.fullmatch(recording_sid):
                raise CallbackRejected("The callback names no recording.")
            # CallSid of a <Dial> recording is the parent call: the one we placed.
            if params.get("RecordingStatus", "completed") != "completed":
                return CallbackEvent(call_id=call_sid)
            return CallbackEvent(call_id=call_sid, recording_ref=recording_sid)

        status = params.get("CallStatus") or ""
        if status not in CALL_STATUSES:
            raise CallbackRejected("The callback has no known call status.")
        duration_text = params.get("CallDuration")
        duration = _seconds(duration_text)
        if duration_text not in (None, "") and duration is None:
            raise CallbackRejected("The callback's duration is not a number.")
        timestamp = _rfc2822(params.get("Timestamp"))
        parent_sid = params.get("ParentCallSid")
        if parent_sid:
            if not CALL_SID.match(parent_sid):
                raise CallbackRejected("The callback names no parent call.")
            # The lead's leg: its progress is our state.
            if status == "in-progress":
                return CallbackEvent(parent_sid, lead_state(status, answered_at=timestamp))
            return CallbackEvent(
                parent_sid, lead_state(status, duration=duration, ended_at=timestamp)
            )
        # The rep's leg: final only when it ended without reaching the lead; otherwise (even
        # "completed", which follows a lead's leg too) the lead's leg or call_state says more.
        if status in REP_LEG_DETAILS and status != "completed":
            return CallbackEvent(call_sid, rep_leg_state(status, ended_at=timestamp))
        return CallbackEvent(call_sid)

    # -- recordings ------------------------------------------------------------------------------

    def _find_recording(self, call_id: str, recording_ref: str) -> str | None:
        match = RECORDING_SID.search(recording_ref or "")
        return match.group(0) if match else self._recording_sid(call_id)

    def fetch_recording(self, *, call_id: str, recording_ref: str) -> Recording | None:
        client = self.client
        sid = self._find_recording(call_id, recording_ref)
        if sid is None:
            state = self.call_state(call_id=call_id, placed_at=_now(), now=_now())
            if state.status in ("completed", "answered"):
                raise RecordingNotReady("Twilio lists no recording for this call yet.")
            return None  # never answered: nothing was recorded
        recording = self._api("fetch recording", lambda: client.recordings(sid).fetch())
        status = str(recording.status or "")
        if status in ("absent", "deleted", "failed"):
            return None
        if status != "completed":
            raise RecordingNotReady("Twilio is still processing the recording.")
        return self._download(sid)

    def _download(self, sid: str) -> Recording:
        # The package's Response keeps bodies as text, which would mangle audio: plain
        # requests, with the same Basic auth that enforced media auth asks for.
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}.mp3"
        error: ProviderError | RecordingNotReady
        try:
            with requests.get(
                url, auth=(self.account_sid, self._auth_token), timeout=TIMEOUT, stream=True
            ) as response:
                if response.status_code == 200:
                    audio = _read_capped(response, MAX_RECORDING_BYTES)
                    content_type = response.headers.get("Content-Type", "audio/mpeg")
                    content_type = content_type.split(";")[0].strip() or "audio/mpeg"
                    return Recording(audio=audio, content_type=content_type, extension="mp3")
                status = response.status_code
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except requests.Timeout:
            logger.warning("twilio download recording: timed out")
            error = ProviderError(ProviderError.UNAVAILABLE, TIMEOUT_DETAIL)
        except requests.RequestException as exc:
            logger.warning("twilio download recording: %s", type(exc).__name__)
            error = ProviderError(ProviderError.UNAVAILABLE, DETAILS[ProviderError.UNAVAILABLE])
        else:
            logger.warning("twilio download recording: HTTP %s", status)
            if status == 404:
                error = RecordingNotReady("Twilio does not serve the recording's audio yet.")
            elif status in (401, 403):
                error = ProviderError(ProviderError.AUTH, DETAILS[ProviderError.AUTH])
            elif status == 429:
                error = ProviderError(
                    ProviderError.RATE_LIMITED,
                    DETAILS[ProviderError.RATE_LIMITED],
                    retry_after=retry_after,
                )
            elif status >= 500:
                error = ProviderError(ProviderError.UNAVAILABLE, DETAILS[ProviderError.UNAVAILABLE])
            else:
                error = ProviderError(ProviderError.REJECTED, DETAILS[ProviderError.REJECTED])
        raise error

    def delete_recording(self, *, call_id: str, recording_ref: str) -> bool:
        client = self.client
        sid = self._find_recording(call_id, recording_ref)
        if sid is None:
            return True  # Twilio holds no recording of this call
        try:
            self._api("delete recording", lambda: client.recordings(sid).delete())
        except ProviderError as exc:
            if exc.kind != ProviderError.NOT_FOUND:
                raise
        return True  # deleted now, or already gone

    # -- the account ---------------------------------------------------------------------------

    def check(self) -> str:
        client = self.client
        account = self._api(
            "fetch account", lambda: client.api.v2010.accounts(self.account_sid).fetch()
        )
        return f"Twilio account {account.sid}: {account.friendly_name}, {account.status}"


def _lead_leg(children: list[Any]) -> Any | None:
    """The lead's leg among a call's children: one <Number> makes one, but prefer the one
    that got furthest if Twilio ever lists more."""
    if not children:
        return None
    rank = {"in-progress": 0, "completed": 0}
    return sorted(children, key=lambda c: rank.get(str(c.status or ""), 1))[0]


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    # Django's request.META spelling.
    return headers.get("HTTP_" + name.upper().replace("-", "_"), "")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, int(value)))


def _now() -> datetime:
    return datetime.now(UTC)


def _read_capped(response: requests.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ProviderError(ProviderError.REJECTED, "The recording is too large to store.")
        chunks.append(chunk)
    return b"".join(chunks)
