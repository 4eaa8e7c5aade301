"""Rep states on the calling floor, driven by the real claim, call and outcome services;
skips, the silent-console loop, and personal ("me") callbacks."""

import io
import json
from datetime import date, timedelta
from itertools import pairwise

import pytest
from django.core.management import call_command

from leadline.core import loops as core_loops
from leadline.core.errors import ApiError
from leadline.dialer import loops, reports, services
from leadline.dialer.models import CallAttempt, LeadSkip, RepState, RepStateInterval
from leadline.leads.models import Lead

OBJECTIVE = "Connected : Objective Met"
CALLBACK = "Callback Requested"
SECOND = timedelta(seconds=1)


def states_of(rep):
    return [
        (i.state, i.pause_code)
        for i in RepStateInterval.objects.filter(rep=rep).order_by("started_at", "pk")
    ]


def assert_contiguous(rep):
    """Each interval starts where the previous one ended; only the last is open."""
    intervals = list(RepStateInterval.objects.filter(rep=rep).order_by("started_at", "pk"))
    for before, after in pairwise(intervals):
        assert before.ended_at == after.started_at
    assert [i.ended_at is None for i in intervals].count(True) == 1
    assert intervals[-1].ended_at is None


def work_one(rep, now, outcome=OBJECTIVE, **kwargs):
    lead = services.lead_claim(rep=rep, now=now)
    assert lead is not None
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now + SECOND)
    assert RepState.objects.get(rep=rep).state == "on_call"
    attempt = services.call_refresh(attempt=attempt, now=now + 5 * SECOND)
    assert attempt.telephony_status == "completed"
    assert RepState.objects.get(rep=rep).state == "wrap_up"
    answers = {"interested": "yes"}
    return services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=outcome,
        answers=answers,
        now=now + 9 * SECOND,
        **kwargs,
    )


def test_the_services_move_the_rep_through_their_states(
    campaign, make_leads, rep, now, answered_calls
):
    make_leads(2)
    services.rep_available(rep=rep, now=now)
    work_one(rep, now)
    assert RepState.objects.get(rep=rep).state == "available"
    # A pause asked for during the next call starts once its outcome is saved.
    lead = services.lead_claim(rep=rep, now=now + 20 * SECOND)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now + 20 * SECOND)
    view = services.rep_pause(rep=rep, code="lunch", now=now + 21 * SECOND)
    assert view.state == "on_call" and view.pause_after == "lunch"
    attempt = services.call_refresh(attempt=attempt, now=now + 25 * SECOND)
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": "no"},
        now=now + 30 * SECOND,
    )
    paused = RepState.objects.get(rep=rep)
    assert (paused.state, paused.pause_code) == ("paused", "lunch")
    services.rep_available(rep=rep, now=now + 90 * SECOND)
    services.rep_offline(rep_id=rep.pk, now=now + 100 * SECOND)

    assert states_of(rep) == [
        ("offline", ""),
        ("available", ""),
        ("on_call", ""),
        ("wrap_up", ""),
        ("available", ""),
        ("on_call", ""),
        ("wrap_up", ""),
        ("paused", "lunch"),
        ("available", ""),
        ("offline", ""),
    ]
    assert_contiguous(rep)
    lunch = RepStateInterval.objects.get(rep=rep, state="paused")
    assert lunch.ended_at - lunch.started_at == 60 * SECOND


def test_pause_codes_are_checked_and_a_held_lead_goes_back(campaign, make_leads, rep, now):
    make_leads(1)
    services.rep_available(rep=rep, now=now)
    for code in ("nap", "break\x00", "x" * 40):
        with pytest.raises(ApiError) as bad:
            services.rep_pause(rep=rep, code=code, now=now)
        assert bad.value.status == 400
    lead = services.lead_claim(rep=rep, now=now)
    services.rep_pause(rep=rep, code="break", now=now + SECOND)
    lead.refresh_from_db()
    assert lead.leased_by_id is None


def test_a_silent_console_takes_the_rep_offline_and_frees_the_lead(
    campaign, make_leads, rep, rep2, now
):
    assert loops.reps_silent_offline  # registered with the worker (below)
    make_leads(1)
    services.rep_available(rep=rep, now=now)
    services.rep_available(rep=rep2, now=now)
    lead = services.lead_claim(rep=rep, now=now)
    services.rep_heartbeat(rep=rep2, now=now + timedelta(minutes=2))
    assert services.reps_silent_offline(now=now + timedelta(minutes=2, seconds=30)) == 1
    assert RepState.objects.get(rep=rep).state == "offline"
    assert RepState.objects.get(rep=rep2).state == "available"
    lead.refresh_from_db()
    assert lead.leased_by_id is None
    taken = services.lead_claim(rep=rep2, now=now + timedelta(minutes=3))
    assert taken is not None and taken.pk == lead.pk
    assert "reps-silent-offline" in {loop.name for loop in core_loops.registered()}


def test_skip_records_the_reason_and_returns_the_lead_to_the_queue(
    campaign, make_leads, rep, rep2, now, answered_calls
):
    make_leads(2)
    first = services.lead_claim(rep=rep, now=now)
    with pytest.raises(ApiError):
        services.lead_skip(rep=rep, lead_pk=first.pk, reason="", now=now)
    with pytest.raises(ApiError):
        services.lead_skip(rep=rep2, lead_pk=first.pk, reason="Other", now=now)
    services.lead_skip(rep=rep, lead_pk=first.pk, reason="Other", now=now + SECOND)
    skip = LeadSkip.objects.get()
    assert (skip.rep_id, skip.lead_id, skip.reason) == (rep.pk, first.pk, "Other")
    first.refresh_from_db()
    assert first.leased_by_id is None and first.attempts_count == 0
    # Behind the lead that was waiting already.
    second = services.lead_claim(rep=rep, now=now + 2 * SECOND)
    assert second.pk != first.pk
    attempt = services.call_place(rep=rep, lead_pk=second.pk, now=now + 2 * SECOND)
    with pytest.raises(ApiError):
        services.lead_skip(rep=rep, lead_pk=second.pk, reason="Other", now=now + 3 * SECOND)
    assert CallAttempt.objects.get().pk == attempt.pk


def test_a_personal_callback_reaches_its_rep_then_anyone_after_the_grace_time(
    campaign, make_leads, rep, rep2, now, answered_calls
):
    make_leads(1)
    campaign.callback_grace_minutes = 10
    campaign.save(update_fields=["callback_grace_minutes"])
    due = now + timedelta(hours=1)
    result = work_one(rep, now, CALLBACK, callback_at=due, callback_for="me")
    assert result.state == "callback" and result.attempt.callback_owner_id == rep.pk
    lead = Lead.objects.get()

    # Before it is due nobody has it, not even its rep (nothing is held).
    assert services.lead_claim(rep=rep, now=due - SECOND) is None
    assert services.lead_held_by(rep=rep, now=due - SECOND) is None
    # Due: another rep does not get it, its rep does.
    assert services.lead_claim(rep=rep2, now=due + SECOND) is None
    assert services.lead_claim(rep=rep, now=due + SECOND).pk == lead.pk

    # Its rep went offline meanwhile: after the grace time any rep takes it.
    services.rep_offline(rep_id=rep.pk, now=due + 2 * SECOND)
    assert services.lead_claim(rep=rep2, now=due + timedelta(minutes=11)).pk == lead.pk


def test_an_anyone_callback_goes_to_any_rep(campaign, make_leads, rep, rep2, now, answered_calls):
    make_leads(1)
    due = now + timedelta(hours=1)
    result = work_one(rep, now, CALLBACK, callback_at=due, callback_for="anyone")
    assert result.attempt.callback_owner_id is None
    assert services.lead_claim(rep=rep2, now=due + SECOND).pk == result.lead.pk
    with pytest.raises(ApiError) as bad:
        services.disposition_submit(
            rep=rep,
            attempt_uuid=str(result.attempt.uuid),
            outcome_label=CALLBACK,
            answers={},
            callback_for="them",
        )
    assert bad.value.status == 400


@pytest.mark.django_db(transaction=True)
def test_twenty_progressive_reps_call_each_lead_once_and_account_for_their_time(
    api, campaign, make_leads, answered_calls
):
    # Every call answered and every outcome final (no callbacks): each lead is called once.
    campaign.outcomes.exclude(connected=False).exclude(label=OBJECTIVE).delete()
    make_leads(80)
    out = io.StringIO()
    call_command(
        "simulate",
        "--campaign",
        campaign.public_id,
        "--reps",
        "20",
        "--mode",
        "progressive",
        "--fast-forward",
        "--json",
        stdout=out,
        stderr=io.StringIO(),
    )
    report = json.loads(out.getvalue())
    assert report["errors"] == [] and report["mode"] == "progressive"
    assert report["leads_processed"] == 80
    counts = list(CallAttempt.objects.values_list("lead_id", flat=True))
    assert len(counts) == len(set(counts)) == 80  # no lead called twice
    assert set(report["state_seconds"]) >= {"available", "on_call", "wrap_up"}
    reps = RepState.objects.filter(rep__username__startswith="sim-rep-")
    assert reps.count() == 20
    for row in reps:
        assert row.state == "offline"
        intervals = list(RepStateInterval.objects.filter(rep_id=row.rep_id).order_by("started_at"))
        closed = [i for i in intervals if i.ended_at is not None]
        # The time in each state adds up to the rep's time on the floor, to the microsecond.
        spent = sum(((i.ended_at - i.started_at) for i in closed), timedelta())
        assert spent == closed[-1].ended_at - closed[0].started_at
        assert intervals[-1].ended_at is None and intervals[-1].state == "offline"
        called = CallAttempt.objects.filter(rep_id=row.rep_id).exists()
        expected = {"available", "on_call", "wrap_up"} if called else {"available"}
        assert {i.state for i in closed} >= expected
    # The daily reports the services kept equal a recount of the raw rows (twice: the
    # worker's compaction changes how they are stored, not what they say).
    call_command("reports", "verify", stdout=io.StringIO())
    reports.report_days_compact(limit=1000)
    call_command("reports", "verify", stdout=io.StringIO())
    kept = reports.campaign_days(campaigns=[campaign], start=date.min, end=date.max)
    assert sum(day.attempts for day in kept) == 80
    assert sum(day.processed for day in kept) == 80
