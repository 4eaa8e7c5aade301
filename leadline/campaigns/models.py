"""Calling campaigns of a business and their configuration: script, outcomes, policy, window."""

import secrets
from datetime import time

from django.conf import settings
from django.db import models

from leadline.accounts.models import Business
from leadline.core.models import TimestampedModel

# Crockford-style alphabet without look-alikes; 6 characters give ~1e9 ids.
PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(6))


def default_retry_delays() -> list[int]:
    # Minutes before the 2nd and 3rd attempt: try again later the same day, then next slot.
    return [60, 240]


def default_window_days() -> list[int]:
    # Monday (0) to Saturday (5): Indian rules on commercial calls exclude Sundays here.
    return [0, 1, 2, 3, 4, 5]


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

    # Attempt policy.
    max_attempts = models.PositiveSmallIntegerField(default=3)
    retry_delays_minutes = models.JSONField(
        default=default_retry_delays,
        help_text="Minutes to wait before each retry, e.g. [60, 240]; the last repeats.",
    )
    lease_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="How long a rep holds a lead before it returns to the queue."
    )
    # Calling window, in the campaign's local time.
    timezone = models.CharField(max_length=64, default="Asia/Kolkata")
    window_start = models.TimeField(default=time(9, 0))
    window_end = models.TimeField(default=time(21, 0))
    window_days = models.JSONField(
        default=default_window_days, help_text="Weekdays calls are allowed, Monday = 0."
    )
    rep_visible_fields = models.JSONField(
        default=list, blank=True, help_text='Custom fields reps may see, e.g. ["city"].'
    )
    reps = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="rep_campaigns"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="campaign_business_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class ScriptQuestion(models.Model):
    """One question of a campaign's script; its key becomes a `lead_responses` key."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        YES_NO = "yes_no", "Yes / no"
        CHOICE = "choice", "Single choice"
        DATE = "date", "Date"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    options = models.JSONField(default=list, blank=True, help_text="Choices of a single choice.")

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="question_campaign_key")
        ]

    def __str__(self) -> str:
        return self.key


class Outcome(models.Model):
    """A call outcome a rep can pick, and what it does to the lead."""

    class Effect(models.TextChoices):
        FINAL = "final", "Final: the lead is processed"
        RETRY = "retry", "Retry later (until attempts run out)"
        CALLBACK = "callback", "Callback at the time the rep picks"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outcomes")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=100)
    connected = models.BooleanField(default=False)
    effect = models.CharField(max_length=16, choices=Effect.choices, default=Effect.FINAL)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="outcome_campaign_label")
        ]

    def __str__(self) -> str:
        return self.label


DEFAULT_OUTCOMES = [
    ("Connected : Objective Met", True, Outcome.Effect.FINAL),
    ("Connected : Not Interested", True, Outcome.Effect.FINAL),
    ("Not Connected : Busy", False, Outcome.Effect.RETRY),
    ("Not Connected : No Answer", False, Outcome.Effect.RETRY),
    ("Wrong Number", False, Outcome.Effect.FINAL),
    ("Callback Requested", True, Outcome.Effect.CALLBACK),
]
# (key, label, kind, required, options)
DEFAULT_QUESTIONS: list[tuple[str, str, ScriptQuestion.Kind, bool, list[str]]] = [
    ("interested", "Is the customer interested?", ScriptQuestion.Kind.YES_NO, True, []),
    ("notes", "Notes from the call", ScriptQuestion.Kind.TEXT, False, []),
]
