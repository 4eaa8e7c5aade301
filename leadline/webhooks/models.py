"""The outbox: events written in the same transaction as the state change they announce."""

from django.db import models

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.leads.models import Lead


class Event(models.Model):
    """Something a client can be told about, with the exact payload its webhook will carry."""

    class Type(models.TextChoices):
        LEAD_PROCESSED = "lead.processed", "Lead processed"
        LEAD_CONVERTED = "lead.converted", "Lead converted"
        LEAD_DISABLED = "lead.disabled", "Lead disabled"
        LEAD_ERASED = "lead.erased", "Lead erased"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, null=True, on_delete=models.SET_NULL, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
