import io
import json
from datetime import timedelta

import pytest
import standardwebhooks
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadline.core.errors import BadRequest
from leadline.dialer.tests.test_dialer_flow import OBJECTIVE, call
from leadline.webhooks import delivery as engine
from leadline.webhooks import services
from leadline.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


@pytest.fixture
def endpoint(campaign, receiver):
    return services.endpoint_create(business=campaign.business, url=receiver.url, campaign=campaign)


@pytest.fixture
def loop():
    runner = engine.DeliveryLoop()
    yield runner
    runner.close()


def process_one(make_leads, rep, now, lead_id="lead-0"):
    make_leads(1, prefix=lead_id.rsplit("-", 1)[0], start=int(lead_id.rsplit("-", 1)[1]))
    return call(rep, now, OBJECTIVE, {"interested": "yes"})


def test_processed_lead_is_delivered_signed_and_equal_to_get_item(
    api, campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    process_one(make_leads, rep, now)
    assert loop.run_once() == 1
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["webhook-event-type"] == "lead.processed"
    verified = standardwebhooks.Webhook(endpoint.secret).verify(request["body"], headers)
    item = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"][0]
    assert verified == item
    assert json.loads(request["body"]) == item
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded"
    assert headers["webhook-id"] == delivery.message_id
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == '{"ok": true}'
    assert loop.run_once() == 0


def test_failures_retry_on_schedule_with_same_id(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop, settings
):
    receiver.responses = [(500, {}), (502, {})]
    process_one(make_leads, rep, now)
    assert loop.run_once() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts_count == 1
    # First retry is "5 s" (with jitter) after the first failure.
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 3 < wait < 6
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert loop.run_once() == 1
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert loop.run_once() == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts_count == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert ids == {delivery.message_id}
    assert [a.status_code for a in delivery.attempts.all()] == [500, 502, 200]
    assert WebhookEndpoint.objects.get().failing_since is None


def test_gives_up_after_the_schedule(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    receiver.responses = [(500, {})] * 8
    process_one(make_leads, rep, now)
    for _ in range(8):
        Delivery.objects.update(next_attempt_at=timezone.now())
        loop.run_once()
    assert Delivery.objects.get().status == "failed"
    out = io.StringIO()
    call_command("webhook", "redeliver", "--failed-since", "0", stdout=out)
    assert "1 failed" in out.getvalue()
    assert loop.run_once() == 1
    assert Delivery.objects.get().status == "succeeded"


def test_retry_after_is_honoured(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    receiver.responses = [(429, {"Retry-After": "120"})]
    process_one(make_leads, rep, now)
    loop.run_once()
    wait = (Delivery.objects.get().next_attempt_at - timezone.now()).total_seconds()
    assert 110 < wait <= 121


def test_gone_disables_the_endpoint(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    receiver.responses = [(410, {})]
    process_one(make_leads, rep, now)
    loop.run_once()
    endpoint_row = WebhookEndpoint.objects.get()
    assert not endpoint_row.enabled and "410" in endpoint_row.disabled_reason
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert loop.run_once() == 0


def test_five_days_of_failure_disables(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    receiver.responses = [(500, {})]
    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=6))
    process_one(make_leads, rep, now)
    loop.run_once()
    assert "5 days" in WebhookEndpoint.objects.get().disabled_reason


def test_pacing_spreads_a_burst(
    campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    WebhookEndpoint.objects.update(rate_per_minute=2)
    make_leads(5)
    for i in range(5):
        call(rep, now + timedelta(minutes=i), OBJECTIVE, {"interested": "yes"})
    assert loop.run_once() == 2
    later = Delivery.objects.filter(status="pending")
    assert later.count() == 3
    assert all(d.attempts_count == 0 for d in later)
    assert all(d.next_attempt_at > timezone.now() for d in later)


def test_erasure_cancels_and_scrubs(
    api, campaign, make_leads, rep, now, answered_calls, endpoint, receiver, loop
):
    receiver.responses = [(500, {})]
    process_one(make_leads, rep, now)
    loop.run_once()
    api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-0"})
    delivery = Delivery.objects.get()
    assert delivery.status == "cancelled"
    assert delivery.event.payload == {"erased": True}
    assert all(a.response_excerpt == "" for a in delivery.attempts.all())
    with pytest.raises(BadRequest):
        services.delivery_redeliver(delivery=delivery)


def test_private_urls_are_refused_unless_allowed(campaign, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = False
    for url in [
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/",
        "http://localhost/x",
        "ftp://example.com/",
        "http://user:pw@example.com/",
    ]:
        with pytest.raises(BadRequest):
            services.endpoint_create(business=campaign.business, url=url, campaign=campaign)


@pytest.mark.parametrize("form", ["127.0.0.1", "[::ffff:127.0.0.1]"])
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_bare_ip_set_after_saving_is_checked_at_send_time(
    campaign, make_leads, rep, now, answered_calls, receiver, loop, settings, form, allow_private
):
    # Saved under a name; then the row is changed to a bare loopback IP (the receiver, so the
    # only place anything could really be sent is 127.0.0.1). aiohttp consults no resolver for
    # an IP literal: only the sender's own check stands between the post and the address.
    services.endpoint_create(
        business=campaign.business, url="http://hooks.example.invalid/x", campaign=campaign
    )
    port_and_path = receiver.url.rsplit(":", 1)[1]
    WebhookEndpoint.objects.update(url=f"http://{form}:{port_and_path}")
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = allow_private
    process_one(make_leads, rep, now)
    assert loop.run_once() == 1
    [attempt] = DeliveryAttempt.objects.all()
    if allow_private:  # the setting is honoured at send time too
        assert attempt.status_code == 200 and len(receiver.requests) == 1
        return
    assert receiver.requests == []
    assert attempt.status_code is None
    assert attempt.error.startswith("refused: ") and "loopback" in attempt.error
    delivery = Delivery.objects.get()
    assert delivery.status != "succeeded" and delivery.attempts.count() == 1


@pytest.mark.parametrize("allow_private", [True, False])
@pytest.mark.parametrize("url", ["http://h:99999/x", "http://h:port/x", "http://[::1/x"])
def test_malformed_urls_are_a_400_not_a_crash(campaign, settings, allow_private, url):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = allow_private
    with pytest.raises(BadRequest):
        services.endpoint_create(business=campaign.business, url=url, campaign=campaign)


def test_secret_is_stored_encrypted_and_rotation_signs_with_both(campaign, endpoint):
    row = WebhookEndpoint.objects.get()
    assert endpoint.secret not in row.secret_encrypted
    assert endpoint.secret.startswith("whsec_")
    new = services.endpoint_rotate_secret(endpoint=row)
    row.refresh_from_db()
    assert services.endpoint_secrets(row) == [new, endpoint.secret]
    later = timezone.now() + timedelta(hours=25)
    assert services.endpoint_secrets(row, now=later) == [new]


def test_cli_add_list_disable(campaign, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    out = io.StringIO()
    call_command(
        "webhook",
        "add",
        "--campaign",
        campaign.public_id,
        "--url",
        "http://127.0.0.1:9/hook",
        "--json",
        stdout=out,
    )
    created = json.loads(out.getvalue())
    assert created["secret"].startswith("whsec_")
    out = io.StringIO()
    call_command("webhook", "list", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["endpoint_id"] == created["endpoint_id"]
    call_command("webhook", "disable", str(created["endpoint_id"]), stdout=io.StringIO())
    assert not WebhookEndpoint.objects.get().enabled
    with pytest.raises(CommandError):
        call_command(
            "webhook", "add", "--campaign", "NOPE00", "--url", "http://x/", stdout=io.StringIO()
        )


def test_optional_events_only_when_subscribed(api, campaign, make_leads, receiver, loop):
    from leadline.webhooks.models import Event

    make_leads(3)
    base = f"/api/v4/leads/{{}}/{campaign.public_id}/"
    api.post(base.format("disable"), {"lead_id": "lead-0"})
    assert not Event.objects.exists()
    created = services.endpoint_create(
        business=campaign.business,
        url=receiver.url,
        campaign=None,
        event_types=["lead.converted", "lead.disabled", "lead.erased"],
    )
    api.post(base.format("disable"), [{"lead_id": "lead-1"}, {"lead_id": "lead-0"}])
    api.post(base.format("convert"), {"lead_id": "lead-2", "detail": "GOLD"})
    assert loop.run_once() == 2
    api.post(base.format("delete"), {"lead_id": "lead-2"})
    assert loop.run_once() == 1
    # A batch is posted concurrently: arrival order within it is not fixed.
    by_type = {r["headers"]["webhook-event-type"]: json.loads(r["body"]) for r in receiver.requests}
    assert set(by_type) == {"lead.disabled", "lead.converted", "lead.erased"}
    assert by_type["lead.disabled"]["lead_id"] == "lead-1"
    assert by_type["lead.disabled"]["disabled_at"]
    assert by_type["lead.converted"]["conversion_detail"] == "GOLD"
    erased = by_type["lead.erased"]
    assert erased == {
        "lead_id": "lead-2",
        "campaign_id": campaign.public_id,
        "erased_at": erased["erased_at"],
    }
    for request in receiver.requests:
        standardwebhooks.Webhook(created.secret).verify(
            request["body"], {k.lower(): v for k, v in request["headers"].items()}
        )
    with pytest.raises(BadRequest):
        services.endpoint_create(
            business=campaign.business, url=receiver.url, event_types=["lead.exploded"]
        )
