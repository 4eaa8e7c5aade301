"""Races between a rep's own requests (a double-clicked button), on real connections."""

import threading
import time

import pytest
from django.db import connections, transaction

from leadline.core.errors import Conflict
from leadline.dialer import services
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead
from leadline.webhooks.models import Event

from .test_dialer_flow import OBJECTIVE


@pytest.mark.django_db(transaction=True)
def test_an_outcome_submitted_twice_at_once_is_recorded_once(
    campaign, make_leads, rep, now, answered_calls
):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    results: list[str] = []

    def submit(notes: str) -> None:
        try:
            services.disposition_submit(
                rep=rep,
                attempt_uuid=str(attempt.uuid),
                outcome_label=OBJECTIVE,
                answers={"interested": "yes", "notes": notes},
                now=now,
            )
            results.append("recorded")
        except Conflict:
            results.append("conflict")
        finally:
            connections.close_all()

    # Both requests pass the early checks while the lead is locked, then queue on the lock.
    with transaction.atomic():
        Lead.objects.select_for_update().get(pk=lead.pk)
        threads = [threading.Thread(target=submit, args=(n,)) for n in ("first", "second")]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
    for thread in threads:
        thread.join()

    assert sorted(results) == ["conflict", "recorded"]
    attempt = CallAttempt.objects.get()
    lead.refresh_from_db()
    assert lead.lead_responses == attempt.answers
    assert Event.objects.count() == 1
