"""The client's daily report of a campaign: campaign figures only (no rep named), its CSV,
scoped to the business; bad filters are a 400."""

import csv
import io
from datetime import time, timedelta

import pytest
from django.urls import reverse

from leadline.accounts.models import User
from leadline.dialer import reports
from leadline.dialer.tests.conftest import next_monday_morning
from leadline.dialer.tests.test_rep_states import OBJECTIVE, work_one
from leadline.leads.models import Lead
from leadline.leads.services import lead_convert


@pytest.fixture
def worked(campaign, make_leads, answered_calls):
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start, campaign.window_end = time(0, 0), time.max
    campaign.save()
    campaign.business.min_gap_minutes = 0
    campaign.business.save(update_fields=["min_gap_minutes"])
    rep = User.objects.create_user(
        username="asha-the-rep",
        first_name="Asha",
        last_name="Rao",
        role=User.Role.REP,
        phone_number="+919000000001",
        business=campaign.business,
    )
    campaign.reps.add(rep)
    make_leads(2)
    now = next_monday_morning()  # a fixed morning ahead: the day does not depend on the hour
    work_one(rep, now)
    work_one(rep, now + timedelta(minutes=1))
    lead = Lead.objects.filter(status="processed").first()
    # The conversion is recorded at the real time (the service takes no clock): its day is
    # today's, in the campaign's zone, so the range asked for runs from then to the calls.
    lead_convert(campaign=campaign, lead_id=lead.lead_id, detail="PAID")
    zone = reports.campaign_zone(campaign.pk)
    day = reports.day_of(now, zone)
    converted = reports.day_of(Lead.objects.get(pk=lead.pk).converted_at, zone)
    return {"day": day, "query": {"start": converted, "end": day + timedelta(days=1)}}


def test_the_campaign_report_has_figures_charts_and_csv_but_no_rep(staff_client, campaign, worked):
    detail = staff_client.get(reverse("dashboard:campaign", args=[campaign.public_id]))
    url = reverse("dashboard:campaign_report", args=[campaign.public_id])
    assert url.encode() in detail.content  # linked from the campaign's page
    page = staff_client.get(url, worked["query"])
    assert page.status_code == 200
    assert b'id="chart-report-calls"' in page.content
    assert b'data-campaign="%s"' % campaign.public_id.encode() in page.content
    for hidden in (b"asha", b"Asha", b"98765", b'id="rep-days"'):
        assert hidden not in page.content
    response = staff_client.get(
        reverse("dashboard:campaign_report_csv", args=[campaign.public_id]), worked["query"]
    )
    text = b"".join(response.streaming_content).decode()
    assert "asha" not in text.lower() and "98765" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    [row] = [r for r in rows if r["day"] == worked["day"].isoformat()]
    assert (row["attempts"], row["connects"], row["leads_processed"]) == ("2", "2", "2")
    assert row[f"outcome: {OBJECTIVE}"] == "2"
    assert sum(int(r["conversions"]) for r in rows) == 1  # on the day it was recorded


def test_another_business_gets_a_404_and_bad_filters_a_400(
    staff_client, other_staff_client, campaign, worked
):
    for name in ("dashboard:campaign_report", "dashboard:campaign_report_csv"):
        url = reverse(name, args=[campaign.public_id])
        assert other_staff_client.get(url).status_code == 404
        assert staff_client.get(url, {"end": "2026-99-01"}).status_code == 400
        assert (
            staff_client.get(url, {"start": "2026-01-02", "end": "2026-01-01"}).status_code == 400
        )
