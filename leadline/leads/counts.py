"""A campaign's lead counts, kept as rows by the services that change leads.

The dashboard's campaign page shows leads by status, processed leads by outcome and per day.
Aggregating a campaign's leads on every view grows with the campaign (0.7-0.9 s at a million
leads); these rows keep the same figures, so the page reads a few hundred rows at any size.

How they stay right:
- Every service that changes what is counted (a lead's status, its outcome or processing
  time while live, its conversion, its erasure) records the change here IN ITS OWN
  TRANSACTION: `CountDeltas` collects +/- per (campaign, kind, key, slot) and inserts one
  row per key. The counts commit or roll back with the change itself.
- Writers only INSERT. A hot row updated with `n = n + 1` would be locked by each writer
  until it commits, so every disposition, import and erasure of a campaign would queue
  behind the others, and writers touching two such rows in different orders (an erasure
  and an import, say) could deadlock. Inserts take no row locks at all.
- Reads SUM the rows per key. The `compact-campaign-counts` worker loop folds a campaign's
  new rows into one row per key (`counts_compact`), so a read sums about one row per key
  plus what changed in the last seconds.
- `leadline counts verify` recounts from the leads and compares (`counts_verify`); with
  `--repair` it replaces a campaign's rows by the recount.

What is counted, per campaign (the dashboard's definitions, leads.selectors):
- STATUS: every lead by `status` (queued, processed, disabled, erased); "in progress" is a
  queued lead under a live lease, which expires by itself, so it is read from the leases.
- CONVERTED: live leads with `converted_at`.
- OUTCOME: live leads with `processed_at`, by `lead_outcome`.
- PROCESSED: live leads with `processed_at`, per quarter-hour (UTC) of it: a quarter-hour is
  inside one local day of every time zone, so the page can draw the campaign's days in its
  current time zone, whatever it was when the lead was processed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Model, Q, Sum

from leadline.campaigns.models import Campaign
from leadline.core.db import epoch_slot_sql, is_postgres

from .models import CampaignCount, Lead

Kind = CampaignCount.Kind
SLOT_SECONDS = 900  # a quarter-hour: every time zone's offset is a whole number of them

# (kind, key, slot): one count of a campaign.
CountKey = tuple[str, str, int]


def slot_of(at: datetime) -> int:
    """The quarter-hour since the epoch `at` falls in (the same as `epoch_slot_sql`)."""
    return int(at.timestamp()) // SLOT_SECONDS


@dataclass(frozen=True)
class Counted:
    """What the counts see of one lead."""

    status: str
    converted: bool  # live and converted
    processed: tuple[str, int] | None  # live and processed: (outcome key, slot)


def counted(lead: Lead) -> Counted:
    """The lead as the counts see it now (call before and after a change)."""
    live = lead.erased_at is None
    processed = None
    if live and lead.processed_at is not None:
        processed = (lead.lead_outcome or "", slot_of(lead.processed_at))
    return Counted(
        status=str(lead.status),
        converted=live and lead.converted_at is not None,
        processed=processed,
    )


class CountDeltas:
    """Changes to counts, collected and then written as one row per key (`write`)."""

    def __init__(self) -> None:
        self._n: Counter[tuple[int, str, str, int]] = Counter()

    def add(self, campaign_id: int, kind: str, n: int, *, key: str = "", slot: int = 0) -> None:
        self._n[(campaign_id, kind, key, slot)] += n

    def lead(self, campaign_id: int, state: Counted, sign: int) -> None:
        """Count (+1) or uncount (-1) a lead in `state`."""
        self.add(campaign_id, Kind.STATUS, sign, key=state.status)
        if state.converted:
            self.add(campaign_id, Kind.CONVERTED, sign)
        if state.processed is not None:
            outcome, slot = state.processed
            self.add(campaign_id, Kind.OUTCOME, sign, key=outcome)
            self.add(campaign_id, Kind.PROCESSED, sign, slot=slot)

    def change(self, campaign_id: int, before: Counted, after: Counted) -> None:
        if before != after:
            self.lead(campaign_id, before, -1)
            self.lead(campaign_id, after, +1)

    def write(self) -> None:
        """Insert the non-zero changes; call inside the transaction that made them."""
        rows = [
            CampaignCount(campaign_id=campaign_id, kind=kind, key=key, slot=slot, n=n)
            for (campaign_id, kind, key, slot), n in sorted(self._n.items())
            if n
        ]
        if rows:
            CampaignCount.objects.bulk_create(rows)
        self._n.clear()


def counts_lead_changed(*, lead: Lead, before: Counted) -> None:
    """Record what changed for `lead` since `before` (its `counted()` when it was locked)."""
    deltas = CountDeltas()
    deltas.change(lead.campaign_id, before, counted(lead))
    deltas.write()


def counts_add(*, campaign_id: int, kind: str, n: int, key: str = "") -> None:
    """Record a change of `n` leads in one count (bulk changes: a batch created, disabled)."""
    deltas = CountDeltas()
    deltas.add(campaign_id, kind, n, key=key)
    deltas.write()


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignCounts:
    status: dict[str, int]
    converted: int
    outcomes: dict[str, int]  # outcome key ("" for none) -> live processed leads
    slots: dict[int, int]  # quarter-hour -> live leads processed in it (only those asked for)


def campaign_counts(
    *, campaign: Campaign, slots_from: int | None = None, slots_to: int | None = None
) -> CampaignCounts:
    """The campaign's counts in one indexed read; quarter-hours only in [slots_from, slots_to)
    (none unless both are given)."""
    wanted = ~Q(kind=Kind.PROCESSED)
    if slots_from is not None and slots_to is not None:
        wanted |= Q(kind=Kind.PROCESSED, slot__gte=slots_from, slot__lt=slots_to)
    rows = (
        CampaignCount.objects.filter(wanted, campaign=campaign)
        .values_list("kind", "key", "slot")
        .annotate(total=Sum("n"))
        .order_by()
    )
    status: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    slots: dict[int, int] = {}
    converted = 0
    for kind, key, slot, total in rows:
        if kind == Kind.STATUS:
            status[key] = total
        elif kind == Kind.OUTCOME:
            outcomes[key] = total
        elif kind == Kind.PROCESSED:
            slots[slot] = total
        elif kind == Kind.CONVERTED:
            converted = total
    return CampaignCounts(status=status, converted=converted, outcomes=outcomes, slots=slots)


# --- compaction (the worker loop) ----------------------------------------------------------

COMPACT_CAMPAIGNS = 20


def counts_compact(*, limit: int = COMPACT_CAMPAIGNS) -> int:
    """Fold the new rows of up to `limit` campaigns into one row per key; returns the rows
    folded. Each campaign in its own short transaction.

    Safe beside writers and other compactors: it deletes only rows it has locked and
    re-inserts their sum, so a row committed meanwhile (not visible to it) stays for the next
    run, and a row another compactor deleted first is skipped by the lock (PostgreSQL returns
    no row deleted under a `FOR UPDATE`); SQLite runs one writer at a time anyway.
    """
    campaign_ids = list(
        CampaignCount.objects.filter(compacted=False)
        .order_by()
        .values_list("campaign_id", flat=True)
        .distinct()[:limit]
    )
    folded = 0
    for campaign_id in campaign_ids:
        with transaction.atomic():
            folded += _compact_campaign(campaign_id)
    return folded


def _compact_campaign(campaign_id: int) -> int:
    mine = CampaignCount.objects.filter(campaign_id=campaign_id)
    dirty = set(mine.filter(compacted=False).values_list("kind", "key", "slot"))
    if not dirty:
        return 0
    keys: dict[str, set[str]] = {}
    slots: set[int] = set()
    for kind, key, slot in dirty:
        if kind == Kind.PROCESSED:
            slots.add(slot)
        else:
            keys.setdefault(kind, set()).add(key)
    which = Q(kind=Kind.PROCESSED, slot__in=sorted(slots)) if slots else Q(pk__in=[])
    for kind, names in keys.items():
        which |= Q(kind=kind, key__in=sorted(names))
    rows = list(
        mine.filter(which)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "kind", "key", "slot", "n")
    )
    sums: Counter[CountKey] = Counter()
    for _, kind, key, slot, n in rows:
        sums[(kind, key, slot)] += n
    CampaignCount.objects.filter(pk__in=[row[0] for row in rows]).delete()
    CampaignCount.objects.bulk_create(
        CampaignCount(campaign_id=campaign_id, kind=kind, key=key, slot=slot, n=n, compacted=True)
        for (kind, key, slot), n in sorted(sums.items())
        if n
    )
    return len(rows)


# --- recount and verify ---------------------------------------------------------------------

# Live processed leads per quarter-hour of processed_at, in SQL: the recount's only raw
# statement, since the ORM cannot floor an epoch on both engines.
RECOUNT_SLOTS = (
    "SELECT {slot} AS slot, COUNT(*) FROM {table} WHERE campaign_id = %s "
    "AND erased_at IS NULL AND processed_at IS NOT NULL GROUP BY 1"
)


def recount(*, campaign_id: int, lead_model: type[Model] = Lead) -> dict[CountKey, int]:
    """The campaign's counts from a full aggregate of its leads (non-zero keys only).
    `lead_model`: the migration that first fills the counts passes its historical model."""
    leads = lead_model._default_manager.filter(campaign_id=campaign_id)
    live = leads.filter(erased_at__isnull=True)
    found: dict[CountKey, int] = {}
    for status, n in leads.values_list("status").annotate(n=Count("pk")).order_by():
        found[(Kind.STATUS, status, 0)] = n
    converted = live.filter(converted_at__isnull=False).count()
    if converted:
        found[(Kind.CONVERTED, "", 0)] = converted
    processed = live.filter(processed_at__isnull=False)
    for outcome, n in processed.values_list("lead_outcome").annotate(n=Count("pk")).order_by():
        found[(Kind.OUTCOME, outcome or "", 0)] = n
    table = connection.ops.quote_name(lead_model._meta.db_table)
    sql = RECOUNT_SLOTS.format(slot=epoch_slot_sql("processed_at", SLOT_SECONDS), table=table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id])
        for slot, n in cursor.fetchall():
            found[(Kind.PROCESSED, "", int(slot))] = n
    return found


def _kept(campaign_id: int) -> dict[CountKey, int]:
    rows = (
        CampaignCount.objects.filter(campaign_id=campaign_id)
        .values_list("kind", "key", "slot")
        .annotate(total=Sum("n"))
        .order_by()
    )
    return {(kind, key, slot): total for kind, key, slot, total in rows if total}


@dataclass(frozen=True)
class CountDifference:
    kind: str
    key: str
    slot: int
    kept: int
    actual: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "slot": self.slot,
            "kept": self.kept,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class CountsCheck:
    campaign_id: str  # public id
    differences: list[CountDifference]
    repaired: bool


def _one_snapshot(outermost: bool) -> None:
    """The kept rows and the leads read at one instant: on PostgreSQL the transaction is made
    REPEATABLE READ (its first statement), so a change committing meanwhile is either in both
    or in neither. SQLite's transactions read one snapshot anyway. Inside a caller's
    transaction (tests) its isolation stands."""
    if outermost and is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def counts_verify(*, campaign: Campaign, repair: bool = False) -> CountsCheck:
    """Compare the campaign's kept counts with a full recount; with `repair`, replace its rows
    by the recount when they differ (one transaction)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        _one_snapshot(outermost)
        kept = _kept(campaign.pk)
        actual = recount(campaign_id=campaign.pk)
        differences = [
            CountDifference(kind, key, slot, kept.get((kind, key, slot), 0), n)
            for (kind, key, slot), n in sorted(
                {k: actual.get(k, 0) for k in kept.keys() | actual.keys()}.items()
            )
            if kept.get((kind, key, slot), 0) != n
        ]
        if repair and differences:
            # Rows committed after this snapshot are invisible here and stay: they are
            # changes the recount did not see either.
            CampaignCount.objects.filter(campaign=campaign).delete()
            CampaignCount.objects.bulk_create(
                CampaignCount(campaign=campaign, kind=kind, key=key, slot=slot, n=n, compacted=True)
                for (kind, key, slot), n in sorted(actual.items())
            )
    return CountsCheck(campaign.public_id, differences, repaired=repair and bool(differences))
