"""Calling campaigns of a business and their configuration: script, outcomes, policy, window."""

import json
import secrets
from datetime import time

from django.conf import settings
from django.db import models

from leadline.accounts.models import Business
from leadline.core import crypto
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


class TelephonyAccount(TimestampedModel):
    """A business's account with a telephony provider: who Leadline is to the provider
    (credentials, Fernet-encrypted like webhook secrets and never shown again), the numbers
    it owns (ExoPhones, Twilio numbers) and the API host to use.

    It lives with campaigns, not with the dialer that speaks to the provider, because a
    campaign points at one and campaigns sit below the dialer in the layers.
    """

    class Provider(models.TextChoices):
        SIMULATOR = "simulator", "Simulator (no real calls)"
        EXOTEL = "exotel", "Exotel"
        TWILIO = "twilio", "Twilio"

    # The documented hosts; Exotel's are regional (api.exotel.com Singapore,
    # api.in.exotel.com Mumbai), so an account may name another.
    DEFAULT_API_URLS: dict[str, str] = {
        Provider.SIMULATOR: "",
        Provider.EXOTEL: "https://api.exotel.com",
        Provider.TWILIO: "https://api.twilio.com",
    }
    # Which credentials each provider needs (the CLI and admin ask for exactly these).
    CREDENTIAL_NAMES: dict[str, tuple[str, ...]] = {
        Provider.SIMULATOR: (),
        Provider.EXOTEL: ("api_key", "api_token"),
        Provider.TWILIO: ("auth_token",),
    }

    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="telephony_accounts"
    )
    name = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    account_sid = models.CharField(max_length=64, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    caller_ids = models.JSONField(
        default=list, blank=True, help_text='The account\'s numbers, E.164, e.g. ["+918047xxxxxx"].'
    )
    api_url = models.URLField(max_length=200, blank=True)
    # The last `leadline telephony check` (or admin check): when, and what it said.
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_result = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["business_id", "pk"]

    def __str__(self) -> str:
        label = self.name or self.account_sid or f"#{self.pk}"
        return f"{self.get_provider_display()} {label}"

    @property
    def effective_api_url(self) -> str:
        return (self.api_url or self.DEFAULT_API_URLS.get(self.provider, "")).rstrip("/")

    def credentials_set(self, credentials: dict[str, str]) -> None:
        self.credentials_encrypted = crypto.encrypt(json.dumps(credentials)) if credentials else ""

    def credentials(self) -> dict[str, str]:
        if not self.credentials_encrypted:
            return {}
        loaded: dict[str, str] = json.loads(crypto.decrypt(self.credentials_encrypted))
        return loaded


class Campaign(TimestampedModel):
    """A calling campaign; clients address it by its short random public id."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class DialMode(models.TextChoices):
        # preview: the rep reads the card and presses Call. progressive: while the rep is
        # available the console takes the next lead and calls it after `preview_seconds`.
        PREVIEW = "preview", "Preview (the rep presses Call)"
        PROGRESSIVE = "progressive", "Progressive (called after a short preview)"

    class Category(models.TextChoices):
        # TRAI's split: service/transactional calls may ring DND numbers; promotional calls
        # may not, unless the person gave the business their consent (compliance.dnd).
        SERVICE = "service", "Service / transactional"
        PROMOTIONAL = "promotional", "Promotional"

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="campaigns")
    public_id = models.CharField(max_length=12, unique=True, editable=False, default=new_public_id)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    category = models.CharField(
        max_length=16,
        choices=Category.choices,
        default=Category.SERVICE,
        db_default=Category.SERVICE,
        help_text="Promotional campaigns never dial a number on DND (NCPR) without consent.",
    )
    # Live (not erased) leads; kept by the lead services so the API's `count` is O(1).
    # Its row lock also serialises lead inserts per campaign (see leads.services).
    lead_count = models.BigIntegerField(default=0, editable=False)
    # The highest `position` given to a lead of this campaign (0: none yet). Kept under the same
    # lock, so a create reads its first position off its own UPDATE rather than asking for
    # MAX(position): that query's plan follows the table's statistics, and while they still
    # call a new campaign empty it scans all the campaign's leads (cost growing per batch).
    # Positions are never given twice: an erased lead keeps its row and its position.
    last_position = models.BigIntegerField(default=0, db_default=0, editable=False)

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
    # Supervisors scoped to some campaigns (a supervisor with none sees every campaign).
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_campaigns"
    )
    # Telephony: the account calls go through (none: LEADLINE_TELEPHONY_PROVIDER) and the
    # account number the lead sees.
    telephony_account = models.ForeignKey(
        TelephonyAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
    )
    caller_id = models.CharField(max_length=20, blank=True)
    max_ring_seconds = models.PositiveSmallIntegerField(
        default=30, help_text="How long each phone may ring, 5-60 seconds."
    )
    max_call_seconds = models.PositiveIntegerField(
        default=3600, help_text="A call's time limit once bridged, 60-14400 seconds."
    )
    # The calling floor (dialer.services.states, the console).
    dial_mode = models.CharField(max_length=16, choices=DialMode.choices, default=DialMode.PREVIEW)
    preview_seconds = models.PositiveSmallIntegerField(
        default=5, help_text="Progressive: seconds the card shows before the call, 0-120."
    )
    wrap_up_seconds = models.PositiveSmallIntegerField(
        default=60, help_text="Time to record a call's outcome before it counts as too long."
    )
    callback_grace_minutes = models.PositiveSmallIntegerField(
        default=15,
        help_text="A rep's personal callback waits for them this long after it is due, "
        "then any rep may take it.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="campaign_business_name"),
            models.CheckConstraint(
                condition=models.Q(max_ring_seconds__gte=5, max_ring_seconds__lte=60),
                name="campaign_ring_seconds_range",
            ),
            models.CheckConstraint(
                condition=models.Q(max_call_seconds__gte=60, max_call_seconds__lte=14400),
                name="campaign_call_seconds_range",
            ),
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
    # The person asked not to be called again: recording this outcome puts the lead's number
    # on the business-wide do-not-call list (dialer.services.dispositions).
    do_not_call = models.BooleanField(
        default=False,
        help_text="Recording this outcome adds the number to the business's do-not-call list.",
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="outcome_campaign_label")
        ]

    def __str__(self) -> str:
        return self.label


DO_NOT_CALL_OUTCOME = "Do Not Call"
# (label, connected, effect, do_not_call)
DEFAULT_OUTCOMES = [
    ("Connected : Objective Met", True, Outcome.Effect.FINAL, False),
    ("Connected : Not Interested", True, Outcome.Effect.FINAL, False),
    ("Not Connected : Busy", False, Outcome.Effect.RETRY, False),
    ("Not Connected : No Answer", False, Outcome.Effect.RETRY, False),
    ("Wrong Number", False, Outcome.Effect.FINAL, False),
    ("Callback Requested", True, Outcome.Effect.CALLBACK, False),
    # The person answered and asked not to be called again.
    (DO_NOT_CALL_OUTCOME, True, Outcome.Effect.FINAL, True),
]
# (key, label, kind, required, options)
DEFAULT_QUESTIONS: list[tuple[str, str, ScriptQuestion.Kind, bool, list[str]]] = [
    ("interested", "Is the customer interested?", ScriptQuestion.Kind.YES_NO, True, []),
    ("notes", "Notes from the call", ScriptQuestion.Kind.TEXT, False, []),
]
