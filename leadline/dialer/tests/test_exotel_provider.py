"""The Exotel provider against the fake Exotel (tests/fakes/exotel.py), over real HTTP.

Every test also checks the privacy rule: the lead's digits appear in no ProviderError, no
CallState and no log line, whatever Exotel answers (the fake quotes numbers in its 400s, as a
provider may).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from leadline.dialer.telephony import (
    CallbackRejected,
    CallRequest,
    CallState,
    Line,
    ProviderError,
    RecordingNotReady,
    provider_for,
)
from leadline.dialer.telephony import exotel as exotel_module
from leadline.dialer.telephony.exotel import ExotelProvider
from tests.fakes.exotel import FakeExotel, fake_exotel  # noqa: F401  (registers the fixture)

LEAD = "+919876543210"
LEAD_DIGITS = "9876543210"
REP = "+919000000001"
NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


class Receiver:
    """Our side of the status callbacks: a small server on 127.0.0.1 that keeps every post and
    answers `status`."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.posts.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/exotel/tok3n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake() -> Iterator[FakeExotel]:
    with FakeExotel() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def provider(fake: FakeExotel) -> ExotelProvider:
    return ExotelProvider(line_for(fake))


@pytest.fixture(autouse=True)
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every log line, urllib3's debug lines included, and check none names the lead."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert LEAD_DIGITS not in caplog.text


def line_for(fake: FakeExotel, **changes: Any) -> Line:
    values: dict[str, Any] = {
        "provider": "exotel",
        "account_sid": fake.account_sid,
        "credentials": {"api_key": fake.api_key, "api_token": fake.api_token},
        "api_url": fake.url,
        "caller_id": fake.numbers[0],
    }
    values.update(changes)
    return Line(**values)


def request_for(fake: FakeExotel, receiver: Receiver | None = None, **changes: Any) -> CallRequest:
    values: dict[str, Any] = {
        "reference": "7b0e4c1e-5f7a-4c1d-9d0a-0f3f7f6f1a2b",
        "rep_phone": REP,
        "lead_phone": LEAD,
        "caller_id": fake.numbers[0],
        "callback_url": receiver.url if receiver else "",
        "ring_seconds": 25,
        "max_call_seconds": 1800,
        "record": True,
    }
    values.update(changes)
    return CallRequest(**values)


def state(provider: ExotelProvider, sid: str) -> CallState:
    result = provider.call_state(call_id=sid, placed_at=NOW, now=NOW)
    assert LEAD_DIGITS not in repr(result)
    return result


def refused(call: Any, kind: str) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call()
    error = caught.value
    assert error.kind == kind
    assert LEAD_DIGITS not in str(error) and LEAD_DIGITS not in error.detail
    assert not any(ch.isdigit() for ch in error.detail), error.detail
    return error


def parsed_posts(provider: ExotelProvider, receiver: Receiver) -> list[Any]:
    return [
        provider.parse_callback(
            url=receiver.url, params={}, headers=post["headers"], body=post["body"]
        )
        for post in receiver.posts
    ]


# -- placing a call ----------------------------------------------------------------------


def test_place_call_sends_the_documented_connect_request(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver
) -> None:
    sid = provider.place_call(request_for(fake, receiver))

    assert sid == fake.last_call_sid()
    [sent] = fake.received
    assert sent.method == "POST"
    assert sent.path == f"/v1/Accounts/{fake.account_sid}/Calls/connect.json"
    assert sent.auth == (fake.api_key, fake.api_token)
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.form == {
        "From": REP,
        "To": LEAD,
        "CallerId": fake.numbers[0],
        "CallType": "trans",
        "TimeLimit": "1800",
        "TimeOut": "25",
        "Record": "true",
        "CustomField": "7b0e4c1e-5f7a-4c1d-9d0a-0f3f7f6f1a2b",
        "StatusCallback": receiver.url,
        "StatusCallbackEvents[]": ["terminal", "answered"],
        "StatusCallbackContentType": "application/json",
    }
    call = fake.calls[sid]
    assert (call["from"], call["to"], call.caller_id) == (REP, LEAD, fake.numbers[0])
    assert call.status == "in-progress" and call.record


def test_place_call_keeps_within_exotels_limits_and_can_skip_recording(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    provider.place_call(
        request_for(fake, ring_seconds=90, max_call_seconds=20000, record=False, caller_id="")
    )

    form = fake.received[-1].form
    # Documented caps: TimeLimit 14400 s, TimeOut 60 s. An empty caller ID falls back on the
    # line's; no callback URL means no callback fields at all.
    assert (form["TimeLimit"], form["TimeOut"], form["Record"]) == ("14400", "60", "false")
    assert form["CallerId"] == fake.numbers[0]
    assert "StatusCallback" not in form and "StatusCallbackEvents[]" not in form


def test_provider_for_builds_the_exotel_provider(fake: FakeExotel) -> None:
    provider = provider_for(line_for(fake))

    assert isinstance(provider, ExotelProvider)
    assert (provider.name, provider.pushes_status, provider.signed_callbacks) == (
        "exotel",
        True,
        False,
    )
    assert provider.recording_inline is False


# -- call progress -----------------------------------------------------------------------


def test_call_state_follows_an_answered_and_completed_call(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    sid = provider.place_call(request_for(fake))
    assert state(provider, sid).status == "ringing"  # "in-progress" at Exotel: only placed
    assert fake.received[-1].query == {"details": "true"}

    fake.rep_answers(sid)
    assert state(provider, sid).status == "ringing"  # the lead's phone rings now

    fake.lead_answers(sid)
    assert state(provider, sid) == CallState("answered")

    fake.hang_up(sid, talk_seconds=42)
    final = state(provider, sid)
    assert final.status == "completed"
    assert final.duration_seconds == 42
    assert final.ended_at is not None and final.ended_at.utcoffset() is not None
    assert final.answered_at is not None and (final.ended_at - final.answered_at).seconds == 42
    assert final.recording_ref == fake.calls[sid].recording_url
    assert final.recording_ref.startswith(fake.url + "/")
    assert final.detail == ""


@pytest.mark.parametrize(
    ("progress", "status", "detail"),
    [
        ("lead_busy", "busy", ""),
        ("lead_no_answer", "no_answer", ""),
        ("rep_no_answer", "failed", "Your phone did not answer, so the lead was not called."),
        ("fail_call", "failed", "The call to your phone could not be connected"),
    ],
)
def test_call_state_reports_calls_that_never_became_a_conversation(
    fake: FakeExotel, provider: ExotelProvider, progress: str, status: str, detail: str
) -> None:
    sid = provider.place_call(request_for(fake))
    if progress.startswith("lead"):
        fake.rep_answers(sid)
    getattr(fake, progress)(sid)

    result = state(provider, sid)

    assert result.status == status
    assert result.duration_seconds == 0
    assert result.ended_at is not None and result.ended_at.tzinfo is not None
    assert result.detail.startswith(detail)
    assert result.recording_ref == ""


def test_call_state_for_an_unknown_call_is_not_found(provider: ExotelProvider) -> None:
    refused(lambda: state(provider, "0123456789abcdef0123456789abcdef"), ProviderError.NOT_FOUND)
    refused(lambda: state(provider, "../../IncomingPhoneNumbers"), ProviderError.NOT_FOUND)


def test_times_without_a_zone_are_read_as_indian_time() -> None:
    moment = exotel_module.parse_time("2026-03-02 10:30:00")

    assert moment == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert exotel_module.parse_time("2026-03-02T05:00:00+00:00") == moment
    assert exotel_module.parse_time(None) is None
    assert exotel_module.parse_time("yesterday") is None


# -- callbacks ---------------------------------------------------------------------------


def test_parse_callback_reads_what_exotel_posts(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver
) -> None:
    sid = provider.place_call(request_for(fake, receiver))
    fake.rep_answers(sid)
    fake.lead_answers(sid)
    fake.hang_up(sid, talk_seconds=30)

    assert [post["path"] for post in receiver.posts] == ["/hooks/exotel/tok3n"] * 2
    assert {post["headers"]["Content-Type"] for post in receiver.posts} == {"application/json"}
    assert [c.status for c in fake.callbacks] == [200, 200]
    answered, terminal = parsed_posts(provider, receiver)

    assert (answered.call_id, answered.state, answered.recording_ref) == (
        sid,
        CallState("answered"),
        "",
    )
    assert terminal.call_id == sid
    assert terminal.recording_ref == fake.calls[sid].recording_url
    assert terminal.state is not None
    assert (terminal.state.status, terminal.state.duration_seconds) == ("completed", 30)
    assert LEAD_DIGITS not in repr(terminal)


@pytest.mark.parametrize(
    ("progress", "status"),
    [
        ("lead_busy", "busy"),
        ("lead_no_answer", "no_answer"),
        ("rep_no_answer", "failed"),
        ("fail_call", "failed"),
    ],
)
def test_parse_callback_hints_at_how_an_unanswered_call_ended(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver, progress: str, status: str
) -> None:
    sid = provider.place_call(request_for(fake, receiver))
    getattr(fake, progress)(sid)

    [event] = parsed_posts(provider, receiver)

    assert event.call_id == sid
    assert event.state is not None and event.state.status == status
    # A hint only: the dialer confirms it, and call details say the same.
    assert state(provider, sid).status == status


def test_parse_callback_reads_exotels_default_multipart_body(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver
) -> None:
    # A call placed without StatusCallbackContentType: Exotel posts multipart/form-data.
    answer = requests.post(
        f"{fake.url}/v1/Accounts/{fake.account_sid}/Calls/connect.json",
        auth=(fake.api_key, fake.api_token),
        data={
            "From": REP,
            "To": LEAD,
            "CallerId": fake.numbers[1],
            "Record": "true",
            "StatusCallback": receiver.url,
            "StatusCallbackEvents[]": ["terminal"],
        },
        timeout=5,
    )
    sid = answer.json()["Call"]["Sid"]
    fake.hang_up(sid, talk_seconds=12)

    [post] = receiver.posts
    assert post["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    [event] = parsed_posts(provider, receiver)
    assert event.call_id == sid
    assert event.recording_ref == fake.calls[sid].recording_url
    assert event.state is not None
    assert (event.state.status, event.state.duration_seconds) == ("completed", 12)


def test_parse_callback_accepts_a_plain_form_post(provider: ExotelProvider) -> None:
    event = provider.parse_callback(
        url="https://leadline.example/hooks/exotel/tok3n",
        params={},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"CallSid=0123456789abcdef0123456789abcdef&Status=busy&RecordingUrl=",
    )

    assert event.call_id == "0123456789abcdef0123456789abcdef"
    assert event.state is not None and event.state.status == "busy"
    assert event.recording_ref == ""


def test_parse_callback_takes_fields_the_view_already_parsed(provider: ExotelProvider) -> None:
    event = provider.parse_callback(
        url="https://leadline.example/hooks/exotel/tok3n",
        params={"CallSid": "0123456789abcdef0123456789abcdef", "Status": "no-answer"},
        headers={"Content-Type": "multipart/form-data; boundary=consumed"},
        body=b"",
    )

    assert event.call_id == "0123456789abcdef0123456789abcdef"
    assert event.state is not None and event.state.status == "no_answer"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b'["CallSid", "abc"]'),
        ("application/json", b'{"Status": "completed"}'),
        ("application/json", b'{"CallSid": "../../etc/passwd"}'),
        ("application/json", b'{"CallSid": 12345}'),
        ("application/json", b'{"CallSid": ""}'),
        ("application/x-www-form-urlencoded", b"Status=completed"),
        ("application/x-www-form-urlencoded", b"\xff\xfe\x00"),
        ("multipart/form-data", b"--x\r\n"),  # no boundary
        ("", b""),
    ],
)
def test_parse_callback_rejects_malformed_bodies(
    provider: ExotelProvider, content_type: str, body: bytes
) -> None:
    with pytest.raises(CallbackRejected) as caught:
        provider.parse_callback(
            url="https://leadline.example/hooks/exotel/tok3n",
            params={},
            headers={"Content-Type": content_type},
            body=body,
        )
    assert caught.value.status == 400


def test_duplicate_and_dropped_callbacks(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver
) -> None:
    fake.duplicate_callbacks = True
    first = provider.place_call(request_for(fake, receiver))
    fake.lead_busy(first)
    assert len(receiver.posts) == 2
    one, two = parsed_posts(provider, receiver)
    assert one == two

    fake.duplicate_callbacks = False
    fake.drop_callbacks = True
    second = provider.place_call(request_for(fake, receiver))
    fake.lead_no_answer(second)
    assert len(receiver.posts) == 2  # nothing new: the dialer must reconcile
    assert state(provider, second).status == "no_answer"


def test_a_refused_callback_is_retried_twice_as_exotel_documents(
    fake: FakeExotel, provider: ExotelProvider, receiver: Receiver
) -> None:
    receiver.status = 503
    sid = provider.place_call(request_for(fake, receiver))
    fake.rep_no_answer(sid)

    assert [c.status for c in fake.callbacks] == [503, 503, 503]
    assert len(receiver.posts) == 3


# -- recordings --------------------------------------------------------------------------


def test_fetch_recording_returns_exotels_audio_byte_for_byte(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    sid = provider.place_call(request_for(fake))
    fake.hang_up(sid, talk_seconds=20)
    ref = state(provider, sid).recording_ref

    for given in (ref, ""):  # from the state, or found through call details
        recording = provider.fetch_recording(call_id=sid, recording_ref=given)
        assert recording is not None
        assert recording.audio == fake.recording_bytes(sid)
        assert (recording.content_type, recording.extension) == ("audio/mpeg", "mp3")

    download = fake.received[-1]
    assert download.path == f"/exotelrecordings/{fake.account_sid}/{sid}.mp3"
    assert download.auth == (fake.api_key, fake.api_token)
    audio = fake.recording_bytes(sid)
    # Real MPEG-1 Layer III frames, one every 417 bytes.
    assert audio[:2] == b"\xff\xfb" and audio[417:419] == b"\xff\xfb"
    assert fake.recording_bytes(sid) == audio


def test_a_late_recording_is_not_ready_until_exotel_serves_it(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    fake.recording_delay = True
    sid = provider.place_call(request_for(fake))
    fake.hang_up(sid, talk_seconds=20)
    ref = state(provider, sid).recording_ref

    with pytest.raises(RecordingNotReady):
        provider.fetch_recording(call_id=sid, recording_ref=ref)

    fake.recording_ready(sid)
    recording = provider.fetch_recording(call_id=sid, recording_ref=ref)
    assert recording is not None and recording.audio == fake.recording_bytes(sid)


def test_fetch_recording_knows_calls_without_a_recording(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    live = provider.place_call(request_for(fake))
    fake.lead_answers(live)
    with pytest.raises(RecordingNotReady):  # still talking: the recording comes later
        provider.fetch_recording(call_id=live, recording_ref="")

    busy = provider.place_call(request_for(fake))
    fake.lead_busy(busy)
    assert provider.fetch_recording(call_id=busy, recording_ref="") is None

    unrecorded = provider.place_call(request_for(fake, record=False))
    fake.hang_up(unrecorded)
    assert state(provider, unrecorded).recording_ref == ""


def test_recordings_are_fetched_only_from_exotel_and_credentials_go_only_there(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    credentials = (fake.api_key, fake.api_token)
    decide = provider._recording_auth
    assert decide(f"{fake.url}/exotelrecordings/x/y.mp3") == credentials
    assert decide("https://recordings.exotel.com/exotelrecordings/x/y.mp3") == credentials
    assert decide("https://api.in.exotel.com/x/y.mp3") == credentials
    # Amazon S3 (legacy public or pre-signed URLs): fetched, but without our credentials.
    assert decide("https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/x/y.mp3") is None
    for foreign in (
        "http://recordings.exotel.com/x.mp3",  # credentials never travel in clear
        "https://exotel.com.evil.example/x.mp3",
        "https://evil.example/x.mp3",
        "http://127.0.0.1:1/x.mp3",
        "file:///etc/passwd",
        "not a url",
    ):
        refused(lambda url=foreign: decide(url), ProviderError.REJECTED)

    before = len(fake.received)
    refused(
        lambda: provider.fetch_recording(call_id="abc", recording_ref="https://evil.example/a.mp3"),
        ProviderError.REJECTED,
    )
    assert len(fake.received) == before


def test_exotel_offers_no_recording_deletion(fake: FakeExotel, provider: ExotelProvider) -> None:
    sid = provider.place_call(request_for(fake))
    fake.hang_up(sid)

    assert provider.delete_recording(call_id=sid, recording_ref="") is False
    assert fake.deleted_recordings == set()


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "detail"),
    [
        (401, ProviderError.AUTH, exotel_module.AUTH_DETAIL),
        (403, ProviderError.AUTH, exotel_module.AUTH_DETAIL),
        (429, ProviderError.RATE_LIMITED, exotel_module.RATE_DETAIL),
        (500, ProviderError.UNAVAILABLE, exotel_module.UNAVAILABLE_DETAIL),
        (503, ProviderError.UNAVAILABLE, exotel_module.UNAVAILABLE_DETAIL),
        (402, ProviderError.REJECTED, exotel_module.PAYMENT_DETAIL),
    ],
)
def test_exotel_errors_become_provider_errors(
    fake: FakeExotel, provider: ExotelProvider, status: int, kind: str, detail: str
) -> None:
    fake.fail_next(status, times=3, retry_after=7 if status == 429 else None)

    place = refused(lambda: provider.place_call(request_for(fake)), kind)
    check = refused(provider.check, kind)
    read = refused(lambda: state(provider, "0123456789abcdef0123456789abcdef"), kind)

    for error in (place, check, read):
        assert error.detail == detail
        assert error.retry_after == (7.0 if status == 429 else None)
    assert fake.calls == {}


def test_a_refused_number_is_an_invalid_number_without_exotels_words(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    bad_lead = refused(
        lambda: provider.place_call(request_for(fake, lead_phone="+91987654321098765")),
        ProviderError.INVALID_NUMBER,
    )
    bad_caller_id = refused(
        lambda: provider.place_call(request_for(fake, caller_id="+918000000000")),
        ProviderError.INVALID_NUMBER,
    )

    assert bad_lead.detail == bad_caller_id.detail == exotel_module.INVALID_NUMBER_DETAIL
    assert "98765" not in bad_lead.detail  # the fake's message quoted the number


def test_other_bad_requests_are_rejected(fake: FakeExotel, provider: ExotelProvider) -> None:
    # A CustomField over 128 characters: Exotel's 400 is about no number.
    error = refused(
        lambda: provider.place_call(request_for(fake, reference="x" * 129)),
        ProviderError.REJECTED,
    )
    assert error.detail == exotel_module.REJECTED_DETAIL


def test_the_rate_limit_answers_429_with_retry_after(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    fake.calls_per_minute = 3
    for _ in range(3):
        provider.check()

    error = refused(lambda: provider.place_call(request_for(fake)), ProviderError.RATE_LIMITED)

    assert error.retry_after is not None and 0 < error.retry_after <= 61
    assert fake.calls == {}


def test_exotel_down_timing_out_or_unreachable_is_unavailable(
    fake: FakeExotel, provider: ExotelProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.down = True
    refused(lambda: provider.place_call(request_for(fake)), ProviderError.UNAVAILABLE)
    fake.down = False

    monkeypatch.setattr(exotel_module, "READ_TIMEOUT", 0.2)
    fake.delay_seconds = 1.0
    slow = refused(lambda: provider.place_call(request_for(fake)), ProviderError.UNAVAILABLE)
    assert slow.detail == exotel_module.TIMEOUT_DETAIL
    fake.delay_seconds = 0

    fake.stop()
    refused(lambda: provider.place_call(request_for(fake)), ProviderError.UNAVAILABLE)
    refused(provider.check, ProviderError.UNAVAILABLE)
    fake.start()  # the same port again: the provider gets through
    assert provider.place_call(request_for(fake)) == fake.last_call_sid()


def test_recording_download_failures(fake: FakeExotel, provider: ExotelProvider) -> None:
    sid = provider.place_call(request_for(fake))
    fake.hang_up(sid)
    ref = state(provider, sid).recording_ref

    fake.fail_next(503)
    refused(
        lambda: provider.fetch_recording(call_id=sid, recording_ref=ref),
        ProviderError.UNAVAILABLE,
    )
    wrong = ExotelProvider(line_for(fake, credentials={"api_key": "k", "api_token": "nope"}))
    refused(lambda: wrong.fetch_recording(call_id=sid, recording_ref=ref), ProviderError.AUTH)


# -- check -------------------------------------------------------------------------------


def test_check_lists_the_exophones_without_dialling(
    fake: FakeExotel, provider: ExotelProvider
) -> None:
    description = provider.check()

    assert description == (
        f"Exotel account {fake.account_sid}: 3 ExoPhones, the caller ID is one of them."
    )
    [sent] = fake.received
    assert (sent.method, sent.path) == (
        "GET",
        f"/v2_beta/Accounts/{fake.account_sid}/IncomingPhoneNumbers",
    )
    assert sent.auth == (fake.api_key, fake.api_token)
    assert fake.calls == {}

    stranger = ExotelProvider(line_for(fake, caller_id="+918000000000"))
    assert stranger.check().endswith("the caller ID is NOT one of them.")


def test_check_with_bad_or_missing_credentials(fake: FakeExotel) -> None:
    wrong = ExotelProvider(line_for(fake, credentials={"api_key": "k", "api_token": "nope"}))
    error = refused(wrong.check, ProviderError.AUTH)
    assert error.detail == exotel_module.AUTH_DETAIL
    assert fake.received[-1].auth == ("k", "nope")

    other_account = ExotelProvider(line_for(fake, account_sid="someoneelse"))
    refused(other_account.check, ProviderError.AUTH)  # 403

    before = len(fake.received)
    unconfigured = ExotelProvider(None)
    error = refused(unconfigured.check, ProviderError.AUTH)
    assert error.detail == exotel_module.NO_ACCOUNT_DETAIL
    refused(lambda: unconfigured.place_call(request_for(fake)), ProviderError.AUTH)
    assert len(fake.received) == before  # nothing was sent anywhere


def test_the_shared_fixture_serves_a_fresh_account(request: pytest.FixtureRequest) -> None:
    served: FakeExotel = request.getfixturevalue("fake_exotel")

    provider = ExotelProvider(line_for(served))
    assert provider.check().startswith(f"Exotel account {served.account_sid}: 3 ExoPhones")
    assert served.url.startswith("http://127.0.0.1:")
