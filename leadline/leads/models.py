"""Leads pushed by clients into campaigns, with the result fields of the Leads API v4."""

import uuid

from django.db import models
from django.db.models import Q

from leadline.campaigns.models import Campaign


class Lead(models.Model):
    """One person to call in one campaign; after erasure only a tombstone without PII remains."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSED = "processed", "Processed"
        DISABLED = "disabled", "Disabled"
        ERASED = "erased", "Erased"

    # No index of its own: both unique constraints below lead with the campaign and serve its
    # lookups. A lone (campaign) index was the smallest that matched `campaign_id = X`, so
    # while the table's statistics still called a new campaign empty the planner read pages,
    # tombstone counts and MAX(position) through it, scanning the whole campaign each time.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="leads", db_index=False
    )
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
    # A personal ("me") callback: reserved for this rep, who gets it on their next claim once
    # it is due. Kept apart from the lease, which means "a rep holds it now" (the dashboard's
    # "in progress"): a reservation is a scheduled callback. While the rep is online
    # `reserved_until` is null (theirs however late it gets); once they go offline it is the
    # due time plus the campaign's grace, after which any rep may take the lead
    # (dialer.services.states moves it both ways; the claim only compares it with now).
    reserved_for = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # lead_reserved_idx: only reserved leads are indexed
    )
    reserved_until = models.DateTimeField(null=True, blank=True)

    disabled_at = models.DateTimeField(null=True)
    converted_at = models.DateTimeField(null=True)
    conversion_detail = models.CharField(max_length=32, null=True)
    erased_at = models.DateTimeField(null=True)
    # Why a queued lead is not being called yet (compliance: call caps, DND status pending),
    # shown on the dashboard; empty once nothing holds it back.
    # db_default: the bulk insert (COPY) names its columns and leaves this one to the database.
    wait_reason = models.CharField(max_length=200, blank=True, db_default="")
    # The lead's place in its campaign's creation order: 1, 2, 3, ... given at insert under the
    # campaign's lock (leads.services.lead_create_batch), so it grows with the id and never
    # skips. The GET walk seeks page N by position instead of skipping N pages with OFFSET
    # (selectors.lead_results_page); erased leads keep theirs (a tombstone is a gap).
    position = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "lead_id"], name="lead_campaign_lead_id"),
            # Also the walk's index (a range seek from a position) and the next position's.
            models.UniqueConstraint(fields=["campaign", "position"], name="lead_campaign_position"),
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
            # The dashboard's status filters, newest first (selectors.lead_table_page): a rare
            # status (disabled; processed early in a campaign, queued late) would otherwise
            # walk the whole (campaign, id) index to fill a page.
            models.Index(
                fields=["campaign", "status", "id"],
                name="lead_live_status_idx",
                condition=Q(erased_at__isnull=True),
            ),
            # The campaign page's "in progress": leads held by a rep now (a few per campaign,
            # one per rep), whatever the size of the campaign's queue.
            models.Index(
                fields=["campaign", "lease_expires_at"],
                name="lead_leased_idx",
                condition=Q(lease_expires_at__isnull=False, status="queued"),
            ),
            # Personal callbacks: a rep's own (their claim, their state changes) and a
            # campaign's (the wallboard's list); a few per rep, whatever the queue's size.
            models.Index(
                fields=["reserved_for", "due_at"],
                name="lead_reserved_idx",
                condition=Q(reserved_for__isnull=False, status="queued"),
            ),
            models.Index(
                fields=["campaign", "due_at"],
                name="lead_campaign_reserved_idx",
                condition=Q(reserved_for__isnull=False, status="queued"),
            ),
            # The GET walk counts the tombstones before a position to find page N's first lead:
            # erasures are rare, so this index is small.
            models.Index(
                fields=["campaign", "position"],
                name="lead_erased_position_idx",
                condition=Q(erased_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id or '(erased)'} in {self.campaign_id}"


class CampaignCount(models.Model):
    """One change to a campaign's lead counts, or the compacted sum of earlier ones.

    A campaign's count for (kind, key, slot) is the SUM of its rows. The lead services insert
    a row per change in their own transaction (leads.counts); the `compact-campaign-counts`
    worker loop folds them into one row per key. Insert-only writes never wait on each other
    and cannot deadlock, unlike `UPDATE ... SET n = n + 1` on a few hot rows per campaign,
    which every disposition, import and erasure of the campaign would queue on until commit.
    """

    class Kind(models.TextChoices):
        STATUS = "status", "Leads by status"  # key: Lead.status (erased leads: "erased")
        OUTCOME = "outcome", "Processed live leads by outcome"  # key: lead_outcome ("" if none)
        CONVERTED = "converted", "Converted live leads"  # key ""
        PROCESSED = "processed", "Live leads processed per quarter-hour"  # slot, key ""

    # No database constraint: its check takes a KEY SHARE lock on the campaign's row when the
    # writer commits, which would queue behind (and deadlock with) the dialer's locks on that
    # row; the rows are only ever written by the services for a campaign that exists, and
    # go with it (CASCADE, by Django).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=100, blank=True, default="")
    # PROCESSED: quarter-hours since the Unix epoch (UTC), so any time zone's days (their
    # offsets are whole quarter-hours) can be summed from them; 0 for the other kinds.
    slot = models.IntegerField(default=0)
    n = models.BigIntegerField()
    compacted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "kind", "slot"], name="campaigncount_read_idx"),
            # The compaction loop looks only at rows not yet folded.
            models.Index(
                fields=["campaign"],
                name="campaigncount_dirty_idx",
                condition=Q(compacted=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} {self.key or self.slot}: {self.n:+d}"


def _import_upload_to(instance: "LeadImport", filename: str) -> str:
    # A random name: the client's file name stays in `original_name`, out of the storage path.
    return f"lead-imports/{uuid.uuid4().hex}.csv"


class LeadImport(models.Model):
    """A CSV file of leads uploaded from the dashboard, validated and imported by the worker.

    The stored file holds personal data, so it lives only as long as the import is undecided:
    it is deleted when the import ends (done, failed, cancelled) and undecided imports expire
    (see leads.imports). Nothing here but the problem rows' lead_ids ever names a lead.
    """

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        NEEDS_DECISION = "needs_decision", "Needs decision"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    business = models.ForeignKey(
        "accounts.Business", on_delete=models.CASCADE, related_name="lead_imports"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="lead_imports")
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=_import_upload_to, max_length=255, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALIDATING)
    # Only the valid rows were asked for (the user's decision); otherwise all or nothing.
    valid_rows_only = models.BooleanField(default=False)

    total_rows = models.PositiveIntegerField(default=0, help_text="Data rows read so far.")
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    # Percent of the file's bytes validated (the row total is unknown until the end).
    progress = models.PositiveSmallIntegerField(default=0)
    # A file-level reason (encoding, missing columns, limits); never quotes a cell.
    failure = models.TextField(blank=True)

    # Worker lease: the worker holding `lease_token` until `lease_expires_at` owns the import.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The request that queued the import (or chose its valid rows): the worker's log lines and
    # the events the import causes carry it, as a request's own would (core.logs).
    request_id = models.CharField(max_length=128, blank=True, default="", editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The worker's claim looks only at imports waiting for it.
            models.Index(
                fields=["status", "id"],
                name="leadimport_work_idx",
                condition=Q(status__in=["validating", "importing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.campaign_id} ({self.status})"


class LeadImportProblem(models.Model):
    """One row problem of an import: the per-row error report (never a phone number or name)."""

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="problems")
    row = models.PositiveIntegerField(help_text="Spreadsheet row number; the header is row 1.")
    # The client's id as written in the file (cut to 255); cleared when that lead is erased.
    lead_id = models.CharField(max_length=255, null=True, blank=True)
    field = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=32)
    message = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["lead_import", "row"], name="leadimportproblem_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.code}"


class ExportRun(models.Model):
    """A results export being streamed from the dashboard: at most one per business.

    An export holds a server thread and a database cursor for as long as the client reads, so
    a business may run one at a time (the unique business); the row is shared by every process
    and node. It is deleted when the stream ends or the client goes away; a process that dies
    mid-export leaves it behind, so it carries an expiry the stream keeps pushing forward (see
    leads.export_runs) and an expired run no longer counts.
    """

    business = models.OneToOneField("accounts.Business", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"export of campaign {self.campaign_id} until {self.expires_at:%H:%M:%S}"


class ErasureReceipt(models.Model):
    """What one erasure removed and when. Holds no personal data: the client's lead_id (their
    handle on the erased lead), counts, and storage paths named by random call ids."""

    class Status(models.TextChoices):
        # The database part is done; files or the provider's copies are still being deleted.
        PENDING = "pending", "Pending"
        COMPLETE = "complete", "Complete"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    business = models.ForeignKey("accounts.Business", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    # The tombstone: the worker asks the higher layers whether anything of it is left.
    tombstone = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, related_name="+")
    lead_id = models.CharField(max_length=255)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # What was removed, by kind (see leads.hooks.ERASURE_COUNTS); fixed once the erasure commits.
    counts = models.JSONField(default=dict)
    # Which of the lead's own fields held data and were wiped (names only, never values).
    lead_fields = models.JSONField(default=list)
    suppressed = models.BooleanField(default=False)
    # Recording files to delete after the commit; the worker retries any still there.
    files_pending = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["business", "-requested_at"], name="erasure_receipt_list_idx"),
            models.Index(
                fields=["id"],
                name="erasure_receipt_pending_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"erasure receipt {self.public_id} ({self.status})"
