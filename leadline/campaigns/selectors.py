"""Reads of campaigns, scoped to a business."""

from leadline.accounts.models import Business
from leadline.core.errors import NotFound

from .models import Campaign


def campaign_get_for_business(*, business: Business, public_id: str) -> Campaign:
    """The business's campaign with this public id; another business's is reported missing."""
    # Anything that cannot be an id (NUL bytes, for one, which PostgreSQL refuses) is just absent.
    if not (public_id.isascii() and public_id.isalnum() and len(public_id) <= 12):
        raise NotFound("Campaign not found.")
    campaign = Campaign.objects.filter(business=business, public_id=public_id).first()
    if campaign is None:
        raise NotFound("Campaign not found.")
    return campaign
