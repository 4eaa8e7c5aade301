"""Calling campaigns of a business."""

import secrets

from django.db import models

from leadline.accounts.models import Business
from leadline.core.models import TimestampedModel

# Crockford-style alphabet without look-alikes; 6 characters give ~1e9 ids.
PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(6))


class Campaign(TimestampedModel):
    """A calling campaign; clients address it by its short random public id."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="campaigns")
    public_id = models.CharField(max_length=12, unique=True, editable=False, default=new_public_id)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Live (not erased) leads; kept by the lead services so the API's `count` is O(1).
    # Its row lock also serialises lead inserts per campaign (see leads.services).
    lead_count = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="campaign_business_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"
