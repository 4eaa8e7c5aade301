"""Reads of leads, always through a campaign the caller's business owns."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from leadline.campaigns.models import Campaign
from leadline.dialer.recordings import recording_url

from .models import Lead

RESULT_FIELDS = (
    "id",
    "lead_id",
    "phone_number",
    "contact_name",
    "custom_fields",
    "created_at",
    "latest_called_at",
    "latest_recording",
    "lead_outcome",
    "lead_responses",
    "processed_at",
)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset, to the second, as the v4 examples show."""
    if value is None:
        return None
    return value.isoformat(timespec="seconds")


def result_item(row: dict[str, Any], campaign_public_id: str) -> dict[str, Any]:
    """The GET result item (and webhook payload): fixed keys, then the lead's custom fields."""
    item = {
        "phone_number": row["phone_number"],
        "lead_id": row["lead_id"],
        "latest_recording_url": recording_url(
            row["latest_recording"], anchor=row["latest_called_at"]
        ),
        "campaign_id": campaign_public_id,
        "latest_called_at": iso(row["latest_called_at"]),
        "lead_outcome": row["lead_outcome"],
        "processed_at": iso(row["processed_at"]),
        "contact_name": row["contact_name"],
        "created_at": iso(row["created_at"]),
        "lead_responses": row["lead_responses"] or {},
    }
    for key, value in (row["custom_fields"] or {}).items():
        if key not in item:
            item[key] = value
    return item


def lead_result(*, lead: Lead, campaign: Campaign) -> dict[str, Any]:
    return result_item({name: getattr(lead, name) for name in RESULT_FIELDS}, campaign.public_id)


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


def _filtered(campaign: Campaign, query: ResultsQuery) -> QuerySet[Lead]:
    leads = Lead.objects.filter(campaign=campaign, erased_at__isnull=True)
    if query.lead_id is not None:
        leads = leads.filter(lead_id=query.lead_id)
    if query.windowed:
        leads = leads.filter(processed_at__isnull=False)
        if query.processed_after is not None:
            leads = leads.filter(processed_at__gte=query.processed_after)
        if query.processed_before is not None:
            leads = leads.filter(processed_at__lt=query.processed_before)
    return leads


def lead_results_page(*, campaign: Campaign, query: ResultsQuery) -> ResultsPage:
    """One page of a campaign's results.

    Order: by creation (internal id) ascending; with a processed_after/before window, by
    processing time then id. New leads and newly processed leads only ever append, so a walk
    never sees a lead twice.
    """
    leads = _filtered(campaign, query)
    if query.lead_id is not None:
        # lead_id is unique in a campaign: the page itself is the count.
        rows = list(leads.values(*RESULT_FIELDS)[:1]) if query.page == 1 else []
        if query.page > 1:
            raise PageOutOfRange
        items = [result_item(row, campaign.public_id) for row in rows]
        return ResultsPage(count=len(items), items=items, has_next=False, has_previous=False)
    if not query.windowed:
        count = campaign.lead_count  # kept by the lead services; avoids COUNT(*) on 1M rows
    else:
        count = leads.count()
    last_page = max(1, math.ceil(count / query.page_size))
    if query.page > last_page:
        raise PageOutOfRange
    order = ("processed_at", "id") if query.windowed else ("id",)
    offset = (query.page - 1) * query.page_size
    # Page the ids first (an index-only scan), then fetch only the rows of this page.
    page_ids = leads.order_by(*order).values("id")[offset : offset + query.page_size]
    rows = Lead.objects.filter(id__in=page_ids).order_by(*order).values(*RESULT_FIELDS)
    items = [result_item(row, campaign.public_id) for row in rows]
    return ResultsPage(
        count=count,
        items=items,
        has_next=query.page < last_page,
        has_previous=query.page > 1,
    )
