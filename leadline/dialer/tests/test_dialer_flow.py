from datetime import timedelta

import pytest

from leadline.campaigns.models import Outcome
from leadline.core.errors import ApiError
from leadline.dialer import services
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead
from leadline.webhooks.models import Event

OBJECTIVE = "Connected : Objective Met"
BUSY = "Not Connected : Busy"
CALLBACK = "Callback Requested"


def call(rep, now, outcome, answers=None, **kwargs):
    lead = services.lead_claim(rep=rep, now=now)
    assert lead is not None
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    attempt = services.call_refresh(attempt=attempt, now=now + timedelta(seconds=1))
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=outcome,
        answers=answers or {},
        now=now + timedelta(seconds=2),
        **kwargs,
    )
    return result


def test_connected_call_processes_the_lead_with_event(
    api, campaign, make_leads, rep, now, answered_calls
):
    make_leads(1)
    result = call(rep, now, OBJECTIVE, {"interested": "yes", "notes": "wants gold"})
    assert result.state == "processed"
    lead = Lead.objects.get(lead_id="lead-0")
    assert lead.status == Lead.Status.PROCESSED
    assert lead.lead_outcome == OBJECTIVE
    assert lead.lead_responses == {"interested": "yes", "notes": "wants gold"}
    assert lead.processed_at is not None and lead.latest_called_at is not None
    assert lead.latest_recording == str(result.attempt.uuid)
    attempt = CallAttempt.objects.get()
    assert attempt.telephony_status == "completed"
    assert attempt.duration_seconds and attempt.recording.endswith(".wav")
    event = Event.objects.get()
    assert event.type == "lead.processed"
    item = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"][0]
    assert event.payload == item
    assert item["lead_outcome"] == OBJECTIVE
    assert item["latest_recording_url"].startswith("http://127.0.0.1:8000/recordings/")


def test_required_answers_only_bind_connected_outcomes(
    campaign, make_leads, rep, now, answered_calls
):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    with pytest.raises(ApiError) as missing:
        services.disposition_submit(
            rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=OBJECTIVE, answers={}, now=now
        )
    assert "interested" in missing.value.extra["errors"]
    with pytest.raises(ApiError):
        services.disposition_submit(
            rep=rep,
            attempt_uuid=str(attempt.uuid),
            outcome_label=OBJECTIVE,
            answers={"interested": "maybe"},
            now=now,
        )
    result = services.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=BUSY, answers={}, now=now
    )
    assert result.state == "retry"


def test_retries_then_attempts_exhausted(campaign, make_leads, rep, now, answered_calls):
    make_leads(1)
    first = call(rep, now, BUSY)
    assert first.state == "retry"
    lead = Lead.objects.get()
    assert lead.queue_class == Lead.QueueClass.RETRY
    assert lead.due_at == now + timedelta(seconds=2) + timedelta(minutes=60)
    assert services.lead_claim(rep=rep, now=now + timedelta(minutes=30)) is None
    later = now + timedelta(minutes=62)
    assert call(rep, later, BUSY).state == "retry"
    last = later + timedelta(minutes=241)
    result = call(rep, last, BUSY)
    assert result.state == "processed"
    lead.refresh_from_db()
    assert lead.attempts_count == 3
    assert lead.lead_outcome == BUSY
    assert lead.lead_responses == {}


def test_callback_is_offered_first_at_the_picked_time(
    campaign, make_leads, rep, now, answered_calls
):
    make_leads(2)
    at = now + timedelta(hours=2)
    result = call(rep, now, CALLBACK, {"interested": "yes"}, callback_at=at)
    assert result.state == "callback"
    called = result.lead.lead_id
    # The other (new) lead comes first until the callback is due; then the callback wins.
    other = services.lead_claim(rep=rep, now=now + timedelta(minutes=5))
    assert other.lead_id != called
    services.leases_expire(now=now + timedelta(hours=1))
    due = services.lead_claim(rep=rep, now=at + timedelta(seconds=1))
    assert due.lead_id == called


def test_callback_needs_a_future_time(campaign, make_leads, rep, now, answered_calls):
    make_leads(1)
    with pytest.raises(ApiError):
        call(rep, now, CALLBACK, {"interested": "yes"}, callback_at=now - timedelta(minutes=1))


def test_two_reps_never_get_the_same_lead(campaign, make_leads, rep, rep2, now):
    make_leads(2)
    a = services.lead_claim(rep=rep, now=now)
    b = services.lead_claim(rep=rep2, now=now)
    assert a.pk != b.pk
    # Asking again returns the lead already held.
    assert services.lead_claim(rep=rep, now=now).pk == a.pk


def test_expired_lease_returns_the_lead(campaign, make_leads, rep, rep2, now):
    make_leads(1)
    held = services.lead_claim(rep=rep, now=now)
    assert services.lead_claim(rep=rep2, now=now + timedelta(minutes=5)) is None
    again = services.lead_claim(rep=rep2, now=now + timedelta(minutes=11))
    assert again.pk == held.pk
    with pytest.raises(services.LeadUnavailable):
        services.call_place(rep=rep, lead_pk=held.pk, now=now + timedelta(minutes=12))


def test_nothing_outside_the_calling_window_or_when_paused(campaign, make_leads, rep, now):
    make_leads(1)
    sunday = now - timedelta(days=1)
    assert services.lead_claim(rep=rep, now=sunday) is None
    late = now.replace(hour=16)  # 21:30 in Kolkata
    assert services.lead_claim(rep=rep, now=late) is None
    campaign.status = "paused"
    campaign.save()
    assert services.lead_claim(rep=rep, now=now) is None
    campaign.status = "active"
    campaign.save()
    assert services.lead_claim(rep=rep, now=now) is not None


def test_disabled_and_processed_leads_are_never_offered(api, campaign, make_leads, rep, now):
    make_leads(1)
    api.post(f"/api/v4/leads/disable/{campaign.public_id}/", {"lead_id": "lead-0"})
    assert services.lead_claim(rep=rep, now=now) is None


def test_disabled_while_held_stops_the_call(api, campaign, make_leads, rep, now, answered_calls):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    api.post(f"/api/v4/leads/disable/{campaign.public_id}/", {"lead_id": "lead-0"})
    with pytest.raises(services.LeadUnavailable) as info:
        services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    assert "disabled" in info.value.detail


def test_disabled_mid_call_records_attempt_without_retry(
    api, campaign, make_leads, rep, now, answered_calls
):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    api.post(f"/api/v4/leads/disable/{campaign.public_id}/", {"lead_id": "lead-0"})
    result = services.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=BUSY, answers={}, now=now
    )
    assert result.state == "stopped"
    assert Lead.objects.get().status == Lead.Status.DISABLED
    assert services.lead_claim(rep=rep, now=now + timedelta(hours=3)) is None


def test_erasure_mid_call_discards_what_was_captured(
    api,
    campaign,
    make_leads,
    rep,
    now,
    answered_calls,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    attempt = services.call_refresh(attempt=attempt, now=now + timedelta(seconds=1))
    assert list((tmp_path / "media").rglob("*.wav"))
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-0"})
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": "yes"},
        now=now,
    )
    assert result.state == "discarded"
    attempt.refresh_from_db()
    assert attempt.answers == {} and attempt.recording == ""
    assert not list((tmp_path / "media").rglob("*.wav"))
    assert not Event.objects.exists()


def test_erasure_after_processing_scrubs_event_and_recording(
    api,
    campaign,
    make_leads,
    rep,
    now,
    answered_calls,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    make_leads(1)
    call(rep, now, OBJECTIVE, {"interested": "yes", "notes": "Call Ravi at home"})
    assert list((tmp_path / "media").rglob("*.wav"))
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-0"})
    assert Event.objects.get().payload == {"erased": True}
    assert CallAttempt.objects.get().answers == {}
    assert not list((tmp_path / "media").rglob("*.wav"))


def test_default_configuration_on_create(campaign):
    assert campaign.max_attempts == 3
    assert campaign.window_days == [0, 1, 2, 3, 4, 5]
    labels = list(campaign.outcomes.values_list("label", "effect"))
    assert (OBJECTIVE, Outcome.Effect.FINAL) in labels
    assert (BUSY, Outcome.Effect.RETRY) in labels
    assert (CALLBACK, Outcome.Effect.CALLBACK) in labels


def test_a_live_call_keeps_its_lead_past_the_lease(campaign, make_leads, rep, rep2, now, settings):
    settings.LEADLINE_SIMULATOR = {
        "answer": 1.0,
        "busy": 0.0,
        "speed": 1.0,
        "ring_seconds": (1, 1),
        "talk_seconds": (3600, 3600),
    }
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    attempt = services.call_refresh(attempt=attempt, now=now + timedelta(minutes=9))
    assert attempt.telephony_status == "answered"
    assert services.lead_claim(rep=rep2, now=now + timedelta(minutes=12)) is None


def test_a_rep_holds_one_lead_at_a_time(campaign, make_leads, rep, now):
    make_leads(3)
    first = services.lead_claim(rep=rep, now=now)
    assert services.lead_claim(rep=rep, now=now + timedelta(seconds=1)).pk == first.pk
    assert Lead.objects.filter(leased_by=rep).count() == 1
