"""Reads of the do-not-call lists (writes live in services.py)."""

from leadline.campaigns.models import Campaign

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
