"""Writes of the compliance app, each in its own transaction."""

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .hashing import number_hash
from .models import Suppression

# A reason's limits, one definition for the API and the dashboard's forms: the column's length,
# and one line of text (control characters other than tab are refused; NUL cannot be stored
# by PostgreSQL at all).
REASON_MAX = Suppression._meta.get_field("reason").max_length or 200
REASON_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class SuppressionItem:
    """One do-not-call entry to add or remove: an E.164 number, and the campaign (None:
    business-wide)."""

    phone: str
    campaign: Campaign | None = None
    reason: str = ""


def suppressions_add(*, business: Business, items: list[SuppressionItem], source: str) -> int:
    """Add entries; one already there is not an error (and keeps its first reason and
    source). Returns how many were new. The unique constraints do the deduplication, so
    two requests adding the same number at once both succeed and one row remains."""
    created = 0
    # One transaction for the batch (a savepoint per entry absorbs a duplicate): a failure
    # half-way leaves the list as it was.
    with transaction.atomic():
        for item in items:
            if item.campaign is not None and item.campaign.business_id != business.pk:
                raise ValueError("campaign of another business")
            try:
                with transaction.atomic():
                    Suppression.objects.create(
                        business=business,
                        campaign=item.campaign,
                        number_hash=number_hash(item.phone),
                        reason=item.reason[:REASON_MAX],
                        source=source,
                    )
            except IntegrityError:
                continue  # already on the list: adding it again is not an error
            created += 1
    return created


def suppressions_remove(*, business: Business, items: list[SuppressionItem]) -> int:
    """Remove entries; unknown ones are ignored. Returns how many were removed."""
    removed = 0
    with transaction.atomic():
        for item in items:
            deleted, _ = Suppression.objects.filter(
                business=business,
                campaign=item.campaign,
                number_hash=number_hash(item.phone),
            ).delete()
            removed += deleted
    return removed


def suppression_delete(*, business: Business, pk: int) -> bool:
    """Remove one entry by id (the dashboard knows entries, not numbers). False if the business
    has no such entry (another business's entry is as unknown as a missing one)."""
    with transaction.atomic():
        deleted, _ = Suppression.objects.filter(business=business, pk=pk).delete()
    return deleted > 0
