"""Daily report figures, kept by the real claim, call, outcome, skip and state services, and
`reports verify` against a recount of the raw rows."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from leadline.core import loops as core_loops
from leadline.dialer import reports, services
from leadline.dialer.models import CallAttempt, DayCount, RepStateInterval
from leadline.dialer.reports import Kind
from leadline.dialer.tests.test_rep_states import OBJECTIVE, SECOND, work_one
from leadline.leads.models import Lead
from leadline.leads.services import lead_convert

MINUTE = timedelta(minutes=1)


def rep_day(rep, campaign, day):
    rows = [
        r
        for r in reports.rep_days(campaign_ids=[campaign.pk], start=day, end=day)
        if r.rep_id == rep.pk
    ]
    assert len(rows) == 1
    return rows[0]


def campaign_day(campaign, day):
    rows = reports.campaign_days(campaigns=[campaign], start=day, end=day)
    assert len(rows) == 1
    return rows[0]


def assert_verified():
    check = reports.reports_verify()
    assert check.differences == []


def test_a_working_session_fills_the_rep_and_campaign_days(
    campaign, make_leads, rep, now, answered_calls
):
    make_leads(3)
    services.rep_available(rep=rep, now=now)
    first = work_one(rep, now)  # processed: a final connected outcome
    assert first.state == "processed"
    attempt = CallAttempt.objects.get()
    # A skip, a pause with a code, and signing out.
    lead = services.lead_claim(rep=rep, now=now + 20 * SECOND)
    services.lead_skip(rep=rep, lead_pk=lead.pk, reason="Other", now=now + 21 * SECOND)
    services.rep_pause(rep=rep, code="lunch", now=now + 30 * SECOND)
    services.rep_available(rep=rep, now=now + 30 * SECOND + 5 * MINUTE)
    services.rep_offline(rep_id=rep.pk, now=now + 40 * SECOND + 5 * MINUTE)

    day = reports.day_of(now, reports.campaign_zone(campaign.pk))
    figures = rep_day(rep, campaign, day)
    assert (figures.calls, figures.connects, figures.skips) == (1, 1, 1)
    assert figures.outcomes == {OBJECTIVE: 1}
    assert figures.talk_seconds == attempt.duration_seconds and attempt.duration_seconds > 0
    # The call ended at +5 s and its outcome came at +9 s: four seconds of wrap-up.
    assert figures.wrap_up_seconds == 4
    assert figures.pause_seconds == {"lunch": 300}
    assert figures.state_seconds["paused"] == 300
    assert figures.state_seconds["on_call"] == 4  # placed at +1 s, ended at +5 s
    # Available: until the call (1 s), from the outcome to the pause (21 s), and from the
    # end of the pause to signing out (10 s); offline since then is still open: not counted.
    assert figures.state_seconds["available"] == 32
    assert "offline" not in figures.state_seconds
    assert figures.connect_rate == 1.0

    row = campaign_day(campaign, day)
    assert (row.attempts, row.connects, row.processed, row.processed_attempts) == (1, 1, 1, 1)
    assert row.attempts_per_processed == 1.0
    assert row.outcomes == {OBJECTIVE: 1}
    assert_verified()


def test_talk_time_counts_when_the_call_ends_after_its_outcome(
    campaign, make_leads, rep, now, settings, media
):
    # The simulator's call lasts (speed 1: real seconds), so the outcome comes first.
    settings.LEADLINE_SIMULATOR = {"answer": 1.0, "busy": 0.0, "speed": 1.0}
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=OBJECTIVE,
        answers={"interested": "yes"},
        now=now + SECOND,
    )
    day = reports.day_of(now, reports.campaign_zone(campaign.pk))
    assert rep_day(rep, campaign, day).talk_seconds == 0
    ended = services.call_refresh(attempt=CallAttempt.objects.get(), now=now + 60 * MINUTE)
    assert ended.telephony_status == "completed" and ended.duration_seconds
    assert rep_day(rep, campaign, day).talk_seconds == ended.duration_seconds
    assert_verified()


def test_time_in_a_state_is_split_at_the_campaigns_midnight(
    campaign, make_leads, rep, now, answered_calls
):
    assert campaign.timezone == "Asia/Kolkata"
    make_leads(1)
    services.rep_available(rep=rep, now=now)
    work_one(rep, now)  # the rep's intervals are in the campaign from the call on
    # 23:30 to 00:45 in Kolkata (18:00 to 19:15 UTC): 30 minutes one day, 45 the next.
    start = now.replace(hour=18, minute=0)
    services.rep_pause(rep=rep, code="break", now=start)
    services.rep_available(rep=rep, now=start + 75 * MINUTE)
    paused = RepStateInterval.objects.get(rep=rep, state="paused")
    assert paused.campaign_id == campaign.pk
    zone = reports.campaign_zone(campaign.pk)
    day = reports.day_of(start, zone)
    assert reports.day_of(start + 75 * MINUTE, zone) == day + timedelta(days=1)
    assert rep_day(rep, campaign, day).pause_seconds == {"break": 30 * 60}
    assert rep_day(rep, campaign, day + timedelta(days=1)).pause_seconds == {"break": 45 * 60}
    # Time before the first call had no campaign: filed on the platform's (UTC) days.
    outside = DayCount.objects.filter(rep=rep, campaign__isnull=True, kind=Kind.STATE)
    assert set(outside.values_list("key", flat=True)) == {"available"}
    assert_verified()


def test_a_conversion_counts_once_on_its_day(campaign, make_leads, rep, now, answered_calls):
    make_leads(1)
    work_one(rep, now)
    lead = Lead.objects.get()
    lead_convert(campaign=campaign, lead_id=lead.lead_id, detail="PAID")
    lead_convert(campaign=campaign, lead_id=lead.lead_id, detail="PAID_AGAIN")  # a repeat
    lead.refresh_from_db()
    day = reports.day_of(lead.converted_at, reports.campaign_zone(campaign.pk))
    rows = reports.campaign_days(campaigns=[campaign], start=day, end=day)
    assert [r.conversions for r in rows] == [1]
    assert_verified()


def test_compaction_keeps_every_figure(campaign, make_leads, rep, rep2, now, answered_calls):
    make_leads(4)
    for i, who in enumerate((rep, rep2, rep, rep2)):
        services.rep_available(rep=who, now=now + i * MINUTE)
        work_one(who, now + i * MINUTE)
    day = reports.day_of(now, reports.campaign_zone(campaign.pk))
    before = reports.rep_days(campaign_ids=[campaign.pk], start=day, end=day)
    dirty = DayCount.objects.filter(compacted=False).count()
    assert reports.report_days_compact() == dirty
    assert reports.report_days_compact() == 0
    assert not DayCount.objects.filter(compacted=False).exists()
    assert reports.rep_days(campaign_ids=[campaign.pk], start=day, end=day) == before
    assert "compact-report-days" in {loop.name for loop in core_loops.registered()}
    assert_verified()


def test_verify_finds_and_repairs_a_tampered_row(campaign, make_leads, rep, now, answered_calls):
    make_leads(2)
    work_one(rep, now)
    work_one(rep, now + MINUTE)
    reports.report_days_compact()
    day = reports.day_of(now, reports.campaign_zone(campaign.pk))
    # Someone (a bug, a hand edit) changed a kept figure.
    DayCount.objects.filter(rep=rep, kind=Kind.CALLS).update(n=7)
    DayCount.objects.filter(kind=Kind.PROCESSED).delete()

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reports", "verify", "--json", stdout=out)
    found = json.loads(out.getvalue())
    assert found["ok"] is False
    wrong = {(d["kind"], d["kept"], d["actual"]) for d in found["differences"]}
    assert wrong == {("calls", 7, 2), ("processed", 0, 2)}

    out = io.StringIO()
    call_command("reports", "verify", "--repair", "--date", day.isoformat(), stdout=out)
    assert "repaired" in out.getvalue()
    call_command("reports", "verify", "--campaign", campaign.public_id, stdout=io.StringIO())
    assert rep_day(rep, campaign, day).calls == 2
    assert campaign_day(campaign, day).processed == 2


def test_verify_refuses_bad_arguments(db):
    for args in (["--date", "2026-13-45"], ["--campaign", "cmp_nope"]):
        with pytest.raises(CommandError):
            call_command("reports", "verify", *args, stdout=io.StringIO())
