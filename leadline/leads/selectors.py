"""Reads of leads, always through a campaign the caller's business owns."""

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import campaign_zone
from leadline.core.db import is_postgres, pg_binary_json, pg_cursor, values_in
from leadline.core.errors import NotFound
from leadline.core.phones import mask_phone

from .counts import SLOT_SECONDS, CampaignCounts, campaign_counts, slot_of
from .hooks import ERASURE_COUNTS
from .models import ErasureReceipt, Lead
from .results import RESULT_FIELDS, result_item


def lead_ids_existing(*, campaign: Campaign, lead_ids: list[str]) -> set[str]:
    """Which of `lead_ids` the campaign holds (live or not: erasure clears the id)."""
    table = Lead._meta.db_table
    rows = values_in(
        f"SELECT lead_id FROM {table} WHERE campaign_id = %s AND lead_id {{in_values}}",  # noqa: S608
        [campaign.pk],
        lead_ids,
    )
    return {row[0] for row in rows}


@dataclass(frozen=True)
class ResultsQuery:
    lead_id: str | None = None
    processed_after: datetime | None = None
    processed_before: datetime | None = None
    page: int = 1
    page_size: int = 100

    @property
    def windowed(self) -> bool:
        return self.processed_after is not None or self.processed_before is not None


@dataclass(frozen=True)
class ResultsPage:
    count: int
    items: list[dict[str, Any]]
    has_next: bool
    has_previous: bool


class PageOutOfRange(Exception):
    pass


def _processed_between(
    leads: QuerySet[Lead], start: datetime | None, end: datetime | None
) -> QuerySet[Lead]:
    """Processed leads, from `start` (inclusive) to `end` (exclusive) where given."""
    leads = leads.filter(processed_at__isnull=False)
    if start is not None:
        leads = leads.filter(processed_at__gte=start)
    if end is not None:
        leads = leads.filter(processed_at__lt=end)
    return leads


def _filtered(campaign: Campaign, query: ResultsQuery) -> QuerySet[Lead]:
    leads = Lead.objects.filter(campaign=campaign, erased_at__isnull=True)
    if query.lead_id is not None:
        leads = leads.filter(lead_id=query.lead_id)
    if query.windowed:
        leads = _processed_between(leads, query.processed_after, query.processed_before)
    return leads


# Counting rounds before `_live_position` counts every tombstone in one pass instead.
_POSITION_ROUNDS = 4


# The walk's statements on PostgreSQL (the first page's whole cost in the database), raw and
# sent through `core.db.pg_cursor`: compiling the two querysets and Django's per-row field
# converters cost several times what PostgreSQL spends on a page (issue 14: the first page
# under 10 ms at p99). The same statements as the ORM forms used on SQLite beside them.
_LEAD_TABLE = Lead._meta.db_table
_TOMBSTONES_UP_TO_SQL = (
    f"SELECT count(*) FROM {_LEAD_TABLE} "  # noqa: S608
    "WHERE campaign_id = %s AND erased_at IS NOT NULL AND position <= %s"
)
_WALK_PAGE_SQL = (
    f"SELECT {', '.join(RESULT_FIELDS)} FROM {_LEAD_TABLE} "  # noqa: S608
    "WHERE campaign_id = %s AND erased_at IS NULL AND position >= %s "
    "ORDER BY position LIMIT %s"
)


def _tombstones(campaign: Campaign) -> QuerySet[Lead]:
    return Lead.objects.filter(campaign=campaign, erased_at__isnull=False)


def _tombstones_up_to(campaign: Campaign, position: int) -> int:
    if not is_postgres():
        return _tombstones(campaign).filter(position__lte=position).count()
    with pg_cursor() as cursor:
        cursor.execute(_TOMBSTONES_UP_TO_SQL, (campaign.pk, position))
        row = cursor.fetchone()
    return int(row[0])


def _walk_rows(campaign: Campaign, first: int, size: int) -> list[Any]:
    """The page of the walk from position `first`: RESULT_FIELDS rows, as `.values()` gives
    them (JSON decoded as JSONField decodes it, datetimes aware in UTC)."""
    if not is_postgres():
        leads = Lead.objects.filter(campaign=campaign, erased_at__isnull=True)
        return list(
            leads.filter(position__gte=first).order_by("position").values(*RESULT_FIELDS)[:size]
        )
    with pg_cursor() as cursor:
        # Binary results: psycopg's own C loaders read the timestamps (aware, in the session's
        # UTC, as Django's text loader gives them: a pure-Python loader, the page's largest
        # cost) and decode jsonb with json.loads, as JSONField.from_db_value does.
        pg_binary_json(cursor)
        cursor.execute(_WALK_PAGE_SQL, (campaign.pk, first, size), binary=True)
        return [dict(zip(RESULT_FIELDS, record, strict=True)) for record in cursor.fetchall()]


def _live_position(campaign: Campaign, k: int) -> int:
    """The position of the campaign's k-th live lead (1-based) in position order.

    Positions run 1, 2, 3, ... over all the campaign's leads; erased ones (tombstones) are
    gaps. The k-th live lead sits at the least p with p = k + (tombstones at or before p):
    iterate from p = k, each round one count on the small tombstone index (usually done in
    one or two rounds, as erasures are rare). A long run of tombstones could take many
    rounds, so after a few the answer comes from all of them at once: for the i-th tombstone
    at position e, e - i live leads precede it, and it precedes the k-th live lead exactly
    when e - i < k.
    """
    position = k
    for _ in range(_POSITION_ROUNDS):
        found = k + _tombstones_up_to(campaign, position)
        if found == position:
            return position
        position = found
    live_before = F("position") - Window(RowNumber(), order_by=F("position").asc())
    tombstones = _tombstones(campaign).annotate(live_before=live_before)
    return k + tombstones.filter(live_before__lt=k).count()


def lead_results_page(*, campaign: Campaign, query: ResultsQuery) -> ResultsPage:
    """One page of a campaign's results.

    Order: by creation (internal id) ascending; with a processed_after/before window, by
    processing time then id. New leads and newly processed leads only ever append, so a walk
    never sees a lead twice.
    """
    if query.lead_id is not None:
        # lead_id is unique in a campaign: the page itself is the count.
        rows = (
            list(_filtered(campaign, query).values(*RESULT_FIELDS)[:1]) if query.page == 1 else []
        )
        if query.page > 1:
            raise PageOutOfRange
        items = [result_item(row, campaign.public_id) for row in rows]
        return ResultsPage(count=len(items), items=items, has_next=False, has_previous=False)
    # The whole walk builds no queryset on PostgreSQL (see _WALK_PAGE_SQL): only a window does.
    leads = _filtered(campaign, query) if query.windowed else None
    if leads is None:
        count = campaign.lead_count  # kept by the lead services; avoids COUNT(*) on 1M rows
    else:
        count = leads.count()
    last_page = max(1, math.ceil(count / query.page_size))
    if query.page > last_page:
        raise PageOutOfRange
    offset = (query.page - 1) * query.page_size
    if leads is not None:
        order = ("processed_at", "id")
        # Page the ids first (an index-only scan), then fetch only the rows of this page.
        page_ids = leads.order_by(*order).values("id")[offset : offset + query.page_size]
        rows = Lead.objects.filter(id__in=page_ids).order_by(*order).values(*RESULT_FIELDS)
    else:
        # The whole walk: positions follow ids, so a range seek from the page's first lead
        # reads the same rows as OFFSET would, at the same cost on any page.
        first = _live_position(campaign, offset + 1)
        rows = _walk_rows(campaign, first, query.page_size)
    items = [result_item(row, campaign.public_id) for row in rows]
    return ResultsPage(
        count=count,
        items=items,
        has_next=query.page < last_page,
        has_previous=query.page > 1,
    )


# --- The client dashboard -------------------------------------------------------------------
#
# What the dashboard calls a lead's state, from the model's fields. The first five partition a
# campaign's leads (every lead is in exactly one); "converted" is a flag across live leads.
#   erased       erased_at is set (a tombstone: nothing personal is left).
#   processed    live, status "processed": the dialer recorded a final outcome (processed_at
#                and lead_outcome are set). A processed lead disabled later stays processed:
#                disabling never takes a result away (see lead_disable_batch).
#   disabled     live, status "disabled": disabled before it was processed; no more calls.
#   in_progress  live, status "queued" and under an unexpired lease: a rep holds it (a live call
#                keeps extending the lease), so nobody else may call it.
#   queued       live, status "queued" and not leased (or the lease ran out): waiting for a rep.
#   converted    live with converted_at set (the client marked it converted), whatever its
#                state above.
LEAD_STATES = {
    "queued": "Queued",
    "in_progress": "In progress",
    "processed": "Processed",
    "disabled": "Disabled",
    "erased": "Erased",
}
LEAD_FILTERS = {**LEAD_STATES, "converted": "Converted"}


def _state_conditions(now: datetime) -> dict[str, Q]:
    live = Q(erased_at__isnull=True)
    leased = Q(lease_expires_at__gt=now)
    not_leased = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    return {
        "queued": live & Q(status=Lead.Status.QUEUED) & not_leased,
        "in_progress": live & Q(status=Lead.Status.QUEUED) & leased,
        "processed": live & Q(status=Lead.Status.PROCESSED),
        "disabled": live & Q(status=Lead.Status.DISABLED),
        "erased": Q(erased_at__isnull=False),
        "converted": live & Q(converted_at__isnull=False),
    }


def lead_state(lead: Lead | dict[str, Any], now: datetime | None = None) -> str:
    """The lead's dashboard state (see LEAD_STATES); the same rules as `_state_conditions`."""
    now = now or timezone.now()

    def get(name: str) -> Any:
        return lead[name] if isinstance(lead, dict) else getattr(lead, name)

    if get("erased_at") is not None:
        return "erased"
    status = get("status")
    if status == Lead.Status.QUEUED:
        lease = get("lease_expires_at")
        return "in_progress" if lease is not None and lease > now else "queued"
    return str(status)


@dataclass(frozen=True)
class LeadCounts:
    total: int
    queued: int
    in_progress: int
    processed: int
    disabled: int
    erased: int
    converted: int


def _days(campaign: Campaign, days: int, now: datetime) -> tuple[ZoneInfo, date, int, int]:
    """The campaign's zone, the first of the last `days` local days (today included), and
    the quarter-hours those days span (local midnights, so a day stays the campaign's day
    across a DST change)."""
    zone = campaign_zone(campaign)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return zone, first, slot_of(start), slot_of(end)


def _kept(campaign: Campaign, days: int, now: datetime) -> CampaignCounts:
    _, _, slots_from, slots_to = _days(campaign, days, now)
    return campaign_counts(campaign=campaign, slots_from=slots_from, slots_to=slots_to)


def _state_counts(campaign: Campaign, kept: CampaignCounts, now: datetime) -> LeadCounts:
    # "In progress" is a lease held now, and a lease runs out by itself, so it is not kept:
    # the leased leads are few (one per rep at most), read through the lease index.
    held = Lead.objects.filter(_state_conditions(now)["in_progress"], campaign=campaign).count()
    status = kept.status
    return LeadCounts(
        total=sum(status.values()),
        queued=status.get(Lead.Status.QUEUED, 0) - held,
        in_progress=held,
        processed=status.get(Lead.Status.PROCESSED, 0),
        disabled=status.get(Lead.Status.DISABLED, 0),
        erased=status.get(Lead.Status.ERASED, 0),
        converted=kept.converted,
    )


def _outcome_counts(campaign: Campaign, kept: CampaignCounts) -> list[tuple[str, int]]:
    counts = {key: n for key, n in kept.outcomes.items() if n}
    # Uses the prefetched taxonomy when the caller has it (campaign_config_get_for_business).
    labels = [outcome.label for outcome in campaign.outcomes.all()]
    rest = sorted(label for label in counts if label not in labels)
    return [(label or "(none)", counts.get(label, 0)) for label in [*labels, *rest]]


def _per_day(
    campaign: Campaign, kept: CampaignCounts, days: int, now: datetime
) -> list[tuple[date, int]]:
    zone, first, _, _ = _days(campaign, days, now)
    counts: dict[date, int] = {}
    for slot, n in kept.slots.items():
        # A quarter-hour lies inside one local day of any time zone.
        day = datetime.fromtimestamp(slot * SLOT_SECONDS, zone).date()
        counts[day] = counts.get(day, 0) + n
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


def lead_counts(*, campaign: Campaign, now: datetime | None = None) -> LeadCounts:
    """The campaign's leads by state, from the kept counts (leads.counts) and the leases."""
    now = now or timezone.now()
    return _state_counts(campaign, campaign_counts(campaign=campaign), now)


def lead_outcome_counts(*, campaign: Campaign) -> list[tuple[str, int]]:
    """Processed live leads by outcome (kept counts): the taxonomy's order (zeros included),
    then any label the taxonomy no longer has (an outcome renamed or removed after leads got
    it)."""
    return _outcome_counts(campaign, campaign_counts(campaign=campaign))


def lead_processed_per_day(
    *, campaign: Campaign, days: int = 30, now: datetime | None = None
) -> list[tuple[date, int]]:
    """Live leads processed on each of the last `days` days (today included), by the
    campaign's local calendar, oldest first; days without any are 0."""
    now = now or timezone.now()
    return _per_day(campaign, _kept(campaign, days, now), days, now)


@dataclass(frozen=True)
class LeadFigures:
    counts: LeadCounts
    outcomes: list[tuple[str, int]]
    per_day: list[tuple[date, int]]


def lead_figures(*, campaign: Campaign, days: int = 30, now: datetime | None = None) -> LeadFigures:
    """The campaign page's figures (lead_counts, lead_outcome_counts, lead_processed_per_day)
    from one read of the kept counts and one of the leases, whatever the campaign's size."""
    now = now or timezone.now()
    kept = _kept(campaign, days, now)
    return LeadFigures(
        counts=_state_counts(campaign, kept, now),
        outcomes=_outcome_counts(campaign, kept),
        per_day=_per_day(campaign, kept, days, now),
    )


@dataclass(frozen=True)
class LeadFilters:
    lead_id: str | None = None
    state: str | None = None  # a key of LEAD_FILTERS
    outcome: str | None = None
    processed_from: datetime | None = None  # inclusive
    processed_until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class LeadRow:
    """A lead as the dashboard's table shows it: the number masked, never whole."""

    pk: int
    lead_id: str | None
    contact_name: str | None
    masked_phone: str
    state: str
    outcome: str | None
    attempts: int
    processed_at: datetime | None
    converted_at: datetime | None
    conversion_detail: str | None

    @property
    def state_label(self) -> str:
        return LEAD_STATES.get(self.state, self.state)


@dataclass(frozen=True)
class LeadTablePage:
    rows: list[LeadRow]
    newer: int | None  # cursor for the page of newer leads (`after`), if there is one
    older: int | None  # cursor for the page of older leads (`before`), if there is one


_TABLE_FIELDS = (
    "id",
    "lead_id",
    "contact_name",
    "phone_number",
    "status",
    "lead_outcome",
    "attempts_count",
    "processed_at",
    "converted_at",
    "conversion_detail",
    "erased_at",
    "lease_expires_at",
)


def _table_filtered(campaign: Campaign, filters: LeadFilters, now: datetime) -> QuerySet[Lead]:
    leads = Lead.objects.filter(campaign=campaign)
    if filters.state == "erased":
        leads = leads.filter(erased_at__isnull=False)
    else:
        # Live leads only, which is also the condition of the partial indexes this walks.
        leads = leads.filter(erased_at__isnull=True)
        if filters.state:
            leads = leads.filter(_state_conditions(now)[filters.state])
    if filters.lead_id is not None:
        leads = leads.filter(lead_id=filters.lead_id)
    if filters.outcome is not None:
        leads = leads.filter(lead_outcome=filters.outcome)
    if filters.processed_from is not None or filters.processed_until is not None:
        leads = _processed_between(leads, filters.processed_from, filters.processed_until)
    return leads


def _row(values: dict[str, Any], now: datetime) -> LeadRow:
    return LeadRow(
        pk=values["id"],
        lead_id=values["lead_id"],
        contact_name=values["contact_name"],
        masked_phone=mask_phone(values["phone_number"]) if values["phone_number"] else "",
        state=lead_state(values, now),
        outcome=values["lead_outcome"],
        attempts=values["attempts_count"],
        processed_at=values["processed_at"],
        converted_at=values["converted_at"],
        conversion_detail=values["conversion_detail"],
    )


def lead_table_page(
    *,
    campaign: Campaign,
    filters: LeadFilters,
    before: int | None = None,
    after: int | None = None,
    size: int = 50,
    now: datetime | None = None,
) -> LeadTablePage:
    """One page of the campaign's leads, newest first, by keyset on the primary key.

    `before` gives the page of older leads below that pk, `after` the page of newer ones above
    it; neither gives the newest page. No COUNT and no OFFSET: each page reads at most
    `size + 1` rows of the live-leads walk index `(campaign, id)` plus one existence probe,
    however deep the page and however large the campaign.
    """
    now = now or timezone.now()
    leads = _table_filtered(campaign, filters, now)
    if after is not None:
        found = list(leads.filter(pk__gt=after).order_by("pk").values(*_TABLE_FIELDS)[: size + 1])
        newer_exists = len(found) > size
        found = found[:size][::-1]
        older_exists = bool(found) and leads.filter(pk__lt=found[-1]["id"]).exists()
    else:
        page = leads.filter(pk__lt=before) if before is not None else leads
        found = list(page.order_by("-pk").values(*_TABLE_FIELDS)[: size + 1])
        older_exists = len(found) > size
        found = found[:size]
        newer_exists = (
            before is not None and bool(found) and leads.filter(pk__gt=found[0]["id"]).exists()
        )
    rows = [_row(values, now) for values in found]
    return LeadTablePage(
        rows=rows,
        newer=rows[0].pk if rows and newer_exists else None,
        older=rows[-1].pk if rows and older_exists else None,
    )


def lead_get_for_business(
    *, business: Business, campaign: Campaign, pk: int | None = None, lead_id: str | None = None
) -> Lead:
    """A lead of the business's campaign by our row id (tombstones too) or by the client's
    lead_id (live leads only: a tombstone has none); any other is missing."""
    leads = Lead.objects.filter(campaign=campaign, campaign__business=business)
    if pk is not None:
        leads = leads.filter(pk=pk)
    elif lead_id:
        leads = leads.filter(lead_id=lead_id)
    else:
        raise NotFound("Lead not found.")
    lead = leads.select_related("campaign").first()
    if lead is None:
        raise NotFound("Lead not found.")
    return lead


# --- erasure receipts (the API's GET and the dashboard's pages) ----------------------------


def erasure_receipt_get(*, business: Business, receipt_id: str) -> ErasureReceipt:
    """One receipt of the business by its public id; another business's is as missing as an
    unknown one (and a malformed id is just unknown)."""
    try:
        public_id = uuid.UUID(receipt_id)
    except (ValueError, AttributeError, TypeError):
        raise NotFound("No such erasure receipt.") from None
    receipt = (
        ErasureReceipt.objects.filter(business=business, public_id=public_id)
        .select_related("campaign")
        .first()
    )
    if receipt is None:
        raise NotFound("No such erasure receipt.")
    return receipt


@dataclass(frozen=True)
class ErasureReceiptPage:
    rows: list[ErasureReceipt]
    older: int | None  # the `before` cursor of the next (older) page, None on the last one


def erasure_receipts_page(
    *, business: Business, before: int | None = None, size: int = 50
) -> ErasureReceiptPage:
    """The business's receipts, newest first, keyset-paged on the id (ids grow with time)."""
    rows = ErasureReceipt.objects.filter(business=business).select_related("campaign")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[: size + 1])
    older = found[size - 1].pk if len(found) > size else None
    return ErasureReceiptPage(rows=found[:size], older=older)


def erasure_receipt_item(receipt: ErasureReceipt) -> dict[str, Any]:
    """The receipt as the API answers it (ErasureReceiptOut); no personal data in it."""
    return {
        "receipt_id": str(receipt.public_id),
        "campaign_id": receipt.campaign.public_id,
        "lead_id": receipt.lead_id,
        "status": receipt.status,
        "requested_at": receipt.requested_at.isoformat(timespec="seconds"),
        "completed_at": (
            receipt.completed_at.isoformat(timespec="seconds") if receipt.completed_at else None
        ),
        "lead_fields": list(receipt.lead_fields),
        "erased": {key: int(receipt.counts.get(key, 0)) for key in ERASURE_COUNTS},
        "suppressed": receipt.suppressed,
    }
