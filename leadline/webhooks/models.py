"""Webhooks: the outbox of events, endpoints, and one delivery per (event, endpoint).

Shape after Saleor's EventPayload / EventDelivery / EventDeliveryAttempt: the event holds the
payload once; each endpoint gets a delivery with its own schedule and lease; each try is an
attempt row.
"""

import uuid

from django.db import models
from django.db.models import Q

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.leads import hooks as lead_hooks
from leadline.leads.models import Lead


class Event(models.Model):
    """Something a client can be told about, with the exact payload its webhook will carry."""

    class Type(models.TextChoices):
        LEAD_PROCESSED = lead_hooks.LEAD_PROCESSED, "Lead processed"
        LEAD_CONVERTED = lead_hooks.LEAD_CONVERTED, "Lead converted"
        LEAD_DISABLED = lead_hooks.LEAD_DISABLED, "Lead disabled"
        LEAD_ERASED = lead_hooks.LEAD_ERASED, "Lead erased"
        # Sent on request from the dashboard to one endpoint only; nobody subscribes to it.
        WEBHOOK_TEST = "webhook.test", "Test event"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # Null only for a test event sent to an endpoint of all the business's campaigns.
    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, null=True, on_delete=models.SET_NULL, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When erasure or retention replaced the payload by a marker (ERASED_PAYLOAD,
    # PURGED_PAYLOAD). A column rather than a test of the payload: the retention loop's index
    # below keeps only events still holding theirs, which JSON equality cannot do portably.
    payload_removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The id of the request that caused the event (leadline.core.logs), bound again when the
    # worker delivers it, so one id follows the work from the API call into the worker's logs.
    request_id = models.CharField(max_length=128, blank=True, default="", editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The payload retention loop (services.events_purge_payloads): a business's oldest
            # events that still hold a payload, without walking the purged ones.
            models.Index(
                fields=["business", "created_at"],
                name="event_payload_kept_idx",
                condition=Q(payload_removed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


# What an erased lead's events keep as their payload (and how an erased event is told
# apart): a dict shared by every caller, so nobody may mutate it.
ERASED_PAYLOAD = {"erased": True}
# What an event keeps once its business's payload retention ran out after every delivery
# finished (same rules: shared, never mutated, never sent).
PURGED_PAYLOAD = {"purged": True}


# Reasons the platform writes when it disables an endpoint by itself; the dashboard shows a
# banner for these (a person who disabled an endpoint already knows).
DISABLED_GONE = "The endpoint answered 410 Gone."
DISABLED_FAILING = "No successful delivery for 5 days; fix it and re-enable."
AUTO_DISABLE_REASONS = (DISABLED_GONE, DISABLED_FAILING)


# What an endpoint may subscribe to (the test event goes only where it is sent).
SUBSCRIBABLE_TYPES = (
    Event.Type.LEAD_PROCESSED,
    Event.Type.LEAD_CONVERTED,
    Event.Type.LEAD_DISABLED,
    Event.Type.LEAD_ERASED,
)


def default_event_types() -> list[str]:
    return [Event.Type.LEAD_PROCESSED.value]


class WebhookEndpoint(models.Model):
    """Where a business wants events: one campaign's, or all its campaigns' (campaign null)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="webhooks")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    # Fernet-encrypted `whsec_...` secrets (leadline.core.crypto); the previous one keeps
    # signing beside the new one until `previous_secret_expires_at` after a rotation.
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=default_event_types)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    rate_per_minute = models.PositiveIntegerField(default=100)
    max_in_flight = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failures with no success since (the 5-day rule).
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Delivery(models.Model):
    """One event to one endpoint; retried on its schedule until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"
        CANCELLED = "cancelled", "Cancelled"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Indexed by `delivery_endpoint_recent_idx` (endpoint, id) instead of on its own: that one
    # index serves the foreign key and the dashboard's newest-first page of an endpoint.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # The Standard Webhooks `webhook-id`: the same on every retry, so receivers can dedupe.
    message_id = models.CharField(
        max_length=64, unique=True, editable=False, default=new_message_id
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_event_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="delivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "id"], name="delivery_endpoint_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.message_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP try of a delivery."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The excerpt retention loop (services.attempts_purge_excerpts) looks only at
            # attempts still holding an excerpt, oldest first.
            models.Index(
                fields=["attempted_at"],
                name="attempt_excerpt_kept_idx",
                condition=~Q(response_excerpt=""),
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} of {self.delivery_id}: {self.status_code or self.error}"
