"""Call attempts: one row per bridged call a rep makes to a lead."""

import uuid

from django.db import models

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
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

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(User, on_delete=models.PROTECT, related_name="call_attempts")
    provider = models.CharField(max_length=32)
    provider_call_id = models.CharField(max_length=128, blank=True)
    telephony_status = models.CharField(
        max_length=16, choices=TelephonyStatus.choices, default=TelephonyStatus.INITIATED
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    connected = models.BooleanField(null=True)
    answers = models.JSONField(default=dict, blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
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
        ]

    def __str__(self) -> str:
        return f"attempt {self.uuid} ({self.telephony_status})"
