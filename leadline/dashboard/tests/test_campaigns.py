"""The dashboard's campaign list and campaign page: counts by status, charts, configuration."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadline.campaigns.services import campaign_create
from leadline.dashboard.campaigns import charts
from leadline.leads import services as lead_services
from leadline.leads.models import Lead
from leadline.leads.selectors import lead_processed_per_day

from . import dialing
from .dialing import OBJECTIVE, WRONG_NUMBER, make_rep, process_next

pytestmark = pytest.mark.django_db

# Fixtures shared with the other dashboard test module.
rep = dialing.rep


def url(campaign, rest=""):
    return f"/voice/dashboard/campaigns/{campaign.public_id}/{rest}"


def bars(html: str, chart_id: str) -> dict[str, int]:
    """The chart's bars as {label: value}, read from the SVG's data attributes."""
    svg = re.search(rf'<svg class="chart" id="{chart_id}".*?</svg>', html, re.S)
    assert svg, f"chart {chart_id} missing"
    return {
        label: int(value)
        for label, value in re.findall(
            r'<g class="bar" data-label="([^"]*)" data-value="(\d+)">', svg[0]
        )
    }


def count(html: str, key: str) -> int:
    match = re.search(rf'data-count="{key}">.*?<span class="figure">(\d+)</span>', html, re.S)
    assert match, key
    return int(match[1])


def test_campaign_list_shows_only_the_business_campaigns(
    staff_client, campaign, other_campaign, make_leads, django_assert_max_num_queries
):
    make_leads(3)
    for i in range(5):
        campaign_create(business=campaign.business, name=f"Extra {i}")
    with django_assert_max_num_queries(6):
        response = staff_client.get("/voice/dashboard/campaigns/")
    assert response.status_code == 200
    html = response.content.decode()
    assert campaign.name in html and campaign.public_id in html
    assert "Extra 4" in html
    assert other_campaign.public_id not in html
    assert "Mon-Sat 09:00-21:00 (Asia/Kolkata)" in html
    assert re.search(r'<td class="num">3</td>', html)


def test_counts_by_status_from_the_real_paths(
    staff_client, campaign, make_leads, rep, answered_calls, django_assert_max_num_queries
):
    make_leads(8)
    process_next(rep, OBJECTIVE)
    process_next(rep, OBJECTIVE)
    process_next(rep, WRONG_NUMBER)
    processed = list(Lead.objects.filter(status="processed").values_list("lead_id", flat=True))
    queued = list(
        Lead.objects.filter(status="queued").order_by("pk").values_list("lead_id", flat=True)
    )
    lead_services.lead_convert(campaign=campaign, lead_id=processed[0], detail="GOLD")
    lead_services.lead_disable_batch(campaign=campaign, lead_ids=[queued[0]])
    # Disabling a processed lead keeps it processed (its result stands).
    lead_services.lead_disable_batch(campaign=campaign, lead_ids=[processed[1]])
    lead_services.lead_erase(campaign=campaign, lead_id=queued[1])
    # A rep holds one now: in progress until the lease runs out.
    holder = make_rep(campaign, "holder", "+919000000002")
    from leadline.dialer.services import lead_claim

    held = lead_claim(rep=holder, now=timezone.now(), ignore_window=True)
    assert held is not None

    with django_assert_max_num_queries(10):
        response = staff_client.get(url(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    expected = {
        "queued": 2,
        "in_progress": 1,
        "processed": 3,
        "disabled": 1,
        "erased": 1,
        "converted": 1,
    }
    assert {key: count(html, key) for key in expected} == expected
    assert "(8 in all)" in html

    # Outcomes: the whole taxonomy in its order, zeros included.
    outcomes = bars(html, "chart-outcomes")
    assert outcomes[OBJECTIVE] == 2
    assert outcomes[WRONG_NUMBER] == 1
    assert outcomes["Not Connected : Busy"] == 0
    assert next(iter(outcomes)) == OBJECTIVE
    # Per day: 30 days ending today (campaign's zone), all three processed today.
    per_day = bars(html, "chart-per-day")
    assert len(per_day) == 30
    assert sum(per_day.values()) == 3
    assert list(per_day.values())[-1] == 3
    assert "<title>" in html and 'role="img"' in html
    assert "Leads processed" in html  # the value axis label


def test_processed_per_day_follows_the_campaign_calendar(campaign, make_leads, rep, answered_calls):
    make_leads(3)
    # Next Monday 05:00 UTC is 10:30 in Kolkata; 20:00 UTC the same day is already Tuesday there.
    today = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    process_next(rep, OBJECTIVE, now=monday)
    process_next(rep, WRONG_NUMBER, now=monday + timedelta(minutes=5))
    process_next(rep, OBJECTIVE, now=monday + timedelta(hours=15))
    days = dict(lead_processed_per_day(campaign=campaign, days=7, now=monday + timedelta(days=2)))
    assert len(days) == 7
    assert days[monday.date()] == 2
    assert days[monday.date() + timedelta(days=1)] == 1
    assert sum(days.values()) == 3
    # In UTC all three were on the Monday.
    campaign.timezone = "UTC"
    days = dict(lead_processed_per_day(campaign=campaign, days=7, now=monday + timedelta(days=2)))
    assert days[monday.date()] == 3


def test_configuration_is_shown_read_only(staff_client, campaign):
    campaign.rep_visible_fields = ["city"]
    campaign.save()
    html = staff_client.get(url(campaign)).content.decode()
    assert "Is the customer interested?" in html
    assert "Callback Requested" in html and "Callback at the time the rep picks" in html
    assert "60 min, 240 min" in html
    assert "Mon-Sat 09:00-21:00 (Asia/Kolkata)" in html
    assert "<code>city</code>" in html
    assert "<form" not in html.split("Configuration")[1].split("</section>")[0]


def test_empty_campaign_page_has_empty_charts(staff_client, campaign):
    html = staff_client.get(url(campaign)).content.decode()
    assert sum(bars(html, "chart-per-day").values()) == 0
    assert "No processed leads yet." in html


def test_another_business_campaign_is_404(
    staff_client, other_staff_client, campaign, other_campaign
):
    assert staff_client.get(url(other_campaign)).status_code == 404
    assert staff_client.get(url(other_campaign, "leads/")).status_code == 404
    assert other_staff_client.get(url(campaign)).status_code == 404
    assert staff_client.get("/voice/dashboard/campaigns/NOPE99/").status_code == 404


def test_chart_escapes_labels_and_scales():
    svg = charts.row_chart(
        [charts.Bar("<script>x</script>", 7), charts.Bar("B & C", 0)],
        chart_id="c",
        title='T "1"',
        x_label="Leads",
        unit="leads",
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'data-label="B &amp; C" data-value="0"' in svg
    assert "<title>&lt;script&gt;x&lt;/script&gt;: 7</title>" in svg
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(1234) == [0, 500, 1000, 1500]
    day = charts.column_chart(
        [charts.Bar(str(date(2025, 1, d)), d) for d in range(1, 4)],
        chart_id="d",
        title="Per day",
        x_label="Day",
        y_label="Leads",
        unit="leads",
    )
    assert day.count('class="bar"') == 3 and "6 leads in total" in day


def test_campaign_and_leads_pages_link_upload_and_export(staff_client, campaign):
    for name in ("dashboard:campaign", "dashboard:campaign_leads"):
        page = staff_client.get(reverse(name, args=[campaign.public_id])).content.decode()
        assert reverse("dashboard:lead_upload", args=[campaign.public_id]) in page
        assert reverse("dashboard:results_export", args=[campaign.public_id]) in page
