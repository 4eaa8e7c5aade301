"""Creates into one campaign from several threads at once, each committing for real.

Every create takes the campaign's row lock and then reads the campaign's last position, so
the batches must get consecutive, disjoint positions in commit order. A create that read a
stale last position would clash on the (campaign, position) constraint and fail; this test
is what caught a version that read the position inside the lock-taking UPDATE's snapshot.
"""

import threading

import pytest
from django.db import connections, transaction

from leadline.campaigns.models import Campaign
from leadline.leads import services
from leadline.leads.models import Lead
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import CleanLead

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
BATCHES = 6
BATCH = 25


@pytest.mark.parametrize("path", ["batch", "streamed"])
def test_concurrent_creates_into_one_campaign_all_land_in_order(campaign, path, monkeypatch):
    """`lead_create_batch`, and the API's `lead_create_items` with steps of 10 (streamed on
    PostgreSQL: its COPY is sent a step at a time under the campaign lock)."""
    monkeypatch.setattr(services, "_STREAM_STEP", 10)
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def creator(t: int) -> None:
        try:
            start.wait(timeout=30)
            for b in range(BATCHES):
                if path == "streamed":
                    items = [
                        {
                            "lead_id": f"t{t}-b{b}-{i}",
                            "phone_number": f"98{t:02d}{b:02d}{i:04d}",
                            "contact_name": "P",
                        }
                        for i in range(BATCH)
                    ]
                    services.lead_create_items(campaign=campaign, items=items)
                    continue
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


def test_a_create_that_finds_the_campaign_lock_taken_checks_outside_it(campaign, monkeypatch):
    """A streamed create checks its items under the campaign lock; one that finds the lock
    held (another create of the campaign is running) takes the plain path instead: it checks
    first, then waits for the lock, and its leads land after the holder's."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("only PostgreSQL streams")
    monkeypatch.setattr(services, "_STREAM_STEP", 2)
    plain_calls = []
    create_plain = services._create_plain

    def spying(campaign, items, before_commit):
        plain_calls.append(len(items))
        return create_plain(campaign, items, before_commit)

    monkeypatch.setattr(services, "_create_plain", spying)
    locked, release = threading.Event(), threading.Event()
    errors: list[str] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                Campaign.objects.select_for_update().get(pk=campaign.pk)
                locked.set()
                release.wait(timeout=30)
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    items = [
        {"lead_id": f"w{i}", "phone_number": f"98765{i:05d}", "contact_name": "W"} for i in range(5)
    ]
    result: list[list[str]] = []

    def creator() -> None:
        try:
            result.append(services.lead_create_items(campaign=campaign, items=items))
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    hold = threading.Thread(target=holder)
    hold.start()
    assert locked.wait(timeout=30)
    create = threading.Thread(target=creator)
    create.start()
    create.join(timeout=2)
    assert create.is_alive()  # checked, and now waiting for the lock
    release.set()
    hold.join(timeout=30)
    create.join(timeout=30)
    assert errors == []
    assert plain_calls == [5]
    assert result == [[f"w{i}" for i in range(5)]]
    rows = list(
        Lead.objects.filter(campaign=campaign).order_by("id").values_list("lead_id", "position")
    )
    assert rows == [(f"w{i}", i + 1) for i in range(5)]
    assert Campaign.objects.get(pk=campaign.pk).lead_count == 5
    # With the lock free, the same create streams.
    more = [{**item, "lead_id": f"x{i}"} for i, item in enumerate(items)]
    assert services.lead_create_items(campaign=campaign, items=more) == [f"x{i}" for i in range(5)]
    assert plain_calls == [5]
