"""Reads of campaigns, scoped to a business."""

from django.db.models import QuerySet, prefetch_related_objects

from leadline.accounts.models import Business
from leadline.core.db import SENTINEL_PK, compiled_read
from leadline.core.errors import NotFound

from .models import Campaign


def campaign_get_for_business(*, business: Business, public_id: str) -> Campaign:
    """The business's campaign with this public id; another business's is reported missing."""
    # Anything that cannot be an id (NUL bytes, for one, which PostgreSQL refuses) is just absent.
    if not (public_id.isascii() and public_id.isalnum() and len(public_id) <= 12):
        raise NotFound("Campaign not found.")
    # Every campaign endpoint asks this: compiled once per process (`core.db.compiled_read`).
    read = compiled_read("business campaign", _business_campaign, [SENTINEL_PK, "\x01public id"])
    found = read.fetch(business.pk, public_id)
    if not found:
        raise NotFound("Campaign not found.")
    campaign: Campaign = found[0][0]
    return campaign


def _business_campaign(business_id: int, public_id: str) -> QuerySet[Campaign]:
    return Campaign.objects.filter(business_id=business_id, public_id=public_id).order_by("pk")[:1]


def campaigns_for_business(*, business: Business) -> list[Campaign]:
    """The business's campaigns by name (one query; `lead_count` is kept, so no COUNT)."""
    return list(Campaign.objects.filter(business=business).order_by("name", "pk"))


def campaign_config_get_for_business(*, business: Business, public_id: str) -> Campaign:
    """Like `campaign_get_for_business`, with its script and outcome taxonomy prefetched."""
    campaign = campaign_get_for_business(business=business, public_id=public_id)
    # Two queries, whatever the number of questions and outcomes (both ordered by position).
    prefetch_related_objects([campaign], "questions", "outcomes")
    return campaign
