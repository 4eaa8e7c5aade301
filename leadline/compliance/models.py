"""Compliance records, every number as a keyed hash (`hashing.number_hash`), never in clear."""

from django.db import models

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign


class Suppression(models.Model):
    """A do-not-call entry: business-wide (no campaign) or for one campaign of the business.
    It outlives the lead it came from: erasure keeps the hash, which reveals nothing."""

    class Source(models.TextChoices):
        API = "api", "API"
        DASHBOARD = "dashboard", "Dashboard"
        REP = "rep", "Rep (a do-not-call outcome)"
        ERASURE = "erasure", "Erasure request"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    number_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One entry per number and scope; NULL campaigns are distinct in a plain unique
            # constraint, so the business-wide scope has its own partial one.
            models.UniqueConstraint(
                fields=["business", "campaign", "number_hash"],
                condition=models.Q(campaign__isnull=False),
                name="suppression_campaign_number",
            ),
            models.UniqueConstraint(
                fields=["business", "number_hash"],
                condition=models.Q(campaign__isnull=True),
                name="suppression_business_number",
            ),
        ]
        indexes = [models.Index(fields=["business", "number_hash"], name="suppression_lookup_idx")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        scope = f"campaign {self.campaign_id}" if self.campaign_id else "business-wide"
        return f"do-not-call #{self.pk} ({scope})"
