import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadline.core.loops import registered
from leadline.dialer import loops, services
from leadline.leads.models import Lead


def test_lease_expiry_is_registered_every_30_seconds():
    loop = next(loop for loop in registered() if loop.name == "expire-dialer-leases")
    assert loop.interval_seconds == 30
    assert loop.factory().run_once is loops.expire_leases


def hold_two_leads(make_leads, rep, rep2):
    """rep's hold ran out a minute ago; rep2's is still good."""
    make_leads(2)
    now = timezone.now()
    # As if the leads had come in an hour ago, so a claim 11 minutes ago could take one.
    Lead.objects.update(due_at=now - timedelta(hours=1))
    held = services.lead_claim(rep=rep2, now=now, ignore_window=True)
    expired = services.lead_claim(rep=rep, now=now - timedelta(minutes=11), ignore_window=True)
    assert held.pk != expired.pk
    return expired, held


def test_run_once_clears_expired_leases_only(campaign, make_leads, rep, rep2):
    expired, held = hold_two_leads(make_leads, rep, rep2)
    assert loops.expire_leases() == 1
    expired.refresh_from_db()
    held.refresh_from_db()
    assert expired.leased_by_id is None and expired.lease_expires_at is None
    assert held.leased_by_id == rep2.pk
    assert expired.status == Lead.Status.QUEUED
    assert loops.expire_leases() == 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_it(campaign, make_leads, rep, rep2):
    # The worker runs each loop in its own thread and connection: real commits needed.
    expired, held = hold_two_leads(make_leads, rep, rep2)
    call_command("worker", "--once", "--only", "expire-dialer-leases", stdout=io.StringIO())
    assert Lead.objects.filter(leased_by__isnull=False).get().pk == held.pk
    assert Lead.objects.get(pk=expired.pk).lease_expires_at is None
