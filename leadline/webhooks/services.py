"""Writes for webhooks: endpoints, the outbox (events and their deliveries), redelivery."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from leadline.accounts.models import Business
from leadline.accounts.selectors import retention_cutoffs
from leadline.campaigns.models import Campaign
from leadline.core import crypto
from leadline.core.errors import BadRequest, NotFound
from leadline.core.logs import current_request_id
from leadline.leads.hooks import ErasureOutcome
from leadline.leads.models import Lead
from leadline.leads.results import result_item

from .models import (
    ERASED_PAYLOAD,
    PURGED_PAYLOAD,
    SUBSCRIBABLE_TYPES,
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
)
from .signing import secret_generate
from .ssrf_guard import url_check

# After a rotation the old secret keeps signing beside the new one for this long.
ROTATION_OVERLAP = timedelta(hours=24)
# Rows one run of a retention loop changes at most: short transactions, a bounded run.
RETENTION_BATCH = 1000


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def _event_types(types: list[str] | None) -> list[str]:
    types = types or [Event.Type.LEAD_PROCESSED.value]
    unknown = set(types) - {t.value for t in SUBSCRIBABLE_TYPES}
    if unknown:
        raise BadRequest(f"Unknown event types: {', '.join(sorted(unknown))}.")
    return sorted(set(types))


def endpoint_create(
    *,
    business: Business,
    url: str,
    campaign: Campaign | None = None,
    event_types: list[str] | None = None,
) -> NewEndpoint:
    """Register an endpoint (for one campaign, or all of the business's); returns its secret."""
    if campaign is not None and campaign.business_id != business.pk:
        raise NotFound("Campaign not found.")
    secret = secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            business=business,
            campaign=campaign,
            url=url_check(url),
            secret_encrypted=crypto.encrypt(secret),
            event_types=_event_types(event_types),
        )
    return NewEndpoint(endpoint, secret)


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    campaign: Campaign | None,
    event_types: list[str],
) -> WebhookEndpoint:
    """Change where an endpoint points and what it hears; its secret and history stay."""
    if campaign is not None and campaign.business_id != endpoint.business_id:
        raise NotFound("Campaign not found.")
    url = url_check(url)
    event_types = _event_types(event_types)
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            url=url, campaign=campaign, event_types=event_types
        )
    endpoint.url, endpoint.campaign, endpoint.event_types = url, campaign, event_types
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    """Turn an endpoint back on after a fix: its failing run starts over.

    Without clearing `failing_since`, the first failure after re-enabling an endpoint that
    failed for 5 days would disable it again at once.
    """
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=True, disabled_reason="", failing_since=None
    )


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)


def endpoint_remove(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries (a temporary one: `webhook listen` on exit).

    Endpoints that clients registered are disabled, never removed, so their delivery history
    stays; a listener's deliveries were only ever for the developer watching them.
    """
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def endpoint_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """Secrets that sign a delivery now: the current one, plus the previous during overlap."""
    now = now or timezone.now()
    secrets_in_use = [crypto.decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        secrets_in_use.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return secrets_in_use


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing alongside for 24 h."""
    secret = secret_generate()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_encrypted=endpoint.secret_encrypted,
            previous_secret_expires_at=timezone.now() + ROTATION_OVERLAP,
            secret_encrypted=crypto.encrypt(secret),
        )
    return secret


def _subscribed(campaign: Campaign, type: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(
        Q(campaign=campaign) | Q(campaign__isnull=True),
        business_id=campaign.business_id,
        enabled=True,
    ).only("pk", "event_types")
    return [endpoint for endpoint in endpoints if type in endpoint.event_types]


def _fan_out(events: list[Event], endpoints: list[WebhookEndpoint]) -> None:
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint, next_attempt_at=now)
        for event in events
        for endpoint in endpoints
    )


def _test_payload(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """A GET result item with obviously fake data, so a receiver can test its parsing too."""
    now = timezone.now().replace(microsecond=0)
    sample = {
        "lead_id": "test-lead-0000",
        "phone_number": "+910000000000",
        "contact_name": "Test Lead (sample, not a real person)",
        "custom_fields": {},
        "created_at": now - timedelta(hours=1),
        "latest_called_at": now - timedelta(minutes=5),
        "latest_recording": None,
        "lead_outcome": "Connected : Objective Met",
        "lead_responses": {"interested": "yes", "notes": "A test event from the dashboard."},
        "processed_at": now,
    }
    return result_item(sample, endpoint.campaign.public_id if endpoint.campaign else "TEST00")


def endpoint_send_test(*, endpoint: WebhookEndpoint) -> Delivery:
    """A signed `webhook.test` event to this endpoint only, through the outbox and the worker.

    The delivery is created directly rather than fanned out: another endpoint of the business
    must not receive someone's test. It is retried like any delivery.
    """
    if not endpoint.enabled:
        raise BadRequest("Enable the endpoint before sending it a test event.")
    with transaction.atomic():
        event = Event.objects.create(
            business_id=endpoint.business_id,
            campaign=endpoint.campaign,
            lead=None,
            type=Event.Type.WEBHOOK_TEST,
            payload=_test_payload(endpoint),
            request_id=current_request_id(),
        )
        delivery = Delivery.objects.create(
            event=event, endpoint=endpoint, next_attempt_at=timezone.now()
        )
    return delivery


def event_record(*, lead: Lead, type: str, payload: dict[str, Any]) -> Event:
    """Record an event and one delivery per subscribed endpoint.

    Call it inside the transaction that made the change it announces: the outbox row and the
    change commit together or not at all.
    """
    campaign = lead.campaign
    event = Event.objects.create(
        business_id=campaign.business_id,
        campaign=campaign,
        lead=lead,
        type=type,
        payload=payload,
        request_id=current_request_id(),
    )
    _fan_out([event], _subscribed(campaign, type))
    return event


def _events_create(
    campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
) -> list[Event]:
    """One bulk insert of the events of many leads of one campaign."""
    request_id = current_request_id()
    return Event.objects.bulk_create(
        Event(
            business_id=campaign.business_id,
            campaign=campaign,
            lead=lead,
            type=type,
            payload=payload,
            request_id=request_id,
        )
        for lead, payload in items
    )


def events_record_optional(
    *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
) -> int:
    """Optional event types (converted, disabled, erased): recorded only when subscribed to.

    Unlike lead.processed, nobody reads these back through the API, so a campaign without a
    subscriber does not pay for one outbox row per disabled lead.
    """
    endpoints = _subscribed(campaign, type)
    if not endpoints or not items:
        return 0
    events = _events_create(campaign, type, items)
    _fan_out(events, endpoints)
    return len(events)


def events_record_many(
    *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
) -> None:
    """`event_record` for many leads of one campaign: kept whether or not anyone subscribed
    (lead.processed: GET reads it back), one bulk insert of events and one of deliveries."""
    if items:
        _fan_out(_events_create(campaign, type, items), _subscribed(campaign, type))


class _Outbox:
    """The outbox as the leads' event recorder (registered in `WebhooksConfig.ready`)."""

    def record(self, *, lead: Lead, type: str, payload: dict[str, Any]) -> None:
        event_record(lead=lead, type=type, payload=payload)

    def record_many(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> None:
        events_record_many(campaign=campaign, type=type, items=items)

    def record_optional(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> int:
        return events_record_optional(campaign=campaign, type=type, items=items)


OUTBOX = _Outbox()


def events_scrub_for_lead(lead: Lead) -> ErasureOutcome:
    """Erasure: no stored payload or response excerpt keeps the lead's data; unsent is cancelled."""
    cancelled = Delivery.objects.filter(event__lead=lead, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.CANCELLED, lease_expires_at=None
    )
    excerpts = (
        DeliveryAttempt.objects.filter(delivery__event__lead=lead)
        .exclude(response_excerpt="")
        .update(response_excerpt="")
    )
    payloads = Event.objects.filter(lead=lead).update(
        payload=ERASED_PAYLOAD, lead=None, payload_removed_at=timezone.now()
    )
    return ErasureOutcome(
        counts={
            "webhook_payloads": payloads,
            "webhook_excerpts": excerpts,
            "deliveries_cancelled": cancelled,
        }
    )


def delivery_redeliver(*, delivery: Delivery) -> None:
    """Send again (same webhook-id): after a fix on the receiver's side."""
    if delivery.event.payload == ERASED_PAYLOAD:
        raise BadRequest("The lead of this event was erased; nothing to send.")
    if delivery.event.payload == PURGED_PAYLOAD:
        raise BadRequest(
            "This event's payload was purged after the business's retention period; "
            "nothing to send."
        )
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), lease_expires_at=None
    )


def deliveries_redeliver_failed(
    *,
    since: datetime,
    business: Business | None = None,
    endpoint: WebhookEndpoint | None = None,
) -> int:
    deliveries = Delivery.objects.filter(
        status=Delivery.Status.FAILED, created_at__gte=since
    ).exclude(event__payload=ERASED_PAYLOAD)
    # A purged event has nothing left to send either.
    deliveries = deliveries.exclude(event__payload=PURGED_PAYLOAD)
    if business is not None:
        deliveries = deliveries.filter(endpoint__business=business)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries.update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), lease_expires_at=None
    )


# --- retention (the worker's purge loops, webhooks.loops) -----------------------------------


def _unfinished() -> Exists:
    return Exists(Delivery.objects.filter(event=OuterRef("pk"), status=Delivery.Status.PENDING))


def _events_purge(ids: list[int], now: datetime) -> int:
    with transaction.atomic():
        # Checked again in the UPDATE: a delivery redelivered since the pick keeps its payload.
        events = Event.objects.filter(pk__in=ids, payload_removed_at__isnull=True).exclude(
            _unfinished()
        )
        # Erased before `payload_removed_at` existed: already a marker, only flagged.
        flagged = events.filter(payload=ERASED_PAYLOAD).update(payload_removed_at=now)
        return flagged + events.update(payload=PURGED_PAYLOAD, payload_removed_at=now)


def events_purge_payloads(*, now: datetime | None = None, limit: int = RETENTION_BATCH) -> int:
    """Retention: old events whose deliveries have all finished lose their payload.

    Finished is succeeded, failed for good or cancelled; an event nobody subscribed to has no
    delivery and is finished too. The payload becomes PURGED_PAYLOAD, which redelivery
    refuses. Safe for lead.processed: the API's GET builds its items from the leads, never
    from events. Returns how many events changed (at most `limit`).
    """
    now = now or timezone.now()
    purged = 0
    for cutoff, business_ids in retention_cutoffs(field="event_payload_retention_days", now=now):
        due = Event.objects.filter(
            business_id__in=business_ids, created_at__lt=cutoff, payload_removed_at__isnull=True
        ).exclude(_unfinished())
        # No ORDER BY (Event sorts by id): any due rows will do, and the planner stays free
        # to read event_payload_kept_idx instead of walking the primary key.
        ids = list(due.order_by().values_list("pk", flat=True)[: limit - purged])
        if ids:
            purged += _events_purge(ids, now)
        if purged >= limit:
            break
    return purged


def attempts_purge_excerpts(*, now: datetime | None = None, limit: int = RETENTION_BATCH) -> int:
    """Retention: delivery attempts older than their business's setting lose the excerpt of
    the receiver's response (which may echo the payload). Returns how many were cleared."""
    now = now or timezone.now()
    cleared = 0
    for cutoff, business_ids in retention_cutoffs(field="response_excerpt_retention_days", now=now):
        due = DeliveryAttempt.objects.filter(
            attempted_at__lt=cutoff, delivery__endpoint__business_id__in=business_ids
        ).exclude(response_excerpt="")
        # Unordered, as for events: attempt_excerpt_kept_idx rather than the primary key.
        ids = list(due.order_by().values_list("pk", flat=True)[: limit - cleared])
        if ids:
            with transaction.atomic():
                cleared += DeliveryAttempt.objects.filter(pk__in=ids).update(response_excerpt="")
        if cleared >= limit:
            break
    return cleared
