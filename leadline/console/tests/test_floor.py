"""The supervisor's wallboard (/console/floor/, floor.json), forcing reps, and the console's
state panel views (available, pause, heartbeat, skip) through the real services."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

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
