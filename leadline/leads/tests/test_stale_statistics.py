"""A create and a page of results read about what they return, even while PostgreSQL's
statistics still call the campaign empty (a new campaign, before autovacuum re-analyzes).

Measured as rows the executor touched (EXPLAIN ANALYZE), not as time: with the lone
(campaign_id) index these statements walked every lead of the campaign through it."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from leadline.core.db import pg_cursor
from leadline.leads.models import Lead
from leadline.leads.selectors import _TOMBSTONES_UP_TO_SQL, _WALK_PAGE_SQL
from leadline.leads.services import _INSERT_COLUMNS, COPY_LEADS, lead_erase

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="plans and statistics of PostgreSQL"
    ),
]

# Leads of the campaign under test: enough that a scan of them stands out from a page.
LEADS = 3000
PAGE = 100


def _rows_touched(plan: dict) -> int:
    """Rows every node of the plan produced or filtered out, summed over its loops."""
    loops = plan.get("Actual Loops", 1)
    own = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops
    return own + sum(_rows_touched(child) for child in plan.get("Plans", []))


def _touched(sql: str, params: tuple) -> int:
    with pg_cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return _rows_touched(plan[0]["Plan"])


@pytest.fixture
def stale(campaign, other_campaign):
    """Another campaign's leads analyzed while `campaign` had none, then `campaign`'s
    leads: the statistics say it is empty."""
    now = timezone.now().isoformat()
    # In `_INSERT_COLUMNS` order, as the create's own COPY writes them.
    rows = "".join(
        f"{other_campaign.pk}\tother-{i}\t+9198{i:08d}\tP\t{{}}\tqueued\t{now}\t{now}\t{{}}"
        f"\t1\t0\t{now}\t0\t{i}\n"
        for i in range(1, 20_001)
    )
    with pg_cursor() as cursor:
        columns = ", ".join(_INSERT_COLUMNS)
        with cursor.copy(COPY_LEADS.format(Lead._meta.db_table, columns)) as copy:
            copy.write(rows)
        cursor.execute("ANALYZE leads_lead")
    return campaign


def test_pages_and_creates_read_a_page_not_the_campaign(stale, api, make_leads):
    campaign = stale
    for start in range(0, LEADS, 1000):
        make_leads(1000, start=start)
    lead_erase(campaign=campaign, lead_id="lead-5")
    assert Lead.objects.filter(campaign=campaign).count() == LEADS
    # The create's positions come off the campaign row: no lead is read for them.
    campaign.refresh_from_db()
    assert campaign.last_position == LEADS

    # The walk's two statements for the first page and for one deep in the campaign.
    for position in (1, LEADS - PAGE):
        assert _touched(_TOMBSTONES_UP_TO_SQL, (campaign.pk, position)) <= 10
        assert _touched(_WALK_PAGE_SQL, (campaign.pk, position, PAGE)) <= 3 * PAGE
    # And through the API, both answer as usual.
    body = api.get(f"/api/v4/leads/responses/{campaign.public_id}/", {"page": 30}).json()
    assert body["count"] == LEADS - 1
    assert [item["lead_id"] for item in body["results"]][-1] == f"lead-{LEADS - 1}"


def test_leads_lead_is_analyzed_after_a_fixed_number_of_changes(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'leads_lead'")
        options = cursor.fetchone()[0]
    assert "autovacuum_analyze_scale_factor=0" in options
    assert "autovacuum_analyze_threshold=50000" in options
