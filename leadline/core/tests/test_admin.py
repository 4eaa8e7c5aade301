"""The operator console (/admin/): complete, query-bounded, and never showing a secret."""

import itertools
from datetime import time, timedelta

import pytest
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadline.accounts.models import ApiToken, Business, User
from leadline.accounts.services import api_token_create, business_get_or_create
from leadline.campaigns.models import DEFAULT_OUTCOMES, Campaign
from leadline.campaigns.services import campaign_create
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead
from leadline.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from leadline.webhooks.services import endpoint_create

PAGES = [
    "/admin/accounts/business/",
    "/admin/accounts/user/",
    "/admin/accounts/apitoken/",
    "/admin/campaigns/campaign/",
    "/admin/leads/lead/",
    "/admin/dialer/callattempt/",
    "/admin/webhooks/webhookendpoint/",
    "/admin/webhooks/delivery/",
    "/admin/webhooks/event/",
]

_seq = itertools.count()


@pytest.fixture
def private_webhooks(settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True


# --- rows for every changelist, each with its own related rows (so a missing join shows) ---


def make_tenant():
    n = next(_seq)
    business = business_get_or_create(name=f"Tenant {n}")
    campaign = campaign_create(business=business, name=f"Campaign {n}")
    rep = User.objects.create_user(
        username=f"rep-{n}",
        password="pw",
        role=User.Role.REP,
        business=business,
        phone_number="+919000000001",
    )
    campaign.reps.add(rep)
    return business, campaign, rep


def make_lead(campaign):
    now = timezone.now()
    return Lead.objects.create(
        campaign=campaign,
        lead_id=f"lead-{next(_seq)}",
        phone_number="+919876500001",
        contact_name="Person",
        created_at=now,
        updated_at=now,
        position=next(_seq),
    )


def make_endpoint(business, campaign=None):
    return endpoint_create(business=business, campaign=campaign, url="http://127.0.0.1:9/hook")


def make_delivery(status=Delivery.Status.FAILED):
    business, campaign, _ = make_tenant()
    created = make_endpoint(business, campaign)
    lead = make_lead(campaign)
    event = Event.objects.create(
        business=business,
        campaign=campaign,
        lead=lead,
        type=Event.Type.LEAD_PROCESSED,
        payload={"lead_id": lead.lead_id, "phone_number": lead.phone_number},
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=created.endpoint,
        status=status,
        attempts_count=2,
        next_attempt_at=timezone.now() + timedelta(days=1),
    )
    for code in (500, 503):
        DeliveryAttempt.objects.create(
            delivery=delivery, attempted_at=timezone.now(), status_code=code, latency_ms=5
        )
    return delivery, created.secret


def add_rows(page, count):
    for _ in range(count):
        business, campaign, rep = make_tenant()
        if page == "apitoken":
            api_token_create(business=business, name="t")
        elif page == "lead":
            make_lead(campaign)
        elif page == "callattempt":
            CallAttempt.objects.create(
                lead=make_lead(campaign),
                campaign=campaign,
                rep=rep,
                provider="simulator",
                started_at=timezone.now(),
            )
        elif page == "webhookendpoint":
            make_endpoint(business, campaign)
        elif page in ("delivery", "event"):
            make_delivery()
        else:  # business, user, campaign: the tenant itself is the row
            api_token_create(business=business, name="t")


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", PAGES)
def test_changelist_queries_do_not_grow_with_rows(client, operator, private_webhooks, page):
    model = page.rstrip("/").rsplit("/", 1)[1]
    add_rows(model, 3)
    few = queries_for(client, page)
    add_rows(model, 27)
    many = queries_for(client, page)
    assert few == many, f"{page}: {few} queries for 3 rows, {many} for 30"


SEARCH_AND_FILTER = {
    "/admin/accounts/business/": "q=Tenant&is_active__exact=1",
    "/admin/accounts/user/": "q=rep&role__exact=rep&is_active__exact=1",
    "/admin/accounts/apitoken/": "q=Tenant&state=active",
    "/admin/campaigns/campaign/": "q=Campaign&status__exact=active",
    "/admin/leads/lead/": "q=lead&status__exact=queued",
    "/admin/dialer/callattempt/": "q=rep&telephony_status__exact=initiated",
    "/admin/webhooks/webhookendpoint/": "q=127.0.0.1&enabled__exact=1",
    "/admin/webhooks/delivery/": "q=127.0.0.1&status__exact=failed&event_type=lead.processed",
    "/admin/webhooks/event/": "q=Tenant&type__exact=lead.processed",
}


@pytest.mark.parametrize("page", PAGES)
def test_changelist_search_and_filter(client, operator, private_webhooks, page):
    model = page.rstrip("/").rsplit("/", 1)[1]
    add_rows(model, 2)
    response = client.get(f"{page}?{SEARCH_AND_FILTER[page]}")
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1, page


@pytest.mark.parametrize("page", PAGES)
def test_operator_list_pages_render_without_phone_numbers(
    client, operator, make_leads, token, page
):
    make_leads(3)
    response = client.get(page)
    assert response.status_code == 200
    assert b"98765" not in response.content


@pytest.mark.parametrize("page", PAGES)
def test_non_staff_is_sent_to_the_admin_login(client, db, page):
    user = User.objects.create_user("client", password="pw", role=User.Role.CLIENT)
    client.force_login(user)
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- tokens -------------------------------------------------------------------------------


def test_token_pages_never_show_the_secret_or_hash_and_cannot_add_or_delete(
    client, operator, business
):
    issued = api_token_create(business=business, name="crm")
    token = ApiToken.objects.get(pk=issued.token.pk)
    for url in (
        "/admin/accounts/apitoken/",
        f"/admin/accounts/apitoken/{token.pk}/change/",
        f"/admin/accounts/apitoken/?q={token.prefix}",
    ):
        content = client.get(url).content.decode()
        assert token.prefix in content
        assert token.token_hash not in content and issued.secret not in content
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert client.get(f"/admin/accounts/apitoken/{token.pk}/delete/").status_code == 403


def test_revoke_action_cuts_api_access(client, operator, api, campaign):
    results = f"/api/v4/leads/responses/{campaign.public_id}/"
    assert api.get(results).status_code == 200
    token = ApiToken.objects.get()
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get(results).status_code == 403


# --- campaigns ------------------------------------------------------------------------------


def form_data(response):
    """The POST body the admin change/add page would send back as rendered."""
    data = {}

    def put(form):
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            widget = getattr(bound.field.widget, "widget", bound.field.widget)
            if isinstance(widget, MultiWidget):
                for i, part in enumerate(widget.decompress(value)):
                    if part is not None:
                        data[f"{bound.html_name}_{i}"] = part
            elif value is True:
                data[bound.html_name] = "on"
            elif value is False or value is None:
                continue
            else:
                data[bound.html_name] = value

    put(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        put(formset.management_form)
        for form in formset.forms:
            put(form)
    return data


def test_campaign_page_shows_configuration_and_new_campaigns_get_defaults(
    client, operator, campaign, business
):
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert b"Calling window" in page.content and b"Objective Met" in page.content
    add_page = client.get("/admin/campaigns/campaign/add/")
    assert b'name="public_id"' not in add_page.content  # the system draws it
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "business": business.pk,
            "name": "From admin",
            "public_id": "MINE01",  # ignored: not a field of the form
            "status": "active",
            "max_attempts": 3,
            "retry_delays_minutes": "[30]",
            "lease_minutes": 10,
            "timezone": "Asia/Kolkata",
            "window_start": "09:00",
            "window_end": "21:00",
            "window_days": "[0, 1, 2, 3, 4, 5]",
            "rep_visible_fields": "[]",
            "category": "service",
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "outcomes-TOTAL_FORMS": 0,
            "outcomes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    created = Campaign.objects.get(name="From admin")
    assert len(created.public_id) == 6 and created.public_id != "MINE01"
    assert created.outcomes.count() == len(DEFAULT_OUTCOMES)
    assert list(created.questions.values_list("key", flat=True)) == ["interested", "notes"]


def test_campaign_added_with_own_outcomes_keeps_them_and_gets_the_default_script(
    client, operator, business
):
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "business": business.pk,
            "name": "Own outcomes",
            "status": "active",
            "max_attempts": 3,
            "retry_delays_minutes": "[30]",
            "lease_minutes": 10,
            "timezone": "Asia/Kolkata",
            "window_start": "09:00",
            "window_end": "21:00",
            "window_days": "[0, 1]",
            "rep_visible_fields": "[]",
            "category": "service",
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "outcomes-TOTAL_FORMS": 1,
            "outcomes-INITIAL_FORMS": 0,
            "outcomes-0-position": 0,
            "outcomes-0-label": "Sold",
            "outcomes-0-connected": "on",
            "outcomes-0-effect": "final",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    created = Campaign.objects.get(name="Own outcomes")
    assert list(created.outcomes.values_list("label", flat=True)) == ["Sold"]
    assert created.questions.count() == 2


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"window_start": "21:00:00", "window_end": "09:00:00"}, "window_end"),
        ({"window_start": "10:00:00", "window_end": "10:00:00"}, "window_end"),
        ({"window_days": "[0, 7]"}, "window_days"),
        ({"window_days": "[]"}, "window_days"),
        ({"window_days": '"monday"'}, "window_days"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"retry_delays_minutes": "[]"}, "retry_delays_minutes"),
        ({"retry_delays_minutes": "[60, -5]"}, "retry_delays_minutes"),
        ({"rep_visible_fields": '{"city": 1}'}, "rep_visible_fields"),
        ({"max_attempts": "0"}, "max_attempts"),
    ],
)
def test_invalid_campaign_configuration_is_a_form_error(client, operator, campaign, changes, field):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    data = {**form_data(client.get(url)), **changes}
    response = client.post(url, data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.window_start == time(9, 0) and campaign.timezone == "Asia/Kolkata"


def test_campaign_change_round_trips_and_keeps_its_public_id(client, operator, campaign):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    data = {**form_data(client.get(url)), "window_days": "[6, 0, 0]", "status": "paused"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    before = campaign.public_id
    campaign.refresh_from_db()
    assert campaign.public_id == before and campaign.status == "paused"
    assert campaign.window_days == [0, 6]
    assert campaign.outcomes.count() == len(DEFAULT_OUTCOMES)  # inlines came back untouched


def test_a_choice_question_needs_options(client, operator, campaign):
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    data = form_data(client.get(url))
    data["questions-1-kind"] = "choice"
    data["questions-1-options"] = "[]"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "options" in response.context["inline_admin_formsets"][0].formset.forms[1].errors


def test_campaign_reps_are_limited_to_its_business(
    client, operator, campaign, other_campaign, business
):
    own = User.objects.create_user(
        "own-rep", role=User.Role.REP, business=business, phone_number="+919000000001"
    )
    foreign = User.objects.create_user(
        "foreign-rep",
        role=User.Role.REP,
        business=other_campaign.business,
        phone_number="+919000000002",
    )
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    page = client.get(url)
    offered = {u.username for u in page.context["adminform"].form.fields["reps"].queryset}
    assert offered == {"own-rep"}
    response = client.post(url, {**form_data(page), "reps": [own.pk, foreign.pk]})
    assert response.status_code == 200
    assert "reps" in response.context["adminform"].form.errors
    assert not campaign.reps.exists()
    response = client.post(url, {**form_data(page), "reps": [own.pk]})
    assert response.status_code == 302
    assert list(campaign.reps.all()) == [own]

    # On the add page the business is chosen on the same form: the form itself refuses.
    add = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "business": business.pk,
            "name": "New with foreign rep",
            "status": "active",
            "max_attempts": 3,
            "retry_delays_minutes": "[30]",
            "lease_minutes": 10,
            "timezone": "Asia/Kolkata",
            "window_start": "09:00",
            "window_end": "21:00",
            "window_days": "[0]",
            "rep_visible_fields": "[]",
            "reps": [foreign.pk],
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "outcomes-TOTAL_FORMS": 0,
            "outcomes-INITIAL_FORMS": 0,
        },
    )
    assert add.status_code == 200
    assert "reps" in add.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="New with foreign rep").exists()


def test_campaign_with_leads_cannot_be_deleted(client, operator, campaign):
    make_lead(campaign)
    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/delete/").status_code == 403


# --- users ----------------------------------------------------------------------------------


def test_user_page_assigns_campaigns_of_the_reps_business_only(
    client, operator, campaign, other_campaign, business
):
    rep = User.objects.create_user(
        "rep-a", role=User.Role.REP, business=business, phone_number="+919000000001"
    )
    url = f"/admin/accounts/user/{rep.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    offered = list(page.context["adminform"].form.fields["campaigns"].queryset)
    assert offered == [campaign]

    refused = client.post(url, {**form_data(page), "campaigns": [other_campaign.pk]})
    assert refused.status_code == 200
    assert "campaigns" in refused.context["adminform"].form.errors
    assert not rep.rep_campaigns.exists()

    saved = client.post(url, {**form_data(page), "campaigns": [campaign.pk]})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert list(rep.rep_campaigns.all()) == [campaign]

    # Moving the rep to another business while keeping the old campaigns is refused too.
    page = client.get(url)
    moved = client.post(url, {**form_data(page), "business": other_campaign.business.pk})
    assert moved.status_code == 200
    assert "campaigns" in moved.context["adminform"].form.errors

    # Unassigning works (an empty selection).
    data = form_data(client.get(url))
    data.pop("campaigns")
    assert client.post(url, data).status_code == 302
    assert not rep.rep_campaigns.exists()


def test_user_add_with_role_business_and_normalised_phone(client, operator, business):
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new-rep",
            "usable_password": "true",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "business": business.pk,
            "role": "rep",
            "phone_number": "98765 43210",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="new-rep")
    assert user.business == business and user.role == "rep"
    assert user.phone_number == "+919876543210"
    assert user.check_password("a-long-Passw0rd!")

    no_phone = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "rep-without-phone",
            "usable_password": "true",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "business": business.pk,
            "role": "rep",
        },
    )
    assert no_phone.status_code == 200
    assert "phone_number" in no_phone.context["adminform"].form.errors


def test_business_list_counts(client, operator, campaign, business):
    api_token_create(business=business)
    revoked = api_token_create(business=business).token
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    response = client.get("/admin/accounts/business/")
    row = next(b for b in response.context["cl"].result_list if b.pk == business.pk)
    assert (row.campaigns_count, row.users_count, row.active_tokens_count) == (1, 0, 1)
    assert isinstance(row, Business)


# --- webhooks -------------------------------------------------------------------------------


def test_webhook_pages_never_show_a_secret(client, operator, private_webhooks):
    delivery, secret = make_delivery()
    endpoint = delivery.endpoint
    endpoint.refresh_from_db()
    pages = [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{delivery.pk}/change/",
        "/admin/webhooks/event/",
        f"/admin/webhooks/event/{delivery.event_id}/change/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        assert secret not in content and "whsec_" not in content, url
        assert endpoint.secret_encrypted not in content, url
    # The event page shows the payload operators need, but not the lead's number (masked,
    # as the lead admin hides it; leadline/webhooks/tests/test_admin.py covers spellings).
    event_page = client.get(f"/admin/webhooks/event/{delivery.event_id}/change/").content
    assert b"+919876500001" not in event_page and b"+91 98XXX XXX01" in event_page
    assert client.get("/admin/webhooks/webhookendpoint/add/").status_code == 403


def test_endpoint_change_goes_through_the_guard_and_keeps_its_secret(
    client, operator, settings, business, campaign
):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    endpoint = make_endpoint(business).endpoint
    secret_before = endpoint.secret_encrypted
    url = f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"
    data = form_data(client.get(url))
    data.update(
        url="http://127.0.0.1:8/new",
        campaign=campaign.pk,
        event_types=["lead.processed", "lead.erased"],
        rate_per_minute=50,
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:8/new" and endpoint.campaign == campaign
    assert endpoint.event_types == ["lead.erased", "lead.processed"]
    assert endpoint.rate_per_minute == 50
    assert endpoint.secret_encrypted == secret_before

    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = False
    data = {**form_data(client.get(url)), "url": "http://127.0.0.1:8/private", "max_in_flight": 0}
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "url" in errors and "max_in_flight" in errors


def test_endpoint_disable_and_enable_actions(client, operator, private_webhooks, business):
    endpoint = make_endpoint(business).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "disable", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "Disabled by an operator."
    client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "enable", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None


def test_redeliver_action_requeues_a_failed_delivery(client, operator, private_webhooks):
    delivery, _ = make_delivery(status=Delivery.Status.FAILED)
    erased, _ = make_delivery(status=Delivery.Status.FAILED)
    Event.objects.filter(pk=erased.event_id).update(payload={"erased": True})
    response = client.post(
        "/admin/webhooks/delivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk, erased.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at <= timezone.now()
    erased.refresh_from_db()
    assert erased.status == Delivery.Status.FAILED
    assert b"erased" in response.content


def test_delivery_list_shows_last_code_and_event_type(client, operator, private_webhooks):
    delivery, _ = make_delivery()
    response = client.get("/admin/webhooks/delivery/")
    row = response.context["cl"].result_list[0]
    assert (row.last_status_code, row.event_type) == (503, "lead.processed")
    page = client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert page.status_code == 200 and b"503" in page.content
