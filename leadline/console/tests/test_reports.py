"""The daily report pages: the console's for supervisors (scoped to their campaigns), the
admin's for operators, with charts and CSV; bad filters are a 400, never a 500."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from leadline.accounts.models import User
from leadline.campaigns.services import campaign_create
from leadline.console.tests.test_floor import supervisor_add
from leadline.dialer import reports, services
from leadline.dialer.tests.conftest import next_monday_morning
from leadline.dialer.tests.test_rep_states import OBJECTIVE, work_one

NUMBER = b"98765"  # every test lead's number starts so (conftest.make_leads)


@pytest.fixture
def worked(open_campaign, rep, make_leads, sim):
    """Two calls by the rep today, through the real services, and a pause with a code."""
    make_leads(3)
    # A fixed morning ahead (not the clock): the day's figures do not depend on the hour.
    now = next_monday_morning()
    services.rep_available(rep=rep, now=now)
    work_one(rep, now)
    work_one(rep, now + timedelta(minutes=1))
    services.rep_pause(rep=rep, code="break", now=now + timedelta(minutes=2))
    services.rep_available(rep=rep, now=now + timedelta(minutes=5))
    day = reports.day_of(now, reports.campaign_zone(open_campaign.pk))
    return {"day": day, "query": {"start": day - timedelta(days=1), "end": day + timedelta(days=1)}}


def supervisor_client(username, *campaigns):
    args = ["--username", username]
    for campaign in campaigns:
        args += ["--campaign", campaign.public_id]
    supervisor_add(*args)
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body))), body


def test_the_supervisor_report_shows_reps_campaigns_charts_and_csv(open_campaign, rep, worked, sim):
    boss = supervisor_client("meena", open_campaign)
    floor = boss.get(reverse("console:floor"))
    assert reverse("console:reports").encode() in floor.content  # linked from the floor
    page = boss.get(reverse("console:reports"), worked["query"])
    assert page.status_code == 200
    body = page.content
    assert b'id="chart-report-calls"' in body and b'id="chart-report-reps"' in body
    assert b'data-rep="asha"' in body and b'data-campaign="%s"' % open_campaign.public_id.encode()
    assert NUMBER not in body

    rows, text = csv_rows(boss.get(reverse("console:reports_reps_csv"), worked["query"]))
    assert NUMBER not in text.encode()
    [row] = rows
    assert (row["day"], row["rep"], row["calls"], row["connects"]) == (
        worked["day"].isoformat(),
        "asha",
        "2",
        "2",
    )
    assert row[f"outcome: {OBJECTIVE}"] == "2"
    assert row["pause: break"] == "180"
    rows, text = csv_rows(boss.get(reverse("console:reports_campaigns_csv"), worked["query"]))
    [row] = rows
    assert (row["campaign_id"], row["attempts"], row["leads_processed"]) == (
        open_campaign.public_id,
        "2",
        "2",
    )
    assert row["attempts_per_processed_lead"] == "1.00"


def test_a_scoped_supervisor_sees_only_their_campaigns(business, open_campaign, worked, rep):
    other = campaign_create(business=business, name="Elsewhere")
    kiran = supervisor_client("kiran", other)
    page = kiran.get(reverse("console:reports"), worked["query"])
    assert page.status_code == 200
    assert b'data-rep="asha"' not in page.content
    assert b'data-campaign="' not in page.content
    # Naming a campaign they do not supervise: not found, in the page and the CSV.
    query = {**worked["query"], "campaign": open_campaign.public_id}
    assert kiran.get(reverse("console:reports"), query).status_code == 404
    assert kiran.get(reverse("console:reports_reps_csv"), query).status_code == 404
    # Reps and clients do not get the reports.
    assert Client().get(reverse("console:reports")).status_code == 302


def test_bad_filters_are_a_form_error_not_a_500(open_campaign, worked):
    boss = supervisor_client("meena", open_campaign)
    for query in (
        {"start": "2026-02-31"},
        {"start": "yesterday"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
        {"campaign": "x" * 200},
        {"start": "\x00"},
    ):
        for name in (
            "console:reports",
            "console:reports_reps_csv",
            "console:reports_campaigns_csv",
        ):
            response = boss.get(reverse(name), query)
            assert response.status_code == 400, (name, query)
            assert b'id="report-errors"' in response.content
    assert boss.get(reverse("console:reports"), {"campaign": "ZZZZZZ"}).status_code == 404


def test_operators_get_the_same_report_in_the_admin(operator, client, open_campaign, worked):
    url = reverse("admin:dialer_daycount_changelist")
    page = client.get(url, worked["query"])
    assert page.status_code == 200
    assert b'id="chart-report-calls"' in page.content and b'data-rep="asha"' in page.content
    assert NUMBER not in page.content
    rows, _ = csv_rows(client.get(reverse("admin:dialer_daycount_reps_csv"), worked["query"]))
    assert [r["calls"] for r in rows] == ["2"]
    rows, _ = csv_rows(client.get(reverse("admin:dialer_daycount_campaigns_csv"), worked["query"]))
    assert [r["attempts"] for r in rows] == ["2"]
    assert client.get(url, {"end": "soon"}).status_code == 400
    # Not for anyone else.
    assert Client().get(url).status_code == 302
