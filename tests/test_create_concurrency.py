"""Creates into one campaign from several threads at once, each committing for real.

Every create takes the campaign's row lock and then reads the campaign's last position, so
the batches must get consecutive, disjoint positions in commit order. A create that read a
stale last position would clash on the (campaign, position) constraint and fail; this test
is what caught a version that read the position inside the lock-taking UPDATE's snapshot.
"""

import threading

import pytest
from django.db import connections

from leadline.campaigns.models import Campaign
from leadline.leads.models import Lead
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import CleanLead

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
BATCHES = 6
BATCH = 25


def test_concurrent_creates_into_one_campaign_all_land_in_order(campaign):
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def creator(t: int) -> None:
        try:
            start.wait(timeout=30)
            for b in range(BATCHES):
                leads = [
                    CleanLead(
                        lead_id=f"t{t}-b{b}-{i}",
                        phone_number=f"+9198{t:02d}{b:02d}{i:04d}",
                        contact_name="P",
                    )
                    for i in range(BATCH)
                ]
                lead_create_batch(campaign=campaign, leads=leads)
        except Exception as exc:  # reported below, with the thread's number
            errors.append(f"creator {t}: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=creator, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    total = THREADS * BATCHES * BATCH
    rows = list(
        Lead.objects.filter(campaign=campaign).order_by("id").values_list("position", "lead_id")
    )
    assert len(rows) == total
    # Positions run 1..total in id order: each batch got its own run, in commit order.
    assert [position for position, _ in rows] == list(range(1, total + 1))
    # A batch's leads are contiguous and in request order.
    for k in range(0, total, BATCH):
        names = [lead_id for _, lead_id in rows[k : k + BATCH]]
        prefix = names[0].rsplit("-", 1)[0]
        assert names == [f"{prefix}-{i}" for i in range(BATCH)]
    assert Campaign.objects.get(pk=campaign.pk).lead_count == total
