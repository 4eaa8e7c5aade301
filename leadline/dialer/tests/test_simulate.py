"""`leadline simulate`: simulated reps work leads through the console's services.

The command runs reps in threads with their own connections, so these tests commit for real
(`transaction=True`): a test transaction would hide the leads from the reps' connections.
"""

import io
import json
import random
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome, ScriptQuestion
from leadline.campaigns.rules import answers_clean, window_open
from leadline.campaigns.services import campaign_create
from leadline.dialer import services
from leadline.dialer.models import CallAttempt
from leadline.dialer.services import CALLBACKS_BEYOND_MAX_ATTEMPTS
from leadline.dialer.simulation import (
    answers_generate,
    callback_time,
    outcome_choose,
    sim_reps_ensure,
)
from leadline.dialer.telephony import get_provider
from leadline.leads.models import Lead
from leadline.webhooks.models import Event

from .conftest import next_monday_morning

threaded = pytest.mark.django_db(transaction=True)


def simulate(*args) -> dict:
    out = io.StringIO()
    call_command("simulate", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.fixture
def full_script(campaign):
    """Every kind of question, some required, on top of the default script."""
    for position, (key, kind, required, options) in enumerate(
        [
            ("plan", ScriptQuestion.Kind.CHOICE, True, ["Silver", "Gold", "Platinum"]),
            ("family_members", ScriptQuestion.Kind.NUMBER, False, []),
            ("renewal_date", ScriptQuestion.Kind.DATE, False, []),
        ],
        start=10,
    ):
        campaign.questions.create(
            position=position, key=key, label=key, kind=kind, required=required, options=options
        )
    return campaign


def results(api, campaign) -> dict[str, dict]:
    body = api.get(f"/api/v4/leads/responses/{campaign.public_id}/", {"page_size": 1000}).json()
    return {item["lead_id"]: item for item in body["results"]}


@threaded
def test_fast_forward_processes_every_lead_through_the_services(
    api, campaign, full_script, make_leads, media
):
    lead_ids = make_leads(60)
    report = simulate("--campaign", campaign.public_id, "--reps", "4", "--fast-forward")

    assert report["errors"] == []
    assert report["leads_processed"] == report["leads_worked"] == 60
    assert report["left_queued"] == 0
    attempts = list(CallAttempt.objects.select_related("lead"))
    assert report["attempts"] == len(attempts) == sum(report["outcomes"].values())
    assert sum(report["processed_by_outcome"].values()) == 60
    # The default odds give a mix: answered calls, and busy or unanswered ones that retry.
    assert report["telephony"].get("completed") and len(report["telephony"]) > 1

    campaign.refresh_from_db()
    outcomes = {o.label: o for o in campaign.outcomes.all()}
    for lead in Lead.objects.filter(campaign=campaign):
        assert lead.status == Lead.Status.PROCESSED
        assert lead.lead_outcome in outcomes
        assert lead.processed_at is not None and lead.latest_called_at is not None
        # Callbacks may run past the attempt limit, by a bounded number of calls.
        picked = lead.attempts.values_list("outcome", flat=True)
        callbacks = any(outcomes[label].effect == Outcome.Effect.CALLBACK for label in picked)
        limit = campaign.max_attempts + (CALLBACKS_BEYOND_MAX_ATTEMPTS if callbacks else 0)
        assert 1 <= lead.attempts_count <= limit
        assert lead.attempts_count == lead.attempts.count()
        assert lead.leased_by_id is None

    # Outcomes follow the telephony: only answered calls are connected, and connected calls
    # carry the script's required answers.
    for attempt in attempts:
        assert attempt.disposed_at is not None and attempt.outcome
        assert attempt.started_at <= attempt.disposed_at
        if attempt.telephony_status != CallAttempt.TelephonyStatus.COMPLETED:
            assert not attempt.connected and attempt.answers == {}
            assert outcomes[attempt.outcome].effect == Outcome.Effect.RETRY
            assert attempt.telephony_status.replace("_", " ") in attempt.outcome.lower()
        elif attempt.connected:
            assert {"interested", "plan"} <= set(attempt.answers)
            assert attempt.recording
        else:
            assert outcomes[attempt.outcome].effect == Outcome.Effect.FINAL

    # Exactly one lead.processed event per lead, carrying what the GET API shows.
    events = Event.objects.filter(type=Event.Type.LEAD_PROCESSED)
    assert Counter(events.values_list("lead_id", flat=True)) == Counter(
        Lead.objects.values_list("pk", flat=True)
    )
    shown = results(api, campaign)
    assert set(shown) == set(lead_ids)
    for event in events:
        item = shown[event.payload["lead_id"]]
        assert event.payload == item
        assert item["lead_outcome"] and item["processed_at"] and item["latest_called_at"]

    reps = User.objects.filter(username__startswith="sim-rep-")
    assert reps.count() == 4
    for rep in reps:
        assert rep.role == User.Role.REP and rep.phone_number
        assert rep.business_id == campaign.business_id
        assert list(rep.rep_campaigns.all()) == [campaign]


@threaded
def test_outside_the_calling_window_nothing_is_processed(api, campaign, make_leads, media):
    make_leads(5)
    sunday = next_monday_morning() - timedelta(days=1)
    report = simulate("--campaign", campaign.public_id, "--now", sunday.isoformat())
    assert report["window_open"] is False
    assert report["leads_processed"] == report["attempts"] == 0
    assert report["left_queued"] == 5
    assert not CallAttempt.objects.exists()
    assert all(item["processed_at"] is None for item in results(api, campaign).values())

    out = io.StringIO()
    call_command(
        "simulate", "--campaign", campaign.public_id, "--now", sunday.isoformat(), stdout=out
    )
    assert "window is closed" in out.getvalue()


@threaded
def test_in_the_window_retries_and_callbacks_wait_for_their_time(api, campaign, make_leads, media):
    make_leads(30)
    monday = next_monday_morning()
    report = simulate("--campaign", campaign.public_id, "--now", monday.isoformat(), "--reps", "3")
    assert report["errors"] == []
    # Each new lead is called once; a busy, unanswered or callback lead is not due again yet.
    assert report["attempts"] == report["leads_worked"] == 30
    assert report["leads_processed"] + report["left_queued"] == 30
    assert report["left_queued"] == report["states"].get("retry", 0) + report["states"].get(
        "callback", 0
    )
    if report["left_queued"]:
        assert report["next_due_at"] > monday.isoformat()
    for lead in Lead.objects.all():
        assert lead.attempts_count == 1
        if lead.status == Lead.Status.QUEUED:
            assert lead.due_at > monday and lead.processed_at is None
            assert lead.queue_class in (Lead.QueueClass.RETRY, Lead.QueueClass.CALLBACK)
        else:
            assert lead.processed_at >= monday
    assert Event.objects.count() == report["leads_processed"]

    # A week later, fast-forwarding, the rest is finished off.
    later = (monday + timedelta(days=7)).isoformat()
    again = simulate("--campaign", campaign.public_id, "--now", later, "--fast-forward")
    assert again["leads_processed"] == report["left_queued"]
    assert not Lead.objects.filter(status=Lead.Status.QUEUED).exists()
    assert Event.objects.count() == 30


@threaded
def test_same_seed_same_answers_whatever_rep_gets_the_lead(
    api, business, campaign, make_leads, answered_calls
):
    # Every call answered, so the telephony (random per call id) cannot differ between runs.
    make_leads(20)
    twin = campaign_create(business=business, name="Twin")
    leads = [
        {"lead_id": f"lead-{i}", "phone_number": f"98765{i:05d}", "contact_name": "P"}
        for i in range(20)
    ]
    response = api.post(f"/api/v4/leads/create/{twin.public_id}/", leads)
    assert response.status_code == 201, response.content
    first = simulate(
        "--campaign", campaign.public_id, "--reps", "3", "--seed", "11", "--fast-forward"
    )
    second = simulate("--campaign", twin.public_id, "--reps", "2", "--seed", "11", "--fast-forward")
    assert first["seed"] == second["seed"] == 11
    assert first["outcomes"] == second["outcomes"]

    def by_lead(c):
        return {
            item["lead_id"]: (item["lead_outcome"], item["lead_responses"])
            for item in results(api, c).values()
        }

    assert by_lead(campaign) == by_lead(twin)
    assert (
        len(
            {
                responses["interested"]
                for _, responses in by_lead(campaign).values()
                if "interested" in responses
            }
        )
        == 2
    )


@threaded
def test_a_call_left_open_by_an_interrupted_run_is_finished_first(campaign, make_leads, media):
    make_leads(3)
    rep = sim_reps_ensure(campaign=campaign, count=1)[0]
    lead = services.lead_claim(rep=rep, ignore_window=True)
    open_call = services.call_place(rep=rep, lead_pk=lead.pk)
    report = simulate("--campaign", campaign.public_id, "--reps", "1", "--fast-forward")
    assert report["errors"] == []
    assert report["leads_processed"] == 3
    open_call.refresh_from_db()
    assert open_call.disposed_at is not None
    assert not CallAttempt.objects.filter(disposed_at__isnull=True).exists()


class RingsRealPhones:
    name = "real-carrier"


@pytest.mark.django_db
def test_refuses_anything_but_the_simulator_and_unknown_campaigns(campaign, settings):
    settings.LEADLINE_TELEPHONY_PROVIDER = f"{__name__}.RingsRealPhones"
    get_provider.cache_clear()
    try:
        with pytest.raises(CommandError, match="real people"):
            simulate("--campaign", campaign.public_id)
    finally:
        get_provider.cache_clear()
    with pytest.raises(CommandError, match="No campaign"):
        simulate("--campaign", "NOPE00")
    with pytest.raises(CommandError, match="reps"):
        simulate("--campaign", campaign.public_id, "--reps", "0")
    assert not User.objects.filter(username__startswith="sim-rep-").exists()


@pytest.mark.django_db
def test_generated_answers_pass_the_script_and_match_the_call(full_script):
    campaign = full_script
    outcomes = list(campaign.outcomes.all())
    questions = list(campaign.questions.all())
    rng = random.Random(3)
    today = date(2026, 3, 2)
    seen = Counter()
    for _ in range(300):
        status = rng.choice(["completed", "busy", "no_answer", "failed"])
        outcome = outcome_choose(outcomes, status, rng)
        seen[outcome.effect] += 1
        assert outcome.connected == (status == "completed" and outcome.label != "Wrong Number")
        answers = answers_generate(questions, outcome, rng, today)
        cleaned = answers_clean(questions, answers, connected=outcome.connected)
        assert cleaned == answers
        if outcome.label == "Connected : Not Interested":
            seen[("not interested", answers["interested"])] += 1
    assert seen[Outcome.Effect.CALLBACK] and seen[Outcome.Effect.RETRY]
    assert seen[Outcome.Effect.FINAL]
    # Answers lean the way the outcome says.
    assert seen[("not interested", "no")] > seen[("not interested", "yes")]


def test_callback_times_are_in_the_future_and_inside_the_window():
    campaign = Campaign(name="x")
    rng = random.Random(5)
    monday = next_monday_morning()
    for hours in range(0, 24 * 7, 5):
        now = monday + timedelta(hours=hours)
        at = callback_time(campaign, now, rng)
        assert at > now
        assert window_open(campaign, at), at.astimezone(ZoneInfo(campaign.timezone))


@pytest.mark.django_db
def test_refuses_a_campaign_whose_account_rings_real_phones(campaign):
    from leadline.campaigns.models import TelephonyAccount

    account = TelephonyAccount(
        business=campaign.business,
        provider="exotel",
        account_sid="acme",
        caller_ids=["+918047100100"],
    )
    account.credentials_set({"api_key": "k", "api_token": "t"})
    account.save()
    campaign.telephony_account = account
    campaign.save(update_fields=["telephony_account"])
    with pytest.raises(CommandError, match="real people"):
        simulate("--campaign", campaign.public_id)
    assert not User.objects.filter(username__startswith="sim-rep-").exists()
