"""Reads of campaigns, scoped to a business."""

from django.db.models import QuerySet, prefetch_related_objects

from leadline.accounts.models import Business
from leadline.core.db import precompiled_first
from leadline.core.errors import NotFound

from .models import Campaign


def campaign_get_for_business(*, business: Business, public_id: str) -> Campaign:
    """The business's campaign with this public id; another business's is reported missing."""
    # Anything that cannot be an id (NUL bytes, for one, which PostgreSQL refuses) is just absent.
    if not (public_id.isascii() and public_id.isalnum() and len(public_id) <= 12):
        raise NotFound("Campaign not found.")
    # Every campaign-scoped API request runs this: compiled once per process ((business,
    # public id) is unique).
    campaign: Campaign | None = precompiled_first(
        "business campaign", _campaign_query, business_id=business.pk, public_id=public_id
    )
    if campaign is None:
        raise NotFound("Campaign not found.")
    return campaign


def _campaign_query(*, business_id: int, public_id: str) -> QuerySet[Campaign]:
    return Campaign.objects.filter(business_id=business_id, public_id=public_id)


def campaigns_for_business(*, business: Business) -> list[Campaign]:
    """The business's campaigns by name (one query; `lead_count` is kept, so no COUNT)."""
    return list(Campaign.objects.filter(business=business).order_by("name", "pk"))


def campaign_config_get_for_business(*, business: Business, public_id: str) -> Campaign:
    """Like `campaign_get_for_business`, with its script and outcome taxonomy prefetched."""
    campaign = campaign_get_for_business(business=business, public_id=public_id)
    # Two queries, whatever the number of questions and outcomes (both ordered by position).
    prefetch_related_objects([campaign], "questions", "outcomes")
    return campaign
