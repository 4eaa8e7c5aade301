"""Writes of the compliance app, each in its own transaction."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .caps import WEEK_DAYS, business_day
from .hashing import number_hash
from .models import NumberCallCounter, NumberCallDay, Suppression

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
