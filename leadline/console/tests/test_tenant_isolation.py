"""A rep learns nothing about a lead or call that is not theirs: whatever state it is in,
in their business or another, every console URL with its id answers the same."""

import re
import uuid
from datetime import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import ApiClient
from leadline.accounts.models import User
from leadline.dialer import services
from leadline.dialer.availability import NOT_YOURS
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead

pytestmark = pytest.mark.django_db

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def same_page(response) -> tuple[int, str]:
    # A CSRF token is masked afresh on every render; nothing else may differ.
    return response.status_code, _CSRF.sub("", response.content.decode())


def _new_rep(username, campaign, phone):
    user = User.objects.create_user(
        username=username, role=User.Role.REP, phone_number=phone, business=campaign.business
    )
    campaign.reps.add(user)
    return user


@pytest.fixture
def strangers(rep, open_campaign, other_campaign, other_token, sim, api):
    """Leads the rep does not hold, in every state: another business's (held by its rep,
    queued, disabled, processed, erased) and one a colleague holds; and calls of others."""
    other_campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    other_campaign.window_start, other_campaign.window_end = time(0, 0), time.max
    other_campaign.save()
    theirs = ApiClient(Client(), other_token)
    states = ("held", "queued", "disabled", "processed", "erased")
    created = theirs.post(
        f"/api/v4/leads/create/{other_campaign.public_id}/",
        [
            {"lead_id": f"b-{s}", "phone_number": f"98765000{i:02d}", "contact_name": f"B {s}"}
            for i, s in enumerate(states)
        ],
    )
    assert created.status_code == 201, created.content
    pid = other_campaign.public_id
    theirs.post(f"/api/v4/leads/disable/{pid}/", {"lead_id": "b-disabled"})
    theirs.post(f"/api/v4/leads/delete/{pid}/", {"lead_id": "b-erased"})
    Lead.objects.filter(lead_id="b-processed").update(
        status=Lead.Status.PROCESSED, processed_at=timezone.now()
    )
    omar = _new_rep("omar", other_campaign, "+919000000009")
    held = services.lead_claim(rep=omar)
    assert held is not None and held.lead_id == "b-held"
    their_call = services.call_place(rep=omar, lead_pk=held.pk)

    api.post(
        f"/api/v4/leads/create/{open_campaign.public_id}/",
        [{"lead_id": "a-colleague", "phone_number": "9876500077", "contact_name": "A c"}],
    )
    colleague = _new_rep("ravi", open_campaign, "+919000000002")
    colleague_lead = services.lead_claim(rep=colleague)
    colleague_call = services.call_place(rep=colleague, lead_pk=colleague_lead.pk)
    leads = {lead.lead_id or "b-erased": lead.pk for lead in Lead.objects.all()}
    leads["missing"] = max(leads.values()) + 1000
    calls = {"theirs": their_call.uuid, "colleague": colleague_call.uuid, "missing": uuid.uuid4()}
    return leads, calls


def test_calling_a_lead_that_is_not_yours_reads_the_same_whatever_its_state(
    rep_client, rep, strangers
):
    leads, _ = strangers
    redirects, pages = {}, {}
    for name, pk in leads.items():
        response = rep_client.post(reverse("console:call", args=[pk]))
        redirects[name] = (response.status_code, response["Location"] == f"/console/leads/{pk}/")
        pages[name] = same_page(rep_client.get(response["Location"]))
    assert set(redirects.values()) == {(302, True)}, redirects
    assert len(set(pages.values())) == 1, pages
    status, body = pages["b-disabled"]
    assert status == 404 and NOT_YOURS in body and "No such lead of yours." in body
    assert not CallAttempt.objects.filter(rep=rep).exists()


def test_a_lead_page_that_is_not_yours_reads_the_same_whatever_its_state(rep_client, strangers):
    leads, _ = strangers
    pages = {name: same_page(rep_client.get(f"/console/leads/{pk}/")) for name, pk in leads.items()}
    assert len(set(pages.values())) == 1, pages
    assert pages["b-held"][0] == 404


def test_someone_elses_call_reads_the_same_as_no_call(rep_client, strangers):
    _, calls = strangers
    polls, outcomes = {}, {}
    for name, attempt_uuid in calls.items():
        polls[name] = same_page(rep_client.get(reverse("console:call_status", args=[attempt_uuid])))
        outcomes[name] = same_page(
            rep_client.post(
                reverse("console:disposition", args=[attempt_uuid]),
                {"outcome": "Not Connected : Busy"},
            )
        )
    assert len(set(polls.values())) == 1 and polls["theirs"][0] == 404, polls
    assert len(set(outcomes.values())) == 1 and outcomes["theirs"][0] == 404, outcomes
    assert not CallAttempt.objects.filter(disposed_at__isnull=False).exists()


def test_the_rep_holding_the_lead_still_hears_why(rep_client, rep, api, open_campaign, strangers):
    api.post(
        f"/api/v4/leads/create/{open_campaign.public_id}/",
        [{"lead_id": "mine", "phone_number": "9876500088", "contact_name": "Mine"}],
    )
    mine = services.lead_claim(rep=rep)
    assert mine is not None and mine.lead_id == "mine"
    api.post(f"/api/v4/leads/disable/{open_campaign.public_id}/", {"lead_id": "mine"})
    response = rep_client.post(reverse("console:call", args=[mine.pk]), follow=True)
    body = response.content.decode()
    assert "This lead was disabled by the client; do not call it." in body
    assert NOT_YOURS not in body
