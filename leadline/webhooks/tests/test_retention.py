"""Retention of what the outbox stores: event payloads and delivery response excerpts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadline.core.errors import BadRequest
from leadline.core.loops import registered
from leadline.dialer.tests.test_dialer_flow import OBJECTIVE, call
from leadline.webhooks import loops, services
from leadline.webhooks.models import (
    ERASED_PAYLOAD,
    PURGED_PAYLOAD,
    Delivery,
    DeliveryAttempt,
    Event,
)

PUBLIC_URL = "https://93.184.216.34/hooks/leadline"  # an IP literal: no DNS lookup in tests
Status = Delivery.Status


@pytest.fixture
def tenants(business, campaign, other_business, other_campaign):
    """Business A keeps the defaults (30 days); business B keeps payloads 5 days, excerpts 10."""
    other_business.event_payload_retention_days = 5
    other_business.response_excerpt_retention_days = 10
    other_business.save()
    endpoints = {}
    for name, camp in (("a", campaign), ("b", other_campaign)):
        endpoints[name] = services.endpoint_create(
            business=camp.business, url=PUBLIC_URL, campaign=camp
        ).endpoint
        endpoints[name + "2"] = services.endpoint_create(
            business=camp.business, url=PUBLIC_URL + "/2", campaign=camp
        ).endpoint
    return endpoints


def make_event(endpoints, tenant, days_old, *statuses, payload=None):
    """An event `days_old` days old with one delivery per status (to distinct endpoints)."""
    first = endpoints[tenant]
    event = Event.objects.create(
        business_id=first.business_id,
        campaign=first.campaign,
        type="lead.processed",
        payload=payload or {"lead_id": f"{tenant}-{days_old}-{'-'.join(statuses)}"},
    )
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    for endpoint_key, status in zip((tenant, tenant + "2"), statuses, strict=False):
        Delivery.objects.create(
            event=event,
            endpoint=endpoints[endpoint_key],
            status=status,
            next_attempt_at=timezone.now(),
        )
    event.refresh_from_db()
    return event


def payloads(events):
    return {name: Event.objects.get(pk=event.pk).payload for name, event in events.items()}


def test_payloads_past_each_business_retention_are_purged_once_deliveries_finished(tenants):
    events = {
        "a_old_succeeded": make_event(tenants, "a", 31, Status.SUCCEEDED),
        "a_old_failed_cancelled": make_event(tenants, "a", 31, Status.FAILED, Status.CANCELLED),
        "a_old_undelivered": make_event(tenants, "a", 40),
        "a_old_one_pending": make_event(tenants, "a", 40, Status.SUCCEEDED, Status.PENDING),
        "a_recent_succeeded": make_event(tenants, "a", 29, Status.SUCCEEDED),
        "a_old_erased": make_event(tenants, "a", 40, Status.CANCELLED, payload=ERASED_PAYLOAD),
        "b_old_succeeded": make_event(tenants, "b", 6, Status.SUCCEEDED),
        "b_old_undelivered": make_event(tenants, "b", 6),
        "b_old_pending": make_event(tenants, "b", 40, Status.PENDING),
        "b_recent_succeeded": make_event(tenants, "b", 4, Status.SUCCEEDED),
    }
    before = payloads(events)
    purged = {
        "a_old_succeeded",
        "a_old_failed_cancelled",
        "a_old_undelivered",
        "b_old_succeeded",
        "b_old_undelivered",
    }

    assert loops.purge_webhook_payloads() == len(purged) + 1  # + the erased one, flagged

    after = payloads(events)
    for name in events:
        if name in purged:
            assert after[name] == PURGED_PAYLOAD, name
        else:
            assert after[name] == before[name], name
    assert after["a_old_erased"] == ERASED_PAYLOAD
    removed = set(
        Event.objects.filter(payload_removed_at__isnull=False).values_list("pk", flat=True)
    )
    assert removed == {events[name].pk for name in purged | {"a_old_erased"}}
    assert loops.purge_webhook_payloads() == 0

    # Once its last delivery finishes, the held-back event goes on the next run.
    Delivery.objects.filter(event=events["b_old_pending"]).update(status=Status.FAILED)
    assert loops.purge_webhook_payloads() == 1
    assert Event.objects.get(pk=events["b_old_pending"].pk).payload == PURGED_PAYLOAD


def test_a_run_is_bounded(tenants):
    for _ in range(5):
        make_event(tenants, "a", 31, Status.SUCCEEDED)
        make_event(tenants, "b", 31, Status.SUCCEEDED)
    assert services.events_purge_payloads(limit=4) == 4
    assert services.events_purge_payloads(limit=4) == 4
    assert services.events_purge_payloads(limit=4) == 2
    assert services.events_purge_payloads(limit=4) == 0
    assert all(
        payload == PURGED_PAYLOAD for payload in Event.objects.values_list("payload", flat=True)
    )


def test_redelivery_refuses_a_purged_event(tenants):
    event = make_event(tenants, "a", 31, Status.FAILED, Status.FAILED)
    kept = make_event(tenants, "a", 1, Status.FAILED)
    services.events_purge_payloads()
    delivery = Delivery.objects.filter(event=event).first()
    with pytest.raises(BadRequest) as refused:
        services.delivery_redeliver(delivery=delivery)
    assert refused.value.status == 400
    assert "purged" in refused.value.detail
    # Only the kept event's failed delivery goes back to pending.
    assert services.deliveries_redeliver_failed(since=timezone.now() - timedelta(days=1)) == 1
    assert set(Delivery.objects.filter(status=Status.PENDING).values_list("event", flat=True)) == {
        kept.pk
    }


def test_get_still_returns_a_lead_whose_processed_event_was_purged(
    api, campaign, make_leads, rep, now, answered_calls
):
    make_leads(1)
    call(rep, now, OBJECTIVE, {"interested": "yes"})
    event = Event.objects.get(type="lead.processed")
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert services.events_purge_payloads() == 1
    assert Event.objects.get(pk=event.pk).payload == PURGED_PAYLOAD
    item = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"][0]
    assert item == event.payload


def make_attempt(endpoint, days_old, excerpt):
    event = Event.objects.create(
        business_id=endpoint.business_id,
        campaign=endpoint.campaign,
        type="lead.processed",
        payload={},
    )
    delivery = Delivery.objects.create(
        event=event, endpoint=endpoint, status=Status.SUCCEEDED, next_attempt_at=timezone.now()
    )
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=timezone.now() - timedelta(days=days_old),
        status_code=200,
        response_excerpt=excerpt,
    )


def test_response_excerpts_past_each_business_retention_are_cleared(tenants):
    attempts = {
        "a_old": make_attempt(tenants["a"], 31, "a old"),
        "a_recent": make_attempt(tenants["a"], 29, "a recent"),
        "b_old": make_attempt(tenants["b"], 11, "b old"),
        "b_old_other_endpoint": make_attempt(tenants["b2"], 11, "b old 2"),
        "b_recent": make_attempt(tenants["b"], 9, "b recent"),
    }
    cleared = {"a_old", "b_old", "b_old_other_endpoint"}

    assert loops.purge_webhook_response_excerpts() == len(cleared)

    for name, attempt in attempts.items():
        excerpt = DeliveryAttempt.objects.get(pk=attempt.pk).response_excerpt
        assert excerpt == ("" if name in cleared else attempt.response_excerpt), name
    assert loops.purge_webhook_response_excerpts() == 0
    for _ in range(3):
        make_attempt(tenants["a"], 31, "more")
    assert services.attempts_purge_excerpts(limit=2) == 2
    assert services.attempts_purge_excerpts(limit=2) == 1


def test_the_loops_are_registered():
    loops_by_name = {loop.name: loop for loop in registered()}
    for name, func in (
        ("purge-webhook-payloads", loops.purge_webhook_payloads),
        ("purge-webhook-response-excerpts", loops.purge_webhook_response_excerpts),
    ):
        assert loops_by_name[name].interval_seconds == 600
        assert loops_by_name[name].factory().run_once is func
