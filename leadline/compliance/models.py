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


class DndStatus(models.Model):
    """A cached DND (NCPR) answer for a number, whoever asked: the registry is national, so
    one answer serves every business. Fresh for `dnd.DND_TTL` (7 days: a registration takes
    effect within 7 days); the decision never asks a source itself (no network I/O inside a
    claim's transaction), the `dnd-lookups` worker loop fills this table."""

    number_hash = models.CharField(max_length=64, unique=True)
    dnd = models.BooleanField()
    source = models.CharField(max_length=32)  # the DndSource's name: "registry", "exotel"
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = "DND status"
        verbose_name_plural = "DND statuses"

    def __str__(self) -> str:
        return f"DND {'yes' if self.dnd else 'no'} ({self.source}, {self.checked_at:%Y-%m-%d})"


class DndRegistryEntry(models.Model):
    """A number of the DND registry file the operator imported (`leadline dnd import`)."""

    number_hash = models.CharField(max_length=64, unique=True)
    imported_at = models.DateTimeField()

    class Meta:
        verbose_name = "DND registry entry"
        verbose_name_plural = "DND registry entries"

    def __str__(self) -> str:
        return f"DND registry entry #{self.pk}"


class DndRegistryImport(models.Model):
    """One run of `leadline dnd import`: once any exists, a number absent from the registry
    (and not found DND by a later source) counts as not on DND."""

    imported_at = models.DateTimeField(auto_now_add=True)
    replaced = models.BooleanField(default=False)
    lines = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)  # entries in the registry afterwards

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"DND import #{self.pk} ({self.imported_at:%Y-%m-%d %H:%M})"


class Consent(models.Model):
    """A person's consent, given to one business, to its promotional calls: DND does not
    apply to that business's promotional campaigns for the number. Recorded by the business
    through the API with its evidence (`reference`: a form submission id, a recording, ...)."""

    class Method(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        SMS = "sms", "SMS"
        IVR = "ivr", "IVR / missed call"
        CALL = "call", "On a recorded call"
        WRITTEN = "written", "Written"
        OTHER = "other", "Other"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    number_hash = models.CharField(max_length=64)
    given_at = models.DateTimeField()
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "number_hash"], name="consent_number")
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"consent #{self.pk} ({self.method})"


class NumberCallCounter(models.Model):
    """One number's calls by one business (call caps, `caps.py`): when it was last rung, for
    the minimum gap. Every placement of a call to the number locks this row first, so
    concurrent reps (whatever campaign) count one at a time and a cap cannot be overshot."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    number_hash = models.CharField(max_length=64)
    last_called_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "number_hash"], name="number_call_counter_number"
            )
        ]

    def __str__(self) -> str:
        return f"call counter #{self.pk}"


class NumberCallDay(models.Model):
    """Call attempts to one number by one business on one local day (the business's time
    zone), for the daily and 7-day caps. Rows older than the 7-day window are pruned as the
    number is called again."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    number_hash = models.CharField(max_length=64)
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "number_hash", "day"], name="number_call_day_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.calls} call(s) on {self.day}"
