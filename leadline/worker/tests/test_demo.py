"""`leadline demo`: the story a newcomer finds after `make run`."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from leadline.accounts.models import Business, User
from leadline.campaigns.rules import window_open
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead
from leadline.worker import demo

# The simulated reps work in threads: their writes must be visible across connections.
pytestmark = pytest.mark.django_db(transaction=True)


def run() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def login(text: str, role: str) -> tuple[str, str]:
    line = next(line for line in text.splitlines() if line.strip().startswith(f"{role}:"))
    username, _, password = line.split(":", 1)[1].split()[:3]
    return username, password


def test_demo_tells_the_whole_story_once(media):
    first = run()
    business = Business.objects.get(name=demo.DEMO_BUSINESS)
    campaign = business.campaigns.get()
    leads = Lead.objects.filter(campaign=campaign)
    states = demo.demo_states(campaign)
    # Every state a real campaign reaches, each more than once (or as many as the story makes).
    assert states["queued"] == demo.FRESH_LEADS
    assert states["callbacks_booked"] > 0 and states["waiting_retry"] > 0
    assert states["processed"] > 100
    assert states["disabled"] == demo.DISABLED
    assert states["converted"] == demo.CONVERTED
    assert states["erased"] == demo.ERASED
    assert f"{states['processed']} processed" in first
    outcomes = set(leads.filter(erased_at__isnull=True).values_list("lead_outcome", flat=True))
    assert {
        "Connected : Objective Met",
        "Connected : Not Interested",
        "Not Connected : No Answer",
    } <= outcomes
    # Reached through the dialer's services: every processed lead has its attempts, the
    # answered ones their recordings and script answers.
    for lead in leads.filter(processed_at__isnull=False, erased_at__isnull=True):
        attempts = CallAttempt.objects.filter(lead=lead)
        assert attempts.exists(), lead.lead_id
        if lead.lead_outcome.startswith("Connected"):
            assert lead.latest_recording and lead.lead_responses, lead.lead_id
    assert any(media.rglob("*.wav"))
    erased = leads.filter(erased_at__isnull=False)
    assert not erased.exclude(phone_number=None).exists()

    # The three logins work, with the roles the banner names.
    for role in ("owner", "supervisor", "rep"):
        username, password = login(first, role)
        assert User.objects.get(username=username).check_password(password), role
    rep = User.objects.get(username=login(first, "rep")[0])
    assert rep.role == User.Role.REP and campaign.reps.filter(pk=rep.pk).exists()
    supervisor = User.objects.get(username=login(first, "supervisor")[0])
    assert supervisor.business_role == User.BusinessRole.MANAGER

    # Around the clock: the console has a lead to call at any hour of any day.
    start = datetime(2026, 12, 6, tzinfo=UTC)
    assert all(window_open(campaign, start + timedelta(minutes=m)) for m in range(0, 7 * 1440, 7))

    # The banner ends with the four addresses and a curl that creates a lead.
    for address in ("/voice/dashboard/", "/console/", "/admin/", "/api/v4/docs"):
        assert address in first
    assert f"/api/v4/leads/create/{campaign.public_id}/" in first.splitlines()[-1]

    second = run()
    assert "exists" in second and "ll_" not in second and "/console/" in second
    assert Business.objects.filter(name=demo.DEMO_BUSINESS).count() == 1
    assert Lead.objects.filter(campaign=campaign).count() == leads.count()
