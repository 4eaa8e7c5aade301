"""Writes of the compliance app, each in its own transaction."""

import re
from dataclasses import dataclass

from django.db import transaction

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .hashing import number_hash
from .models import Suppression

# A reason's limits, one definition for the API and the dashboard's forms: the column's length,
# and one line of text (control characters other than tab are refused; NUL cannot be stored
# by PostgreSQL at all).
REASON_MAX = Suppression._meta.get_field("reason").max_length or 200
REASON_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Numbers per query or insert: bounded for SQLite's variable limit.
_CHUNK = 500


@dataclass(frozen=True)
class SuppressionItem:
    """One do-not-call entry to add or remove: an E.164 number, and the campaign (None:
    business-wide)."""

    phone: str
    campaign: Campaign | None = None
    reason: str = ""


def suppressions_add(*, business: Business, items: list[SuppressionItem], source: str) -> int:
    """Add entries; one already there is not an error (and keeps its first reason and
    source). Returns how many were new.

    One probe per 500 numbers for what is already listed, then one bulk insert: a request of
    10,000 numbers costs a few dozen queries, not a savepoint per number. The unique
    constraints still do the deduplication (conflicts are ignored), so two requests adding
    the same number at once both succeed and one row remains; each may then count it as new.
    """
    wanted: dict[tuple[int | None, str], SuppressionItem] = {}
    for item in items:
        if item.campaign is not None and item.campaign.business_id != business.pk:
            raise ValueError("campaign of another business")
        scope = item.campaign.pk if item.campaign is not None else None
        # A number repeated in one request: its first reason wins, as against the table.
        wanted.setdefault((scope, number_hash(item.phone)), item)
    hashes = sorted({hashed for _, hashed in wanted})
    with transaction.atomic():
        listed: set[tuple[int | None, str]] = set()
        for start in range(0, len(hashes), _CHUNK):
            listed.update(
                Suppression.objects.filter(
                    business=business, number_hash__in=hashes[start : start + _CHUNK]
                ).values_list("campaign_id", "number_hash")
            )
        new = [
            Suppression(
                business=business,
                campaign=item.campaign,
                number_hash=hashed,
                reason=item.reason[:REASON_MAX],
                source=source,
            )
            for (scope, hashed), item in wanted.items()
            if (scope, hashed) not in listed
        ]
        Suppression.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
    return len(new)


def suppressions_remove(*, business: Business, items: list[SuppressionItem]) -> int:
    """Remove entries; unknown ones are ignored. Returns how many were removed. One delete
    per scope and 500 numbers, not one per number."""
    by_scope: dict[Campaign | None, set[str]] = {}
    for item in items:
        by_scope.setdefault(item.campaign, set()).add(number_hash(item.phone))
    removed = 0
    with transaction.atomic():
        for campaign, hashed in by_scope.items():
            hashes = sorted(hashed)
            for start in range(0, len(hashes), _CHUNK):
                deleted, _ = Suppression.objects.filter(
                    business=business,
                    campaign=campaign,
                    number_hash__in=hashes[start : start + _CHUNK],
                ).delete()
                removed += deleted
    return removed


def suppression_delete(*, business: Business, pk: int) -> bool:
    """Remove one entry by id (the dashboard knows entries, not numbers). False if the business
    has no such entry (another business's entry is as unknown as a missing one)."""
    with transaction.atomic():
        deleted, _ = Suppression.objects.filter(business=business, pk=pk).delete()
    return deleted > 0
