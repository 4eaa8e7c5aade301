"""Recording retention: per business, by call time, files deleted, the lead's URL cleared."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from conftest import ApiClient
from leadline.core.loops import registered
from leadline.dialer import loops, services
from leadline.dialer.models import CallAttempt
from leadline.dialer.tests.conftest import make_rep
from leadline.dialer.tests.test_dialer_flow import BUSY, OBJECTIVE, call
from leadline.leads.models import Lead


def create_leads(api, campaign, *lead_ids):
    body = [
        {"lead_id": lead_id, "phone_number": f"98765{i:05d}", "contact_name": f"P {i}"}
        for i, lead_id in enumerate(lead_ids)
    ]
    response = api.post(f"/api/v4/leads/create/{campaign.public_id}/", body)
    assert response.status_code == 201, response.content


def called_days_ago(attempt, days):
    CallAttempt.objects.filter(pk=attempt.pk).update(
        started_at=timezone.now() - timedelta(days=days)
    )


def item_of(api, campaign, lead_id):
    results = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    return next(item for item in results if item["lead_id"] == lead_id)


@pytest.fixture
def other_api(client, other_token):
    return ApiClient(client, other_token)


@pytest.fixture
def calls(api, other_api, campaign, other_campaign, rep, now, answered_calls):
    """Business A keeps recordings 365 days (the default); business B keeps them 30.

    A: `a-old` called 400 days ago, `a-kept` 300 days ago, `a-twice` 400 days ago (busy) and
    again 10 days ago. B: `b-old` 31 days ago, `b-kept` 29 days ago. Every call is recorded.
    """
    other_campaign.business.recording_retention_days = 30
    other_campaign.business.save()
    other_rep = make_rep(other_campaign, "rep-b", "+919000000009")
    attempts = {}
    create_leads(api, campaign, "a-old", "a-kept", "a-twice")
    for lead_id, days in (("a-old", 400), ("a-kept", 300)):
        attempts[lead_id] = call(rep, now, OBJECTIVE, {"interested": "yes"}).attempt
        called_days_ago(attempts[lead_id], days)
    attempts["a-twice-first"] = call(rep, now, BUSY, skip_delays=True).attempt
    called_days_ago(attempts["a-twice-first"], 400)
    later = now + timedelta(minutes=1)  # the retry is due from the busy call's disposition
    attempts["a-twice"] = call(rep, later, OBJECTIVE, {"interested": "no"}).attempt
    called_days_ago(attempts["a-twice"], 10)
    create_leads(other_api, other_campaign, "b-old", "b-kept")
    for lead_id, days in (("b-old", 31), ("b-kept", 29)):
        attempts[lead_id] = call(other_rep, now, OBJECTIVE, {"interested": "yes"}).attempt
        called_days_ago(attempts[lead_id], days)
    for attempt in attempts.values():
        attempt.refresh_from_db()
        assert attempt.recording and default_storage.exists(attempt.recording)
    return attempts


def test_recordings_past_each_business_retention_are_deleted(
    api, other_api, campaign, other_campaign, calls, django_capture_on_commit_callbacks
):
    purged = {"a-old", "a-twice-first", "b-old"}

    with django_capture_on_commit_callbacks(execute=True):
        assert loops.purge_recordings() == len(purged)
        # Files go once the transaction commits (as with erasure), not before.
        assert all(default_storage.exists(calls[name].recording) for name in purged)

    for name, attempt in calls.items():
        current = CallAttempt.objects.get(pk=attempt.pk)
        if name in purged:
            assert current.recording == "", name
            assert not default_storage.exists(attempt.recording), name
        else:
            assert current.recording == attempt.recording, name
            assert default_storage.exists(attempt.recording), name
    assert loops.purge_recordings() == 0

    # The lead's latest recording was the purged one: its URL now reads null.
    assert Lead.objects.get(lead_id="a-old").latest_recording is None
    assert item_of(api, campaign, "a-old")["latest_recording_url"] is None
    assert Lead.objects.get(lead_id="b-old").latest_recording is None
    assert item_of(other_api, other_campaign, "b-old")["latest_recording_url"] is None
    # An older call's recording going does not touch a newer latest recording.
    assert Lead.objects.get(lead_id="a-twice").latest_recording == str(calls["a-twice"].uuid)
    for lead_id in ("a-kept", "a-twice"):
        assert item_of(api, campaign, lead_id)["latest_recording_url"].startswith("http")
    assert item_of(other_api, other_campaign, "b-kept")["latest_recording_url"].startswith("http")


def test_a_run_is_bounded(calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recordings_purge(limit=2) == 2
        assert services.recordings_purge(limit=2) == 1
        assert services.recordings_purge(limit=2) == 0
    assert CallAttempt.objects.exclude(recording="").count() == len(calls) - 3
    kept = [
        attempt.recording for attempt in calls.values() if default_storage.exists(attempt.recording)
    ]
    assert len(kept) == len(calls) - 3


def test_the_loop_is_registered():
    loop = next(loop for loop in registered() if loop.name == "purge-recordings")
    assert loop.interval_seconds == 600
    assert loop.factory().run_once is loops.purge_recordings
