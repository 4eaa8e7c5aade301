"""Kept campaign counts (leads.counts): written by the services, folded by the worker loop,
checked by `leadline counts verify`; and the GET walk's positions."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from leadline.accounts.models import AuditEntry
from leadline.leads import counts
from leadline.leads.models import CampaignCount, Lead
from leadline.leads.selectors import ResultsQuery, _live_position, lead_results_page
from leadline.leads.services import lead_convert, lead_disable_batch, lead_erase

pytestmark = pytest.mark.django_db


def verify(*args) -> tuple[list[dict], bool]:
    out = io.StringIO()
    try:
        call_command("counts", "verify", *args, "--json", stdout=out)
        failed = False
    except CommandError:
        failed = True
    return [json.loads(line) for line in out.getvalue().splitlines()], failed


def test_services_keep_counts_and_compaction_folds_them(campaign, make_leads):
    ids = make_leads(6)
    lead_disable_batch(campaign=campaign, lead_ids=ids[:2])
    lead_convert(campaign=campaign, lead_id=ids[2], detail="PAID")
    lead_convert(campaign=campaign, lead_id=ids[2], detail="PAID AGAIN")  # counted once
    lead_erase(campaign=campaign, lead_id=ids[2])
    kept = counts.campaign_counts(campaign=campaign)
    assert kept.status == {"queued": 3, "disabled": 2, "erased": 1}
    assert kept.converted == 0
    rows_before = CampaignCount.objects.filter(campaign=campaign).count()
    assert rows_before > 3
    assert counts.counts_compact() == rows_before
    assert counts.campaign_counts(campaign=campaign) == kept
    # One row per non-zero key, nothing left to fold.
    assert CampaignCount.objects.filter(campaign=campaign).count() == 3
    assert counts.counts_compact() == 0
    assert verify("--campaign", campaign.public_id) == (
        [{"campaign_id": campaign.public_id, "ok": True, "repaired": False, "differences": []}],
        False,
    )


def test_verify_reports_and_repairs_a_difference(campaign, other_campaign, make_leads):
    make_leads(3)
    # A lead changed behind the services' back: the kept counts no longer match.
    Lead.objects.filter(lead_id="lead-0").update(
        status=Lead.Status.PROCESSED,
        processed_at=datetime(2026, 1, 5, 10, 7, tzinfo=UTC),
        lead_outcome="Wrong Number",
    )
    found, failed = verify()
    assert failed
    mine = next(c for c in found if c["campaign_id"] == campaign.public_id)
    assert not mine["ok"]
    assert {(d["kind"], d["key"], d["kept"], d["actual"]) for d in mine["differences"]} == {
        ("status", "queued", 3, 2),
        ("status", "processed", 0, 1),
        ("outcome", "Wrong Number", 0, 1),
        ("processed", "", 0, 1),
    }
    slot = next(d["slot"] for d in mine["differences"] if d["kind"] == "processed")
    assert slot == int(datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp()) // 900
    other = next(c for c in found if c["campaign_id"] == other_campaign.public_id)
    assert other["ok"]

    found, failed = verify("--campaign", campaign.public_id, "--repair")
    assert not failed and found[0]["repaired"]
    assert verify("--campaign", campaign.public_id) == (
        [{"campaign_id": campaign.public_id, "ok": True, "repaired": False, "differences": []}],
        False,
    )
    with pytest.raises(CommandError):
        call_command("counts", "verify", "--campaign", "NOPE99", stdout=io.StringIO())


def test_per_day_chart_follows_the_campaign_zone_from_quarter_hours(campaign, make_leads):
    make_leads(2)
    # 18:40 UTC is 00:10 the next day in Kolkata (+05:30): the quarter-hour keeps that apart.
    at = datetime(2026, 3, 2, 18, 40, tzinfo=UTC)
    deltas = counts.CountDeltas()
    deltas.add(campaign.pk, counts.Kind.PROCESSED, 1, slot=counts.slot_of(at))
    deltas.write()
    from leadline.leads.selectors import lead_processed_per_day

    days = dict(lead_processed_per_day(campaign=campaign, days=3, now=at + timedelta(days=1)))
    assert days[datetime(2026, 3, 3).date()] == 1
    campaign.timezone = "UTC"
    days = dict(lead_processed_per_day(campaign=campaign, days=3, now=at + timedelta(days=1)))
    assert days[datetime(2026, 3, 2).date()] == 1


def _walk(api, campaign, page_size):
    seen, page = [], 1
    while True:
        body = api.get(
            f"/api/v4/leads/responses/{campaign.public_id}/",
            {"page": page, "page_size": page_size},
        ).json()
        seen += [item["lead_id"] for item in body["results"]]
        if body["next"] is None:
            return seen, body["count"]
        page += 1


def test_pages_seek_positions_around_tombstones(api, campaign, make_leads):
    ids = make_leads(30)
    # Runs of tombstones at the start, in the middle and at the end.
    gone = {ids[0], ids[1], ids[2], *ids[10:18], ids[20], ids[28], ids[29]}
    for lead_id in sorted(gone):
        lead_erase(campaign=campaign, lead_id=lead_id)
    live = [i for i in ids if i not in gone]
    positions = dict(
        Lead.objects.filter(campaign=campaign, erased_at__isnull=True).values_list(
            "lead_id", "position"
        )
    )
    for k, lead_id in enumerate(live, start=1):
        assert _live_position(campaign, k) == positions[lead_id]
    for size in (1, 2, 3, 7, 100):
        assert _walk(api, campaign, size) == (live, len(live))
    # Leads created later continue the numbering after the tombstones.
    make_leads(2, prefix="late")
    campaign.refresh_from_db()
    page = lead_results_page(campaign=campaign, query=ResultsQuery(page=2, page_size=len(live)))
    assert [item["lead_id"] for item in page.items] == ["late-0", "late-1"]
    assert _positions(campaign) == list(range(1, 33))


def _positions(campaign) -> list[int]:
    """The campaign's positions in id order (tombstones included)."""
    return list(
        Lead.objects.filter(campaign=campaign).order_by("id").values_list("position", flat=True)
    )


def test_last_position_follows_every_create_path(api, campaign, make_leads):
    # A small batch (the plain path), a batch large enough to stream on PostgreSQL, and an
    # erasure in between: last_position is the highest position given, tombstones included.
    ids = make_leads(3)
    lead_erase(campaign=campaign, lead_id=ids[1])
    make_leads(450, prefix="big")
    campaign.refresh_from_db()
    assert campaign.last_position == 453
    assert campaign.lead_count == 452
    assert _positions(campaign) == list(range(1, 454))


def test_create_repairs_a_last_position_left_behind(api, campaign, make_leads, caplog):
    # Rows put in without the services (a restore, say) leave last_position behind: the
    # unique constraint refuses the next create's positions; the create repairs and retries.
    make_leads(5)
    type(campaign).objects.filter(pk=campaign.pk).update(last_position=2)
    for count, prefix in ((2, "small"), (300, "large")):
        make_leads(count, prefix=prefix)
        campaign.refresh_from_db()
        assert campaign.last_position == len(_positions(campaign))
        type(campaign).objects.filter(pk=campaign.pk).update(last_position=1)
    assert _positions(campaign) == list(range(1, 308))
    assert "last_position was behind its leads; repaired" in caplog.text
    # One audit entry per create, written by the attempt that committed (both creates here
    # were refused once and retried: the plain path, and the streamed one via the plain).
    entries = AuditEntry.objects.filter(action="leads.create").order_by("id")
    assert list(entries.values_list("lead_count", flat=True)) == [5, 2, 300]


def test_backfill_sets_last_position_from_the_leads(campaign, other_campaign, make_leads):
    import importlib

    from django.db import connection

    backfill = importlib.import_module(
        "leadline.leads.migrations.0014_campaign_last_position_backfill"
    ).BACKFILL
    make_leads(4)
    type(campaign).objects.update(last_position=0)
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    campaign.refresh_from_db()
    other_campaign.refresh_from_db()
    assert (campaign.last_position, other_campaign.last_position) == (4, 0)
