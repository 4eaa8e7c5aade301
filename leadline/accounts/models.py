"""Tenants, their people and their API credentials, plus shared per-business API state."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from leadline.core.models import TimestampedModel

# At least a day (a purge must not race the work that needs the data), at most ten years.
RETENTION_DAYS_RANGE = (1, 3650)
RETENTION_DAYS_VALIDATORS = [
    MinValueValidator(RETENTION_DAYS_RANGE[0]),
    MaxValueValidator(RETENTION_DAYS_RANGE[1]),
]

# Call caps per number across a business's campaigns (compliance.caps). At least one call a
# day (0 would stop the business calling at all: pause its campaigns instead); the upper
# bounds keep a typo from switching the protection off in practice.
CALLS_PER_DAY_RANGE = (1, 20)
CALLS_PER_WEEK_RANGE = (1, 100)
# 0 turns the gap off; at most a week, the span of the counters the rule reads.
MIN_GAP_MINUTES_RANGE = (0, 7 * 24 * 60)


def _range_validators(bounds: tuple[int, int]) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(bounds[0]), MaxValueValidator(bounds[1])]


def validate_timezone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError("Not a known time zone; use an IANA name such as Asia/Kolkata.")


class Business(TimestampedModel):
    """A client business: the tenant every campaign, lead, token and user belongs to."""

    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=settings.LEADLINE_DEFAULT_RATE_LIMIT,
        help_text="API requests per minute shared by all of this business's tokens.",
    )
    # Retention (days) of what would otherwise be kept forever for leads never erased; the
    # worker's purge loops (webhooks.loops, dialer.loops) enforce them.
    event_payload_retention_days = models.PositiveSmallIntegerField(
        default=30,
        validators=RETENTION_DAYS_VALIDATORS,
        help_text="Days a webhook event keeps its payload once every delivery of it is "
        "finished (succeeded, failed for good or cancelled).",
    )
    response_excerpt_retention_days = models.PositiveSmallIntegerField(
        default=30,
        validators=RETENTION_DAYS_VALIDATORS,
        help_text="Days a webhook delivery attempt keeps the excerpt of the receiver's response.",
    )
    recording_retention_days = models.PositiveSmallIntegerField(
        default=365,
        validators=RETENTION_DAYS_VALIDATORS,
        help_text="Days a call recording is kept, counted from the call.",
    )
    # Call caps: how often one person may be rung by this business, whichever campaign or rep
    # calls (compliance.caps, asked by compliance.decisions.dial_decision).
    calls_per_number_day = models.PositiveSmallIntegerField(
        default=3,
        validators=_range_validators(CALLS_PER_DAY_RANGE),
        help_text="Most call attempts to one number per day (in the time zone below), across "
        "all campaigns.",
    )
    calls_per_number_week = models.PositiveSmallIntegerField(
        default=10,
        validators=_range_validators(CALLS_PER_WEEK_RANGE),
        help_text="Most call attempts to one number in any 7 days in a row (today and the 6 "
        "before), across all campaigns.",
    )
    min_gap_minutes = models.PositiveIntegerField(
        default=120,
        validators=_range_validators(MIN_GAP_MINUTES_RANGE),
        help_text="Least time between two calls to the same number, in minutes (0: no gap).",
    )
    timezone = models.CharField(
        max_length=64,
        default="Asia/Kolkata",
        validators=[validate_timezone],
        help_text="Where the call caps' days start and end (IANA name).",
    )

    class Meta:
        verbose_name_plural = "businesses"
        ordering = ["name"]
        constraints = [
            # The validators' range, for writes that skip forms (0 days would purge at once).
            models.CheckConstraint(
                condition=Q(
                    event_payload_retention_days__range=RETENTION_DAYS_RANGE,
                    response_excerpt_retention_days__range=RETENTION_DAYS_RANGE,
                    recording_retention_days__range=RETENTION_DAYS_RANGE,
                ),
                name="business_retention_days_range",
            ),
            # The caps' ranges, for writes that skip forms (a cap of 0 would stop all calls).
            models.CheckConstraint(
                condition=Q(
                    calls_per_number_day__range=CALLS_PER_DAY_RANGE,
                    calls_per_number_week__range=CALLS_PER_WEEK_RANGE,
                    min_gap_minutes__range=MIN_GAP_MINUTES_RANGE,
                ),
                name="business_call_caps_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        # A weekly cap below the daily one is almost surely a typo (it makes the daily cap
        # meaningless); say so in the admin rather than guess which was meant.
        if (self.calls_per_number_week or 0) < (self.calls_per_number_day or 0):
            raise ValidationError(
                {"calls_per_number_week": "The weekly cap must be at least the daily cap."}
            )


class User(AbstractUser):
    """A person who logs in: client staff (dashboard), a rep (console) or an operator."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client staff"
        REP = "rep", "Rep"
        OPERATOR = "operator", "Operator"
        # Operators' floor staff: the console's wallboard (all campaigns, or those they
        # supervise: Campaign.supervisors).
        SUPERVISOR = "supervisor", "Supervisor"

    business = models.ForeignKey(
        Business, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

    class BusinessRole(models.TextChoices):
        # What client staff may do inside their business (leadline.accounts.permissions);
        # ordered lowest first. Reps and operators ignore it: their `role` decides.
        VIEWER = "viewer", "Viewer (read only)"
        MANAGER = "manager", "Manager (leads, campaigns, uploads, exports)"
        OWNER = "owner", "Owner (everything, with tokens, secrets and erasure)"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    # Owner by default: before roles every client login could do everything, so existing
    # logins (the migration's default) and logins made the old ways keep that; an operator
    # narrows one in the admin.
    business_role = models.CharField(
        max_length=16,
        choices=BusinessRole.choices,
        default=BusinessRole.OWNER,
        help_text="For client staff: what they may do on the dashboard. Reps and operators "
        "ignore it.",
    )
    # A rep's own phone: the bridge rings it first, then connects the lead.
    phone_number = models.CharField(max_length=16, blank=True)


class ApiToken(models.Model):
    """A bearer token for the Leads API; only its SHA-256 is stored, the secret is shown once."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"


class RateLimitBucket(models.Model):
    """Hits of one limiter key in one fixed window; shared by every process via the database."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_key_window")
        ]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.hits}"


class IdempotencyRecord(models.Model):
    """The first response to an Idempotency-Key, replayed for 24 h to retries of the same body."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still running; a retry then gets 409.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "key"], name="idempotency_business_key")
        ]

    def __str__(self) -> str:
        return f"idempotency key {self.key}"


class AuditEntry(models.Model):
    """One thing someone did, append-only: kept a year, never a phone number or a secret.

    Written only through `accounts.audit.audit_record` (which masks numbers and withholds
    secrets) and removed only by the retention purge; nothing updates a row.
    """

    class ActorKind(models.TextChoices):
        API_TOKEN = "api_token", "API token"
        USER = "user", "Dashboard user"
        REP = "rep", "Rep"
        OPERATOR = "operator", "Operator"
        LINK = "link", "Signed link"
        SYSTEM = "system", "System"

    created_at = models.DateTimeField()
    # Null for operator actions outside any business (an admin change to a platform setting).
    business = models.ForeignKey(
        Business, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    # The token's or user's pk as text ("" for the system); the label is what people read.
    actor_id = models.CharField(max_length=32, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=300, blank=True)
    # The client's lead ids the action touched, one per line with a line break before and
    # after each ("\nL1\nL2\n"), so "entries about lead L1" is a portable `contains` filter;
    # at most LEAD_IDS_KEPT of them, `lead_count` says how many there were.
    lead_ids = models.TextField(blank=True)
    lead_count = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The dashboard's trail: one business, newest first, optionally one action/actor.
            models.Index(fields=["business", "-created_at", "-id"], name="audit_business_time"),
            models.Index(fields=["business", "action", "-created_at"], name="audit_action_time"),
            models.Index(
                fields=["business", "actor_kind", "actor_id", "-created_at"],
                name="audit_actor_time",
            ),
            # The retention purge walks the oldest rows.
            models.Index(fields=["created_at"], name="audit_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or self.actor_kind} at {self.created_at}"
