"""Leads pushed by clients into campaigns, with the result fields of the Leads API v4."""

from django.db import models
from django.db.models import Q

from leadline.campaigns.models import Campaign


class Lead(models.Model):
    """One person to call in one campaign; after erasure only a tombstone without PII remains."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        PROCESSED = "processed", "Processed"
        DISABLED = "disabled", "Disabled"
        ERASED = "erased", "Erased"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="leads")
    # The client's id; null on a tombstone so the same id can be created again (and because
    # clients sometimes use personal data, such as an email, as their id).
    lead_id = models.CharField(max_length=255, null=True)
    phone_number = models.CharField(max_length=16, null=True)
    contact_name = models.TextField(null=True)
    custom_fields = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    latest_called_at = models.DateTimeField(null=True)
    latest_recording = models.CharField(max_length=255, null=True)
    lead_outcome = models.CharField(max_length=100, null=True)
    lead_responses = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True)

    # The dialer's queue: which lead a rep gets next (see dialer.services).
    class QueueClass(models.IntegerChoices):
        CALLBACK = 0, "Callback"
        RETRY = 1, "Retry"
        NEW = 2, "New"

    queue_class = models.PositiveSmallIntegerField(
        choices=QueueClass.choices, default=QueueClass.NEW
    )
    priority = models.SmallIntegerField(default=0, help_text="Higher is called first.")
    due_at = models.DateTimeField(null=True)
    attempts_count = models.PositiveSmallIntegerField(default=0)
    leased_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True)

    disabled_at = models.DateTimeField(null=True)
    converted_at = models.DateTimeField(null=True)
    conversion_detail = models.CharField(max_length=32, null=True)
    erased_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "lead_id"], name="lead_campaign_lead_id")
        ]
        indexes = [
            # The GET walk: live leads of a campaign in id order (index-only on PostgreSQL).
            models.Index(
                fields=["campaign", "id"],
                name="lead_live_walk_idx",
                condition=Q(erased_at__isnull=True),
            ),
            # "Next lead": the most due waiting lead of a campaign (dialer.services.lead_claim).
            models.Index(
                "campaign",
                "queue_class",
                models.F("priority").desc(),
                "due_at",
                "id",
                name="lead_queue_idx",
                condition=Q(status="queued"),
            ),
            # The worker's sweep of expired leases looks only at leased leads.
            models.Index(
                fields=["lease_expires_at"],
                name="lead_lease_idx",
                condition=Q(lease_expires_at__isnull=False),
            ),
            # processed_after / processed_before windows, ordered by processing time.
            models.Index(
                fields=["campaign", "processed_at", "id"],
                name="lead_processed_walk_idx",
                condition=Q(erased_at__isnull=True, processed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id or '(erased)'} in {self.campaign_id}"
