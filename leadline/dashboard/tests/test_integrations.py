"""The dashboard's integrations page: API tokens and webhook endpoints, business by business."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import ApiClient
from leadline.accounts.models import ApiToken
from leadline.accounts.services import api_token_create
from leadline.core import crypto
from leadline.leads.results import FIXED_KEYS
from leadline.webhooks import services as webhook_services
from leadline.webhooks.delivery.claim import batch_claim
from leadline.webhooks.models import (
    DISABLED_FAILING,
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
)

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/leadline"  # an IP literal: no DNS lookup in tests
SECRET = re.compile(rb"ll_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")
WHSEC = re.compile(rb"whsec_[A-Za-z0-9+/=]{40,}")


def url(name, *args):
    return reverse(f"dashboard:{name}", args=args)


@pytest.fixture
def endpoint(business, campaign):
    return webhook_services.endpoint_create(
        business=business, url=PUBLIC_URL, campaign=campaign
    ).endpoint


@pytest.fixture
def delivery(endpoint):
    """A delivery of a processed-lead-like event that gave up, with two recorded attempts."""
    event = Event.objects.create(
        business=endpoint.business, campaign=endpoint.campaign, type="lead.processed", payload={}
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        next_attempt_at=timezone.now(),
        status=Delivery.Status.FAILED,
        attempts_count=2,
    )
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery, attempted_at=now, status_code=500, latency_ms=31, response_excerpt="oops"
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, attempted_at=now, latency_ms=2000, error="timed out"
    )
    return delivery


def endpoint_form(campaign="", events=("lead.processed",), address=PUBLIC_URL):
    return {"url": address, "campaign": campaign, "event_types": list(events)}


# --- the page -------------------------------------------------------------------------------


def test_page_lists_tokens_and_endpoints(staff_client, business, endpoint):
    api_token_create(business=business, name="CRM sync")
    response = staff_client.get(url("integrations"))
    assert response.status_code == 200
    assert response.context["section"] == "integrations"
    body = response.content.decode()
    assert "CRM sync" in body and PUBLIC_URL in body
    assert 'class="active"' in body


# --- API tokens -----------------------------------------------------------------------------


def test_token_secret_is_shown_once_and_works_against_the_api(
    staff_client, business, campaign, client
):
    response = staff_client.post(url("integrations_token_create"), {"name": "CRM sync"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    [secret] = SECRET.findall(response.content)
    secret = secret.decode()
    token = ApiToken.objects.get(business=business, name="CRM sync")
    assert secret.startswith(f"ll_{token.prefix}_")
    assert token.token_hash != secret and secret not in token.token_hash

    # Never again: not in the list, not in any message stored for the next page.
    listing = staff_client.get(url("integrations"))
    assert secret.encode() not in listing.content
    assert token.prefix.encode() in listing.content
    assert secret not in str(staff_client.session.items())

    api = ApiClient(Client(), secret)
    leads = [{"lead_id": "t-1", "phone_number": "9876500001", "contact_name": "A"}]
    created = api.post(f"/api/v4/leads/create/{campaign.public_id}/", leads)
    assert created.status_code == 201, created.content

    confirm = staff_client.get(url("integrations_token_revoke", token.pk))
    assert confirm.status_code == 200
    assert b"Revoke token" in confirm.content
    token.refresh_from_db()
    assert token.revoked_at is None, "GET only asks"
    revoked = staff_client.post(url("integrations_token_revoke", token.pk), follow=True)
    assert revoked.redirect_chain[-1][0] == url("integrations")
    assert b"revoked" in revoked.content
    token.refresh_from_db()
    assert token.revoked_at is not None

    leads[0]["lead_id"] = "t-2"
    refused = api.post(f"/api/v4/leads/create/{campaign.public_id}/", leads)
    assert refused.status_code == 403
    # Revoking twice is harmless.
    assert staff_client.post(url("integrations_token_revoke", token.pk)).status_code == 302


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x00name"])
def test_token_name_errors_are_form_errors(staff_client, business, name):
    response = staff_client.post(url("integrations_token_create"), {"name": name})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not ApiToken.objects.filter(business=business).exists()


# --- webhook endpoints ----------------------------------------------------------------------


def test_add_endpoint_for_a_campaign_shows_its_secret(staff_client, business, campaign):
    response = staff_client.get(url("integrations_endpoint_create"))
    assert response.status_code == 200
    assert campaign.public_id.encode() in response.content
    response = staff_client.post(
        url("integrations_endpoint_create"),
        endpoint_form(campaign.public_id, events=("lead.processed", "lead.converted")),
    )
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(business=business)
    assert endpoint.campaign == campaign
    assert endpoint.event_types == ["lead.converted", "lead.processed"]
    [secret] = WHSEC.findall(response.content)
    assert secret.decode() == crypto.decrypt(endpoint.secret_encrypted)


def test_add_endpoint_for_all_campaigns_defaults_to_processed(staff_client, business):
    form = staff_client.get(url("integrations_endpoint_create")).context["form"]
    assert form["event_types"].initial == ["lead.processed"]
    response = staff_client.post(url("integrations_endpoint_create"), endpoint_form())
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(business=business)
    assert endpoint.campaign is None and endpoint.event_types == ["lead.processed"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (endpoint_form(address="not a url"), b"Enter a valid URL"),
        (endpoint_form(address="ftp://example.com/x"), b"absolute http or https"),
        (endpoint_form(address="http://127.0.0.1:8000/hook"), b"private, loopback"),
        (endpoint_form(address="http://10.0.0.5/hook"), b"private, loopback"),
        (endpoint_form(address="http://[::1]/hook"), b"private, loopback"),
        (endpoint_form(address="http://user:pw@93.184.216.34/"), b"no credentials"),
        (endpoint_form(address="http://93.184.216.34:99999/"), b"port"),
        (endpoint_form(address="https://x" + "a" * 2000 + ".com/"), b"at most 2000"),
        (endpoint_form(address="https://bad\x00host.com/"), b"Null characters"),
        (endpoint_form(events=()), b"Choose at least one event"),
        (endpoint_form(events=("webhook.test",)), b"Select a valid choice"),
        (endpoint_form(events=("lead.nope",)), b"Select a valid choice"),
        (endpoint_form(campaign="NOPE42"), b"Select a valid choice"),
        (endpoint_form(campaign="bad\x00id"), b"Select a valid choice"),
        (endpoint_form(campaign="9" * 40), b"Select a valid choice"),
    ],
)
def test_endpoint_form_errors(staff_client, business, campaign, data, message):
    response = staff_client.post(url("integrations_endpoint_create"), data)
    assert response.status_code == 400
    assert message in response.content, response.content.decode()[-3000:]
    assert not WebhookEndpoint.objects.exists()


def test_another_business_campaign_is_not_a_choice(staff_client, other_campaign):
    response = staff_client.post(
        url("integrations_endpoint_create"), endpoint_form(other_campaign.public_id)
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert (
        other_campaign.public_id.encode()
        not in staff_client.get(url("integrations_endpoint_create")).content
    )
    assert not WebhookEndpoint.objects.exists()


def test_private_url_allowed_when_configured(staff_client, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    response = staff_client.post(
        url("integrations_endpoint_create"), endpoint_form(address="http://127.0.0.1:9/hook")
    )
    assert response.status_code == 201


def test_edit_endpoint(staff_client, endpoint, campaign):
    page = staff_client.get(url("integrations_endpoint_edit", endpoint.pk))
    assert page.status_code == 200
    assert page.context["form"]["url"].value() == PUBLIC_URL
    secret = endpoint.secret_encrypted
    response = staff_client.post(
        url("integrations_endpoint_edit", endpoint.pk),
        endpoint_form("", events=("lead.erased", "lead.disabled"), address=PUBLIC_URL + "/v2"),
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL + "/v2"
    assert endpoint.campaign is None
    assert endpoint.event_types == ["lead.disabled", "lead.erased"]
    assert endpoint.secret_encrypted == secret

    bad = staff_client.post(
        url("integrations_endpoint_edit", endpoint.pk),
        endpoint_form(campaign.public_id, address="http://192.168.1.1/"),
    )
    assert bad.status_code == 400 and b"private, loopback" in bad.content
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL + "/v2" and endpoint.campaign is None


def test_disable_and_enable_clears_the_failing_state(staff_client, endpoint):
    response = staff_client.post(url("integrations_endpoint_disable", endpoint.pk), follow=True)
    assert b"Disabled on the dashboard." in response.content
    endpoint.refresh_from_db()
    assert not endpoint.enabled

    # As if the platform had disabled it after 5 days of failures: the page says why.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_reason=DISABLED_FAILING, failing_since=timezone.now() - timedelta(days=6)
    )
    page = staff_client.get(url("integrations_endpoint", endpoint.pk))
    assert DISABLED_FAILING.encode() in page.content
    listing = staff_client.get(url("integrations"))
    assert listing.content.count(DISABLED_FAILING.encode()) >= 2  # banner and the list

    response = staff_client.post(url("integrations_endpoint_enable", endpoint.pk))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None


def test_reveal_and_rotate_secret(staff_client, endpoint):
    current = crypto.decrypt(endpoint.secret_encrypted)
    assert staff_client.get(url("integrations_endpoint_secret", endpoint.pk)).status_code == 405
    page = staff_client.get(url("integrations_endpoint", endpoint.pk))
    assert current.encode() not in page.content

    revealed = staff_client.post(url("integrations_endpoint_secret", endpoint.pk))
    assert revealed.status_code == 200
    assert "no-store" in revealed["Cache-Control"]
    assert WHSEC.findall(revealed.content) == [current.encode()]

    rotated = staff_client.post(url("integrations_endpoint_rotate", endpoint.pk))
    assert rotated.status_code == 200
    assert "no-store" in rotated["Cache-Control"]
    endpoint.refresh_from_db()
    new = crypto.decrypt(endpoint.secret_encrypted)
    assert new != current
    assert WHSEC.findall(rotated.content) == [new.encode(), current.encode()]
    assert b"Previous" in rotated.content

    # During the overlap a reveal shows both; after it, only the new one.
    revealed = staff_client.post(url("integrations_endpoint_secret", endpoint.pk))
    assert WHSEC.findall(revealed.content) == [new.encode(), current.encode()]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    revealed = staff_client.post(url("integrations_endpoint_secret", endpoint.pk))
    assert WHSEC.findall(revealed.content) == [new.encode()]


def test_send_test_event_goes_to_that_endpoint_only(staff_client, business, campaign, endpoint):
    sibling = webhook_services.endpoint_create(business=business, url=PUBLIC_URL + "/all").endpoint
    WebhookEndpoint.objects.filter(pk=sibling.pk).update(
        event_types=["lead.processed", "lead.converted", "lead.disabled", "lead.erased"]
    )
    response = staff_client.post(url("integrations_endpoint_test", endpoint.pk), follow=True)
    assert b"Test event queued" in response.content
    [delivery] = Delivery.objects.all()
    assert delivery.endpoint == endpoint and delivery.status == "pending"
    event = delivery.event
    assert event.type == "webhook.test" and event.lead is None and event.campaign == campaign
    assert set(event.payload) >= set(FIXED_KEYS)
    assert event.payload["campaign_id"] == campaign.public_id
    # The worker's claim picks it up like any delivery.
    assert [d.pk for d in batch_claim().deliveries] == [delivery.pk]

    # An endpoint of all campaigns gets a test event without a campaign.
    staff_client.post(url("integrations_endpoint_test", sibling.pk))
    event = Delivery.objects.get(endpoint=sibling).event
    assert event.campaign is None and event.payload["campaign_id"] == "TEST00"


def test_no_test_event_to_a_disabled_endpoint(staff_client, endpoint):
    webhook_services.endpoint_disable(endpoint=endpoint, reason="off")
    response = staff_client.post(url("integrations_endpoint_test", endpoint.pk), follow=True)
    assert b"Enable the endpoint" in response.content
    assert not Delivery.objects.exists()


def test_deliveries_list_with_attempts(staff_client, delivery):
    endpoint = delivery.endpoint
    page = staff_client.get(url("integrations_endpoint", endpoint.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert delivery.message_id in body
    assert "HTTP 500" in body and "31 ms" in body and "oops" in body and "timed out" in body
    assert "Failed (gave up)" in body

    failed = staff_client.get(url("integrations_endpoint", endpoint.pk), {"status": "failed"})
    assert delivery.message_id in failed.content.decode()
    none = staff_client.get(url("integrations_endpoint", endpoint.pk), {"status": "succeeded"})
    assert delivery.message_id not in none.content.decode()

    fragment = staff_client.get(
        url("integrations_endpoint", endpoint.pk),
        headers={"HX-Request": "true", "HX-Target": "deliveries"},
    )
    assert fragment.content.decode().lstrip().startswith('<div id="deliveries">')


@pytest.mark.parametrize(
    "query", [{"before": "x"}, {"before": "0"}, {"before": "9" * 30}, {"status": "nope"}]
)
def test_deliveries_bad_query_is_400(staff_client, endpoint, query):
    response = staff_client.get(url("integrations_endpoint", endpoint.pk), query)
    assert response.status_code == 400
    assert b"cannot be shown" in response.content


def test_deliveries_are_paged_newest_first(staff_client, endpoint):
    events = Event.objects.bulk_create(
        Event(business=endpoint.business, type="webhook.test", payload={}) for _ in range(45)
    )
    Delivery.objects.bulk_create(
        Delivery(event=e, endpoint=endpoint, next_attempt_at=timezone.now()) for e in events
    )
    ids = list(
        Delivery.objects.filter(endpoint=endpoint).order_by("-id").values_list("id", flat=True)
    )
    seen, before, pages = [], None, 0
    while pages < 5:
        response = staff_client.get(
            url("integrations_endpoint", endpoint.pk), {"before": before} if before else {}
        )
        page = response.context["page"]
        seen += [d.pk for d in page.deliveries]
        pages += 1
        if page.older is None:
            break
        assert f"?before={page.older}".encode() in response.content
        before = page.older
    assert pages == 3
    assert seen == ids


def test_redeliver_one(staff_client, delivery):
    endpoint = delivery.endpoint
    response = staff_client.post(
        url("integrations_delivery_redeliver", endpoint.pk, delivery.pk), follow=True
    )
    assert b"queued again" in response.content
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_redeliver_erased_event_is_a_message_not_an_error(staff_client, delivery):
    Event.objects.filter(pk=delivery.event_id).update(payload={"erased": True})
    response = staff_client.post(
        url("integrations_delivery_redeliver", delivery.endpoint_id, delivery.pk), follow=True
    )
    assert response.status_code == 200
    assert b"was erased" in response.content
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_redeliver_failed_since(staff_client, delivery, business):
    endpoint = delivery.endpoint
    # A failed delivery of another endpoint of the same business stays as it is.
    other_endpoint = webhook_services.endpoint_create(business=business, url=PUBLIC_URL).endpoint
    other = Delivery.objects.create(
        event=delivery.event,
        endpoint=other_endpoint,
        next_attempt_at=timezone.now(),
        status=Delivery.Status.FAILED,
    )
    page = staff_client.get(url("integrations_endpoint", endpoint.pk))
    assert page.context["redeliver_form"]["since"].value()
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client.post(
        url("integrations_redeliver_failed", endpoint.pk), {"since": later}, follow=True
    )
    assert b"0 failed deliveries queued again" in response.content
    earlier = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client.post(
        url("integrations_redeliver_failed", endpoint.pk), {"since": earlier}, follow=True
    )
    assert b"1 failed deliveries queued again" in response.content
    delivery.refresh_from_db()
    other.refresh_from_db()
    assert delivery.status == "pending" and other.status == "failed"


@pytest.mark.parametrize("since", ["", "yesterday", "0001-01-01T00:00", "9999-12-31T23:59"])
def test_redeliver_failed_bad_time_is_a_form_error(staff_client, delivery, since):
    response = staff_client.post(
        url("integrations_redeliver_failed", delivery.endpoint_id), {"since": since}
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    delivery.refresh_from_db()
    assert delivery.status == "failed"


# --- tenant isolation and method rules ------------------------------------------------------


def test_another_business_gets_404_on_every_url(
    staff_client, other_staff_client, business, endpoint, delivery
):
    token = api_token_create(business=business, name="mine").token
    valid_form = endpoint_form()
    gets = [
        url("integrations_token_revoke", token.pk),
        url("integrations_endpoint", endpoint.pk),
        url("integrations_endpoint_edit", endpoint.pk),
    ]
    posts = [
        (url("integrations_token_revoke", token.pk), {}),
        (url("integrations_endpoint_edit", endpoint.pk), valid_form),
        (url("integrations_endpoint_disable", endpoint.pk), {}),
        (url("integrations_endpoint_enable", endpoint.pk), {}),
        (url("integrations_endpoint_secret", endpoint.pk), {}),
        (url("integrations_endpoint_rotate", endpoint.pk), {}),
        (url("integrations_endpoint_test", endpoint.pk), {}),
        (url("integrations_redeliver_failed", endpoint.pk), {"since": "2020-01-01T00:00"}),
        (url("integrations_delivery_redeliver", endpoint.pk, delivery.pk), {}),
    ]
    for path in gets:
        assert other_staff_client.get(path).status_code == 404, path
    for path, data in posts:
        response = other_staff_client.post(path, data)
        assert response.status_code == 404, path
        assert not WHSEC.search(response.content)
    # Nothing changed.
    token.refresh_from_db()
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert token.revoked_at is None
    assert endpoint.enabled and endpoint.url == PUBLIC_URL
    assert endpoint.previous_secret_encrypted == ""
    assert delivery.status == "failed"
    assert Delivery.objects.count() == 1
    # And the other business's own page shows none of it.
    page = other_staff_client.get(url("integrations")).content
    assert PUBLIC_URL.encode() not in page and b"mine" not in page

    # A delivery id of this business under another of its endpoints is not found either.
    second = webhook_services.endpoint_create(business=business, url=PUBLIC_URL).endpoint
    response = staff_client.post(url("integrations_delivery_redeliver", second.pk, delivery.pk))
    assert response.status_code == 404


def test_unknown_and_huge_ids_are_404(staff_client):
    for path in [
        "/voice/dashboard/integrations/webhooks/999999/",
        "/voice/dashboard/integrations/webhooks/999999999999999999/",
        "/voice/dashboard/integrations/webhooks/9999999999999999999999/",
        "/voice/dashboard/integrations/tokens/999999999999999999/revoke/",
    ]:
        assert staff_client.get(path).status_code == 404, path


def test_changes_need_post_and_csrf(staff, endpoint):
    for name in [
        "integrations_endpoint_disable",
        "integrations_endpoint_enable",
        "integrations_endpoint_rotate",
        "integrations_endpoint_test",
    ]:
        client = Client()
        client.force_login(staff)
        assert client.get(url(name, endpoint.pk)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(url("integrations_endpoint_disable", endpoint.pk)).status_code == 403
    assert strict.post(url("integrations_token_create"), {"name": "x"}).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert not ApiToken.objects.filter(name="x").exists()


def test_signed_out_is_sent_to_login(client, endpoint):
    response = client.post(url("integrations_endpoint_secret", endpoint.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(url("login"))
