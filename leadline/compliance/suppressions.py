"""Reads of the do-not-call lists (writes live in services.py)."""

import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import F

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.core.db import is_postgres, values_in
from leadline.core.errors import NotFound

from .models import Suppression

# Where a business-wide entry applies, as the API and the dial decision name it.
BUSINESS = "business"
# Hashes per IN list: bounded for SQLite's variable limit and PostgreSQL's plan size.
_IN_CHUNK = 500
_TABLE = Suppression._meta.db_table


def suppressed_in(*, campaign: Campaign, number_hash: str) -> list[str]:
    """Where the number is suppressed for this campaign: "business" (the business-wide list)
    and/or the campaign's public id. Empty: not suppressed."""
    rows = Suppression.objects.filter(
        business_id=campaign.business_id, number_hash=number_hash
    ).values_list("campaign_id", flat=True)
    where: list[str] = []
    for campaign_id in rows:
        if campaign_id is None:
            where.append(BUSINESS)
        elif campaign_id == campaign.pk:
            where.append(campaign.public_id)
    return sorted(where)


# The dashboard's do-not-call pages (dashboard/donotcall): a business's entries, newest first,
# and where one number is listed. Every read is scoped to the business.


@dataclass(frozen=True)
class SuppressionPage:
    rows: list[Suppression]
    older: int | None  # the `before` cursor of the next (older) page, None on the last one


def suppressions_page(*, business: Business, before: int | None, size: int) -> SuppressionPage:
    """One page of the business's entries, newest first, keyset-paged on the id (ids grow
    with time), with each entry's campaign for its scope."""
    rows = Suppression.objects.filter(business=business).select_related("campaign")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[: size + 1])
    older = found[size - 1].pk if len(found) > size else None
    return SuppressionPage(rows=found[:size], older=older)


def suppression_get(*, business: Business, pk: int) -> Suppression:
    """One entry of the business; another business's entry is as missing as an unknown one."""
    entry = Suppression.objects.filter(business=business, pk=pk).select_related("campaign").first()
    if entry is None:
        raise NotFound("No such do-not-call entry.")
    return entry


def suppressions_of_number(*, business: Business, number_hash: str) -> list[Suppression]:
    """Every entry of the business for one number: business-wide and per campaign."""
    return list(
        Suppression.objects.filter(business=business, number_hash=number_hash)
        .select_related("campaign")
        .order_by("-pk")
    )


# Lead creation: which numbers of a batch may never be dialled in its campaign, in one query.


def suppressed_hashes(*, campaign: Campaign, number_hashes: set[str]) -> set[str]:
    """The hashes among `number_hashes` listed business-wide or for `campaign`.

    One statement on PostgreSQL whatever the batch (the hashes travel as one comma-joined
    text the server splits, not an IN list of up to 10,000 quoted strings: two round trips
    and ~70 KB of SQL text per 1,000-lead create before); bounded IN lists on SQLite
    (`core.db.values_in`)."""
    if not number_hashes:
        return set()
    if is_postgres():
        # One text parameter split by the server: Django's client-side binding quotes a
        # 1,000-element array parameter element by element, ~3 ms of Python per create.
        # Hashes are hex, so a comma never occurs inside one.
        with connection.cursor() as cursor:
            cursor.execute(
                _SUPPRESSED_PG, [campaign.business_id, campaign.pk, ",".join(number_hashes)]
            )
            return {row[0] for row in cursor.fetchall()}
    rows = values_in(
        f"SELECT number_hash FROM {_TABLE} WHERE business_id = %s "  # noqa: S608
        "AND (campaign_id IS NULL OR campaign_id = %s) AND number_hash {in_values}",
        [campaign.business_id, campaign.pk],
        sorted(number_hashes),
    )
    return {row[0] for row in rows}


# Whether any entry could list a number for a campaign: params (business, business, campaign).
# Two EXISTS rather than one with an OR, so that each reads one index by its prefix (the two
# partial unique constraints) and stops at its first row, however many entries the business
# keeps for its other campaigns. An SQL expression, for a caller to fold into a statement it
# sends anyway (the streamed create asks it together with its reservation).
ANY_ENTRY_SQL = (
    f"(EXISTS (SELECT 1 FROM {_TABLE} WHERE business_id = %s AND campaign_id IS NULL) OR "  # noqa: S608
    f"EXISTS (SELECT 1 FROM {_TABLE} WHERE business_id = %s AND campaign_id = %s))"
)


_SUPPRESSED_PG = (
    f"SELECT number_hash FROM {_TABLE} WHERE business_id = %s "  # noqa: S608
    "AND (campaign_id IS NULL OR campaign_id = %s) "
    "AND number_hash = ANY(string_to_array(%s, ','))"
)


# The API (leads/suppressions_api.py): a check of many numbers at once, and a page-numbered
# list like the leads responses endpoint.


@dataclass(frozen=True)
class Listing:
    """Where a number is listed: "business" or a campaign's public id, with the entry's reason."""

    where: str
    reason: str


def suppressions_of_hashes(
    *, business: Business, number_hashes: set[str]
) -> dict[str, list[Listing]]:
    """Every listing of the business for each hash (absent key: not listed), business-wide
    first, then campaigns by id."""
    listings: dict[str, list[Listing]] = {}
    hashes = sorted(number_hashes)
    for start in range(0, len(hashes), _IN_CHUNK):
        rows = (
            Suppression.objects.filter(
                business=business, number_hash__in=hashes[start : start + _IN_CHUNK]
            )
            .values_list("number_hash", "campaign__public_id", "reason")
            .order_by("number_hash", F("campaign__public_id").asc(nulls_first=True))
        )
        for hashed, public_id, reason in rows:
            listings.setdefault(hashed, []).append(Listing(public_id or BUSINESS, reason))
    return listings


@dataclass(frozen=True)
class NumberedPage:
    count: int
    rows: list[Suppression]
    has_next: bool
    has_previous: bool


def suppressions_numbered_page(
    *, business: Business, campaign: Campaign | None, page: int, page_size: int
) -> NumberedPage:
    """One page of the business's entries (or one campaign's), oldest first by id: an entry
    added during a walk lands after every page already read. NotFound past the last page
    (page 1 of an empty list is an empty page), as the leads responses endpoint answers."""
    rows = Suppression.objects.filter(business=business)
    if campaign is not None:
        rows = rows.filter(campaign=campaign)
    count = rows.count()
    last_page = max(1, math.ceil(count / page_size))
    if page > last_page:
        raise NotFound("Invalid page.")
    offset = (page - 1) * page_size
    found = list(rows.select_related("campaign").order_by("pk")[offset : offset + page_size])
    return NumberedPage(count=count, rows=found, has_next=page < last_page, has_previous=page > 1)
