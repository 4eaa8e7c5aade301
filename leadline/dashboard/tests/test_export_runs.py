"""Exports per business: one running at a time (across processes, via an ExportRun row that
expires if its process dies), released when the download ends or the client goes away, and
a limit on exports started per minute."""

import functools
from datetime import timedelta

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from leadline.accounts import ratelimit
from leadline.dashboard.transfers.views import results_export
from leadline.leads import export_runs, services
from leadline.leads.models import ExportRun
from leadline.leads.validation import CleanLead

# Committed data: on PostgreSQL the export reads on a connection of its own, which does not
# see a test transaction's rows.
pytestmark = pytest.mark.django_db(transaction=True)


def export_url(campaign):
    return reverse("dashboard:results_export", args=[campaign.public_id])


@pytest.fixture(autouse=True)
def _generous_rate(settings):
    settings.LEADLINE_EXPORTS_PER_MINUTE = 1000


def test_one_running_export_per_business(
    staff_client, other_staff_client, campaign, other_campaign, make_leads
):
    make_leads(3)
    first = staff_client.get(export_url(campaign))
    assert first.status_code == 200 and first.streaming
    assert ExportRun.objects.filter(business=campaign.business).count() == 1

    second = staff_client.get(export_url(campaign), {"custom_fields": "json"})
    assert second.status_code == 409 and not second.streaming
    body = second.content.decode()
    assert "An export is already running" in body and 'role="alert"' in body
    # Another business is not held up by this one.
    theirs = other_staff_client.get(export_url(other_campaign))
    assert theirs.status_code == 200
    b"".join(theirs.streaming_content)

    b"".join(first.streaming_content)  # the download finishes: the run is released
    assert not ExportRun.objects.filter(business=campaign.business).exists()
    again = staff_client.get(export_url(campaign))
    assert again.status_code == 200
    assert len(b"".join(again.streaming_content).decode().splitlines()) == 4


@pytest.mark.parametrize("pieces_read", [0, 1, 2])
def test_a_client_going_away_releases_the_run(
    rf, staff, staff_client, campaign, make_leads, pieces_read
):
    make_leads(2)
    # The view's response as a WSGI server gets it (the test client wraps streams itself).
    request = rf.get(export_url(campaign))
    request.user = staff
    request.session = staff_client.session
    response = results_export(request, campaign.public_id)
    assert response.status_code == 200
    stream = iter(response)
    for _ in range(pieces_read):
        next(stream)
    assert ExportRun.objects.exists()
    # What the server does when the client disconnects (gunicorn: in a finally). As Django's
    # test client does, keep the test's connection open through request_finished.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert not ExportRun.objects.exists()
    assert staff_client.get(export_url(campaign)).status_code == 200


def test_a_run_left_by_a_dead_process_expires(staff_client, campaign, business):
    now = timezone.now()
    ExportRun.objects.create(
        business=business, campaign=campaign, started_at=now, expires_at=now + timedelta(hours=1)
    )
    assert staff_client.get(export_url(campaign)).status_code == 409
    ExportRun.objects.update(expires_at=now - timedelta(seconds=1))
    response = staff_client.get(export_url(campaign))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert not ExportRun.objects.exists()


def test_the_stream_keeps_its_run_alive_and_only_releases_its_own(
    business, campaign, settings, monkeypatch
):
    settings.LEADLINE_EXPORT_RUN_LEASE_SECONDS = 90
    clock = [timezone.now()]
    monkeypatch.setattr(export_runs, "_now", lambda: clock[0])
    run = export_runs.export_run_start(business=business, campaign=campaign)
    assert run is not None
    assert export_runs.export_run_start(business=business, campaign=campaign) is None
    stream = iter(export_runs.ExportStream(iter(["a", "b", "c"]), run))
    assert next(stream) == "a"
    assert ExportRun.objects.get().expires_at == clock[0] + timedelta(seconds=90)
    clock[0] += timedelta(seconds=31)  # past a third of the lease: renewed while read
    assert next(stream) == "b"
    assert ExportRun.objects.get().expires_at == clock[0] + timedelta(seconds=90)

    # Unread for a whole lease: another export takes over, and this one's end leaves it be.
    clock[0] += timedelta(seconds=91)
    taker = export_runs.export_run_start(business=business, campaign=campaign)
    assert taker is not None and taker.pk != run.pk
    export_runs.export_run_finish(run=run)
    assert ExportRun.objects.get().pk == taker.pk


def test_exports_started_per_minute_are_limited(staff_client, campaign, settings, monkeypatch):
    settings.LEADLINE_EXPORTS_PER_MINUTE = 2
    # One fixed minute, so the test never straddles two windows.
    monkeypatch.setattr(ratelimit, "hit", functools.partial(ratelimit.hit, now=1_800_000_000))
    for _ in range(2):
        response = staff_client.get(export_url(campaign))
        assert response.status_code == 200
        b"".join(response.streaming_content)
    refused = staff_client.get(export_url(campaign))
    assert refused.status_code == 429 and not refused.streaming
    assert int(refused["Retry-After"]) > 0
    assert "Too many exports" in refused.content.decode()
    assert not ExportRun.objects.exists()


def test_renewing_while_the_rows_stream_from_the_cursor(
    staff_client, campaign, business, settings, monkeypatch
):
    """The renewal writes while the export's cursor is open (PostgreSQL: a server-side one)."""
    services.lead_create_batch(
        campaign=campaign,
        leads=[
            CleanLead(f"bulk-{i}", f"+9198765{i:05d}", f"Person {i}", {}, "{}")
            for i in range(1_200)
        ],
    )
    settings.LEADLINE_EXPORT_CHUNK_ROWS = 100
    start = timezone.now()
    ticks = iter(range(10_000))
    # Each look at the clock is a minute later: every piece renews the run.
    monkeypatch.setattr(export_runs, "_now", lambda: start + timedelta(minutes=next(ticks)))
    renewals = []
    renew = export_runs.export_run_renew
    monkeypatch.setattr(
        export_runs, "export_run_renew", lambda *, run: renewals.append(renew(run=run)) or True
    )
    response = staff_client.get(reverse("dashboard:results_export", args=[campaign.public_id]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1_201
    assert len(renewals) >= 3 and all(renewals)
    assert not ExportRun.objects.filter(business=business).exists()
