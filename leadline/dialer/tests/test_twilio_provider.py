"""The Twilio provider against the fake Twilio (tests/fakes/twilio.py), over real HTTP on
127.0.0.1: the requests it makes, the states it reads, the callbacks it verifies, the
recordings it downloads and deletes, and how it fails, without ever leaking a number."""

import logging
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.http import QueryDict

from leadline.dialer.telephony import (
    CallbackEvent,
    CallbackRejected,
    CallRequest,
    Line,
    ProviderError,
    RecordingNotReady,
    provider_for,
)
from leadline.dialer.telephony import twilio as twilio_module
from leadline.dialer.telephony.twilio import LineHttpClient, TwilioProvider
from tests.fakes import twilio as fakes

fake_twilio = fakes.fake_twilio  # the shared fixture, as the lead's conftests use it

LEAD = "+919812345678"
LEAD_DIGITS = "9812345678"
REP = "+15551230001"
REP_DIGITS = "5551230001"
NOW = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


class Receiver:
    """Our side of the callbacks: records every request the fake posts, answers 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    {
                        "url": f"http://127.0.0.1:{receiver.port}{self.path}",
                        "headers": dict(self.headers.items()),
                        "body": body,
                        "params": dict(urllib.parse.parse_qsl(body.decode())),
                    }
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/dialer/telephony/twilio/tok-abc123"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


def make_line(fake: fakes.FakeTwilio, *, auth_token: str | None = None) -> Line:
    return Line(
        provider="twilio",
        account_sid=fake.account_sid,
        credentials={"auth_token": fake.auth_token if auth_token is None else auth_token},
        api_url=fake.url,
        caller_id=fake.numbers[0],
    )


@pytest.fixture
def provider(fake_twilio) -> TwilioProvider:
    return TwilioProvider(make_line(fake_twilio))


def request_for(callback_url: str = "", **overrides) -> CallRequest:
    values = {
        "reference": "0b6c1f0e-attempt",
        "rep_phone": REP,
        "lead_phone": LEAD,
        "caller_id": "+15005550006",
        "callback_url": callback_url,
        "ring_seconds": 25,
        "max_call_seconds": 1800,
        **overrides,
    }
    return CallRequest(**values)


def state(provider: TwilioProvider, sid: str):
    return provider.call_state(call_id=sid, placed_at=NOW, now=NOW)


def parse(provider: TwilioProvider, posted: dict) -> CallbackEvent:
    return provider.parse_callback(
        url=posted["url"], params=posted["params"], headers=posted["headers"], body=posted["body"]
    )


def assert_private(*texts: str) -> None:
    for text in texts:
        assert LEAD_DIGITS not in text
        assert REP_DIGITS not in text


# -- placing a call ---------------------------------------------------------------------------


def test_place_call_sends_the_documented_create_request(fake_twilio, provider, receiver):
    sid = provider.place_call(request_for(receiver.url))

    assert sid == fake_twilio.last_call_sid()
    assert sid.startswith("CA") and len(sid) == 34
    create = [r for r in fake_twilio.received if r.method == "POST"]
    assert len(create) == 1
    sent = create[0]
    assert sent.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Calls.json"
    assert sent.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    # The rep's phone rings first (the API call); the lead is the <Dial>'s number.
    assert sent.form["To"] == REP
    assert sent.form["From"] == "+15005550006"
    assert sent.form["StatusCallback"] == receiver.url
    assert sent.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent.form["StatusCallbackMethod"] == "POST"
    assert sent.form["Timeout"] == "25"
    assert sent.form["TimeLimit"] == "1800"
    assert "Url" not in sent.form

    root = ET.fromstring(sent.form["Twiml"])
    dial = root.find("Dial")
    assert dial.attrib == {
        "callerId": "+15005550006",
        "timeout": "25",
        "timeLimit": "1800",
        "record": "record-from-answer-dual",
        "recordingStatusCallback": receiver.url,
        "recordingStatusCallbackEvent": "completed",
    }
    number = dial.find("Number")
    assert number.text == LEAD
    assert number.attrib == {
        "statusCallback": receiver.url,
        "statusCallbackEvent": "initiated ringing answered completed",
    }
    call = fake_twilio.calls[sid]
    assert (call.status, call.to, call.caller_id) == ("queued", REP, "+15005550006")
    assert call.dial.number == LEAD and call.dial.records


def test_place_call_without_recording_asks_for_none(fake_twilio, provider, receiver):
    sid = provider.place_call(request_for(receiver.url, record=False))
    dial = fake_twilio.calls[sid].dial
    assert dial.record == "do-not-record"
    assert dial.recording_status_callback == ""


def test_place_call_falls_back_on_the_lines_caller_id(fake_twilio, provider):
    sid = provider.place_call(request_for(caller_id=""))
    assert fake_twilio.calls[sid].from_ == "+15005550006"
    assert fake_twilio.calls[sid].caller_id == "+15005550006"


def test_provider_for_builds_a_twilio_provider(fake_twilio):
    provider = provider_for(make_line(fake_twilio))
    assert isinstance(provider, TwilioProvider)
    assert (provider.name, provider.pushes_status, provider.signed_callbacks) == (
        "twilio",
        True,
        True,
    )
    assert provider.recording_inline is False
    assert fake_twilio.auth_token not in repr(provider)


# -- call_state through every path ------------------------------------------------------------


def test_call_state_follows_a_completed_call(fake_twilio, provider):
    sid = provider.place_call(request_for())
    assert state(provider, sid).status == "ringing"  # queued: the rep's phone
    fake_twilio.rep_answers(sid)
    assert state(provider, sid).status == "ringing"  # now the lead's phone
    fake_twilio.lead_answers(sid)
    assert state(provider, sid).status == "answered"
    fake_twilio.hang_up(sid, talk_seconds=42)

    final = state(provider, sid)
    assert final.status == "completed"
    assert final.duration_seconds == 42
    assert (final.ended_at - final.answered_at).total_seconds() == 42
    child = fake_twilio.calls[fake_twilio.calls[sid].child_sid]
    assert final.ended_at == child.ended_at
    assert final.recording_ref == fake_twilio.calls[sid].recording_sid
    assert final.recording_ref.startswith("RE")


@pytest.mark.parametrize(
    ("script", "status", "detail"),
    [
        (["rep_answers", "lead_busy"], "busy", ""),
        (["rep_answers", "lead_no_answer"], "no_answer", ""),
        (["rep_no_answer"], "failed", "Your phone did not answer."),
        (["fail_call"], "failed", "Your phone could not be reached."),
        (["rep_answers", "fail_call"], "failed", "The lead's number could not be reached."),
    ],
)
def test_call_state_for_calls_that_never_connect(fake_twilio, provider, script, status, detail):
    sid = provider.place_call(request_for())
    for step in script:
        getattr(fake_twilio, step)(sid)
    result = state(provider, sid)
    assert (result.status, result.detail) == (status, detail)
    assert result.duration_seconds == 0
    assert result.recording_ref == ""
    assert_private(result.detail, repr(result))


def test_call_state_when_the_lead_number_cannot_be_dialled(fake_twilio, provider):
    # Twilio's test number for "not a valid number": the <Dial> fails when it runs.
    sid = provider.place_call(request_for(lead_phone="+15005550001"))
    fake_twilio.rep_answers(sid)
    result = state(provider, sid)
    assert result.status == "failed"
    assert result.detail == "The lead's number could not be reached."


def test_call_state_when_the_rep_gives_up_while_the_lead_rings(fake_twilio, provider):
    sid = provider.place_call(request_for())
    fake_twilio.rep_answers(sid)
    fake_twilio.rep_hangs_up(sid)
    result = state(provider, sid)
    assert (result.status, result.detail) == ("no_answer", twilio_module.LEAD_CANCELED_DETAIL)


def test_a_rep_leg_that_completes_without_a_lead_leg_failed():
    # A parent call that completed and never had a child: the lead was never dialled.
    result = twilio_module.rep_leg_state("completed")
    assert (result.status, result.detail) == (
        "failed",
        "The call ended before the lead was dialled.",
    )
    assert twilio_module.rep_leg_state("in-progress").status == "ringing"


def test_call_state_of_an_unknown_call_is_not_found(provider):
    with pytest.raises(ProviderError) as caught:
        state(provider, "CA" + "0" * 32)
    assert caught.value.kind == ProviderError.NOT_FOUND


# -- callbacks --------------------------------------------------------------------------------


def test_callbacks_of_a_completed_call_parse_to_the_lead_side_story(
    fake_twilio, provider, receiver
):
    sid = provider.place_call(request_for(receiver.url))
    fake_twilio.rep_answers(sid)
    fake_twilio.lead_answers(sid)
    fake_twilio.hang_up(sid, talk_seconds=42)

    assert [c.status for c in fake_twilio.callbacks] == [200] * len(fake_twilio.callbacks)
    assert len(receiver.requests) == len(fake_twilio.callbacks) == 9
    events = [parse(provider, posted) for posted in receiver.requests]
    assert {event.call_id for event in events} == {sid}  # the child's callbacks name the parent
    states = [event.state.status if event.state else None for event in events]
    # The rep's leg (initiated, ringing, answered), the lead's leg (initiated, ringing,
    # answered, completed), the rep's leg completing, then the recording.
    assert states == [None, None, None, "ringing", "ringing", "answered", "completed", None, None]
    answered, completed = events[5].state, events[6].state
    assert answered.answered_at is not None
    assert completed.duration_seconds == 42
    assert (completed.ended_at - completed.answered_at).total_seconds() == 42
    assert events[-1].recording_ref == fake_twilio.calls[sid].recording_sid
    for event in events:
        assert_private(repr(event))


@pytest.mark.parametrize(
    ("script", "status", "detail"),
    [
        (["rep_answers", "lead_busy"], "busy", ""),
        (["rep_answers", "lead_no_answer"], "no_answer", ""),
        (["rep_no_answer"], "failed", "Your phone did not answer."),
        (["fail_call"], "failed", "Your phone could not be reached."),
        (["rep_answers", "rep_hangs_up"], "no_answer", "The call ended before the lead answered."),
    ],
)
def test_final_callbacks_say_how_a_call_ended(
    fake_twilio, provider, receiver, script, status, detail
):
    sid = provider.place_call(request_for(receiver.url))
    for step in script:
        getattr(fake_twilio, step)(sid)
    finals = [e.state for e in map(lambda p: parse(provider, p), receiver.requests) if e.state]
    assert (finals[-1].status, finals[-1].detail) == (status, detail)


def test_duplicate_callbacks_parse_to_the_same_events(fake_twilio, provider, receiver):
    fake_twilio.duplicate_callbacks = True
    sid = provider.place_call(request_for(receiver.url))
    fake_twilio.rep_answers(sid)
    assert len(receiver.requests) == 10  # five callbacks, each twice
    events = [parse(provider, posted) for posted in receiver.requests]
    assert events[0::2] == events[1::2]


def test_dropped_callbacks_leave_call_state_to_tell(fake_twilio, provider, receiver):
    fake_twilio.drop_callbacks = True
    sid = provider.place_call(request_for(receiver.url))
    fake_twilio.rep_answers(sid)
    fake_twilio.lead_answers(sid)
    fake_twilio.hang_up(sid, talk_seconds=12)
    assert receiver.requests == [] and fake_twilio.callbacks == []
    assert len(fake_twilio.dropped_callbacks) == 9
    result = state(provider, sid)
    assert (result.status, result.duration_seconds) == ("completed", 12)


def test_a_django_querydict_verifies_like_a_dict(fake_twilio, provider, receiver):
    sid = provider.place_call(request_for(receiver.url))
    fake_twilio.rep_no_answer(sid)
    posted = receiver.requests[-1]
    event = provider.parse_callback(
        url=posted["url"],
        params=QueryDict(posted["body"].decode()),
        headers=posted["headers"],
        body=posted["body"],
    )
    assert event.state.detail == "Your phone did not answer."


@pytest.fixture
def posted(fake_twilio, provider, receiver) -> dict:
    """One real callback: the lead's leg ringing."""
    sid = provider.place_call(request_for(receiver.url))
    fake_twilio.rep_answers(sid)
    return next(p for p in receiver.requests if p["params"].get("ParentCallSid"))


def test_a_forged_signature_is_rejected(provider, posted):
    headers = {**posted["headers"], "X-Twilio-Signature": "c2lnbmVkIGJ5IG5vYm9keQ=="}
    with pytest.raises(CallbackRejected) as caught:
        parse(provider, {**posted, "headers": headers})
    assert caught.value.status == 403


def test_a_callback_signed_with_another_token_is_rejected(fake_twilio, posted):
    other = TwilioProvider(make_line(fake_twilio, auth_token="f" * 32))
    with pytest.raises(CallbackRejected) as caught:
        parse(other, posted)
    assert caught.value.status == 403


def test_a_tampered_parameter_is_rejected(provider, posted):
    params = {**posted["params"], "CallStatus": "completed", "CallDuration": "600"}
    with pytest.raises(CallbackRejected) as caught:
        parse(provider, {**posted, "params": params})
    assert caught.value.status == 403


def test_a_callback_for_another_url_is_rejected(provider, posted):
    url = posted["url"].replace("tok-abc123", "tok-other")
    with pytest.raises(CallbackRejected) as caught:
        parse(provider, {**posted, "url": url})
    assert caught.value.status == 403


def test_a_missing_signature_is_rejected(provider, posted):
    headers = {k: v for k, v in posted["headers"].items() if k.lower() != "x-twilio-signature"}
    with pytest.raises(CallbackRejected) as caught:
        parse(provider, {**posted, "headers": headers})
    assert caught.value.status == 403


def test_the_signature_is_read_from_django_meta_too(provider, posted):
    headers = {"HTTP_X_TWILIO_SIGNATURE": posted["headers"]["X-Twilio-Signature"]}
    assert parse(provider, {**posted, "headers": headers}).state.status == "ringing"


@pytest.mark.parametrize(
    "change",
    [
        {"CallSid": None},
        {"CallSid": "not-a-sid"},
        {"CallStatus": "exploded"},
        {"CallStatus": None},
        {"CallStatus": "completed", "CallDuration": "forty"},
        {"ParentCallSid": "CA-short"},
        {"RecordingSid": "RE-nope"},
    ],
)
def test_a_well_signed_but_malformed_callback_is_a_400(fake_twilio, provider, posted, change):
    params = {**posted["params"], **change}
    params = {k: v for k, v in params.items() if v is not None}
    # Signed exactly as Twilio would, so only the content is wrong.
    headers = {"X-Twilio-Signature": fakes.sign(fake_twilio.auth_token, posted["url"], params)}
    with pytest.raises(CallbackRejected) as caught:
        parse(provider, {**posted, "params": params, "headers": headers})
    assert caught.value.status == 400


# -- recordings -------------------------------------------------------------------------------


def completed_call(fake: fakes.FakeTwilio, provider: TwilioProvider, **request) -> str:
    sid = provider.place_call(request_for(**request))
    fake.rep_answers(sid)
    fake.lead_answers(sid)
    fake.hang_up(sid, talk_seconds=20)
    return sid


def test_fetch_recording_downloads_the_mp3_byte_for_byte(fake_twilio, provider):
    sid = completed_call(fake_twilio, provider)
    ref = state(provider, sid).recording_ref

    recording = provider.fetch_recording(call_id=sid, recording_ref=ref)

    assert recording.audio == fake_twilio.recording_bytes(sid, "mp3")
    assert recording.audio[:2] == b"\xff\xfb"  # an MPEG-1 Layer III frame header
    assert (recording.content_type, recording.extension) == ("audio/mpeg", "mp3")
    media = fake_twilio.received[-1]
    assert media.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Recordings/{ref}.mp3"
    assert media.auth == (fake_twilio.account_sid, fake_twilio.auth_token)


def test_fetch_recording_finds_the_recording_by_call(fake_twilio, provider):
    sid = completed_call(fake_twilio, provider)
    recording = provider.fetch_recording(call_id=sid, recording_ref="")
    assert recording.audio == fake_twilio.recording_bytes(sid)


def test_a_late_recording_is_not_ready_until_twilio_says_so(fake_twilio, provider, receiver):
    fake_twilio.recording_delay = True
    sid = completed_call(fake_twilio, provider, callback_url=receiver.url)
    ref = fake_twilio.calls[sid].recording_sid
    assert not any("RecordingSid" in p["params"] for p in receiver.requests)
    with pytest.raises(RecordingNotReady):
        provider.fetch_recording(call_id=sid, recording_ref=ref)
    with pytest.raises(RecordingNotReady):  # the media answers 404 meanwhile
        provider._download(ref)

    fake_twilio.recording_ready(sid)
    event = parse(provider, receiver.requests[-1])
    assert (event.call_id, event.recording_ref) == (sid, ref)
    recording = provider.fetch_recording(call_id=sid, recording_ref=event.recording_ref)
    assert recording.audio == fake_twilio.recording_bytes(sid)


def test_a_call_never_answered_has_no_recording(fake_twilio, provider):
    sid = provider.place_call(request_for())
    fake_twilio.rep_answers(sid)
    fake_twilio.lead_busy(sid)
    assert provider.fetch_recording(call_id=sid, recording_ref="") is None


def test_a_call_still_in_progress_has_no_recording_yet(fake_twilio, provider):
    sid = provider.place_call(request_for())
    fake_twilio.rep_answers(sid)
    fake_twilio.lead_answers(sid)
    with pytest.raises(RecordingNotReady):
        provider.fetch_recording(call_id=sid, recording_ref="")


def test_the_fake_serves_wav_by_default_and_asks_for_auth(fake_twilio, provider):
    sid = completed_call(fake_twilio, provider)
    ref = fake_twilio.calls[sid].recording_sid
    url = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Recordings/{ref}"
    assert requests.get(url, timeout=5).status_code == 401
    answer = requests.get(url, auth=(fake_twilio.account_sid, fake_twilio.auth_token), timeout=5)
    assert answer.headers["Content-Type"] == "audio/x-wav"
    assert answer.content == fake_twilio.recording_bytes(sid, "wav")
    assert answer.content[:4] == b"RIFF" and answer.content[8:12] == b"WAVE"


def test_delete_recording_removes_twilios_copy(fake_twilio, provider):
    sid = completed_call(fake_twilio, provider)
    ref = fake_twilio.calls[sid].recording_sid

    assert provider.delete_recording(call_id=sid, recording_ref=ref) is True
    assert fake_twilio.deleted_recordings == {ref}
    deletes = [r for r in fake_twilio.received if r.method == "DELETE"]
    assert deletes[0].path.endswith(f"/Recordings/{ref}.json")
    # Gone already (a 404) counts as deleted.
    assert provider.delete_recording(call_id=sid, recording_ref=ref) is True


def test_delete_recording_finds_the_recording_by_call(fake_twilio, provider):
    sid = completed_call(fake_twilio, provider)
    assert provider.delete_recording(call_id=sid, recording_ref="") is True
    assert fake_twilio.deleted_recordings == {fake_twilio.calls[sid].recording_sid}


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ProviderError.AUTH),
        (403, ProviderError.AUTH),
        (429, ProviderError.RATE_LIMITED),
        (500, ProviderError.UNAVAILABLE),
        (503, ProviderError.UNAVAILABLE),
    ],
)
def test_api_failures_become_provider_errors(fake_twilio, provider, status, kind):
    fake_twilio.fail_next(status)
    with pytest.raises(ProviderError) as caught:
        provider.place_call(request_for())
    assert caught.value.kind == kind
    assert caught.value.detail == twilio_module.DETAILS[kind]
    # The next request goes through: a failure is not a lost account.
    assert provider.place_call(request_for()).startswith("CA")


def test_a_429_carries_retry_after(fake_twilio, provider):
    fake_twilio.fail_next(429, retry_after=7)
    with pytest.raises(ProviderError) as caught:
        provider.place_call(request_for())
    assert caught.value.kind == ProviderError.RATE_LIMITED
    assert caught.value.retry_after == 7.0


def test_wrong_credentials_are_an_auth_error(fake_twilio):
    provider = TwilioProvider(make_line(fake_twilio, auth_token="0" * 32))
    with pytest.raises(ProviderError) as caught:
        provider.place_call(request_for())
    assert caught.value.kind == ProviderError.AUTH
    assert fake_twilio.calls == {}


def test_a_503_passes_its_retry_after_on(fake_twilio, provider):
    fake_twilio.fail_next(503, retry_after=30)
    with pytest.raises(ProviderError) as caught:
        provider.check()
    assert (caught.value.kind, caught.value.retry_after) == (ProviderError.UNAVAILABLE, 30.0)


def test_a_provider_that_is_down_is_unavailable(fake_twilio, provider):
    fake_twilio.down = True
    with pytest.raises(ProviderError) as caught:
        state(provider, "CA" + "1" * 32)
    assert caught.value.kind == ProviderError.UNAVAILABLE


def test_a_slow_provider_times_out(fake_twilio, monkeypatch):
    monkeypatch.setattr(twilio_module, "TIMEOUT", (2.0, 0.2))
    provider = TwilioProvider(make_line(fake_twilio))
    fake_twilio.delay_seconds = 1.0
    with pytest.raises(ProviderError) as caught:
        provider.place_call(request_for())
    assert caught.value.kind == ProviderError.UNAVAILABLE
    assert caught.value.detail == twilio_module.TIMEOUT_DETAIL


def test_connection_refused_is_unavailable_until_twilio_is_back(fake_twilio, provider):
    fake_twilio.stop()
    with pytest.raises(ProviderError) as caught:
        provider.check()
    assert caught.value.kind == ProviderError.UNAVAILABLE
    fake_twilio.start()
    assert provider.check().startswith("Twilio account AC")


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"rep_phone": "12345"}, twilio_module.REP_NUMBER_DETAIL),  # 21211, not E.164
        ({"rep_phone": "+15005550001"}, twilio_module.REP_NUMBER_DETAIL),  # 21217
        ({"rep_phone": "+15005550002"}, twilio_module.REP_NUMBER_DETAIL),  # 21214
        ({"caller_id": "+15005550009"}, twilio_module.CALLER_ID_DETAIL),  # 21210, not ours
    ],
)
def test_rejected_numbers_are_invalid_number_errors(fake_twilio, provider, overrides, detail):
    with pytest.raises(ProviderError) as caught:
        provider.place_call(request_for(**overrides))
    assert caught.value.kind == ProviderError.INVALID_NUMBER
    assert caught.value.detail == detail


def test_no_number_reaches_an_error_or_a_log(fake_twilio, provider, caplog, receiver):
    """Twilio's error messages quote numbers; none of it may leave the provider."""
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    for status in (401, 403, 429, 500, 503):
        fake_twilio.fail_next(status)
        with pytest.raises(ProviderError) as caught:
            provider.place_call(request_for(receiver.url))
        errors.append(caught.value)
    for rep_phone in ("+15005550001", "98123456789"):
        with pytest.raises(ProviderError) as caught:
            provider.place_call(request_for(receiver.url, rep_phone=rep_phone))
        errors.append(caught.value)
        assert "9812345" not in caught.value.detail
    # A whole call, callbacks and recording included, logs nothing with a number either.
    sid = completed_call(fake_twilio, provider, callback_url=receiver.url)
    for posted in receiver.requests:
        parse(provider, posted)
    provider.fetch_recording(call_id=sid, recording_ref="")

    for error in errors:
        # Raised outside the except block: Twilio's exception is neither cause nor context.
        assert error.__cause__ is None and error.__context__ is None
        assert_private(str(error), error.detail, repr(error))
    assert_private(caplog.text)
    assert any("HTTP 429" in r.getMessage() for r in caplog.records)


# -- check ------------------------------------------------------------------------------------


def test_check_reads_the_account(fake_twilio, provider):
    description = provider.check()
    assert description == f"Twilio account {fake_twilio.account_sid}: Leadline test account, active"
    fetched = fake_twilio.received[-1]
    assert (fetched.method, fetched.path) == (
        "GET",
        f"/2010-04-01/Accounts/{fake_twilio.account_sid}.json",
    )
    assert fake_twilio.auth_token not in description
    assert not any(r.method == "POST" for r in fake_twilio.received)  # nothing dialled


def test_check_with_bad_credentials(fake_twilio):
    provider = TwilioProvider(make_line(fake_twilio, auth_token="0" * 32))
    with pytest.raises(ProviderError) as caught:
        provider.check()
    assert caught.value.kind == ProviderError.AUTH


def test_a_provider_without_an_account_refuses_politely():
    provider = TwilioProvider(None)
    with pytest.raises(ProviderError) as caught:
        provider.check()
    assert caught.value.kind == ProviderError.AUTH
    with pytest.raises(CallbackRejected) as rejected:
        provider.parse_callback(url="https://x.test/cb", params={}, headers={}, body=b"")
    assert rejected.value.status == 403


# -- plumbing ---------------------------------------------------------------------------------


def test_the_http_client_points_twilio_hosts_at_the_accounts_api_url():
    client = LineHttpClient("http://127.0.0.1:8123/twilio")
    path = "/2010-04-01/Accounts/AC1/Calls.json?PageSize=20"
    assert client.rewrite("https://api.twilio.com" + path) == "http://127.0.0.1:8123/twilio" + path
    assert (
        client.rewrite("https://api.dublin.ie1.twilio.com" + path)
        == "http://127.0.0.1:8123/twilio" + path
    )
    assert client.rewrite("https://example.com" + path) == "https://example.com" + path
    default = LineHttpClient("https://api.twilio.com")
    assert default.rewrite("https://api.sydney.au1.twilio.com" + path) == (
        "https://api.sydney.au1.twilio.com" + path
    )
    assert client.timeout == twilio_module.TIMEOUT


def test_the_fake_answers_documented_errors(fake_twilio):
    url = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Calls.json"
    answer = requests.get(url, auth=(fake_twilio.account_sid, "wrong"), timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    fake_twilio.fail_next(503, retry_after=3)
    answer = requests.get(url, auth=(fake_twilio.account_sid, fake_twilio.auth_token), timeout=5)
    assert (answer.status_code, answer.json()["code"], answer.headers["Retry-After"]) == (
        503,
        20503,
        "3",
    )
    assert fake_twilio.received[-1].auth == (fake_twilio.account_sid, fake_twilio.auth_token)
