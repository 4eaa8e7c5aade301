"""Call caps across a business's campaigns: the rule, its counting by call_place, the wait
reason of a capped lead, failed placements, the admin's limits and the hashed counters."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leadline.campaigns.services import campaign_create
from leadline.compliance.caps import CallCounts, caps_wait
from leadline.compliance.decisions import dial_decision
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import NumberCallCounter, NumberCallDay
from leadline.core.errors import ApiError, Conflict
from leadline.core.tests.test_admin import form_data
from leadline.dialer import services as dialer
from leadline.dialer.models import CallAttempt
from leadline.dialer.telephony import ProviderError
from leadline.dialer.telephony.simulator import SimulatorProvider
from leadline.dialer.tests.conftest import make_rep, next_monday_morning
from leadline.leads.models import Lead
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import CleanLead

pytestmark = pytest.mark.django_db

PHONE = "+919876543210"
IST = ZoneInfo("Asia/Kolkata")
FINAL = "Wrong Number"  # final, needs no answers


def open_window(campaign):
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = time(0, 0)
    campaign.window_end = time.max
    campaign.save()
    return campaign


def campaigns_with_the_number(business, count, phone=PHONE):
    """`count` campaigns of the business, each with one lead with the same number and its rep."""
    found = []
    for i in range(count):
        campaign = open_window(campaign_create(business=business, name=f"Camp {i}"))
        lead_create_batch(
            campaign=campaign,
            leads=[CleanLead(lead_id=f"L{i}", phone_number=phone, contact_name="P")],
        )
        rep = make_rep(campaign, f"rep-{i}", f"+91900000{i:04d}")
        found.append((campaign, rep, Lead.objects.get(campaign=campaign)))
    return found


def place_and_finish(rep, lead, now):
    claimed = dialer.lead_claim(rep=rep, now=now)
    assert claimed is not None and claimed.pk == lead.pk
    attempt = dialer.call_place(rep=rep, lead_pk=lead.pk, now=now)
    dialer.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=FINAL, answers={}, now=now
    )
    return attempt


# --- the rule ---------------------------------------------------------------------------------


def test_the_daily_cap_waits_for_the_businesss_next_midnight(business):
    now = datetime(2026, 12, 7, 10, 0, tzinfo=IST)  # a Monday
    today = now.date()
    wait = caps_wait(business=business, counts=CallCounts(None, {today: 3}), now=now)
    assert wait is not None and wait.code == "cap_day"
    assert wait.earliest_at == datetime(2026, 12, 8, 0, 0, tzinfo=IST)
    assert "3 time(s) today" in wait.reason
    assert caps_wait(business=business, counts=CallCounts(None, {today: 2}), now=now) is None
    # Another time zone for the business moves its days.
    business.timezone = "UTC"
    wait = caps_wait(business=business, counts=CallCounts(None, {today: 3}), now=now)
    assert wait.earliest_at == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)


def test_the_weekly_cap_is_a_rolling_seven_days(business):
    now = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
    today = now.date()
    # 10 calls: 4 six days ago, 3 five days ago, 3 two days ago. Room comes back when the
    # oldest day leaves the window: tomorrow (6 calls left in the 7 days).
    per_day = {
        today - timedelta(days=6): 4,
        today - timedelta(days=5): 3,
        today - timedelta(days=2): 3,
    }
    wait = caps_wait(business=business, counts=CallCounts(None, per_day), now=now)
    assert wait.code == "cap_week"
    assert wait.earliest_at == datetime(2026, 12, 8, 0, 0, tzinfo=IST)
    # 4, 4 and 2 calls on the last three days (a daily cap of 5): the 7 days hold 10 until the
    # first of those days leaves the window, in 5 days; the daily cap is not what binds.
    business.calls_per_number_day = 5
    per_day = {today - timedelta(days=2): 4, today - timedelta(days=1): 4, today: 2}
    wait = caps_wait(business=business, counts=CallCounts(None, per_day), now=now)
    assert wait.code == "cap_week"
    assert wait.earliest_at == datetime(2026, 12, 12, 0, 0, tzinfo=IST)


def test_the_gap_and_the_latest_binding_rule_wins(business):
    now = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
    last = now - timedelta(minutes=30)
    wait = caps_wait(business=business, counts=CallCounts(last, {now.date(): 1}), now=now)
    assert (wait.code, wait.earliest_at) == ("gap", last + timedelta(hours=2))
    assert "2 h" in wait.reason
    # The daily cap's midnight is later than the gap's end: it is the answer.
    wait = caps_wait(business=business, counts=CallCounts(last, {now.date(): 3}), now=now)
    assert (wait.code, wait.earliest_at) == ("cap_day", datetime(2026, 12, 8, tzinfo=IST))
    business.min_gap_minutes = 0
    assert caps_wait(business=business, counts=CallCounts(last, {now.date(): 1}), now=now) is None


def test_a_wait_ends_when_the_window_opens_and_says_so(business, campaign):
    # The default window: 09:00 to 21:00, Monday to Saturday. Capped on Saturday: Monday 09:00.
    saturday = datetime(2026, 12, 12, 11, 0, tzinfo=IST)
    hashed = number_hash(PHONE)
    NumberCallCounter.objects.create(business=business, number_hash=hashed)
    NumberCallDay.objects.create(
        business=business, number_hash=hashed, day=saturday.date(), calls=3
    )
    decision = dial_decision(campaign=campaign, phone=PHONE, now=saturday, window=True)
    assert decision.code == "cap_day"
    assert decision.earliest_at == datetime(2026, 12, 14, 9, 0, tzinfo=IST)
    assert decision.reason.endswith("Not before 2026-12-14 09:00 IST.")
    # Without the window (call placing asks so), the cap's own time.
    bare = dial_decision(campaign=campaign, phone=PHONE, now=saturday)
    assert bare.earliest_at == datetime(2026, 12, 13, 0, 0, tzinfo=IST)
    # A number never called is only held by the window.
    other = "+919876543299"
    late = saturday.replace(hour=22)
    closed = dial_decision(campaign=campaign, phone=other, now=late, window=True)
    assert (closed.code, closed.earliest_at) == ("window", datetime(2026, 12, 14, 9, tzinfo=IST))
    assert dial_decision(campaign=campaign, phone=other, now=saturday, window=True).dial


# --- counted by the dialer, across campaigns --------------------------------------------------


def test_the_fourth_call_of_the_day_waits_with_its_reason(business):
    business.min_gap_minutes = 0
    business.save()
    setups = campaigns_with_the_number(business, 4)
    now = next_monday_morning()
    for _campaign, rep, lead in setups[:3]:
        place_and_finish(rep, lead, now)
    _campaign, rep, lead = setups[3]
    assert dialer.lead_claim(rep=rep, now=now) is None  # held back, not processed
    lead.refresh_from_db()
    tomorrow = datetime.combine(now.astimezone(IST).date() + timedelta(days=1), time(0), IST)
    assert lead.status == "queued" and lead.due_at == tomorrow
    assert lead.wait_reason.startswith("Called 3 time(s) today")
    assert "Not before" in lead.wait_reason
    assert not CallAttempt.objects.filter(lead=lead).exists()
    # The next day it is called, and nothing holds it back any more.
    place_and_finish(rep, lead, tomorrow + timedelta(hours=5))
    lead.refresh_from_db()
    assert lead.wait_reason == "" and lead.status == "processed"
    assert list(NumberCallDay.objects.order_by("day").values_list("calls", flat=True)) == [3, 1]


def test_the_default_gap_holds_a_second_campaign_for_two_hours(business):
    (_c1, rep1, lead1), (_c2, rep2, lead2) = campaigns_with_the_number(business, 2)
    now = next_monday_morning()
    place_and_finish(rep1, lead1, now)
    assert dialer.lead_claim(rep=rep2, now=now + timedelta(minutes=10)) is None
    lead2.refresh_from_db()
    assert lead2.due_at == now + timedelta(hours=2)
    assert lead2.wait_reason.startswith("Called less than 2 h ago")
    assert dialer.lead_claim(rep=rep2, now=now + timedelta(hours=2)).pk == lead2.pk


def test_a_number_capped_since_the_claim_is_not_rung(business):
    business.min_gap_minutes = 0
    business.calls_per_number_day = 1
    business.save()
    (_c1, rep1, lead1), (_c2, rep2, lead2) = campaigns_with_the_number(business, 2)
    now = next_monday_morning()
    assert dialer.lead_claim(rep=rep1, now=now).pk == lead1.pk
    assert dialer.lead_claim(rep=rep2, now=now).pk == lead2.pk  # nothing counted yet
    dialer.call_place(rep=rep1, lead_pk=lead1.pk, now=now)
    with pytest.raises(Conflict):
        dialer.call_place(rep=rep2, lead_pk=lead2.pk, now=now)
    lead2.refresh_from_db()
    assert lead2.status == "queued" and lead2.leased_by_id is None
    assert lead2.wait_reason.startswith("Called 1 time(s) today")
    assert CallAttempt.objects.count() == 1


def test_a_placement_the_provider_refused_is_not_counted(business, monkeypatch):
    (_c1, rep, lead), (_c2, rep2, lead2) = campaigns_with_the_number(business, 2)
    now = next_monday_morning()

    def refuse(self, call):
        raise ProviderError(ProviderError.UNAVAILABLE, "The telephony provider is unreachable.")

    monkeypatch.setattr(SimulatorProvider, "place_call", refuse)
    assert dialer.lead_claim(rep=rep, now=now).pk == lead.pk
    with pytest.raises(ApiError):
        dialer.call_place(rep=rep, lead_pk=lead.pk, now=now)
    assert NumberCallDay.objects.get().calls == 0
    assert NumberCallCounter.objects.get().last_called_at is None
    # So the gap does not hold the other campaign's lead either.
    monkeypatch.undo()
    place_and_finish(rep2, lead2, now + timedelta(minutes=1))
    assert NumberCallDay.objects.get().calls == 1


def test_no_number_in_the_counter_tables(business):
    business.min_gap_minutes = 0
    business.save()
    for _campaign, rep, lead in campaigns_with_the_number(business, 2):
        place_and_finish(rep, lead, next_monday_morning())
    digits = PHONE[-10:]
    for model in (NumberCallCounter, NumberCallDay):
        rows = list(model.objects.values())
        assert rows
        for row in rows:
            for column, value in row.items():
                text = str(value)
                assert digits not in text and digits[-7:] not in text, (model, column)


# --- the business's settings ----------------------------------------------------------------


def test_the_caps_are_validated(business):
    business.full_clean()
    for field, value in (
        ("calls_per_number_day", 0),
        ("calls_per_number_week", 101),
        ("min_gap_minutes", 7 * 24 * 60 + 1),
        ("timezone", "Mars/Olympus"),
    ):
        original = getattr(business, field)
        setattr(business, field, value)
        with pytest.raises(ValidationError) as raised:
            business.full_clean()
        assert field in raised.value.message_dict
        setattr(business, field, original)
    business.calls_per_number_day, business.calls_per_number_week = 5, 4
    with pytest.raises(ValidationError) as raised:
        business.full_clean()
    assert "calls_per_number_week" in raised.value.message_dict
    # The database refuses a cap of 0 written past the forms.
    with pytest.raises(IntegrityError), transaction.atomic():
        type(business).objects.filter(pk=business.pk).update(calls_per_number_day=0)


def test_the_admin_edits_the_caps(operator, client, business):
    url = f"/admin/accounts/business/{business.pk}/change/"
    data = form_data(client.get(url))
    data.update(calls_per_number_day="2", calls_per_number_week="1")
    refused = client.post(url, data)
    assert refused.status_code == 200  # the form again, with the error
    assert "The weekly cap must be at least the daily cap." in refused.content.decode()
    data.update(calls_per_number_week="6", min_gap_minutes="0", timezone="Asia/Dubai")
    assert client.post(url, data).status_code == 302
    business.refresh_from_db()
    assert (
        business.calls_per_number_day,
        business.calls_per_number_week,
        business.min_gap_minutes,
        business.timezone,
    ) == (2, 6, 0, "Asia/Dubai")
