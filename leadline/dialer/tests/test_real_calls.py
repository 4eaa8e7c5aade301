"""Calls through real providers (Exotel, Twilio), each against its fake server over HTTP.

The dialer services place the call at the fake; the fake's scripted progress posts the
provider's documented callbacks to our callback URL on a live server (pytest-django's
`live_server`, real HTTP); the worker's loops (reconcile, recording fetch, provider deletion)
run as functions. Every test runs once per provider.
"""

import logging
import re
from datetime import time, timedelta

import pytest
import requests
from django.core.files.storage import default_storage
from django.utils import timezone

from leadline.campaigns.models import TelephonyAccount
from leadline.core.errors import BadRequest, RateLimited, ServiceUnavailable
from leadline.dialer import selectors, services
from leadline.dialer.models import CallAttempt
from leadline.leads import services as lead_services
from leadline.leads.models import Lead
from leadline.leads.results import lead_result
from tests.fakes.exotel import FakeExotel
from tests.fakes.twilio import FakeTwilio

from .conftest import make_rep

LEAD_DIGITS = "9876543210"
OBJECTIVE = "Connected : Objective Met"
NOT_CONNECTED = "Not Connected : No Answer"


@pytest.fixture(params=["exotel", "twilio"])
def fake(request):
    cls = FakeExotel if request.param == "exotel" else FakeTwilio
    with cls() as server:
        yield server


@pytest.fixture
def line(fake, campaign, live_server, settings, media, transactional_db):
    """The campaign calls through an account at the fake; callbacks reach the live server."""
    settings.LEADLINE_PUBLIC_URL = live_server.url
    settings.LEADLINE_SIMULATOR = {"speed": 1}
    if isinstance(fake, FakeExotel):
        account = TelephonyAccount(
            business=campaign.business,
            provider="exotel",
            account_sid=fake.account_sid,
            caller_ids=list(fake.numbers),
            api_url=fake.url,
        )
        account.credentials_set({"api_key": fake.api_key, "api_token": fake.api_token})
    else:
        account = TelephonyAccount(
            business=campaign.business,
            provider="twilio",
            account_sid=fake.account_sid,
            caller_ids=list(fake.numbers),
            api_url=fake.url,
        )
        account.credentials_set({"auth_token": fake.auth_token})
    account.save()
    campaign.telephony_account = account
    campaign.caller_id = fake.numbers[0]
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = campaign.window_start.replace(hour=0, minute=0)
    campaign.window_end = time.max  # the whole day: a test may run at 23:59 local
    campaign.save()
    return account


@pytest.fixture
def held(line, campaign, api):
    """A rep holding a lead of the campaign (created through the API)."""
    response = api.post(
        f"/api/v4/leads/create/{campaign.public_id}/",
        [{"lead_id": "real-1", "phone_number": LEAD_DIGITS, "contact_name": "Asha"}],
    )
    assert response.status_code == 201, response.content
    rep = make_rep(campaign, "rep-real", "+919000000001")
    lead = services.lead_claim(rep=rep)
    assert lead is not None
    return rep, lead


def _converse(fake, sid: str, seconds: int) -> None:
    """The rep picks up, then the lead; they talk for `seconds` and hang up."""
    fake.rep_answers(sid)
    fake.lead_answers(sid)
    fake.hang_up(sid, talk_seconds=seconds)


def _attempt(pk: int) -> CallAttempt:
    return CallAttempt.objects.select_related("lead").get(pk=pk)


def _no_lead_digits(text: str) -> None:
    digits = re.sub(r"\D", "", text)
    assert LEAD_DIGITS not in digits


def test_a_call_end_to_end_through_callbacks_recording_and_deletion(fake, held, client, caplog):
    caplog.set_level(logging.DEBUG)
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    assert sid and sid in fake.calls
    assert attempt.telephony_status == "initiated"

    fake.rep_answers(sid)
    fake.lead_answers(sid)
    assert _attempt(attempt.pk).telephony_status == "answered"
    fake.hang_up(sid, talk_seconds=42)
    done = _attempt(attempt.pk)
    assert done.telephony_status == "completed"
    assert done.duration_seconds == 42
    assert done.recording_status == "pending"
    assert not done.recording

    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": True},
    )
    assert result.state == "processed"
    lead.refresh_from_db()
    url = lead_result(lead=lead, campaign=lead.campaign)["latest_recording_url"]
    assert url and "/recordings/" in url
    path = url.split("://", 1)[1].split("/", 1)[1]

    waiting = client.get("/" + path)
    assert waiting.status_code == 404
    assert waiting.json()["status"] == "pending"

    assert services.recordings_fetch() == 1
    stored = _attempt(attempt.pk)
    assert stored.recording_status == "stored"
    audio = client.get("/" + path)
    assert audio.status_code == 200
    assert b"".join(audio.streaming_content) == fake.recording_bytes(sid)
    part = client.get("/" + path, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == fake.recording_bytes(sid)[:10]

    services.recordings_provider_delete()
    after = _attempt(attempt.pk)
    assert after.provider_copy is False
    if isinstance(fake, FakeTwilio):
        assert fake.deleted_recordings, "Twilio's copy is deleted once ours is stored"
    for record in caplog.records:
        _no_lead_digits(record.getMessage())


def test_forged_unknown_and_malformed_callbacks_change_nothing(fake, held, live_server):
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    unknown = requests.post(
        f"{live_server.url}/telephony/callbacks/not-a-real-token/",
        data={"CallSid": sid, "Status": "completed", "CallStatus": "completed"},
        timeout=10,
    )
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/json"

    # Our own callback URL, as the provider got it, with forged content.
    our_url = _callback_url_of(fake)
    forged = requests.post(
        our_url,
        data={
            "CallSid": sid,
            "Status": "completed",
            "CallStatus": "completed",
            "CallDuration": "99",
            "ConversationDuration": "99",
        },
        headers={"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"},
        timeout=10,
    )
    # Twilio: the signature fails (403). Exotel: unsigned, so the call is read back from
    # Exotel, which says it is still ringing: nothing is recorded as completed.
    assert forged.status_code == (403 if isinstance(fake, FakeTwilio) else 409)
    assert _attempt(attempt.pk).telephony_status in ("initiated", "ringing")
    garbage = requests.post(our_url, data=b"\x00\xff{", timeout=10)
    assert 400 <= garbage.status_code < 500
    assert _attempt(attempt.pk).telephony_status in ("initiated", "ringing")


def _callback_url_of(fake, index: int = -1) -> str:
    """The status callback URL a request of ours gave the provider (as the fake received it)."""
    for request in reversed(fake.received) if index == -1 else fake.received[index:]:
        if request.method == "POST" and request.path.endswith(("connect.json", "Calls.json")):
            form = request.form
            value = form.get("StatusCallback")
            if isinstance(value, list):
                value = value[0]
            if value:
                return value
    raise AssertionError("no callback URL was sent to the provider")


def test_duplicate_and_out_of_order_callbacks_are_harmless(fake, held):
    rep, lead = held
    fake.duplicate_callbacks = True
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 17)
    done = _attempt(attempt.pk)
    assert (done.telephony_status, done.duration_seconds) == ("completed", 17)
    # Every callback again, oldest first, after the final one: nothing moves backwards.
    fake.duplicate_callbacks = False
    for sent in list(fake.callbacks):
        if getattr(sent, "method", "POST") == "POST":
            _repost(sent)
    again = _attempt(attempt.pk)
    assert (again.telephony_status, again.duration_seconds) == ("completed", 17)
    assert again.answered_at == done.answered_at


def test_a_callback_replayed_to_another_calls_address_is_refused(fake, held, campaign, api):
    rep, lead = held
    first = services.call_place(rep=rep, lead_pk=lead.pk)
    fake.rep_answers(first.provider_call_id)
    fake.lead_answers(first.provider_call_id)
    fake.hang_up(first.provider_call_id, talk_seconds=9)
    services.disposition_submit(
        rep=rep, attempt_uuid=str(first.uuid), outcome_label=NOT_CONNECTED, answers={}
    )
    Lead.objects.filter(pk=lead.pk).update(
        leased_by=rep, lease_expires_at=timezone.now() + timedelta(minutes=5), due_at=timezone.now()
    )
    second = services.call_place(rep=rep, lead_pk=lead.pk)
    second_url = _callback_url_of(fake)
    assert second_url != _callback_url_of(fake, 0)
    final = [sent for sent in fake.callbacks if sent.url != second_url][-1]
    replayed = _resend(final, second_url)
    assert 400 <= replayed.status_code < 500
    assert _attempt(second.pk).telephony_status == "initiated"


def _resend(sent, url: str | None = None) -> requests.Response:
    """Post a callback the fake sent once more, as it was sent (signature included), to its
    own address or another one."""
    if hasattr(sent, "body"):  # Exotel: the exact body and content type
        headers = {"Content-Type": sent.content_type}
        data = sent.body
    else:  # Twilio: the signed form
        headers = dict(sent.headers)
        data = sent.params
    return requests.post(url or sent.url, data=data, headers=headers, timeout=10)


def _repost(sent) -> None:
    answer = _resend(sent)
    assert answer.status_code == 200, answer.content


def test_dropped_callbacks_are_recovered_by_reconciliation(fake, held):
    rep, lead = held
    fake.drop_callbacks = True
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 25)
    assert _attempt(attempt.pk).telephony_status == "initiated"
    # Too early: a call is only read back after a few minutes without news.
    assert services.calls_reconcile() == 0
    later = timezone.now() + timedelta(minutes=3)
    assert services.calls_reconcile(now=later) == 1
    done = _attempt(attempt.pk)
    assert (done.telephony_status, done.duration_seconds) == ("completed", 25)
    assert done.recording_status == "pending"


def test_unanswered_calls_end_without_recording(fake, held):
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    fake.rep_answers(attempt.provider_call_id)
    fake.lead_busy(attempt.provider_call_id)
    busy = _attempt(attempt.pk)
    assert busy.telephony_status == "busy"
    assert busy.recording_status == ""
    result = services.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label="Not Connected : Busy", answers={}
    )
    assert result.state == "retry"


def test_the_reps_phone_not_answering_fails_the_call_with_a_reason(fake, held):
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    fake.rep_no_answer(attempt.provider_call_id)
    failed = _attempt(attempt.pk)
    assert failed.telephony_status == "failed"
    assert failed.failure
    _no_lead_digits(failed.failure)


def test_late_recordings_are_retried_then_given_up_with_a_reason(fake, held, client):
    rep, lead = held
    fake.recording_delay = True
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 30)
    services.recordings_fetch()
    waiting = _attempt(attempt.pk)
    assert waiting.recording_status == "pending"
    assert waiting.recording_tries == 1
    assert waiting.recording_next_at > timezone.now()
    # Not due yet: nothing is asked.
    assert services.recordings_fetch() == 0
    fake.recording_ready(sid)
    assert services.recordings_fetch(now=waiting.recording_next_at) == 1
    assert _attempt(attempt.pk).recording_status == "stored"


def test_a_recording_that_never_comes_is_given_up_after_an_hour(fake, held, client):
    rep, lead = held
    fake.recording_delay = True
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 30)
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": True},
    )
    services.recordings_fetch(now=timezone.now() + timedelta(hours=2))
    gone = _attempt(attempt.pk)
    assert gone.recording_status == "failed"
    assert gone.recording_error
    lead.refresh_from_db()
    url = lead_result(lead=lead, campaign=lead.campaign)["latest_recording_url"]
    answer = client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    assert answer.status_code == 404
    assert answer.json()["status"] == "failed"
    assert "provider" in answer.json()["detail"]


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_keep_the_lead_and_let_the_rep_retry(fake, held, status, caplog):
    caplog.set_level(logging.DEBUG)
    rep, lead = held
    fake.fail_next(status)
    with pytest.raises(ServiceUnavailable) as refused:
        services.call_place(rep=rep, lead_pk=lead.pk)
    assert "credentials" in refused.value.detail
    _no_lead_digits(refused.value.detail)
    failed = CallAttempt.objects.get(lead=lead)
    assert (failed.telephony_status, failed.discarded) == ("failed", True)
    assert failed.failure == refused.value.detail
    lead.refresh_from_db()
    assert lead.attempts_count == 0
    assert lead.leased_by_id == rep.pk
    again = services.call_place(rep=rep, lead_pk=lead.pk)
    assert again.provider_call_id
    lead.refresh_from_db()
    assert lead.attempts_count == 1
    for record in caplog.records:
        _no_lead_digits(record.getMessage())


def test_the_providers_429_and_our_own_pacing(fake, held, settings):
    rep, lead = held
    fake.fail_next(429, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        services.call_place(rep=rep, lead_pk=lead.pk)
    assert limited.value.headers["Retry-After"] == "7"
    settings.LEADLINE_TELEPHONY_CALLS_PER_MINUTE = 2  # the 429'd placement counted as one
    services.call_place(rep=rep, lead_pk=lead.pk)
    asked = len(fake.received)
    attempt = CallAttempt.objects.filter(lead=lead, discarded=False).get()
    services.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=NOT_CONNECTED, answers={}
    )
    Lead.objects.filter(pk=lead.pk).update(
        leased_by=rep, lease_expires_at=timezone.now() + timedelta(minutes=5), due_at=timezone.now()
    )
    with pytest.raises(RateLimited) as paced:
        services.call_place(rep=rep, lead_pk=lead.pk)
    assert "paced" in paced.value.detail
    assert len(fake.received) == asked, "a paced call never reaches the provider"


def test_provider_down_or_unreachable(fake, held):
    rep, lead = held
    fake.down = True
    with pytest.raises(ServiceUnavailable):
        services.call_place(rep=rep, lead_pk=lead.pk)
    fake.down = False
    fake.stop()
    with pytest.raises(ServiceUnavailable):
        services.call_place(rep=rep, lead_pk=lead.pk)
    lead.refresh_from_db()
    assert lead.attempts_count == 0
    assert lead.status == "queued"
    assert CallAttempt.objects.filter(lead=lead, discarded=False).count() == 0


def test_an_invalid_number_is_a_clear_400(fake, held):
    rep, lead = held
    fake.fail_next(400)
    with pytest.raises((BadRequest, ServiceUnavailable)) as refused:
        services.call_place(rep=rep, lead_pk=lead.pk)
    _no_lead_digits(refused.value.detail)


def test_erasure_mid_call_discards_the_capture_and_the_providers_copy(fake, held):
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    fake.rep_answers(sid)
    fake.lead_answers(sid)
    lead_services.lead_erase(campaign=lead.campaign, lead_id="real-1")
    fake.hang_up(sid, talk_seconds=12)
    ended = _attempt(attempt.pk)
    assert ended.telephony_status == "completed"
    assert ended.recording_status == ""
    assert not ended.recording
    assert services.recordings_fetch() == 0, "an erased lead's audio is never fetched"
    services.recordings_provider_delete()
    cleared = _attempt(attempt.pk)
    assert cleared.provider_copy is False
    assert cleared.provider_call_id == ""
    if isinstance(fake, FakeTwilio):
        assert fake.deleted_recordings
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": True},
    )
    assert result.state == "discarded"


def test_erasure_after_the_call_deletes_our_file_and_the_providers_copy(fake, held):
    rep, lead = held
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 20)
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": True},
    )
    services.recordings_fetch()
    stored = _attempt(attempt.pk)
    assert stored.recording_status == "stored"
    path = stored.recording
    assert default_storage.exists(path)
    # The live server makes these tests transactional: the erasure commits, and its
    # on-commit file deletion runs, as in production.
    receipt = lead_services.lead_erase(campaign=lead.campaign, lead_id="real-1")
    assert not default_storage.exists(path)
    erased = _attempt(attempt.pk)
    assert (erased.recording, erased.recording_status) == ("", "")
    # Ours is gone at once; the provider's copy goes with the worker's next deletion run.
    assert erased.provider_copy is True
    assert (receipt.counts["recordings"], receipt.counts["provider_recordings"]) == (1, 1)
    # Until then the receipt stays pending, however often its loop runs.
    assert lead_services.erasure_receipts_complete().completed == 0
    services.recordings_provider_delete()
    assert lead_services.erasure_receipts_complete().completed == 1
    receipt.refresh_from_db()
    assert receipt.status == "complete" and receipt.completed_at is not None
    cleared = _attempt(attempt.pk)
    assert (cleared.provider_copy, cleared.provider_call_id, cleared.recording_ref) == (
        False,
        "",
        "",
    )
    if isinstance(fake, FakeTwilio):
        assert fake.deleted_recordings


def test_a_given_up_recording_shows_its_reason_on_the_dashboard(fake, held, campaign):
    rep, lead = held
    fake.recording_delay = True
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    sid = attempt.provider_call_id
    _converse(fake, sid, 30)
    rows = selectors.lead_attempts_for_business(business=campaign.business, lead=lead)
    assert rows[0].recording_note == "Recording on its way from the provider."
    services.recordings_fetch(now=timezone.now() + timedelta(hours=2))
    rows = selectors.lead_attempts_for_business(business=campaign.business, lead=lead)
    assert rows[0].recording_url is None
    assert rows[0].recording_note.startswith("Recording unavailable: ")
    assert "did not publish" in rows[0].recording_note
