"""Exotel: the Indian cloud telephony most sales teams here use, through its Voice v1 API.

What Exotel documents, and what this module relies on (developer.exotel.com: "Connect Two
Numbers", "Call Details", "StatusCallback", "Webhooks & Callbacks", "Error Code Dictionary",
"Rate Limiting", "List All ExoPhones"; support.exotel.com on recording access):

- A bridged call is `POST {api}/v1/Accounts/{sid}/Calls/connect.json` (without `.json` the
  answer is XML), form-encoded, HTTP Basic auth with the API key as user and the API token as
  password. Hosts are regional: api.exotel.com (Singapore), api.in.exotel.com (Mumbai).
- Exotel rings `From` first (our rep) and only once that leg answers rings `To` (the lead),
  showing `CallerId` (one of the account's ExoPhones). `TimeLimit` caps the call (at most
  14400 s), `TimeOut` is each leg's ring time (support pages: at most 60 s), `Record=true`
  records the conversation, `CustomField` (at most 128 characters) is echoed back in the
  terminal callback. `StatusCallbackEvents[]` subscribes to `terminal` and `answered`;
  `StatusCallbackContentType` is `multipart/form-data` (the default) or `application/json`.
- The answer is `{"Call": {"Sid": ..., "Status": "in-progress", ...}}`: "in-progress" there
  only means "placed", not "answered".
- `GET .../Calls/{CallSid}.json?details=true` is the call's current state: `Status` (queued,
  ringing, in-progress, then completed, failed, busy, no-answer or canceled), `StartTime`,
  `EndTime`, `RecordingUrl`, and under `Details` the conversation's seconds
  (`ConversationDuration`) and each leg's status (`Leg1Status` = From, `Leg2Status` = To).
- Times are "YYYY-MM-DD HH:mm:ss" with no zone. The docs do not name one; Exotel accounts
  here run on Indian time, so naive times are read as Asia/Kolkata (`EXOTEL_TIMEZONE`).
- Status callbacks carry `CallSid`, `Status`, `RecordingUrl`, `DateUpdated`, and with events
  `EventType`, `StartTime`, `EndTime`, `ConversationDuration`, `CustomField` and `Legs` (each
  with `Status` and `OnCallDuration`). They are not signed; Exotel retries a failed delivery
  at most twice and tells integrators to fall back on call details. So a callback here is a
  hint: the dialer confirms it with `call_state` before recording anything.
- Errors come as `{"RestException": {"Status": ..., "Message": ..., "Code": ...}}`: 400 bad
  parameters, 401 bad key or token, 402 balance or plan exhausted, 403 account suspended or
  not permitted, 404 unknown resource, 429 over the rate limit (Voice APIs: 200 requests a
  minute per account, with `Retry-After`), 5xx Exotel's own trouble. Messages may quote the
  numbers of the request, so they are never passed on: each kind has fixed wording here.
- Recordings are MP3 by default, appear 1 to 5 minutes (up to 15) after the call, and since
  8 October 2024 their URLs need the API key and token (or a whitelisted IP, or a pre-signed
  URL where enabled). Exotel documents no API that deletes a recording (retention is an
  account setting), so `delete_recording` answers False.
- `GET {api}/v1/Accounts/{sid}/Numbers/{number}.json` is a number's metadata ("Number
  Metadata"): `{"Numbers": {"PhoneNumber", "Circle", "CircleName", "Type", "Operator",
  "OperatorName", "DND": "Yes"|"No"}}`; `number_dnd` reads DND for promotional campaigns.
- `GET {api}/v2_beta/Accounts/{sid}/IncomingPhoneNumbers` lists the account's ExoPhones: an
  authenticated read that dials nothing, used by `check`.

Credentials go only to the account's own API host or, over HTTPS, to a host of Exotel's own
domains (exotel.com, exotel.in), which serve authenticated recordings. A recording URL on
Amazon S3 (the form Exotel used before authenticated recordings, and the form of pre-signed
URLs) is fetched without credentials; a URL on any other host is refused, because callbacks
are unsigned and a forged one could otherwise send our credentials, or our worker, anywhere.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import requests

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

DEFAULT_API_URL = "https://api.exotel.com"
EXOTEL_TIMEZONE = ZoneInfo("Asia/Kolkata")
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
# Recordings run ~1 MB a minute; a 4-hour call (Exotel's TimeLimit cap) stays well below this.
MAX_RECORDING_BYTES = 400 * 1024 * 1024
MAX_TIME_LIMIT = 14400
MAX_RING_SECONDS = 60
# Voice APIs allow this many requests a minute per account (callers pace below it).
REQUESTS_PER_MINUTE = 200

TERMINAL = frozenset({"completed", "failed", "busy", "no-answer", "canceled"})
NOT_ANSWERED = frozenset({"failed", "busy", "no-answer", "canceled"})
# Exotel's call sids are 32 hex digits; allow a little more, never anything that could be a
# path or a query.
_INDIAN_E164 = re.compile(r"^\+91[0-9]{10}$")
_CALL_SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EXOTEL_DOMAINS = ("exotel.com", "exotel.in")
_S3_SUFFIX = ".amazonaws.com"

# Fixed wording per error kind: Exotel's own messages may quote the numbers we sent.
AUTH_DETAIL = "The Exotel account's credentials were refused; an operator must check them."
NO_ACCOUNT_DETAIL = "No Exotel account is configured for this campaign; an operator must add one."
RATE_DETAIL = "Exotel is limiting how fast this account may call; try again in a moment."
UNAVAILABLE_DETAIL = "Exotel could not be reached; try again in a moment."
TIMEOUT_DETAIL = "Exotel did not answer in time; try again in a moment."
INVALID_NUMBER_DETAIL = (
    "Exotel refused a number of this call (the lead's, the rep's or the caller ID)."
)
PAYMENT_DETAIL = "Exotel refused the call: the account's balance or plan limit is used up."
REJECTED_DETAIL = "Exotel refused the request."
NOT_FOUND_DETAIL = "Exotel does not know this call."
BAD_ANSWER_DETAIL = "Exotel answered with something Leadline could not read."
FOREIGN_RECORDING_DETAIL = "The recording's address is not an Exotel one, so it was not fetched."
TOO_LARGE_DETAIL = "The recording is larger than Leadline accepts."

REP_LEG_DETAIL = {
    "busy": "Your phone was busy, so the lead was not called.",
    "no-answer": "Your phone did not answer, so the lead was not called.",
    "failed": "The call to your phone could not be connected, so the lead was not called.",
    "canceled": "The call to your phone was cancelled, so the lead was not called.",
}
LEAD_LEG_FAILED_DETAIL = "The call to the lead could not be connected."
CALL_FAILED_DETAIL = "Exotel could not connect the call."


class ExotelProvider:
    name = "exotel"
    pushes_status = True
    signed_callbacks = False  # callbacks are hints, confirmed with call_state
    recording_inline = False  # recordings appear minutes after the call

    def __init__(self, line: Line | None = None) -> None:
        self.line = line or Line(provider="exotel")
        self.api_url = (self.line.api_url or DEFAULT_API_URL).rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "Leadline"})

    # -- the Provider protocol ------------------------------------------------------------

    def place_call(self, call: CallRequest) -> str:
        form: dict[str, str | list[str]] = {
            "From": call.rep_phone,
            "To": call.lead_phone,
            "CallerId": call.caller_id or self.line.caller_id,
            "CallType": "trans",
            "TimeLimit": str(min(call.max_call_seconds, MAX_TIME_LIMIT)),
            "TimeOut": str(min(call.ring_seconds, MAX_RING_SECONDS)),
            # Sent either way: an account may record by default, and we must say what we want.
            "Record": "true" if call.record else "false",
            "CustomField": call.reference,
        }
        if call.callback_url:
            form["StatusCallback"] = call.callback_url
            form["StatusCallbackEvents[]"] = ["terminal", "answered"]
            # JSON keeps Legs a list; multipart would flatten it.
            form["StatusCallbackContentType"] = "application/json"
        answer = self._api("POST", "/Calls/connect.json", data=form, action="place a call")
        sid = _dig(answer, "Call", "Sid")
        if not isinstance(sid, str) or not _CALL_SID.match(sid):
            raise ProviderError(ProviderError.UNAVAILABLE, BAD_ANSWER_DETAIL)
        return sid

    def call_state(self, *, call_id: str, placed_at: datetime, now: datetime) -> CallState:
        return state_from_call(self._call_details(call_id))

    def parse_callback(
        self, *, url: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> CallbackEvent:
        fields = _callback_fields(params, headers, body)
        call_id = fields.get("CallSid")
        if not isinstance(call_id, str) or not _CALL_SID.match(call_id):
            raise CallbackRejected("The callback names no valid CallSid.")
        recording = fields.get("RecordingUrl")
        return CallbackEvent(
            call_id=call_id,
            state=_callback_hint(fields),
            recording_ref=recording if isinstance(recording, str) else "",
        )

    def fetch_recording(self, *, call_id: str, recording_ref: str = "") -> Recording | None:
        ref = recording_ref
        if not ref:
            call = self._call_details(call_id)
            ref = call.get("RecordingUrl") or ""
            if not ref:
                state = state_from_call(call)
                if state.status in ("completed", "ringing", "answered"):
                    # Finished calls get their URL minutes later; live ones after they end.
                    raise RecordingNotReady()
                return None  # busy, no answer, failed: nothing was said, nothing recorded
        return self._download(ref)

    def delete_recording(self, *, call_id: str, recording_ref: str) -> bool:
        return False  # Exotel documents no deletion API; retention is an account setting

    def check(self) -> str:
        answer = self._api(
            "GET", "/IncomingPhoneNumbers", version="v2_beta", action="list the ExoPhones"
        )
        numbers = answer.get("incoming_phone_numbers")
        if not isinstance(numbers, list):
            raise ProviderError(ProviderError.UNAVAILABLE, BAD_ANSWER_DETAIL)
        plural = "" if len(numbers) == 1 else "s"
        # The list comes in pages of 50; a second page only means "more than these".
        count = f"{len(numbers)}+" if answer.get("next_page_uri") else str(len(numbers))
        description = f"Exotel account {self.line.account_sid}: {count} ExoPhone{plural}"
        if self.line.caller_id:
            owned = {n.get("phone_number") for n in numbers if isinstance(n, dict)}
            description += (
                ", the caller ID is one of them"
                if self.line.caller_id in owned
                else ", the caller ID is NOT one of them"
            )
        return description + "."

    # -- beyond the Provider protocol ------------------------------------------------------

    def number_dnd(self, phone: str) -> bool | None:
        """Whether an Indian E.164 number is registered on DND (NCPR), from Exotel's number
        metadata; None when Exotel does not say. Raises ProviderError."""
        if not _INDIAN_E164.match(phone):
            return None  # Exotel's metadata covers Indian numbers only
        answer = self._api("GET", f"/Numbers/0{phone[3:]}.json", action="read a number's metadata")
        dnd = _lower(_dig(answer, "Numbers", "DND"))
        if dnd in ("yes", "no"):
            return dnd == "yes"
        return None

    # -- HTTP -----------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        key = self.line.credentials.get("api_key", "")
        token = self.line.credentials.get("api_token", "")
        if not (self.line.account_sid and key and token):
            raise ProviderError(ProviderError.AUTH, NO_ACCOUNT_DETAIL)
        return key, token

    def _call_details(self, call_id: str) -> dict[str, Any]:
        if not _CALL_SID.match(call_id or ""):
            raise ProviderError(ProviderError.NOT_FOUND, NOT_FOUND_DETAIL)
        answer = self._api(
            "GET",
            f"/Calls/{call_id}.json",
            params={"details": "true"},
            action="read a call",
        )
        call = answer.get("Call")
        if not isinstance(call, dict):
            raise ProviderError(ProviderError.UNAVAILABLE, BAD_ANSWER_DETAIL)
        return call

    def _api(
        self,
        method: str,
        path: str,
        *,
        action: str,
        version: str = "v1",
        data: Mapping[str, str | list[str]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        auth = self._credentials()
        url = f"{self.api_url}/{version}/Accounts/{self.line.account_sid}{path}"
        response = self._send(method, url, action=action, auth=auth, data=data, params=params)
        if response.status_code != 200:
            raise self._error(response, action=action)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            logger.warning("Exotel answered %s with an unreadable body", action)
            raise ProviderError(ProviderError.UNAVAILABLE, BAD_ANSWER_DETAIL)
        return answer

    def _send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        auth: tuple[str, str] | None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        try:
            return self.session.request(
                method,
                url,
                auth=auth,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                stream=stream,
                **kwargs,
            )
        except requests.Timeout:
            # Only the exception's type is logged: its text names the URL, never a number, but
            # nothing from the request should reach a log by accident.
            logger.warning("Exotel timed out while we tried to %s", action)
            raise ProviderError(ProviderError.UNAVAILABLE, TIMEOUT_DETAIL) from None
        except requests.RequestException as exc:
            logger.warning(
                "Exotel unreachable while we tried to %s (%s)", action, type(exc).__name__
            )
            raise ProviderError(ProviderError.UNAVAILABLE, UNAVAILABLE_DETAIL) from None

    def _error(self, response: requests.Response, *, action: str) -> ProviderError:
        status = response.status_code
        code = _rest_exception(response).get("Code")
        # The status and Exotel's error code are safe to log; the message is not (numbers).
        logger.warning(
            "Exotel refused to %s: HTTP %s%s",
            action,
            status,
            f" ({code})" if isinstance(code, str) and code.isidentifier() else "",
        )
        if status in (401, 403):
            return ProviderError(ProviderError.AUTH, AUTH_DETAIL)
        if status == 429:
            return ProviderError(
                ProviderError.RATE_LIMITED,
                RATE_DETAIL,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderError(ProviderError.UNAVAILABLE, UNAVAILABLE_DETAIL)
        if status == 404:
            return ProviderError(ProviderError.NOT_FOUND, NOT_FOUND_DETAIL)
        if status == 402:
            return ProviderError(ProviderError.REJECTED, PAYMENT_DETAIL)
        if status == 400 and _about_a_number(response):
            return ProviderError(ProviderError.INVALID_NUMBER, INVALID_NUMBER_DETAIL)
        return ProviderError(ProviderError.REJECTED, REJECTED_DETAIL)

    def _download(self, ref: str) -> Recording:
        auth = self._recording_auth(ref)
        response = self._send("GET", ref, action="fetch a recording", auth=auth, stream=True)
        with response:
            if response.status_code == 404:
                raise RecordingNotReady()
            if response.status_code != 200:
                raise self._error(response, action="fetch a recording")
            audio = bytearray()
            try:
                for chunk in response.iter_content(chunk_size=256 * 1024):
                    audio += chunk
                    if len(audio) > MAX_RECORDING_BYTES:
                        raise ProviderError(ProviderError.REJECTED, TOO_LARGE_DETAIL)
            except requests.RequestException:
                logger.warning("Exotel's recording download broke off")
                raise ProviderError(ProviderError.UNAVAILABLE, UNAVAILABLE_DETAIL) from None
            content_type = (response.headers.get("Content-Type") or "audio/mpeg").strip()
            url_path = urlsplit(response.url or ref).path
        if not audio:
            raise RecordingNotReady()  # a placeholder: the file is still being written
        return Recording(
            audio=bytes(audio),
            content_type=content_type,
            extension=_extension(url_path, content_type),
        )

    def _recording_auth(self, ref: str) -> tuple[str, str] | None:
        """The credentials for a recording URL, None where none must go, or an error for a host
        that is not Exotel's (see the module docstring)."""
        try:
            target = urlsplit(ref)
            api = urlsplit(self.api_url)
            target_port, api_port = target.port, api.port
        except ValueError:
            raise ProviderError(ProviderError.REJECTED, FOREIGN_RECORDING_DETAIL) from None
        host = (target.hostname or "").lower()
        if target.scheme not in ("http", "https") or not host:
            raise ProviderError(ProviderError.REJECTED, FOREIGN_RECORDING_DETAIL)
        same_origin = (target.scheme, host, target_port) == (
            api.scheme,
            (api.hostname or "").lower(),
            api_port,
        )
        if same_origin:
            return self._credentials()
        if target.scheme == "https" and any(
            host == domain or host.endswith("." + domain) for domain in _EXOTEL_DOMAINS
        ):
            return self._credentials()
        if target.scheme == "https" and host.endswith(_S3_SUFFIX):
            return None  # legacy public or pre-signed URL: the signature is the credential
        logger.warning("Refused to fetch a recording from a host that is not Exotel's")
        raise ProviderError(ProviderError.REJECTED, FOREIGN_RECORDING_DETAIL)


# -- reading Exotel's answers -------------------------------------------------------------


def state_from_call(call: Mapping[str, Any]) -> CallState:
    """Our lead-centric state from a call details resource (`{"Call": {...}}`'s inside)."""
    details = call.get("Details")
    if not isinstance(details, dict):
        details = {}
    conversation = details.get("ConversationDuration")
    if conversation is None:
        conversation = call.get("ConversationDuration")
    return _state(
        status=_lower(call.get("Status")),
        rep_leg=_lower(details.get("Leg1Status")),
        lead_leg=_lower(details.get("Leg2Status")),
        conversation=_seconds(conversation),
        start=parse_time(call.get("StartTime")),
        end=parse_time(call.get("EndTime")),
        recording_ref=call.get("RecordingUrl") or "",
    )


def _state(
    *,
    status: str,
    rep_leg: str,
    lead_leg: str,
    conversation: int | None,
    start: datetime | None,
    end: datetime | None,
    recording_ref: str,
) -> CallState:
    if status not in TERMINAL:
        # "in-progress" is what Exotel says from the moment the call is placed; only the
        # lead's leg being in progress means the lead is talking.
        if lead_leg in ("in-progress", "answered"):
            return CallState("answered", recording_ref=recording_ref)
        return CallState("ringing")

    def ended(status: str, detail: str = "") -> CallState:
        return CallState(
            status, ended_at=end, duration_seconds=0, recording_ref=recording_ref, detail=detail
        )

    if rep_leg in NOT_ANSWERED:
        return ended("failed", REP_LEG_DETAIL[rep_leg])
    if lead_leg == "busy":
        return ended("busy")
    if lead_leg == "no-answer":
        return ended("no_answer")
    if lead_leg in NOT_ANSWERED:
        return ended("failed", LEAD_LEG_FAILED_DETAIL)
    talked = conversation or 0
    if lead_leg == "completed" or (status == "completed" and talked > 0):
        answered_at = None
        if end is not None:
            answered_at = end - timedelta(seconds=talked)
            if start is not None and answered_at < start:
                answered_at = start
        return CallState(
            "completed",
            answered_at=answered_at,
            ended_at=end,
            duration_seconds=talked,
            recording_ref=recording_ref,
        )
    # Without leg details, the overall status is all there is.
    if status == "busy":
        return ended("busy")
    if status in ("no-answer", "completed"):
        # Completed with no conversation and no word on the lead's leg: the lead never
        # picked up.
        return ended("no_answer")
    return ended("failed", CALL_FAILED_DETAIL)


def parse_time(value: Any) -> datetime | None:
    """Exotel's "YYYY-MM-DD HH:mm:ss" (Indian time, see the module docstring) or an ISO time
    with an offset, as an aware datetime; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=EXOTEL_TIMEZONE)
    return moment


def _callback_fields(
    params: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    content_type = _header(headers, "Content-Type")
    media_type = content_type.split(";")[0].strip().lower()
    fields: dict[str, Any] = {}
    try:
        if not body.strip():
            pass  # the view may have read a form body already: its fields come in `params`
        elif media_type == "application/json" or (not media_type and body.lstrip()[:1] == b"{"):
            loaded = json.loads(body)
            if not isinstance(loaded, dict):
                raise CallbackRejected("The callback's JSON is not an object.")
            fields = loaded
        elif media_type == "multipart/form-data":
            fields = _multipart_fields(content_type, body)
        else:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        raise CallbackRejected("The callback's body could not be read.") from None
    # The view may hand over fields it already parsed (a form post, or a query string).
    for key, value in params.items():
        fields.setdefault(key, value)
    return fields


def _multipart_fields(content_type: str, body: bytes) -> dict[str, Any]:
    if "boundary=" not in content_type:
        raise ValueError("multipart without a boundary")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("not multipart")
    fields: dict[str, Any] = {}
    for part in message.walk():
        if part is message:
            continue
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields


def _callback_hint(fields: Mapping[str, Any]) -> CallState | None:
    """What the callback claims, read like call details; None when it says too little. It is
    only a hint: the dialer confirms every Exotel callback with `call_state`."""
    status = _lower(fields.get("Status"))
    if not status:
        return None
    legs = _legs(fields)
    rep_leg = _lower(legs[0].get("Status")) if len(legs) > 0 else ""
    lead_leg = _lower(legs[1].get("Status")) if len(legs) > 1 else ""
    if _lower(fields.get("EventType")) == "answered" and status not in TERMINAL:
        # Only the lead's leg answering starts the conversation; anything less says nothing.
        return CallState("answered") if lead_leg in ("in-progress", "answered") else None
    if status not in TERMINAL:
        return None
    recording = fields.get("RecordingUrl")
    return _state(
        status=status,
        rep_leg=rep_leg,
        lead_leg=lead_leg,
        conversation=_seconds(fields.get("ConversationDuration")),
        start=parse_time(fields.get("StartTime")),
        end=parse_time(fields.get("EndTime")),
        recording_ref=recording if isinstance(recording, str) else "",
    )


def _legs(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    legs = fields.get("Legs")
    if isinstance(legs, str):  # a form post may carry the list as JSON text
        try:
            legs = json.loads(legs)
        except ValueError:
            legs = None
    if isinstance(legs, list):
        return [leg.get("Leg", leg) if isinstance(leg, dict) else {} for leg in legs]
    # Form posts may spell the list out: Legs[0][Status]=...
    spelled: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        match = re.fullmatch(r"Legs\[(\d+)\]\[(\w+)\]", str(key))
        if match:
            spelled.setdefault(int(match[1]), {})[match[2]] = value
    return [spelled[index] for index in sorted(spelled)]


def _rest_exception(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("RestException") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _about_a_number(response: requests.Response) -> bool:
    """Whether a 400 is about a number (From, To or CallerId): read, never passed on."""
    message = str(_rest_exception(response).get("Message") or "").lower()
    words = ("number", "phone", "callerid", "caller id", "exophone", "dnd", "e.164")
    return any(word in message for word in words)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare, and the caller has its own backoff
    return max(seconds, 0.0)


def _extension(path: str, content_type: str) -> str:
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if suffix in ("mp3", "wav"):
        return suffix
    media = content_type.split(";")[0].strip().lower()
    if media in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"):
        return "wav"
    return "mp3"  # Exotel's default format


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value or ""
    return ""


def _lower(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(int(value), 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
