"""A fake Twilio: a real HTTP server on 127.0.0.1 speaking the parts of Twilio's 2010-04-01 REST
API and webhooks that a bridged, recorded call uses. Written from Twilio's public documentation
(REST API reference for Calls, Recordings and Accounts; TwiML <Dial>/<Number>; status callbacks;
webhook security), not from Leadline's client code, and without the `twilio` package, so the
provider under test and this fake are two independent readings of the same documents.

What the documents say, and this fake does:

- REST: `https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/...`, resources as `.json`,
  requests form-encoded, HTTP Basic auth with the account SID and auth token. Errors are JSON
  `{"code", "message", "more_info", "status"}`; bad credentials answer 401 with code 20003,
  an unknown resource 404 with 20404, too many requests 429 with 20429.
- `POST .../Calls.json` takes `To`, `From` (one of the account's numbers), and `Twiml` (or
  `Url`), `StatusCallback`, `StatusCallbackEvent` (repeated: initiated, ringing, answered,
  completed), `StatusCallbackMethod`, `Timeout`, `TimeLimit`. It answers 201 with the Call
  resource, status `queued`. Call statuses: queued, initiated, ringing, in-progress, completed,
  busy, no-answer, failed, canceled. Dates are RFC 2822, `duration` a string of seconds.
- The call's TwiML runs when the called party (our rep) answers. `<Dial>` then calls the
  `<Number>` as a *child* call (direction `outbound-dial`, `parent_call_sid` = the API call);
  child calls skip `queued`. `<Number statusCallback statusCallbackEvent>` sends the child's
  progress; `<Dial record="record-from-answer-dual" recordingStatusCallback>` records both legs
  from the answer, in two channels, into one recording whose `CallSid` is the parent call.
- Status callbacks are form posts with AccountSid, ApiVersion, CallSid, CallStatus, Called,
  Caller, Direction, From, To, ParentCallSid (child calls), CallbackSource
  ("call-progress-events"), SequenceNumber (per call, from 0), Timestamp (RFC 2822) and, on the
  final event, CallDuration. Recording status callbacks carry AccountSid, CallSid, RecordingSid,
  RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels, RecordingStartTime,
  RecordingSource, RecordingTrack.
- Every webhook is signed: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the full URL +
  each POST parameter's name and value, sorted by name)).
- Recording media: `.../Recordings/{RecordingSid}` or `.wav` answers WAV (`audio/x-wav`),
  `.mp3` answers MP3 (`audio/mpeg`); with "Enforce HTTP Auth on Media URLs" on, media needs the
  same Basic auth. `DELETE .../Recordings/{sid}.json` answers 204.
- Twilio's test numbers: `+15005550006` is a valid From; To `+15005550001` is invalid (21217),
  `+15005550002` cannot be routed (21214). Malformed To: 21211; a From the account does not own:
  21210 (malformed: 21212).

The control surface (shared with the Exotel fake) is documented on `FakeTwilio`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
import random
import re
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

API_VERSION = "2010-04-01"
CALLBACK_TIMEOUT = 10.0  # seconds: every wait in tests is bounded
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
LIST_FIELDS = frozenset({"StatusCallbackEvent", "RecordingStatusCallbackEvent"})
MAX_AUDIO_SECONDS = 10  # a short clip, whatever the talk time, keeps tests fast

# Twilio's documented error codes and wording for the statuses this fake can answer.
ERRORS: dict[int, tuple[int, str]] = {
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    405: (20004, "Method not allowed"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}
# Twilio's magic test numbers for `To`.
MAGIC_TO = {
    "+15005550001": (21217, "Phone number does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number cannot be reached"),
}


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The documented X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted parameters."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment else None


def _sid(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(32))


@dataclass
class Received:
    """One request the fake's API received."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    form: dict[str, Any]
    auth: tuple[str, str] | None
    body: bytes = b""


@dataclass
class PostedCallback:
    """One webhook the fake posted: `status` is what our server answered (None: no answer)."""

    url: str
    params: dict[str, str]
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    kind: str = "status"  # "status", "recording" or "action"


@dataclass
class DialSpec:
    """What the call's TwiML asked of <Dial> and its <Number>."""

    number: str
    caller_id: str = ""
    timeout: int = 30
    time_limit: int = 14400
    record: str = "do-not-record"
    recording_status_callback: str = ""
    recording_status_callback_method: str = "POST"
    recording_status_callback_events: list[str] = field(default_factory=lambda: ["completed"])
    action: str = ""
    action_method: str = "POST"
    number_status_callback: str = ""
    number_status_callback_method: str = "POST"
    number_status_callback_events: list[str] = field(default_factory=list)

    @property
    def records(self) -> bool:
        return self.record.startswith("record-from")


@dataclass
class FakeRecording:
    sid: str
    call_sid: str
    duration: int
    channels: int
    status: str  # processing, completed, deleted
    started_at: datetime
    date_created: datetime


@dataclass
class FakeCall:
    sid: str
    from_: str
    to: str
    direction: str  # outbound-api (the parent: our rep) or outbound-dial (the child: the lead)
    status: str
    date_created: datetime
    parent_sid: str | None = None
    form: dict[str, Any] = field(default_factory=dict)  # the create request, as received
    twiml: str = ""
    dial: DialSpec | None = None
    status_callback: str = ""
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=list)
    child_sid: str | None = None
    recording_sid: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration: int | None = None
    sequence: int = 0
    events_sent: list[str] = field(default_factory=list)

    @property
    def requested(self) -> dict[str, Any]:
        """The create request's form (the name the Exotel fake uses)."""
        return self.form

    @property
    def caller_id(self) -> str:
        """What the lead sees: the <Dial callerId>, else the API call's From."""
        return self.dial.caller_id if self.dial and self.dial.caller_id else self.from_

    @property
    def live(self) -> bool:
        return self.status in {"queued", "initiated", "ringing", "in-progress"}


def parse_twiml(twiml: str) -> DialSpec:
    """The <Dial><Number> of a call's TwiML; ValueError if there is none or it is not XML."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise ValueError("Document parse failure") from exc
    if root.tag != "Response":
        raise ValueError("The root element must be <Response>")
    dial = root.find("Dial")
    if dial is None:
        raise ValueError("No <Dial> verb")
    number = dial.find("Number")
    text = (number.text if number is not None else dial.text) or ""
    attrs = dial.attrib
    number_attrs = number.attrib if number is not None else {}
    return DialSpec(
        number=text.strip(),
        caller_id=attrs.get("callerId", ""),
        timeout=int(attrs.get("timeout", "30")),
        time_limit=int(attrs.get("timeLimit", "14400")),
        record=attrs.get("record", "do-not-record"),
        recording_status_callback=attrs.get("recordingStatusCallback", ""),
        recording_status_callback_method=attrs.get("recordingStatusCallbackMethod", "POST"),
        recording_status_callback_events=attrs.get(
            "recordingStatusCallbackEvent", "completed"
        ).split(),
        action=attrs.get("action", ""),
        action_method=attrs.get("method", "POST"),
        number_status_callback=number_attrs.get("statusCallback", ""),
        number_status_callback_method=number_attrs.get("statusCallbackMethod", "POST"),
        number_status_callback_events=number_attrs.get("statusCallbackEvent", "").split(),
    )


def synthetic_mp3(seed: str, seconds: float) -> bytes:
    """MPEG-1 Layer III frames (32 kHz, 32 kbit/s, mono, 144 bytes each): a valid header, a
    zeroed side info block (no main data: each frame decodes to silence) and seeded ancillary
    bytes, so every recording is a different, decodable file."""
    rng = random.Random(seed)
    header = bytes([0xFF, 0xFB, 0x18, 0xC0])  # sync, MPEG-1 L3 no CRC; 32 kbit/s, 32 kHz; mono
    side_info = bytes(17)
    frames = max(1, math.ceil(seconds * 32000 / 1152))
    return b"".join(header + side_info + rng.randbytes(144 - 4 - 17) for _ in range(frames))


def synthetic_wav(seed: str, seconds: float) -> bytes:
    """A two-channel (rep, lead) 8 kHz 16-bit WAV of seeded tones."""
    rng = random.Random(seed)
    rate = 8000
    left, right = rng.choice((220.0, 330.0)), rng.choice((440.0, 550.0))
    samples = int(seconds * rate)
    frames = b"".join(
        struct.pack(
            "<hh",
            int(6000 * math.sin(2 * math.pi * left * i / rate)),
            int(6000 * math.sin(2 * math.pi * right * i / rate)),
        )
        for i in range(samples)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # start() comes back on the same port after stop()


class FakeTwilio:
    """A fake Twilio account behind a real HTTP server on 127.0.0.1.

    Attributes: `url` (the API base, the account's `api_url`), `account_sid`, `auth_token`,
    `numbers` (the account's caller IDs), `received` (every API request, `Received`),
    `callbacks` (every webhook posted, `PostedCallback`), `calls` (call sid -> `FakeCall`, parent
    and child calls), `recordings` (recording sid -> `FakeRecording`), `deleted_recordings`.

    Scripted progress, each posting the documented callbacks synchronously (the method returns
    once our server answered), always named by the parent call's sid: `rep_answers`,
    `lead_answers`, `hang_up`, `lead_busy`, `lead_no_answer`, `rep_no_answer`, `fail_call`,
    `recording_ready`; and `rep_hangs_up` (the rep gives up while the lead rings).

    Knobs: `drop_callbacks`, `duplicate_callbacks`, `recording_delay`, `fail_next(status,
    times=1, retry_after=None)`, `down`, `delay_seconds`, `media_auth`; `stop()` / `start()`
    (connection refused in between, same port after).
    """

    def __init__(
        self,
        *,
        numbers: list[str] | None = None,
        account_sid: str | None = None,
        auth_token: str | None = None,
        seed: int = 0,
    ) -> None:
        self._rng = random.Random(seed)
        self.account_sid = account_sid or _sid("AC", self._rng)
        self.auth_token = auth_token or "".join(
            self._rng.choice("0123456789abcdef") for _ in range(32)
        )
        self.numbers: list[str] = list(numbers or ["+15005550006"])
        self.friendly_name = "Leadline test account"
        self.account_status = "active"
        self.received: list[Received] = []
        self.callbacks: list[PostedCallback] = []
        self.dropped_callbacks: list[PostedCallback] = []
        self.calls: dict[str, FakeCall] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.deleted_recordings: set[str] = set()
        # Knobs.
        self.drop_callbacks = False
        self.duplicate_callbacks = False
        self.recording_delay = False
        self.down = False
        self.delay_seconds = 0.0
        self.media_auth = True
        self._failures: list[tuple[int, float | None]] = []
        self._parents: list[str] = []
        self._clock = datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.start()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> FakeTwilio:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self._port), self._handler_class())
        self._port = self._server.server_address[1]
        # A short poll interval: stop() (and each test's teardown) waits for one.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- knobs -----------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """The next `times` API requests answer `status` with Twilio's error body."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def last_call_sid(self) -> str:
        with self._lock:
            if not self._parents:
                raise LookupError("no call was placed")
            return self._parents[-1]

    def recording_bytes(self, sid: str, extension: str = "mp3") -> bytes:
        """The exact audio the fake serves for a call's (or a recording sid's) recording."""
        with self._lock:
            recording = self._recording_for(sid)
            if recording is None:
                raise LookupError("no recording for this call")
            return self._audio(recording, extension)

    # -- scripted progress -----------------------------------------------------------------

    def rep_answers(self, sid: str) -> None:
        """The rep picks up; the TwiML runs and <Dial> rings the lead (a child call)."""
        with self._lock:
            parent = self._parent(sid)
            posts = self._ring(parent)
            self._tick(3)
            parent.status = "in-progress"
            parent.answered_at = self._clock
            posts += self._status_event(parent, "answered")
            dial = parent.dial
            if dial is not None:
                child = self._new_child(parent, dial)
                posts += self._status_event(child, "initiated")
                if dial.number in MAGIC_TO or not E164.match(dial.number):
                    # The number cannot be dialled: the child fails at once, the <Dial> ends.
                    child.status = "failed"
                    child.ended_at = self._clock
                    child.duration = 0
                    posts += self._status_event(child, "completed")
                    posts += self._dial_ends(parent)
                else:
                    child.status = "ringing"
                    posts += self._status_event(child, "ringing")
        self._post_all(posts)

    def lead_answers(self, sid: str) -> None:
        with self._lock:
            parent = self._parent(sid)
            child = self._live_child(parent)
            self._tick(5)
            child.status = "in-progress"
            child.answered_at = self._clock
            posts = self._status_event(child, "answered")
        self._post_all(posts)

    def hang_up(self, sid: str, talk_seconds: int = 30) -> None:
        """The conversation ends after `talk_seconds`: both legs complete, then the recording
        (if <Dial record> asked for one) is made and its callback posted."""
        with self._lock:
            parent = self._parent(sid)
            child = self._child(parent)
            if child is None or child.status != "in-progress":
                raise AssertionError("the lead has not answered this call")
            self._tick(talk_seconds)
            child.status = "completed"
            child.ended_at = self._clock
            child.duration = talk_seconds
            posts = self._status_event(child, "completed")
            recording = None
            if parent.dial is not None and parent.dial.records:
                recording = FakeRecording(
                    sid=_sid("RE", self._rng),
                    call_sid=parent.sid,
                    duration=talk_seconds,
                    channels=2 if parent.dial.record.endswith("dual") else 1,
                    status="processing" if self.recording_delay else "completed",
                    started_at=child.answered_at or self._clock,
                    date_created=self._clock,
                )
                self.recordings[recording.sid] = recording
                parent.recording_sid = recording.sid
            posts += self._dial_ends(parent)
            if recording is not None and recording.status == "completed":
                posts += self._recording_event(parent, recording)
        self._post_all(posts)

    def lead_busy(self, sid: str) -> None:
        self._lead_ends(sid, "busy")

    def lead_no_answer(self, sid: str) -> None:
        self._lead_ends(sid, "no-answer")

    def rep_no_answer(self, sid: str) -> None:
        """The rep's phone (the parent call) rings out."""
        with self._lock:
            parent = self._parent(sid)
            if parent.status not in {"queued", "initiated", "ringing"}:
                raise AssertionError("the rep's leg is past ringing")
            posts = self._ring(parent)
            timeout = int(parent.form.get("Timeout") or 60)
            self._tick(timeout)
            posts += self._finish(parent, "no-answer", 0)
        self._post_all(posts)

    def rep_hangs_up(self, sid: str) -> None:
        """The rep gives up while the lead's phone rings: the child call is canceled and the
        parent completes (an extra beyond the shared control surface)."""
        with self._lock:
            parent = self._parent(sid)
            child = self._live_child(parent)
            self._tick(6)
            child.status = "canceled"
            child.ended_at = self._clock
            child.duration = 0
            posts = self._status_event(child, "completed")
            answered = parent.answered_at or self._clock
            posts += self._finish(
                parent, "completed", int((self._clock - answered).total_seconds())
            )
        self._post_all(posts)

    def fail_call(self, sid: str) -> None:
        """The call fails: before the rep answered, the parent leg fails; after, the lead's leg
        fails (a carrier error) and the parent completes when its <Dial> ends."""
        with self._lock:
            parent = self._parent(sid)
            child = self._child(parent)
            if child is not None and child.live:
                child.status = "failed"
                child.ended_at = self._clock
                child.duration = 0
                posts = self._status_event(child, "completed")
                posts += self._dial_ends(parent)
            elif parent.live:
                posts = self._finish(parent, "failed", 0)
            else:
                raise AssertionError("the call has ended")
        self._post_all(posts)

    def recording_ready(self, sid: str) -> None:
        with self._lock:
            recording = self._recording_for(sid)
            if recording is None:
                raise AssertionError("no recording for this call")
            recording.status = "completed"
            posts = self._recording_event(self.calls[recording.call_sid], recording)
        self._post_all(posts)

    # -- call progress internals (called under the lock) -----------------------------------

    def _tick(self, seconds: float) -> None:
        self._clock += timedelta(seconds=seconds)

    def _parent(self, sid: str) -> FakeCall:
        call = self.calls.get(sid)
        if call is None or call.parent_sid is not None:
            raise KeyError(f"no parent call {sid}")
        return call

    def _child(self, parent: FakeCall) -> FakeCall | None:
        return self.calls.get(parent.child_sid) if parent.child_sid else None

    def _live_child(self, parent: FakeCall) -> FakeCall:
        child = self._child(parent)
        if child is None or child.status != "ringing":
            raise AssertionError("the lead's phone is not ringing")
        return child

    def _recording_for(self, sid: str) -> FakeRecording | None:
        if sid in self.recordings:
            return self.recordings[sid]
        call = self.calls.get(sid)
        if call is not None and call.recording_sid:
            return self.recordings.get(call.recording_sid)
        return None

    def _ring(self, parent: FakeCall) -> list[PostedCallback]:
        posts: list[PostedCallback] = []
        if parent.status == "queued":
            parent.status = "initiated"
            parent.started_at = self._clock
            posts += self._status_event(parent, "initiated")
        if parent.status == "initiated":
            self._tick(1)
            parent.status = "ringing"
            posts += self._status_event(parent, "ringing")
        return posts

    def _new_child(self, parent: FakeCall, dial: DialSpec) -> FakeCall:
        child = FakeCall(
            sid=_sid("CA", self._rng),
            from_=dial.caller_id or parent.from_,
            to=dial.number,
            direction="outbound-dial",
            status="initiated",  # child calls skip "queued"
            date_created=self._clock,
            parent_sid=parent.sid,
            status_callback=dial.number_status_callback,
            status_callback_method=dial.number_status_callback_method,
            status_callback_events=dial.number_status_callback_events,
            started_at=self._clock,
        )
        self.calls[child.sid] = child
        parent.child_sid = child.sid
        return child

    def _lead_ends(self, sid: str, status: str) -> None:
        with self._lock:
            parent = self._parent(sid)
            child = self._live_child(parent)
            self._tick(parent.dial.timeout if parent.dial and status == "no-answer" else 4)
            child.status = status
            child.ended_at = self._clock
            child.duration = 0
            posts = self._status_event(child, "completed")
            posts += self._dial_ends(parent)
        self._post_all(posts)

    def _dial_ends(self, parent: FakeCall) -> list[PostedCallback]:
        """<Dial> returned: its action URL (if any) hears how, then the call hangs up (no more
        TwiML: this fake ignores the action's answer)."""
        posts: list[PostedCallback] = []
        dial, child = parent.dial, self._child(parent)
        if dial is not None and dial.action and child is not None:
            dial_status = {"in-progress": "completed"}.get(child.status, child.status)
            params = {
                **self._base_params(parent),
                "DialCallSid": child.sid,
                "DialCallStatus": dial_status,
                "DialCallDuration": str(child.duration or 0),
            }
            if parent.recording_sid:
                params["RecordingSid"] = parent.recording_sid
                params["RecordingUrl"] = self._recording_url(parent.recording_sid)
            posts.append(self._callback(dial.action, params, dial.action_method, "action"))
        answered = parent.answered_at or self._clock
        return posts + self._finish(
            parent, "completed", int((self._clock - answered).total_seconds())
        )

    def _finish(self, call: FakeCall, status: str, duration: int) -> list[PostedCallback]:
        call.status = status
        call.ended_at = self._clock
        call.duration = duration
        return self._status_event(call, "completed")

    def _base_params(self, call: FakeCall) -> dict[str, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": call.status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
        }
        if call.parent_sid:
            params["ParentCallSid"] = call.parent_sid
        return params

    def _status_event(self, call: FakeCall, event: str) -> list[PostedCallback]:
        """The status callback for `event`, if the call asked for it (a call that asked for
        none still hears "completed", as documented)."""
        if not call.status_callback:
            return []
        wanted = call.status_callback_events or ["completed"]
        if event not in wanted:
            return []
        call.events_sent.append(event)
        params = {
            **self._base_params(call),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.sequence),
            "Timestamp": rfc2822(self._clock) or "",
        }
        call.sequence += 1
        if event == "completed":
            params["CallDuration"] = str(call.duration or 0)
            params["Duration"] = str(math.ceil((call.duration or 0) / 60))  # billed minutes
        return [self._callback(call.status_callback, params, call.status_callback_method)]

    def _recording_event(self, parent: FakeCall, recording: FakeRecording) -> list[PostedCallback]:
        dial = parent.dial
        if dial is None or not dial.recording_status_callback:
            return []
        if recording.status not in dial.recording_status_callback_events:
            return []
        params = {
            "AccountSid": self.account_sid,
            "CallSid": parent.sid,  # the parent leg, for a two-leg call
            "RecordingSid": recording.sid,
            "RecordingUrl": self._recording_url(recording.sid),
            "RecordingStatus": recording.status,
            "RecordingDuration": str(recording.duration),
            "RecordingChannels": str(recording.channels),
            "RecordingStartTime": rfc2822(recording.started_at) or "",
            "RecordingSource": "DialVerb",
            "RecordingTrack": "both",
        }
        return [
            self._callback(
                dial.recording_status_callback,
                params,
                dial.recording_status_callback_method,
                "recording",
            )
        ]

    def _callback(
        self, url: str, params: dict[str, str], method: str = "POST", kind: str = "status"
    ) -> PostedCallback:
        return PostedCallback(url=url, params=params, status=None, method=method, kind=kind)

    # -- posting webhooks (outside the lock: our server may call the API meanwhile) -----------

    def _post_all(self, posts: list[PostedCallback]) -> None:
        for post in posts:
            if self.drop_callbacks:
                with self._lock:
                    self.dropped_callbacks.append(post)
                continue
            for _ in range(2 if self.duplicate_callbacks else 1):
                self._post(post)

    def _post(self, post: PostedCallback) -> None:
        if post.method.upper() == "GET":
            separator = "&" if "?" in post.url else "?"
            url = post.url + separator + urllib.parse.urlencode(post.params)
            signature = sign(self.auth_token, url, {})
            request = urllib.request.Request(url, method="GET")
        else:
            url = post.url
            signature = sign(self.auth_token, url, post.params)
            body = urllib.parse.urlencode(post.params).encode()
            request = urllib.request.Request(url, data=body, method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("X-Twilio-Signature", signature)
        request.add_header("User-Agent", "TwilioProxy/1.1")
        headers = {"X-Twilio-Signature": signature}
        try:
            with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT) as answer:
                status: int | None = answer.status
                answer.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = None
        with self._lock:
            self.callbacks.append(
                PostedCallback(
                    url=post.url,
                    params=dict(post.params),
                    status=status,
                    headers=headers,
                    method=post.method.upper(),
                    kind=post.kind,
                )
            )

    # -- the REST API ------------------------------------------------------------------------

    def _account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def _recording_url(self, recording_sid: str) -> str:
        return f"{self.url}{self._account_path()}/Recordings/{recording_sid}"

    def _audio(self, recording: FakeRecording, extension: str) -> bytes:
        seconds = min(recording.duration, MAX_AUDIO_SECONDS)
        if extension == "mp3":
            return synthetic_mp3(recording.sid, seconds)
        return synthetic_wav(recording.sid, seconds)

    def _call_json(self, call: FakeCall) -> dict[str, Any]:
        uri = f"{self._account_path()}/Calls/{call.sid}"
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(call.date_created),
            "date_updated": rfc2822(self._clock),
            "direction": call.direction,
            "duration": None if call.duration is None else str(call.duration),
            "end_time": rfc2822(call.ended_at),
            "forwarded_from": None,
            "from": call.from_,
            "from_formatted": call.from_,
            "group_sid": None,
            "parent_call_sid": call.parent_sid,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": call.sid,
            "start_time": rfc2822(call.started_at),
            "status": call.status,
            "subresource_uris": {
                "recordings": f"{uri}/Recordings.json",
                "notifications": f"{uri}/Notifications.json",
            },
            "to": call.to,
            "to_formatted": call.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    def _recording_json(self, recording: FakeRecording) -> dict[str, Any]:
        uri = f"{self._account_path()}/Recordings/{recording.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": recording.call_sid,
            "conference_sid": None,
            "channels": recording.channels,
            "date_created": rfc2822(recording.date_created),
            "date_updated": rfc2822(self._clock),
            "start_time": rfc2822(recording.started_at),
            "duration": str(recording.duration),
            "sid": recording.sid,
            "price": None,
            "price_unit": "USD",
            "status": recording.status,
            "source": "DialVerb",
            "error_code": None,
            "encryption_details": None,
            "uri": f"{uri}.json",
            "media_url": f"{self.url}{uri}",
            "subresource_uris": {
                "transcriptions": f"{uri}/Transcriptions.json",
                "add_on_results": f"{uri}/AddOnResults.json",
            },
        }

    def _account_json(self) -> dict[str, Any]:
        path = self._account_path()
        return {
            "auth_token": self.auth_token,
            "date_created": rfc2822(self._clock),
            "date_updated": rfc2822(self._clock),
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {
                "calls": f"{path}/Calls.json",
                "recordings": f"{path}/Recordings.json",
            },
            "type": "Full",
            "uri": f"{path}.json",
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                status, headers, payload = fake._dispatch(self, body)
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def _dispatch(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urllib.parse.urlsplit(request.path)
        query = _multi(urllib.parse.parse_qs(split.query, keep_blank_values=True))
        form: dict[str, Any] = {}
        if body and "form-urlencoded" in (request.headers.get("Content-Type") or ""):
            form = _multi(urllib.parse.parse_qs(body.decode(), keep_blank_values=True))
        auth = _basic_auth(request.headers.get("Authorization"))
        with self._lock:
            self.received.append(
                Received(
                    method=request.command,
                    path=split.path,
                    query=query,
                    headers=dict(request.headers.items()),
                    form=form,
                    auth=auth,
                    body=body,
                )
            )
            if self.down:
                return self._error(503)
            if self._failures:
                status, retry_after = self._failures.pop(0)
                return self._error(status, retry_after=retry_after)
            return self._route(request.command, split.path, query, form, auth)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        form: dict[str, Any],
        auth: tuple[str, str] | None,
    ) -> tuple[int, dict[str, str], bytes]:
        match = re.fullmatch(rf"/{API_VERSION}/Accounts/(AC[0-9a-f]{{32}})(.*)", path)
        if match is None:
            return self._error(404, path=path)
        account, rest = match.groups()
        media = re.fullmatch(r"/Recordings/(RE[0-9a-f]{32})(\.mp3|\.wav)?", rest)
        is_media = media is not None and method in {"GET", "HEAD"}
        if auth is None and is_media and not self.media_auth:
            pass  # public media, as when "Enforce HTTP Auth on Media URLs" is off
        elif auth != (self.account_sid, self.auth_token) or account != self.account_sid:
            return self._error(401)
        if is_media and media is not None:
            return self._media(media.group(1), (media.group(2) or ".wav")[1:])
        if rest in {"", ".json"}:
            return self._only(method, "GET") or self._json(200, self._account_json())
        if rest == "/Calls.json":
            if method == "POST":
                return self._create_call(form)
            return self._only(method, "GET") or self._list(
                "calls", rest, query, [self._call_json(c) for c in self._filter_calls(query)]
            )
        call = re.fullmatch(r"/Calls/(CA[0-9a-f]{32})(\.json)?", rest)
        if call is not None:
            found = self.calls.get(call.group(1))
            if found is None:
                return self._error(404, path=path)
            return self._only(method, "GET") or self._json(200, self._call_json(found))
        call_recordings = re.fullmatch(r"/Calls/(CA[0-9a-f]{32})/Recordings\.json", rest)
        if rest == "/Recordings.json" or call_recordings is not None:
            call_sid = call_recordings.group(1) if call_recordings else query.get("CallSid")
            found_recordings = [
                self._recording_json(r)
                for r in self.recordings.values()
                if r.status != "deleted" and (not call_sid or r.call_sid == call_sid)
            ]
            return self._only(method, "GET") or self._list(
                "recordings", rest, query, found_recordings
            )
        recording = re.fullmatch(r"/Recordings/(RE[0-9a-f]{32})(\.json)?", rest)
        if recording is not None:
            found_recording = self.recordings.get(recording.group(1))
            if found_recording is None or found_recording.status == "deleted":
                return self._error(404, path=path)
            if method == "DELETE":
                found_recording.status = "deleted"
                self.deleted_recordings.add(found_recording.sid)
                return 204, {}, b""
            return self._only(method, "GET") or self._json(
                200, self._recording_json(found_recording)
            )
        return self._error(404, path=path)

    def _only(self, method: str, allowed: str) -> tuple[int, dict[str, str], bytes] | None:
        return None if method == allowed else self._error(405)

    def _filter_calls(self, query: dict[str, Any]) -> list[FakeCall]:
        calls = sorted(self.calls.values(), key=lambda c: c.date_created, reverse=True)
        for param, attribute in (
            ("ParentCallSid", "parent_sid"),
            ("Status", "status"),
            ("To", "to"),
            ("From", "from_"),
        ):
            if query.get(param):
                calls = [c for c in calls if getattr(c, attribute) == query[param]]
        return calls

    def _list(
        self, key: str, rest: str, query: dict[str, Any], records: list[dict[str, Any]]
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            size = max(1, min(1000, int(query.get("PageSize") or 50)))
            page = max(0, int(query.get("Page") or 0))
        except ValueError:
            return self._error(400, code=20001, message="Invalid paging parameter")
        base = self._account_path() + rest
        filters = {k: v for k, v in query.items() if k not in {"Page", "PageSize", "PageToken"}}

        def uri(number: int) -> str:
            return (
                base + "?" + urllib.parse.urlencode({**filters, "PageSize": size, "Page": number})
            )

        start = page * size
        chunk = records[start : start + size]
        more = start + size < len(records)
        return self._json(
            200,
            {
                key: chunk,
                "end": start + max(len(chunk) - 1, 0),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": uri(page),
            },
        )

    def _create_call(self, form: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        to, from_ = form.get("To") or "", form.get("From") or ""
        if not to:
            return self._error(400, code=21201, message="No 'To' number is specified")
        if not from_:
            return self._error(400, code=21213, message="No 'From' number is specified")
        if not E164.match(to):
            return self._error(400, code=21211, message=f"The 'To' number {to} is not valid.")
        if to in MAGIC_TO:
            code, message = MAGIC_TO[to]
            return self._error(400, code=code, message=f"{message}: {to}")
        if not E164.match(from_):
            return self._error(400, code=21212, message=f"The 'From' number {from_} is not valid.")
        if from_ not in self.numbers:
            return self._error(
                400,
                code=21210,
                message=f"The source phone number provided, {from_}, is not yet verified.",
            )
        twiml = form.get("Twiml") or ""
        if not (twiml or form.get("Url") or form.get("ApplicationSid")):
            return self._error(400, code=21205, message="Url, Twiml or ApplicationSid is required")
        dial = None
        if twiml:
            if len(twiml) > 4000:
                return self._error(400, code=21205, message="Twiml exceeds 4000 characters")
            try:
                dial = parse_twiml(twiml)
            except ValueError as exc:
                return self._error(400, code=12100, message=str(exc))
        if dial is not None and dial.caller_id and dial.caller_id not in self.numbers:
            return self._error(400, code=21210, message="The <Dial> callerId is not verified.")
        events = form.get("StatusCallbackEvent") or []
        call = FakeCall(
            sid=_sid("CA", self._rng),
            from_=from_,
            to=to,
            direction="outbound-api",
            status="queued",
            date_created=self._clock,
            form=form,
            twiml=twiml,
            dial=dial,
            status_callback=form.get("StatusCallback") or "",
            status_callback_method=(form.get("StatusCallbackMethod") or "POST").upper(),
            status_callback_events=list(events),
        )
        self.calls[call.sid] = call
        self._parents.append(call.sid)
        return self._json(201, self._call_json(call))

    def _media(self, recording_sid: str, extension: str) -> tuple[int, dict[str, str], bytes]:
        recording = self.recordings.get(recording_sid)
        if recording is None or recording.status != "completed":
            # Not there yet (processing) or deleted: the documented 404.
            return self._error(404, path=f"/Recordings/{recording_sid}.{extension}")
        content_type = "audio/mpeg" if extension == "mp3" else "audio/x-wav"
        return 200, {"Content-Type": content_type}, self._audio(recording, extension)

    def _json(self, status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _error(
        self,
        status: int,
        *,
        code: int | None = None,
        message: str | None = None,
        path: str = "",
        retry_after: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        default_code, default_message = ERRORS.get(status, (20001, "Bad request"))
        code = code or default_code
        if message is None:
            message = default_message
            if status == 404 and path:
                message = f"The requested resource {path} was not found"
        status_code, headers, payload = self._json(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )
        if retry_after is not None:
            headers["Retry-After"] = str(
                int(retry_after) if retry_after == int(retry_after) else retry_after
            )
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return status_code, headers, payload


def _multi(parsed: dict[str, list[str]]) -> dict[str, Any]:
    """Single values as strings; list-valued protocol fields (and repeated ones) as lists."""
    return {
        key: values if key in LIST_FIELDS or len(values) > 1 else values[0]
        for key, values in parsed.items()
    }


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake
