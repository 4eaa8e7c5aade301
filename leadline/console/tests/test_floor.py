"""The supervisor's wallboard (/console/floor/, floor.json), forcing reps, reassigning personal
callbacks, and the console's state panel views (available, pause, heartbeat, skip) through the
real services."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.services import campaign_create
from leadline.dialer import services
from leadline.dialer.models import LeadSkip, RepState
from leadline.leads.models import Lead


def supervisor_add(*args) -> dict:
    out = io.StringIO()
    call_command("supervisor", "add", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def boss(open_campaign):
    supervisor_add("--username", "meena", "--campaign", open_campaign.public_id)
    user = User.objects.get(username="meena")
    client = Client()
    client.force_login(user)
    return client


def test_the_command_creates_a_scoped_supervisor(open_campaign):
    made = supervisor_add("--username", "ravi", "--campaign", open_campaign.public_id)
    assert made["created"] and made["campaigns"] == [open_campaign.public_id]
    assert made["password"]  # generated, shown once
    user = User.objects.get(username="ravi")
    assert user.role == User.Role.SUPERVISOR and user.business_id is None
    assert list(user.supervised_campaigns.all()) == [open_campaign]
    again = supervisor_add("--username", "ravi")
    assert not again["created"] and again["scope"] == "all"
    with pytest.raises(CommandError):
        supervisor_add("--username", "ravi", "--campaign", "NOPE00")


def test_the_wallboard_shows_reps_and_campaigns_without_numbers(
    boss, rep, rep_client, open_campaign, make_leads
):
    make_leads(2)
    rep_client.post(reverse("console:state"), {"action": "available"})
    board = boss.get(reverse("console:floor_json")).json()
    [row] = board["reps"]
    assert (row["username"], row["state"], row["calls_today"]) == ("asha", "available", 0)
    [campaign] = board["campaigns"]
    assert campaign["public_id"] == open_campaign.public_id and campaign["due_now"] == 2
    assert campaign["available_reps"] == 1
    page = boss.get(reverse("console:floor"))
    assert page.status_code == 200
    assert b'data-rep="asha"' in page.content and b"every 3s" in page.content
    for body in (page.content, boss.get(reverse("console:floor_json")).content):
        assert b"98765" not in body  # no lead's number, ever
    # Reps do not see the wallboard; supervisors do not get a rep's console.
    assert rep_client.get(reverse("console:floor")).status_code == 403
    assert boss.get(reverse("console:home")).status_code == 403


def test_a_forced_pause_releases_the_held_lead(boss, rep, rep_client, make_leads):
    make_leads(1)
    rep_client.post(reverse("console:state"), {"action": "available"})
    rep_client.post(reverse("console:next"))
    lead = Lead.objects.get()
    assert lead.leased_by_id == rep.pk
    response = boss.post(
        reverse("console:floor_force", args=[rep.pk]), {"action": "pause", "code": "meeting"}
    )
    assert response.status_code == 302
    state = RepState.objects.get(rep=rep)
    assert (state.state, state.pause_code) == ("paused", "meeting")
    lead.refresh_from_db()
    assert lead.leased_by_id is None
    boss.post(reverse("console:floor_force", args=[rep.pk]), {"action": "offline"})
    assert RepState.objects.get(rep=rep).state == "offline"


def test_a_supervisor_of_other_campaigns_cannot_force_this_rep(business, rep, rep_client):
    other = campaign_create(business=business, name="Elsewhere")
    supervisor_add("--username", "kiran", "--campaign", other.public_id)
    client = Client()
    client.force_login(User.objects.get(username="kiran"))
    rep_client.post(reverse("console:state"), {"action": "available"})
    client.post(reverse("console:floor_force", args=[rep.pk]), {"action": "offline"})
    assert RepState.objects.get(rep=rep).state == "available"
    assert client.get(reverse("console:floor_json")).json()["reps"] == []


def test_state_panel_pause_codes_heartbeat_and_skip(rep, rep_client, open_campaign, make_leads):
    make_leads(2)
    response = rep_client.post(reverse("console:state"), {"action": "pause", "code": "nap"})
    assert response.status_code == 302
    assert not RepState.objects.filter(rep=rep, state="paused").exists()
    rep_client.post(reverse("console:state"), {"action": "pause", "code": "break"})
    assert RepState.objects.get(rep=rep).state == "paused"
    assert rep_client.post(reverse("console:heartbeat")).status_code == 204
    # Taking a lead is working again.
    rep_client.post(reverse("console:next"))
    assert RepState.objects.get(rep=rep).state == "available"
    lead = services.lead_held_by(rep=rep)
    bad = rep_client.post(reverse("console:skip", args=[lead.pk]), {"reason": "because"})
    assert bad.status_code == 302 and not LeadSkip.objects.exists()
    rep_client.post(reverse("console:skip", args=[lead.pk]), {"reason": "Other"})
    assert LeadSkip.objects.get().lead_id == lead.pk
    # Progressive: the home page takes the next lead by itself while available.
    open_campaign.dial_mode = "progressive"
    open_campaign.save(update_fields=["dial_mode"])
    home = rep_client.get(reverse("console:home"))
    assert b"data-auto-submit" in home.content
    rep_client.post(reverse("console:state"), {"action": "pause", "code": "lunch"})
    assert b"data-auto-submit" not in rep_client.get(reverse("console:home")).content
    rep_client.post(reverse("console:logout"))
    assert RepState.objects.get(rep=rep).state == "offline"


def book_personal_callback(rep, hours=1):
    """A real call by `rep` (simulated, answered) ending in a personal callback."""
    lead = services.lead_claim(rep=rep)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk)
    services.call_refresh(attempt=attempt, now=timezone.now() + timedelta(seconds=10))
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label="Callback Requested",
        answers={"interested": "yes"},
        callback_at=timezone.now() + timedelta(hours=hours),
        callback_for="me",
    )
    return Lead.objects.get(pk=lead.pk)


def test_a_supervisor_reassigns_a_personal_callback_from_the_floor(
    boss, rep, open_campaign, business, make_leads, sim
):
    make_leads(1)
    lead = book_personal_callback(rep)
    other = User.objects.create_user(
        username="bala", password="pw", role=User.Role.REP, business=business
    )
    open_campaign.reps.add(other)
    stranger = User.objects.create_user(
        username="chitra", password="pw", role=User.Role.REP, business=business
    )
    board = boss.get(reverse("console:floor_json")).json()
    [listed] = board["callbacks"]
    assert (listed["lead"], listed["owner"], listed["overdue"]) == (lead.pk, "asha", False)
    assert [username for _, username in listed["reps"]] == ["bala"]
    page = boss.get(reverse("console:floor")).content
    assert f'data-reassign="{lead.pk}"'.encode() in page and b"98765" not in page
    url = reverse("console:floor_reassign", args=[lead.pk])
    # Bad input: a form error with a 4xx, nothing changed.
    for to, status in [(str(stranger.pk), 400), ("", 400), ("<x>", 400)]:
        response = boss.post(url, {"to": to})
        assert response.status_code == status
        assert b"Pick a rep" in response.content
    assert (
        boss.post(reverse("console:floor_reassign", args=[10**9]), {"to": "anyone"}).status_code
        == 404
    )
    assert boss.get(url).status_code == 405
    lead.refresh_from_db()
    assert lead.reserved_for_id == rep.pk
    # To another rep of the campaign, then to anyone.
    assert boss.post(url, {"to": str(other.pk)}).status_code == 302
    lead.refresh_from_db()
    assert lead.reserved_for_id == other.pk
    boss.post(url, {"to": "anyone"})
    lead.refresh_from_db()
    assert lead.reserved_for_id is None
    assert boss.get(reverse("console:floor_json")).json()["callbacks"] == []


def test_reassigning_needs_csrf_and_the_campaign_on_your_floor(
    rep, open_campaign, business, make_leads, sim
):
    make_leads(1)
    lead = book_personal_callback(rep)
    other = campaign_create(business=business, name="Elsewhere")
    supervisor_add("--username", "kiran", "--campaign", other.public_id)
    url = reverse("console:floor_reassign", args=[lead.pk])
    outsider = Client()
    outsider.force_login(User.objects.get(username="kiran"))
    assert outsider.post(url, {"to": "anyone"}).status_code == 404
    assert outsider.get(reverse("console:floor_json")).json()["callbacks"] == []
    supervisor_add("--username", "meena", "--campaign", open_campaign.public_id)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.get(username="meena"))
    assert strict.post(url, {"to": "anyone"}).status_code == 403
    lead.refresh_from_db()
    assert lead.reserved_for_id == rep.pk
