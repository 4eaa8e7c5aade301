"""A fake Exotel: a real HTTP server on 127.0.0.1 speaking Exotel's documented Voice v1 API.

Written from Exotel's public documentation (developer.exotel.com: Connect Two Numbers, Call
Details, StatusCallback, Webhooks & Callbacks, Error Code Dictionary, Rate Limiting, List All
ExoPhones; support.exotel.com on recordings), not from Leadline's client:

- `POST /v1/Accounts/<sid>/Calls/connect.json`: HTTP Basic auth (API key, API token), form
  fields `From`, `To`, `CallerId` required (the caller ID must be one of the account's
  ExoPhones), `TimeLimit` at most 14400, `TimeOut`, `Record`, `CustomField` at most 128
  characters, `StatusCallback`, `StatusCallbackEvents[]` (terminal, answered),
  `StatusCallbackContentType` (multipart/form-data by default, or application/json). Answers
  `{"Call": {..., "Status": "in-progress"}}` with a new 32-hex-digit Sid.
- `GET /v1/Accounts/<sid>/Calls/<CallSid>.json[?details=true]`: the call, with `Details`
  (`ConversationDuration`, `Leg1Status`, `Leg2Status`, `Legs`) when asked.
- `GET /v2_beta/Accounts/<sid>/IncomingPhoneNumbers`: the account's ExoPhones.
- Errors: `{"RestException": {"Status", "Message", "Code"}}`; 401 for bad credentials, 403
  for another account's path, 400 for bad parameters, 404 for an unknown call, 429 (with
  `Retry-After`) beyond 200 requests a minute per account, 503 when down.
- Status callbacks: a POST to `StatusCallback` in the content type the request asked for, with
  `CallSid`, `Status`, `RecordingUrl`, `DateUpdated` and, for the subscribed events,
  `EventType`, `DateCreated`, `To`, `From`, `PhoneNumberSid`, `StartTime`, `EndTime`,
  `ConversationDuration`, `Direction`, `CustomField` (terminal only) and `Legs`. Times are
  "YYYY-MM-DD HH:mm:ss" in Indian time. A delivery answered with anything but 2xx is retried
  at most twice, as Exotel documents.
- Recordings: MP3, served with Basic auth (as since October 2024) under this server's own host
  at `/exotelrecordings/<sid>/<CallSid>.mp3`. Exotel offers no API to delete one.

Where the docs are silent this fake decides, and says so: the `answered` event fires once,
when the lead's leg (To) picks up and the two are bridged; while a leg rings its status is
"ringing", while it talks "in-progress".

Tests drive the call with `rep_answers`, `lead_answers`, `hang_up`, `lead_busy`,
`lead_no_answer`, `rep_no_answer` and `fail_call`; each posts its callbacks synchronously, so
the method returns only after our server answered them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

IST = ZoneInfo("Asia/Kolkata")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TERMINAL = ("completed", "failed", "busy", "no-answer", "canceled")
RING_SECONDS = 5  # how long the fake says each leg rang before it was answered
CALLBACK_TIMEOUT = 15.0  # Exotel waits this long for a callback's answer
MAX_BODY = 1024 * 1024


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    form: dict[str, Any]  # multi-valued fields (StatusCallbackEvents[]) as lists
    auth: tuple[str, str] | None
    body: bytes = b""


@dataclass
class CallbackPost:
    url: str
    event_type: str
    content_type: str
    body: bytes
    params: dict[str, Any]  # what the body says, as Exotel built it
    status: int | None  # what our server answered; None when it could not be reached
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeCall:
    sid: str
    from_number: str
    to_number: str
    caller_id: str
    requested: dict[str, Any]  # the connect request's form, as received
    created: datetime
    status: str = "in-progress"
    leg1_status: str = "ringing"  # the rep (From)
    leg2_status: str | None = None  # the lead (To): None until Exotel dials it
    leg1_seconds: int = 0
    leg2_seconds: int = 0
    conversation_seconds: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    updated: datetime | None = None
    record: bool = False
    recording_url: str | None = None
    recording_ready: bool = False
    callback_url: str = ""
    callback_content_type: str = "multipart/form-data"
    events: tuple[str, ...] = ()

    @property
    def legs(self) -> list[dict[str, Any]]:
        legs = [{"Id": 1, "Status": self.leg1_status, "OnCallDuration": self.leg1_seconds}]
        if self.leg2_status is not None:
            legs.append({"Id": 2, "Status": self.leg2_status, "OnCallDuration": self.leg2_seconds})
        return legs

    def __getitem__(self, key: str) -> Any:
        # Dict-style access too ("from", "to", "status", ...), for tests that prefer it.
        aliases = {"from": "from_number", "to": "to_number"}
        return getattr(self, aliases.get(key, key))


class FakeExotel:
    """One fake Exotel account on its own server. Use as a context manager or `start()` /
    `stop()`; `url` is the account's API base URL."""

    def __init__(
        self,
        *,
        account_sid: str = "leadlinetest1",
        api_key: str = "fake-exotel-key",
        api_token: str = "fake-exotel-token",
        numbers: list[str] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.api_key = api_key
        self.api_token = api_token
        self.numbers = list(numbers or ["+918047100100", "+918047100101", "+918047100102"])
        self.received: list[ReceivedRequest] = []
        self.callbacks: list[CallbackPost] = []
        self.calls: dict[str, FakeCall] = {}
        self.deleted_recordings: set[str] = set()  # Exotel offers no deletion: stays empty
        # Number metadata: E.164 numbers registered on DND (NCPR); every other number is not.
        self.dnd_numbers: set[str] = set()
        # Knobs.
        self.drop_callbacks = False
        self.duplicate_callbacks = False
        self.recording_delay = False
        self.down = False
        self.delay_seconds = 0.0
        self.callback_retries = 2
        self.calls_per_minute = 200
        self._failures: deque[tuple[int, float | None]] = deque()
        self._recent: deque[float] = deque()  # monotonic times of recent API requests
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeExotel:
        """Serve (again, on the same port after a `stop()`)."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self.port), _handler_for(self))
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: connections are refused until `start()`."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeExotel:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- knobs ------------------------------------------------------------------------------

    def set_dnd(self, number: str, dnd: bool = True) -> None:
        """Whether number metadata answers `DND: Yes` for this E.164 number."""
        with self._lock:
            if dnd:
                self.dnd_numbers.add(number)
            else:
                self.dnd_numbers.discard(number)

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """The next `times` requests (API calls and recording downloads alike) answer
        `status` with Exotel's error body, and `Retry-After` when given."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def last_call_sid(self) -> str:
        with self._lock:
            if not self.calls:
                raise LookupError("no call was placed")
            return next(reversed(self.calls))

    def recording_bytes(self, sid: str) -> bytes:
        """The exact audio this fake serves for the call: MPEG-1 Layer III frames (128 kbit/s,
        44.1 kHz, mono), seeded by the call's sid."""
        return mp3_bytes(sid)

    def recording_ready(self, sid: str) -> None:
        with self._lock:
            self.calls[sid].recording_ready = True

    # -- scripted progress ------------------------------------------------------------------

    def rep_answers(self, sid: str) -> None:
        """The rep (From) picks up; Exotel now rings the lead."""
        with self._lock:
            call = self._live(sid)
            call.leg1_status = "in-progress"
            call.leg2_status = "ringing"
            call.updated = _now()

    def lead_answers(self, sid: str) -> None:
        """The lead (To) picks up: the two are bridged; the `answered` event fires."""
        with self._lock:
            call = self._live(sid)
            if call.leg1_status == "ringing":
                call.leg1_status = "in-progress"
            call.leg2_status = "in-progress"
            call.updated = _now()
        self._post(call, "answered")

    def hang_up(self, sid: str, talk_seconds: int = 30) -> None:
        """The conversation ends after `talk_seconds`: completed, recorded if asked."""
        with self._lock:
            call = self._live(sid)
            answered_now = call.leg2_status != "in-progress"
        if answered_now:
            # A conversation needs a lead who picked up: say so first, as Exotel would have.
            self.lead_answers(sid)
        with self._lock:
            call.conversation_seconds = talk_seconds
            call.leg1_seconds = talk_seconds + RING_SECONDS
            call.leg2_seconds = talk_seconds
            call.leg1_status = call.leg2_status = "completed"
            self._finish(call, "completed")
            # Everything here happens at once; date the start back so the times add up.
            assert call.end_time is not None and call.start_time is not None
            earliest = call.end_time - timedelta(seconds=talk_seconds + 2 * RING_SECONDS)
            call.start_time = min(call.start_time, earliest)
            if call.record and talk_seconds > 0:
                call.recording_url = (
                    f"{self.url}/exotelrecordings/{self.account_sid}/{call.sid}.mp3"
                )
                call.recording_ready = not self.recording_delay
        self._post(call, "terminal")

    def lead_busy(self, sid: str) -> None:
        self._lead_leg_ends(sid, "busy")

    def lead_no_answer(self, sid: str) -> None:
        self._lead_leg_ends(sid, "no-answer")

    def rep_no_answer(self, sid: str) -> None:
        """The rep's leg rings out: the lead is never dialled."""
        with self._lock:
            call = self._live(sid)
            call.leg1_status = "no-answer"
            call.leg2_status = None
            self._finish(call, "no-answer")
        self._post(call, "terminal")

    def fail_call(self, sid: str) -> None:
        """The call fails at Exotel or the operator (the rep's leg never connects)."""
        with self._lock:
            call = self._live(sid)
            call.leg1_status = "failed"
            call.leg2_status = None
            self._finish(call, "failed")
        self._post(call, "terminal")

    def _lead_leg_ends(self, sid: str, outcome: str) -> None:
        with self._lock:
            call = self._live(sid)
            call.leg1_seconds = RING_SECONDS
            call.leg1_status = "completed"
            call.leg2_status = outcome
            self._finish(call, outcome)
        self._post(call, "terminal")

    def _live(self, sid: str) -> FakeCall:
        call = self.calls[sid]
        if call.status in TERMINAL:
            raise RuntimeError(f"call {sid} already ended ({call.status})")
        return call

    def _finish(self, call: FakeCall, status: str) -> None:
        call.status = status
        call.end_time = call.updated = _now()

    # -- callbacks --------------------------------------------------------------------------

    def callback_payload(self, call: FakeCall, event: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "CallSid": call.sid,
            "EventType": event,
            "Status": call.status,
            "DateCreated": _fmt(call.created),
            "DateUpdated": _fmt(call.updated or call.created),
            "To": call.to_number,
            "From": call.from_number,
            "PhoneNumberSid": call.caller_id,
            "StartTime": _fmt(call.start_time),
            "EndTime": _fmt(call.end_time),
            "ConversationDuration": call.conversation_seconds,
            "Direction": "outbound-api",
            "RecordingUrl": call.recording_url,
            "Legs": [
                {
                    "OnCallDuration": leg["OnCallDuration"],
                    "Status": leg["Status"],
                    "AnsweredBy": "HUMAN" if leg["Id"] == 2 else "NA",
                }
                for leg in call.legs
            ],
        }
        if event == "terminal":  # Exotel passes CustomField back on the terminal event only
            payload["CustomField"] = call.requested.get("CustomField", "")
        return payload

    def _post(self, call: FakeCall, event: str) -> None:
        if not call.callback_url or event not in call.events or self.drop_callbacks:
            return
        payload = self.callback_payload(call, event)
        if call.callback_content_type == "application/json":
            content_type, body = "application/json", json.dumps(payload).encode()
        else:
            content_type, body = _multipart(payload)
        for _ in range(2 if self.duplicate_callbacks else 1):
            for _attempt in range(1 + self.callback_retries):
                status, headers = _deliver(call.callback_url, content_type, body)
                with self._lock:
                    self.callbacks.append(
                        CallbackPost(
                            url=call.callback_url,
                            event_type=event,
                            content_type=content_type,
                            body=body,
                            params=payload,
                            status=status,
                            headers=headers,
                        )
                    )
                if status is not None and 200 <= status < 300:
                    break

    # -- the API ----------------------------------------------------------------------------

    def handle(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body)."""
        with self._lock:
            self.received.append(request)
            if self.down:
                return _error(503, "Service temporarily unavailable", "SERVICE_UNAVAILABLE")
            if self._failures:
                status, retry_after = self._failures.popleft()
                return _error(status, _REASONS.get(status, "Error"), None, retry_after)
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 3 and parts[0] == "exotelrecordings":
            return self._recording(request, parts[1], parts[2])
        if len(parts) < 4 or parts[0] not in ("v1", "v2_beta") or parts[1] != "Accounts":
            return _error(404, "The requested resource was not found", "NOT_FOUND")
        if request.auth != (self.api_key, self.api_token):
            return _error(401, "Authentication failed. Invalid API Key or Token.", "UNAUTHORIZED")
        if parts[2] != self.account_sid:
            return _error(403, "Not permitted for this account", "FORBIDDEN")
        limited = self._rate_limited()
        if limited is not None:
            return limited
        route = (request.method, parts[0], tuple(parts[3:]))
        if route == ("POST", "v1", ("Calls", "connect.json")):
            return self._connect(request)
        is_call = len(parts) == 5 and parts[3] == "Calls" and parts[4].endswith(".json")
        if request.method == "GET" and parts[0] == "v1" and is_call:
            details = str(request.query.get("details", "")).lower() == "true"
            return self._details(parts[4].removesuffix(".json"), details=details)
        if route == ("GET", "v2_beta", ("IncomingPhoneNumbers",)):
            return self._exophones()
        is_number = len(parts) == 5 and parts[3] == "Numbers" and parts[4].endswith(".json")
        if request.method == "GET" and parts[0] == "v1" and is_number:
            return self._number_metadata(parts[4].removesuffix(".json"))
        return _error(404, "The requested resource was not found", "NOT_FOUND")

    def _rate_limited(self) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 60:
                self._recent.popleft()
            if len(self._recent) >= self.calls_per_minute:
                wait = max(1, int(60 - (now - self._recent[0])) + 1)
                return _error(
                    429,
                    f"Rate limit exceeded. Try again in {wait} seconds.",
                    "RATE_LIMIT_EXCEEDED",
                    wait,
                )
            self._recent.append(now)
            return None

    def _connect(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes]:
        form = request.form
        for name in ("From", "To", "CallerId"):
            if not _single(form, name):
                return _error(400, f"Missing required parameter '{name}'", "BAD_REQUEST")
        for name in ("From", "To"):
            value = _single(form, name)
            if not (value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16):
                # Exotel's messages may quote what was sent: a client must not pass them on.
                message = f"'{name}' {value} is not a valid phone number"
                return _error(400, message, "BAD_REQUEST")
        if _single(form, "CallerId") not in self.numbers:
            return _error(400, "CallerId is not an ExoPhone of this account", "BAD_REQUEST")
        for name, highest in (("TimeLimit", 14400), ("TimeOut", 3600)):
            value = _single(form, name)
            if value and not (value.isdigit() and 0 < int(value) <= highest):
                return _error(400, f"'{name}' must be between 1 and {highest}", "BAD_REQUEST")
        if len(_single(form, "CustomField")) > 128:
            return _error(400, "'CustomField' is longer than 128 characters", "BAD_REQUEST")
        content_type = _single(form, "StatusCallbackContentType") or "multipart/form-data"
        if content_type not in ("multipart/form-data", "application/json"):
            return _error(400, "Invalid StatusCallbackContentType", "BAD_REQUEST")
        events = form.get("StatusCallbackEvents[]") or form.get("StatusCallbackEvents") or []
        if isinstance(events, str):
            events = [events]
        if any(event not in ("terminal", "answered") for event in events):
            return _error(400, "Invalid StatusCallbackEvents", "BAD_REQUEST")
        now = _now()
        call = FakeCall(
            sid=uuid.uuid4().hex,
            from_number=_single(form, "From"),
            to_number=_single(form, "To"),
            caller_id=_single(form, "CallerId"),
            requested=dict(form),
            created=now,
            start_time=now,
            updated=now,
            record=_single(form, "Record").lower() == "true",
            callback_url=_single(form, "StatusCallback"),
            callback_content_type=content_type,
            # With no events subscribed Exotel still posts once, when the call ends.
            events=tuple(events) or ("terminal",),
        )
        with self._lock:
            self.calls[call.sid] = call
        return _json(200, {"Call": self._call_resource(call)})

    def _details(self, sid: str, *, details: bool) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            call = self.calls.get(sid)
            if call is None:
                return _error(404, "Call not found", "NOT_FOUND")
            resource = self._call_resource(call)
            if details:
                resource["Details"] = {
                    "ConversationDuration": call.conversation_seconds,
                    "Leg1Status": call.leg1_status,
                    "Leg2Status": call.leg2_status,
                    "Legs": [
                        {"Leg": {"Id": leg["Id"], "OnCallDuration": leg["OnCallDuration"]}}
                        for leg in call.legs
                    ],
                }
        return _json(200, {"Call": resource})

    def _call_resource(self, call: FakeCall) -> dict[str, Any]:
        ended = call.status in TERMINAL
        return {
            "Sid": call.sid,
            "ParentCallSid": None,
            "DateCreated": _fmt(call.created),
            "DateUpdated": _fmt(call.updated or call.created),
            "AccountSid": self.account_sid,
            "To": call.to_number,
            "From": call.from_number,
            "PhoneNumberSid": call.caller_id,
            "Status": call.status,
            "StartTime": _fmt(call.start_time),
            "EndTime": _fmt(call.end_time),
            "Duration": str(call.leg1_seconds) if ended else None,
            "Price": "1.500" if ended and call.leg1_seconds else None,
            "Direction": "outbound-api",
            "AnsweredBy": None,
            "ForwardedFrom": None,
            "CallerName": None,
            "Uri": f"/v1/Accounts/{self.account_sid}/Calls/{call.sid}.json",
            "RecordingUrl": call.recording_url,
        }

    def _exophones(self) -> tuple[int, dict[str, str], bytes]:
        return _json(
            200,
            {
                "page": 0,
                "page_size": 50,
                "uri": f"/v2_beta/Accounts/{self.account_sid}/IncomingPhoneNumbers",
                "next_page_uri": None,
                "previous_page_uri": None,
                "incoming_phone_numbers": [
                    {
                        "sid": hashlib.md5(number.encode()).hexdigest(),
                        "phone_number": number,
                        "friendly_name": "0" + number[3:],
                        "capabilities": {"voice": True, "sms": False},
                        "country": "IN",
                        "region": "KA",
                    }
                    for number in self.numbers
                ],
            },
        )

    def _number_metadata(self, number: str) -> tuple[int, dict[str, str], bytes]:
        # developer.exotel.com "Number Metadata": GET /v1/Accounts/<sid>/Numbers/<number>.json
        # answers {"Numbers": {PhoneNumber (0 + ten digits), Circle, CircleName, Type,
        # Operator, OperatorName, DND: "Yes"|"No"}}.
        digits = number.removeprefix("+")
        if digits.startswith("91") and len(digits) == 12:
            digits = digits[2:]
        elif digits.startswith("0") and len(digits) == 11:
            digits = digits[1:]
        if len(digits) != 10 or not digits.isdigit():
            return _error(400, "Invalid phone number", "INVALID_PARAMETER")
        with self._lock:
            dnd = "+91" + digits in self.dnd_numbers
        return _json(
            200,
            {
                "Numbers": {
                    "PhoneNumber": "0" + digits,
                    "Circle": "KA",
                    "CircleName": "Karnataka Telecom Circle",
                    "Type": "Mobile",
                    "Operator": "A",
                    "OperatorName": "Airtel",
                    "DND": "Yes" if dnd else "No",
                }
            },
        )

    def _recording(
        self, request: ReceivedRequest, account: str, name: str
    ) -> tuple[int, dict[str, str], bytes]:
        if request.method != "GET":
            return _error(405, "Method not allowed", "METHOD_NOT_ALLOWED")
        if request.auth != (self.api_key, self.api_token) or account != self.account_sid:
            return _error(401, "Authentication failed. Invalid API Key or Token.", "UNAUTHORIZED")
        with self._lock:
            call = self.calls.get(name.removesuffix(".mp3"))
            ready = call is not None and call.recording_url is not None and call.recording_ready
        if not ready or call is None:
            return _error(404, "The requested resource was not found", "NOT_FOUND")
        audio = self.recording_bytes(call.sid)
        return 200, {"Content-Type": "audio/mpeg"}, audio


# -- the server ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # come back on the same port after stop()


def _handler_for(fake: FakeExotel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
            split = urlsplit(self.path)
            request = ReceivedRequest(
                method=self.command,
                path=split.path,
                query=_fields(parse_qs(split.query, keep_blank_values=True)),
                headers=dict(self.headers.items()),
                form=_form(self.headers.get("Content-Type", ""), body),
                auth=_basic_auth(self.headers.get("Authorization", "")),
                body=body,
            )
            if fake.delay_seconds:
                time.sleep(fake.delay_seconds)
            status, headers, answer = fake.handle(request)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _deliver(url: str, content_type: str, body: bytes) -> tuple[int | None, dict[str, str]]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "User-Agent": "Exotel-StatusCallback (fake)"},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT) as response:
            return response.status, dict(request.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(request.headers)
    except (urllib.error.URLError, OSError):
        return None, dict(request.headers)


def _multipart(payload: dict[str, Any]) -> tuple[str, bytes]:
    """Exotel's default callback body; lists are spelled out as `Legs[0][Status]`."""
    flat: list[tuple[str, str]] = []
    for key, value in payload.items():
        if isinstance(value, list):
            for index, item in enumerate(value):
                for sub, sub_value in item.items():
                    flat.append((f"{key}[{index}][{sub}]", str(sub_value)))
        else:
            flat.append((key, "" if value is None else str(value)))
    boundary = "exotel" + secrets.token_hex(12)
    chunks = []
    for key, value in flat:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        )
    chunks.append(f"--{boundary}--\r\n")
    return f"multipart/form-data; boundary={boundary}", "".join(chunks).encode()


def _form(content_type: str, body: bytes) -> dict[str, Any]:
    if not body or "application/x-www-form-urlencoded" not in content_type.lower():
        return {}
    try:
        return _fields(parse_qs(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


def _fields(parsed: dict[str, list[str]]) -> dict[str, Any]:
    # Exotel's array parameters (`StatusCallbackEvents[]`) stay lists; the rest are single.
    return {
        key: values if key.endswith("[]") or len(values) > 1 else values[0]
        for key, values in parsed.items()
    }


def _single(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value[-1] if isinstance(value, list) else str(value)


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


_REASONS = {
    400: "Bad Request",
    401: "Authentication failed. Invalid API Key or Token.",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    429: "Rate limit exceeded.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service temporarily unavailable",
}
_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def _error(
    status: int, message: str, code: str | None, retry_after: float | None = None
) -> tuple[int, dict[str, str], bytes]:
    status_, headers, body = _json(
        status,
        {
            "RestException": {
                "Status": status,
                "Message": message,
                "Code": code or _CODES.get(status, "ERROR"),
            }
        },
    )
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return status_, headers, body


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _now() -> datetime:
    return datetime.now(IST).replace(microsecond=0)


def _fmt(moment: datetime | None) -> str | None:
    return moment.astimezone(IST).strftime(TIME_FORMAT) if moment else None


# -- audio ---------------------------------------------------------------------------------

# MPEG-1 Layer III, no CRC (0xFFFB); 128 kbit/s at 44.1 kHz, no padding (0x90); mono (0xC0).
_FRAME_HEADER = bytes([0xFF, 0xFB, 0x90, 0xC0])
_FRAME_LENGTH = 144 * 128_000 // 44_100  # 417 bytes, header included
_SIDE_INFO = 17  # bytes of side information after the header in a mono MPEG-1 frame


def mp3_bytes(seed: str, *, frames: int = 40) -> bytes:
    """About a second of MP3 frames: valid frame headers and zeroed side information, then
    payload bytes drawn from SHA-256 of the seed (so the audio is the same every time)."""
    payload_length = _FRAME_LENGTH - len(_FRAME_HEADER) - _SIDE_INFO
    out = bytearray()
    for index in range(frames):
        payload = b"".join(_stream(f"{seed}:{index}", payload_length))
        out += _FRAME_HEADER + bytes(_SIDE_INFO) + payload[:payload_length]
    return bytes(out)


def _stream(seed: str, length: int) -> Iterator[bytes]:
    produced, counter = 0, 0
    while produced < length:
        block = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        produced += len(block)
        counter += 1
        yield block


# -- the fixture ---------------------------------------------------------------------------


@pytest.fixture
def fake_exotel() -> Iterator[FakeExotel]:
    """A running fake Exotel account (see `FakeExotel`), stopped after the test."""
    fake = FakeExotel()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


__all__ = [
    "CallbackPost",
    "FakeCall",
    "FakeExotel",
    "ReceivedRequest",
    "fake_exotel",
    "mp3_bytes",
]
