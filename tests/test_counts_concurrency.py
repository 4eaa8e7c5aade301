"""The campaign's kept counts stay equal to a full recount when everything that changes a
lead runs at once: the dialer (`simulate`, reps in threads), the v4 API (create, disable,
update, convert) through Django's test client, erasures (some with a do-not-call entry,
which withdraws the business's other queued leads with the number) and the compaction loop.

Every actor is a thread with its own database connection, committing for real
(`transaction=True`). Each one's work is bounded by a count, so the test ends without any
time limit of its own; then `counts_verify` compares the kept counts with a recount and the
dashboard's figures with the leads themselves.
"""

import random
import threading
from collections import Counter
from datetime import time

import orjson
import pytest
from django.db import connection, connections
from django.test import Client

from leadline.dialer.simulation import simulate
from leadline.dialer.tests.conftest import no_call_gap
from leadline.leads import counts
from leadline.leads.models import Lead
from leadline.leads.selectors import lead_counts, lead_outcome_counts
from leadline.leads.services import lead_create_batch, lead_erase
from leadline.leads.validation import CleanLead

pytestmark = pytest.mark.django_db(transaction=True)


def sizes() -> tuple[int, int]:
    """(leads to start with, API rounds): SQLite runs one writer at a time, so less."""
    return (160, 20) if connection.vendor == "postgresql" else (80, 12)


def phone(i: int) -> str:
    return f"+9198{i:08d}"


def seed(campaign, count: int) -> list[str]:
    ids = [f"seed-{i}" for i in range(count)]
    lead_create_batch(
        campaign=campaign,
        leads=[
            CleanLead(lead_id=ids[i], phone_number=phone(i), contact_name="P") for i in range(count)
        ],
    )
    return ids


def actor(errors: list[str], name: str, work) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except Exception as exc:  # reported by the test, with the actor's name
            errors.append(f"{name}: {exc!r}")
        finally:
            connections.close_all()

    return threading.Thread(target=run, name=name)


def test_counts_match_a_recount_after_concurrent_dialer_api_and_erasure(campaign, token):
    no_call_gap(campaign.business)
    campaign.window_days, campaign.window_end = list(range(7)), time.max
    campaign.save(update_fields=["window_days", "window_end"])
    start_count, rounds = sizes()
    ids = seed(campaign, start_count)
    rng = random.Random(14)
    to_erase = rng.sample(ids, start_count // 8)
    api_targets = [i for i in ids if i not in to_erase]
    errors: list[str] = []
    base = "/api/v4/leads"

    def api_work() -> None:
        client = Client(headers={"Authorization": f"Bearer {token}"})
        pick = random.Random(7)

        def post(path: str, body) -> int:
            return client.post(
                f"{base}/{path}/{campaign.public_id}/",
                data=orjson.dumps(body),
                content_type="application/json",
            ).status_code

        for r in range(rounds):
            new = [
                {
                    "lead_id": f"api-{r}-{j}",
                    "phone_number": f"97{r:04d}{j:04d}",
                    "contact_name": "N",
                }
                for j in range(5)
            ]
            assert post("create", new) == 201
            target = pick.choice(api_targets)
            assert post("disable", {"lead_id": target}) in (201, 400, 404)
            assert post("convert", {"lead_id": pick.choice(api_targets), "detail": "PAID"}) in (
                200,
                404,
            )
            response = client.patch(
                f"{base}/update/{campaign.public_id}/",
                data=orjson.dumps({"lead_id": pick.choice(api_targets), "city": "Pune"}),
                content_type="application/json",
            )
            assert response.status_code in (200, 404), response.content
            # A new lead erased at once, some through the API.
            assert post("delete", {"lead_id": f"api-{r}-0"}) == 202

    def erase_work() -> None:
        for n, lead_id in enumerate(to_erase):
            # Every fourth also goes on the do-not-call list: the business's other queued
            # leads with the number are withdrawn (processed without a call) after commit.
            lead_erase(campaign=campaign, lead_id=lead_id, suppress=n % 4 == 0)

    def dial_work() -> None:
        report = simulate(campaign=campaign, reps=4, seed=3, fast_forward=True)
        assert not report.errors, report.errors

    stop = threading.Event()

    def compact_work() -> None:
        while not stop.is_set():
            counts.counts_compact()
            stop.wait(0.01)

    # Numbers shared across leads, so the do-not-call withdrawals have something to withdraw.
    twins = [
        CleanLead(lead_id=f"twin-{i}", phone_number=phone(ids.index(lead_id)), contact_name="T")
        for i, lead_id in enumerate(to_erase[::4])
    ]
    lead_create_batch(campaign=campaign, leads=twins)

    connections.close_all()
    workers = [
        actor(errors, "api", api_work),
        actor(errors, "erase", erase_work),
        actor(errors, "dial", dial_work),
    ]
    compactor = actor(errors, "compact", compact_work)
    compactor.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    compactor.join()
    assert errors == []

    check = counts.counts_verify(campaign=campaign)
    assert check.differences == []
    # Folding changes nothing either.
    counts.counts_compact()
    assert counts.counts_verify(campaign=campaign).differences == []

    # The dashboard's figures equal the leads themselves.
    leads = Lead.objects.filter(campaign=campaign)
    by_status = Counter(leads.values_list("status", flat=True))
    figures = lead_counts(campaign=campaign)
    assert figures.total == leads.count() == start_count + len(twins) + rounds * 5
    assert figures.erased == by_status["erased"] == len(to_erase) + rounds
    assert figures.processed == by_status["processed"] > 0
    assert figures.disabled == by_status["disabled"]
    assert figures.queued + figures.in_progress == by_status["queued"]
    assert (
        figures.converted
        == leads.filter(erased_at__isnull=True, converted_at__isnull=False).count()
    )
    outcomes = Counter(
        leads.filter(erased_at__isnull=True, processed_at__isnull=False).values_list(
            "lead_outcome", flat=True
        )
    )
    assert {label: n for label, n in lead_outcome_counts(campaign=campaign) if n} == dict(outcomes)
