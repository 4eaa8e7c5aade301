"""Call caps under concurrent reps: 20 reps (PostgreSQL; 8 on SQLite, whose writers queue on
one lock anyway), each in its own campaign of one business and its own thread and
connection, all claiming and calling a lead with the same number at the same moment. The
caps must hold exactly: the daily cap's number of calls with no gap, a single call with it.
"""

import threading
from datetime import time

import pytest
from django.db import connection, connections

from leadline.accounts.models import User
from leadline.campaigns.services import campaign_create
from leadline.compliance.models import NumberCallDay
from leadline.core.errors import Conflict
from leadline.dialer import services
from leadline.dialer.models import CallAttempt
from leadline.dialer.tests.conftest import next_monday_morning
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import CleanLead

PHONE = "+919812345678"


def reps_with_the_same_number(business, count: int) -> list[int]:
    rep_ids = []
    for i in range(count):
        campaign = campaign_create(business=business, name=f"Parallel {i}")
        campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
        campaign.window_start, campaign.window_end = time(0, 0), time.max
        campaign.save()
        lead_create_batch(
            campaign=campaign,
            leads=[CleanLead(lead_id=f"same-{i}", phone_number=PHONE, contact_name="P")],
        )
        rep = User.objects.create_user(
            username=f"parallel-{i}",
            role=User.Role.REP,
            phone_number=f"+9190{i:08d}",
            business=business,
        )
        campaign.reps.add(rep)
        rep_ids.append(rep.pk)
    return rep_ids


def call_at_once(rep_ids: list[int], now) -> dict[str, list[str]]:
    reps = list(User.objects.filter(pk__in=rep_ids))
    connections.close_all()  # each thread opens its own
    barrier = threading.Barrier(len(reps))
    outcome: dict[str, list[str]] = {"placed": [], "refused": [], "errors": []}

    def caller(rep: User) -> None:
        try:
            barrier.wait(timeout=60)
            lead = services.lead_claim(rep=rep, now=now)
            if lead is None:  # held back by the caps at claim time
                outcome["refused"].append(rep.username)
                return
            try:
                services.call_place(rep=rep, lead_pk=lead.pk, now=now)
            except Conflict:  # capped under the number's lock
                outcome["refused"].append(rep.username)
                return
            outcome["placed"].append(rep.username)
        except Exception as exc:
            outcome["errors"].append(f"{rep.username}: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("gap", "expected"), [(0, 3), (120, 1)])
def test_caps_hold_under_concurrent_reps(business, gap, expected):
    business.min_gap_minutes = gap
    business.save(update_fields=["min_gap_minutes"])
    count = 20 if connection.vendor == "postgresql" else 8
    rep_ids = reps_with_the_same_number(business, count)
    outcome = call_at_once(rep_ids, next_monday_morning())
    assert outcome["errors"] == []
    assert len(outcome["placed"]) == expected
    assert len(outcome["refused"]) == count - expected
    assert CallAttempt.objects.count() == expected
    assert NumberCallDay.objects.get().calls == expected
