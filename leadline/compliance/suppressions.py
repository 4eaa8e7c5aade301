"""Reads of the do-not-call lists (writes live in services.py)."""

from dataclasses import dataclass

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.core.errors import NotFound

from .models import Suppression


def suppressed_in(*, campaign: Campaign, number_hash: str) -> list[str]:
    """Where the number is suppressed for this campaign: "business" (the business-wide list)
    and/or the campaign's public id. Empty: not suppressed."""
    rows = Suppression.objects.filter(
        business_id=campaign.business_id, number_hash=number_hash
    ).values_list("campaign_id", flat=True)
    where: list[str] = []
    for campaign_id in rows:
        if campaign_id is None:
            where.append("business")
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
