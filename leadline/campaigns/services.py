"""Writes on campaigns."""

from django.db import IntegrityError, transaction

from leadline.accounts.models import Business

from .models import Campaign, new_public_id


def campaign_create(*, business: Business, name: str) -> Campaign:
    """A new active campaign with a fresh random public id."""
    for _ in range(10):
        try:
            with transaction.atomic():
                return Campaign.objects.create(
                    business=business, name=name, public_id=new_public_id()
                )
        except IntegrityError:
            if Campaign.objects.filter(business=business, name=name).exists():
                raise
            # A public id collision: draw another.
    raise RuntimeError("could not allocate a campaign id")


def campaign_get_or_create(*, business: Business, name: str) -> Campaign:
    existing = Campaign.objects.filter(business=business, name=name).first()
    return existing or campaign_create(business=business, name=name)
