"""Call attempts: one row per bridged call a rep makes to a lead."""

import uuid

from django.db import models

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, TelephonyAccount
from leadline.leads.models import Lead


class CallAttempt(models.Model):
    """One bridged call: telephony progress, then the rep's outcome and the script's answers."""

    class TelephonyStatus(models.TextChoices):
        INITIATED = "initiated", "Initiated"
        RINGING = "ringing", "Ringing"
        ANSWERED = "answered", "Answered"
        COMPLETED = "completed", "Completed"
        BUSY = "busy", "Busy"
        NO_ANSWER = "no_answer", "No answer"
        FAILED = "failed", "Failed"

    FINISHED = frozenset({"completed", "busy", "no_answer", "failed"})
    LIVE = frozenset({"initiated", "ringing", "answered"})

    class RecordingStatus(models.TextChoices):
        NONE = "", "None"
        PENDING = "pending", "Waiting for the provider"
        STORED = "stored", "Stored"
        FAILED = "failed", "Given up"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(User, on_delete=models.PROTECT, related_name="call_attempts")
    provider = models.CharField(max_length=32)
    provider_call_id = models.CharField(max_length=128, blank=True)
    # The business's account the call went through (None: the default provider).
    telephony_account = models.ForeignKey(
        TelephonyAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # SHA-256 of the random token in the attempt's status callback URL: the URL names the
    # attempt unguessably, and a database dump does not let anyone forge a callback.
    callback_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Why the call could not be placed or failed, in words fit for the rep (never a number).
    failure = models.CharField(max_length=300, blank=True)
    # The last time the status was read from the provider (the reconcile loop's clock).
    checked_at = models.DateTimeField(null=True, blank=True)
    telephony_status = models.CharField(
        max_length=16, choices=TelephonyStatus.choices, default=TelephonyStatus.INITIATED
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording = models.CharField(max_length=255, blank=True)
    # Recordings of real providers are fetched by the worker after the call, with retries.
    recording_status = models.CharField(
        max_length=16, choices=RecordingStatus.choices, default="", blank=True
    )
    recording_ref = models.CharField(max_length=500, blank=True)  # the provider's URL or id
    recording_tries = models.PositiveSmallIntegerField(default=0)
    recording_next_at = models.DateTimeField(null=True, blank=True)
    recording_error = models.CharField(max_length=300, blank=True)
    # The provider still holds a copy we mean to delete (stored here, or the lead erased).
    provider_copy = models.BooleanField(default=False)
    outcome = models.CharField(max_length=100, blank=True)
    connected = models.BooleanField(null=True)
    answers = models.JSONField(default=dict, blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    # A personal ("me") callback: only this rep gets the lead when it is due, until the
    # campaign's grace time has passed (None: "anyone", VICIdial's ANYONE).
    callback_owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    disposed_at = models.DateTimeField(null=True, blank=True)
    # Set when the lead was disabled or erased before the disposition could be recorded.
    discarded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["rep", "started_at"], name="attempt_rep_day_idx"),
            models.Index(fields=["lead", "started_at"], name="attempt_lead_idx"),
            # The recording retention loop (services.recordings_purge): a campaign's oldest
            # calls that still have a recording.
            models.Index(
                fields=["campaign", "started_at"],
                name="attempt_recording_kept_idx",
                condition=~models.Q(recording=""),
            ),
            # The reconcile loop: calls the provider has not finished.
            models.Index(
                fields=["started_at"],
                name="attempt_live_idx",
                condition=models.Q(telephony_status__in=["initiated", "ringing", "answered"]),
            ),
            # The recording loop: recordings still to fetch, by when they are due.
            models.Index(
                fields=["recording_next_at"],
                name="attempt_recording_due_idx",
                condition=models.Q(recording_status="pending"),
            ),
            models.Index(
                fields=["id"],
                name="attempt_provider_copy_idx",
                condition=models.Q(provider_copy=True),
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.uuid} ({self.telephony_status})"


class PauseCode(models.Model):
    """Why a rep paused: break, lunch, training, meeting, and any code an operator adds."""

    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="Offered to reps in the console.")

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class RepState(models.Model):
    """A rep's state on the calling floor now (one row per rep; its history is the
    RepStateInterval rows). Written only by dialer.services.states."""

    class State(models.TextChoices):
        OFFLINE = "offline", "Offline"
        AVAILABLE = "available", "Available"
        ON_CALL = "on_call", "On a call"
        WRAP_UP = "wrap_up", "Wrap-up"
        PAUSED = "paused", "Paused"

    rep = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="floor_state"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OFFLINE)
    pause_code = models.CharField(max_length=32, blank=True)
    since = models.DateTimeField()
    # The console's last sign of life (and any transition); the worker takes a rep silent for
    # two minutes offline.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A pause asked for during a call: taken when the call's outcome is recorded.
    pause_after = models.CharField(max_length=32, blank=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="repstate_silent_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id}: {self.state}"


class RepStateInterval(models.Model):
    """One stretch of time a rep spent in one state: a rep's intervals follow each other with
    no gap or overlap (each starts where the previous ended), so time per state is exact."""

    rep = models.ForeignKey(User, on_delete=models.CASCADE, related_name="state_intervals")
    state = models.CharField(max_length=16, choices=RepState.State.choices)
    pause_code = models.CharField(max_length=32, blank=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rep_id", "started_at", "pk"]
        indexes = [models.Index(fields=["rep", "started_at"], name="repinterval_rep_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["rep"],
                condition=models.Q(ended_at__isnull=True),
                name="repinterval_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.state} from {self.started_at}"


class LeadSkip(models.Model):
    """A lead a rep skipped in progressive mode, and why (the lead went back to the queue)."""

    rep = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    skipped_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["rep", "skipped_at"], name="leadskip_rep_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} skipped lead {self.lead_id}"


class DayCount(models.Model):
    """One change to a day's report figure, or the compacted sum of earlier ones.

    A figure for (rep, campaign, day, kind, key) is the SUM of its rows (dialer.reports). The
    dialer services insert a row per change in the transaction that made it, and the
    `compact-report-days` worker loop folds them, as leads.CampaignCount does for the
    dashboard's counts. Rep figures carry the rep; campaign figures (leads processed,
    conversions) carry none. `day` is the calendar day in the campaign's time zone (the
    platform's TIME_ZONE for a rep's time outside any campaign).
    """

    class Kind(models.TextChoices):
        CALLS = "calls", "Calls with an outcome"  # by started_at's day
        CONNECTS = "connects", "Connected calls"
        OUTCOME = "outcome", "Calls by outcome"  # key: the outcome's label
        TALK = "talk", "Talk seconds"  # answered calls' duration, once finished and disposed
        SKIPS = "skips", "Leads skipped"
        STATE = "state", "Microseconds in a state"  # key: the state; closed intervals only
        PAUSE = "pause", "Microseconds paused, by code"  # key: the pause code
        PROCESSED = "processed", "Leads processed by a call's outcome"  # no rep
        PROCESSED_ATTEMPTS = "processed_attempts", "Calls it took those leads"  # no rep
        CONVERSIONS = "conversions", "Leads converted"  # no rep; by converted_at's day

    # No database constraints (as CampaignCount): a foreign key check at commit would lock the
    # rep's and campaign's rows behind the dialer's own locks on them. Django cascades.
    rep = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    day = models.DateField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    key = models.CharField(max_length=100, blank=True, default="")
    n = models.BigIntegerField()
    compacted = models.BooleanField(default=False)

    class Meta:
        verbose_name = "daily report"
        verbose_name_plural = "daily reports"
        indexes = [
            models.Index(fields=["campaign", "day"], name="daycount_campaign_idx"),
            models.Index(fields=["rep", "day"], name="daycount_rep_idx"),
            # The compaction loop looks only at rows not yet folded.
            models.Index(
                fields=["day"], name="daycount_dirty_idx", condition=models.Q(compacted=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} rep {self.rep_id} campaign {self.campaign_id} {self.kind} {self.key}"
