"""The rep console through Django's test client, on the suite's database (SQLite or PostgreSQL)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from leadline.accounts.models import User
from leadline.dialer import selectors, services
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead

from .conftest import PASSWORD, sim_speed

OBJECTIVE = "Connected : Objective Met"
BUSY = "Not Connected : Busy"
CALLBACK = "Callback Requested"

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def claim(client) -> int:
    response = client.post(reverse("console:next"))
    assert response.status_code == 302, text(response)
    match = re.fullmatch(r"/console/leads/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def place_call(client, lead_pk) -> CallAttempt:
    response = client.post(reverse("console:call", args=[lead_pk]))
    assert response.status_code == 302
    return CallAttempt.objects.get(lead_id=lead_pk, disposed_at__isnull=True)


def dispose(client, attempt, **data):
    return client.post(reverse("console:disposition", args=[attempt.uuid]), data)


# --- who may use the console ----------------------------------------------------------------


def test_every_page_needs_a_login(client, rep, make_leads):
    make_leads(1)
    lead = Lead.objects.get()
    attempt_uuid = "00000000-0000-0000-0000-000000000000"
    pages = [
        ("get", reverse("console:home")),
        ("get", reverse("console:campaign", args=[rep.rep_campaigns.get().public_id])),
        ("post", reverse("console:next")),
        ("get", reverse("console:lead", args=[lead.pk])),
        ("post", reverse("console:call", args=[lead.pk])),
        ("get", reverse("console:call_status", args=[attempt_uuid])),
        ("post", reverse("console:disposition", args=[attempt_uuid])),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/console/login/?next="), url
    # A poll after the session ended sends the whole page to the login form.
    response = client.get(pages[5][1], headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/console/login/"
    assert not Lead.objects.filter(leased_by__isnull=False).exists()


def test_rep_signs_in_and_out(client, rep):
    page = client.get(reverse("console:login"))
    assert page.status_code == 200 and "Sign in" in text(page)
    response = client.post(
        reverse("console:login"), {"username": "asha", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/console/"
    assert "My campaigns" in text(response) and "Renewals" in text(response)
    response = client.post(reverse("console:logout"))
    assert response.status_code == 302 and response["Location"] == "/console/login/"
    assert client.get(reverse("console:home")).status_code == 302


def test_login_keeps_the_next_page(client, rep, open_campaign):
    url = reverse("console:campaign", args=[open_campaign.public_id])
    response = client.post(
        reverse("console:login") + f"?next={url}",
        {"username": "asha", "password": PASSWORD, "next": url},
    )
    assert response["Location"] == url


def test_wrong_password_is_a_form_error(client, rep):
    response = client.post(reverse("console:login"), {"username": "asha", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response)


@pytest.mark.parametrize("role", [User.Role.CLIENT, User.Role.OPERATOR])
def test_non_reps_are_refused(client, business, role):
    User.objects.create_user(
        username="boss", password=PASSWORD, role=role, business=business, is_staff=True
    )
    response = client.post(reverse("console:login"), {"username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    assert "not a rep" in text(response)
    assert "_auth_user_id" not in client.session
    # Signed in elsewhere (the admin, a dashboard): still no console.
    client.force_login(User.objects.get(username="boss"))
    for url in (reverse("console:home"), reverse("console:call_status", args=[_uuid()])):
        response = client.get(url)
        assert response.status_code == 403
        assert "Not a rep account" in text(response)
    assert client.post(reverse("console:next")).status_code == 403


def test_superuser_is_not_a_rep(client, business):
    admin = User.objects.create_superuser(username="root", password=PASSWORD, email="r@x.io")
    client.force_login(admin)
    assert client.get(reverse("console:home")).status_code == 403


def _uuid() -> str:
    return "11111111-2222-3333-4444-555555555555"


# --- campaigns, next lead ---------------------------------------------------------------------


def test_home_lists_the_reps_campaigns_only(rep_client, rep, open_campaign, other_campaign):
    open_campaign.__class__.objects.create(business=open_campaign.business, name="Not mine")
    body = text(rep_client.get(reverse("console:home")))
    assert "Renewals" in body and "Calling now" in body
    assert "Not mine" not in body and "Theirs" not in body
    assert "Sun" in body or "Mon-Sun" in body
    campaign_page = rep_client.get(reverse("console:campaign", args=[open_campaign.public_id]))
    body = text(campaign_page)
    assert "Is the customer interested?" in body and OBJECTIVE in body
    foreign = rep_client.get(reverse("console:campaign", args=[other_campaign.public_id]))
    assert foreign.status_code == 404 and "No such campaign of yours." in text(foreign)
    assert rep_client.get("/console/campaigns/%00AB/").status_code == 404


def test_next_lead_shows_name_masked_number_visible_fields_and_script(rep_client, rep, make_leads):
    make_leads(1, city="Pune", policy_type="motor", pan_number="ABCDE1234F")
    lead_pk = claim(rep_client)
    page = rep_client.get(reverse("console:lead", args=[lead_pk]))
    body = text(page)
    assert page.status_code == 200
    assert "Person 0" in body
    assert "+91 98XXX XXX00" in body
    assert "Pune" in body and "motor" in body
    assert "ABCDE1234F" not in body and "pan number" not in body and "pan_number" not in body
    assert "Is the customer interested?" in body and "Notes from the call" in body
    assert ">Call</button>" in body
    lead = Lead.objects.get(pk=lead_pk)
    assert lead.leased_by == rep
    # Asking again gives the same lead; home offers to continue with it.
    assert claim(rep_client) == lead_pk
    home = text(rep_client.get(reverse("console:home")))
    assert "You are holding a lead" in home and f"/console/leads/{lead_pk}/" in home


def test_no_lead_due_is_a_message(rep_client, open_campaign):
    response = rep_client.post(reverse("console:next"), follow=True)
    assert response.status_code == 200
    assert "No lead is due right now" in text(response)


def test_outside_calling_hours_nothing_is_offered(rep_client, open_campaign, make_leads):
    make_leads(1)
    open_campaign.window_days = []
    open_campaign.save()
    response = rep_client.post(reverse("console:next"), follow=True)
    assert "No lead is due right now" in text(response)
    assert "Outside calling hours" in text(response)
    assert not Lead.objects.filter(leased_by__isnull=False).exists()


def test_someone_elses_lead_is_not_found(rep_client, rep, make_leads, open_campaign):
    make_leads(1)
    other = User.objects.create_user(
        username="ravi", role=User.Role.REP, phone_number="+919000000002", business=rep.business
    )
    open_campaign.reps.add(other)
    lead = services.lead_claim(rep=other)
    for response in (
        rep_client.get(reverse("console:lead", args=[lead.pk])),
        rep_client.get(reverse("console:lead", args=[10**18 - 1])),
    ):
        assert response.status_code == 404
        assert "No such lead of yours." in text(response)
    response = rep_client.post(reverse("console:call", args=[lead.pk]), follow=True)
    # Not "your hold expired": the rep never held it, and its state is not theirs to learn.
    assert "This lead is not yours to call; take the next lead." in text(response)
    assert not CallAttempt.objects.exists()
    # Ids beyond 64 bits never reach the database.
    assert rep_client.get("/console/leads/99999999999999999999999/").status_code == 404


# --- calling ----------------------------------------------------------------------------------


def test_call_then_status_polls_until_the_call_ends(rep_client, rep, make_leads, sim):
    make_leads(1)
    lead_pk = claim(rep_client)
    sim_speed(sim, 1)  # real time: the call is still ringing when we look
    attempt = place_call(rep_client, lead_pk)
    assert attempt.rep == rep and attempt.provider_call_id.startswith("sim-")
    page = text(rep_client.get(reverse("console:lead", args=[lead_pk])))
    status_url = reverse("console:call_status", args=[attempt.uuid])
    assert f'hx-get="{status_url}"' in page and 'hx-trigger="every 1s"' in page
    assert "Outcome of the call" in page and ">Call</button>" not in page

    ringing = rep_client.get(status_url, headers={"HX-Request": "true"})
    assert ringing.status_code == 200
    assert 'data-status="ringing"' in text(ringing) and "every 1s" in text(ringing)
    assert "<html" not in text(ringing)  # a partial

    sim_speed(sim, 1e6)  # now it has long finished
    done = text(rep_client.get(status_url, headers={"HX-Request": "true"}))
    assert 'data-status="completed"' in done
    assert "hx-trigger" not in done  # polling stops
    assert "The call has ended" in done
    attempt.refresh_from_db()
    assert attempt.telephony_status == "completed" and attempt.duration_seconds
    assert re.search(r'class="duration"[^>]*>\d+:\d\d<', done)


def test_second_call_before_the_outcome_is_refused(rep_client, make_leads, sim):
    make_leads(1)
    lead_pk = claim(rep_client)
    place_call(rep_client, lead_pk)
    response = rep_client.post(reverse("console:call", args=[lead_pk]), follow=True)
    assert response.status_code == 200
    assert "Record the outcome of the current call first." in text(response)
    assert CallAttempt.objects.count() == 1


def test_rep_without_a_phone_gets_a_message(rep_client, rep, make_leads, sim):
    rep.phone_number = ""
    rep.save()
    make_leads(1)
    lead_pk = claim(rep_client)
    response = rep_client.post(reverse("console:call", args=[lead_pk]), follow=True)
    assert response.status_code == 200
    assert "Your profile has no phone number" in text(response)


def test_unknown_call_status_is_a_small_partial(rep_client):
    response = rep_client.get(reverse("console:call_status", args=[_uuid()]))
    assert response.status_code == 404
    assert 'id="call-status"' in text(response) and "hx-trigger" not in text(response)


# --- disposition ----------------------------------------------------------------------------


def test_validation_errors_come_back_as_form_errors(rep_client, make_leads, sim, open_campaign):
    open_campaign.questions.create(key="age", label="Age", kind="number", position=5)
    open_campaign.questions.create(
        key="plan", label="Plan", kind="choice", options=["gold", "silver"], position=6
    )
    open_campaign.questions.create(key="renew_on", label="Renew on", kind="date", position=7)
    make_leads(1)
    lead_pk = claim(rep_client)
    attempt = place_call(rep_client, lead_pk)

    missing = dispose(rep_client, attempt, outcome=OBJECTIVE)
    assert missing.status_code == 400
    body = text(missing)
    assert "Is required for a connected call." in body
    assert 'class="field has-error"' in body
    assert "Person 0" in body  # the whole lead page, with the form kept

    bad = dispose(
        rep_client,
        attempt,
        outcome=OBJECTIVE,
        answer_interested="yes",
        answer_age="twelve",
        answer_renew_on="31/12/2025",
        answer_notes="x" * 3000,
    )
    assert bad.status_code == 400
    body = text(bad)
    assert "Ensure this value has at most 2000 characters" in body
    bad = dispose(
        rep_client,
        attempt,
        outcome=OBJECTIVE,
        answer_interested="yes",
        answer_age="twelve",
        answer_renew_on="31/12/2025",
    )
    body = text(bad)
    assert bad.status_code == 400
    assert "Must be a number." in body and "Must be a date (YYYY-MM-DD)." in body
    assert 'value="twelve"' in body  # what the rep typed is kept

    for data in (
        {"outcome": "Made up"},
        {},
        {"outcome": OBJECTIVE, "answer_interested": "maybe"},
        {"outcome": OBJECTIVE, "answer_interested": "yes", "answer_plan": "bronze"},
        {"outcome": CALLBACK, "answer_interested": "yes", "callback_at": "tomorrow"},
    ):
        response = dispose(rep_client, attempt, **data)
        assert response.status_code == 400, data
        assert "errorlist" in text(response), data

    past = (timezone.now() - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Kolkata"))
    response = dispose(
        rep_client,
        attempt,
        outcome=CALLBACK,
        answer_interested="yes",
        callback_at=past.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 400
    assert "Pick a callback time in the future." in text(response)
    assert re.search(r'class="field has-error callback-field"', text(response))
    attempt.refresh_from_db()
    assert attempt.disposed_at is None


def test_processed_then_figures_then_next(rep_client, rep, make_leads, sim):
    make_leads(2, city="Pune")
    home = text(rep_client.get(reverse("console:home")))
    assert re.search(r'data-figure="calls">0<', home)
    lead_pk = claim(rep_client)
    attempt = place_call(rep_client, lead_pk)
    rep_client.get(reverse("console:call_status", args=[attempt.uuid]))
    response = dispose(
        rep_client,
        attempt,
        outcome=OBJECTIVE,
        answer_interested="yes",
        answer_notes="Wants the gold plan",
    )
    assert response.status_code == 302 and response["Location"] == "/console/"
    home = rep_client.get(response["Location"])
    body = text(home)
    assert "The lead is processed." in body
    assert re.search(r'data-figure="calls">1<', body)
    assert re.search(r'data-figure="connects">1<', body)
    assert re.search(r'data-figure="processed">1<', body)
    lead = Lead.objects.get(pk=lead_pk)
    assert lead.status == Lead.Status.PROCESSED
    assert lead.lead_responses == {"interested": "yes", "notes": "Wants the gold plan"}
    # The same form again: already recorded.
    again = dispose(rep_client, attempt, outcome=OBJECTIVE, answer_interested="yes")
    assert again.status_code == 302
    assert "already recorded" in text(rep_client.get(again["Location"]))
    # Next.
    assert claim(rep_client) != lead_pk


def test_busy_retry_counts_a_call_but_no_connect(rep_client, rep, make_leads, sim):
    make_leads(1)
    lead_pk = claim(rep_client)
    attempt = place_call(rep_client, lead_pk)
    response = dispose(rep_client, attempt, outcome=BUSY, answer_notes="ignored")
    assert response.status_code == 302
    body = text(rep_client.get("/console/"))
    assert "tried again later" in body
    figures = selectors.rep_figures_today(rep=rep)
    assert (figures.calls, figures.connects, figures.processed) == (1, 0, 0)
    # The lead page now says the call was recorded rather than offering a call.
    page = text(rep_client.get(reverse("console:lead", args=[lead_pk])))
    assert "You recorded this call as" in page and ">Call</button>" not in page


def test_callback_time_is_the_campaigns_local_time(rep_client, make_leads, sim, open_campaign):
    open_campaign.timezone = "Asia/Kolkata"
    open_campaign.save()
    make_leads(1)
    lead_pk = claim(rep_client)
    attempt = place_call(rep_client, lead_pk)
    local = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Asia/Kolkata"))
    local = local.replace(hour=18, minute=30, second=0, microsecond=0)
    response = dispose(
        rep_client,
        attempt,
        outcome=CALLBACK,
        answer_interested="yes",
        callback_at=local.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302, text(response)
    attempt.refresh_from_db()
    assert attempt.callback_at == local
    assert attempt.callback_at.astimezone(ZoneInfo("UTC")).strftime("%H:%M") == "13:00"
    assert "18:30 (Asia/Kolkata)" in text(rep_client.get("/console/"))
    lead = Lead.objects.get(pk=lead_pk)
    assert lead.queue_class == Lead.QueueClass.CALLBACK and lead.due_at == local


def test_callback_field_carries_the_outcome_effect(rep_client, make_leads, sim):
    make_leads(1)
    lead_pk = claim(rep_client)
    place_call(rep_client, lead_pk)
    page = text(rep_client.get(reverse("console:lead", args=[lead_pk])))
    assert f'<option value="{CALLBACK}" data-effect="callback">' in page
    assert 'type="datetime-local"' in page
    assert "In the campaign&#x27;s time zone, Asia/Kolkata." in page


# --- the lead goes away while held ----------------------------------------------------------


def test_disabled_while_held_shows_why_and_offers_no_call(
    rep_client, api, open_campaign, make_leads, sim
):
    make_leads(1)
    lead_pk = claim(rep_client)
    api.post(f"/api/v4/leads/disable/{open_campaign.public_id}/", {"lead_id": "lead-0"})
    page = rep_client.get(reverse("console:lead", args=[lead_pk]))
    body = text(page)
    assert page.status_code == 200
    assert "This lead was disabled by the client; do not call it." in body
    assert ">Call</button>" not in body and "Next lead" in body
    # A stale page's Call button: refused with the same words, no call placed.
    response = rep_client.post(reverse("console:call", args=[lead_pk]), follow=True)
    assert "This lead was disabled by the client; do not call it." in text(response)
    assert not CallAttempt.objects.exists()


def test_disabled_mid_call_records_the_outcome_and_stops(
    rep_client, api, open_campaign, make_leads, sim
):
    make_leads(1)
    lead_pk = claim(rep_client)
    attempt = place_call(rep_client, lead_pk)
    api.post(f"/api/v4/leads/disable/{open_campaign.public_id}/", {"lead_id": "lead-0"})
    body = text(rep_client.get(reverse("console:lead", args=[lead_pk])))
    assert "disabled by the client" in body and "Outcome of the call" in body
    assert ">Call</button>" not in body
    response = dispose(rep_client, attempt, outcome=BUSY)
    assert response.status_code == 302
    body = text(rep_client.get(response["Location"]))
    assert "The client disabled this lead during the call" in body
    assert Lead.objects.get(pk=lead_pk).status == Lead.Status.DISABLED


def test_erased_while_held_shows_why_and_nothing_of_the_lead(
    rep_client, api, open_campaign, make_leads, sim, django_capture_on_commit_callbacks
):
    make_leads(1, city="Pune")
    lead_pk = claim(rep_client)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v4/leads/delete/{open_campaign.public_id}/", {"lead_id": "lead-0"})
    page = rep_client.get(reverse("console:lead", args=[lead_pk]))
    body = text(page)
    assert page.status_code == 200
    assert "This lead was erased; nothing more can be done with it." in body
    assert "Person 0" not in body and "Pune" not in body
    assert ">Call</button>" not in body and "Next lead" in body
    response = rep_client.post(reverse("console:call", args=[lead_pk]), follow=True)
    assert "This lead was erased" in text(response)
    assert not CallAttempt.objects.exists()


def test_erased_mid_call_stops_polling_and_discards(
    rep_client, api, open_campaign, make_leads, sim, django_capture_on_commit_callbacks
):
    make_leads(1)
    lead_pk = claim(rep_client)
    sim_speed(sim, 1)
    attempt = place_call(rep_client, lead_pk)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v4/leads/delete/{open_campaign.public_id}/", {"lead_id": "lead-0"})
    status = text(rep_client.get(reverse("console:call_status", args=[attempt.uuid])))
    assert "The lead was erased during the call." in status and "hx-trigger" not in status
    page = text(rep_client.get(reverse("console:lead", args=[lead_pk])))
    assert "This lead was erased" in page and "Outcome of the call" not in page
    # A form posted from a page opened before the erasure: discarded, with a message.
    response = dispose(rep_client, attempt, outcome=OBJECTIVE, answer_interested="yes")
    assert response.status_code == 302
    assert "what you captured was discarded" in text(rep_client.get(response["Location"]))
    attempt.refresh_from_db()
    assert attempt.discarded and attempt.answers == {}


# --- figures ------------------------------------------------------------------------------------


def test_figures_are_the_reps_own_for_the_local_day(rep, make_leads, sim, open_campaign):
    make_leads(3)
    ist = ZoneInfo("Asia/Kolkata")
    # 00:30 in Kolkata is still "yesterday" in UTC: it counts for today all the same.
    now = datetime.now(ist).replace(hour=0, minute=30, second=0, microsecond=0)
    now += timedelta(days=2)
    for outcome in (OBJECTIVE, BUSY):
        lead = services.lead_claim(rep=rep, now=now)
        attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
        services.call_refresh(attempt=attempt, now=now + timedelta(seconds=1))
        services.disposition_submit(
            rep=rep,
            attempt_uuid=str(attempt.uuid),
            outcome_label=outcome,
            answers={"interested": "yes"} if outcome == OBJECTIVE else {},
            now=now + timedelta(seconds=2),
        )
    yesterday = now - timedelta(hours=1)
    lead = services.lead_claim(rep=rep, now=yesterday)
    services.call_place(rep=rep, lead_pk=lead.pk, now=yesterday)
    figures = selectors.rep_figures_today(rep=rep, now=now + timedelta(hours=3))
    assert (figures.calls, figures.connects, figures.processed) == (2, 1, 1)
    assert figures.talk_seconds > 0 and ":" in figures.talk
    other = User.objects.create_user(username="ravi", role=User.Role.REP, business=rep.business)
    open_campaign.reps.add(other)
    assert selectors.rep_figures_today(rep=other, now=now).calls == 0


def test_htmx_and_css_are_served(client):
    for name in ("vendor/htmx.min.js", "console/console.css", "dashboard/dashboard.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert int(response["Content-Length"]) > 1000, name
