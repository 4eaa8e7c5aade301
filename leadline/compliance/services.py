"""Writes of the compliance app, each in its own transaction."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .caps import WEEK_DAYS, business_day
from .hashing import number_hash
from .models import NumberCallCounter, NumberCallDay, Suppression


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
    for item in items:
        if item.campaign is not None and item.campaign.business_id != business.pk:
            raise ValueError("campaign of another business")
        try:
            with transaction.atomic():
                Suppression.objects.create(
                    business=business,
                    campaign=item.campaign,
                    number_hash=number_hash(item.phone),
                    reason=item.reason[:200],
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


# --- call caps (caps.py): counted in the transaction that places the call -------------------


def number_call_lock(*, business_id: int, phone: str) -> NumberCallCounter:
    """Lock the business's counter of this E.164 number (created if missing) until the
    caller's transaction ends. Runs inside that transaction (call_place's), which must ask
    `dial_decision` only after this: concurrent placements to the number then see each
    other's counts. SQLite serialises write transactions anyway (BEGIN IMMEDIATE)."""
    assert connection.in_atomic_block, "the lock lasts only as long as the caller's transaction"
    hashed = number_hash(phone)
    # INSERT ... ON CONFLICT DO NOTHING: two first calls at once both go on, one row remains.
    NumberCallCounter.objects.bulk_create(
        [NumberCallCounter(business_id=business_id, number_hash=hashed)], ignore_conflicts=True
    )
    return (
        NumberCallCounter.objects.select_for_update(of=("self",))
        .select_related("business")
        .get(business_id=business_id, number_hash=hashed)
    )


def number_call_count(*, counter: NumberCallCounter, now: datetime) -> datetime | None:
    """Count a call placed at `now` to the locked counter's number (`number_call_lock`, same
    transaction). Returns the number's previous last call, which `number_call_uncount` puts
    back if the provider refuses the call."""
    assert connection.in_atomic_block, "counted in the transaction that places the call"
    previous = counter.last_called_at
    counter.last_called_at = now if previous is None else max(previous, now)
    counter.save(update_fields=["last_called_at"])
    day = business_day(counter.business, now)
    rows = NumberCallDay.objects.filter(
        business_id=counter.business_id, number_hash=counter.number_hash
    )
    if not rows.filter(day=day).update(calls=F("calls") + 1):
        NumberCallDay.objects.create(
            business_id=counter.business_id, number_hash=counter.number_hash, day=day, calls=1
        )
    # Days the 7-day window (and so the gap, at most a week) no longer reads.
    rows.filter(day__lt=day - timedelta(days=WEEK_DAYS)).delete()
    return previous


def number_call_uncount(
    *, business_id: int, phone: str, at: datetime, previous: datetime | None
) -> None:
    """Take back a call counted at `at` that never happened (the provider refused it): its
    day loses one call and, unless the number was called again since, its last call goes
    back to `previous`."""
    with transaction.atomic():
        counter = number_call_lock(business_id=business_id, phone=phone)
        NumberCallDay.objects.filter(
            business_id=business_id,
            number_hash=counter.number_hash,
            day=business_day(counter.business, at),
            calls__gt=0,
        ).update(calls=F("calls") - 1)
        if counter.last_called_at == at:
            counter.last_called_at = previous
            counter.save(update_fields=["last_called_at"])
