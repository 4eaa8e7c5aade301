"""Call caps: how often one business may ring one person, whichever campaign or rep calls.

Per business (`accounts.Business`): at most `calls_per_number_day` attempts to a number on
one day, at most `calls_per_number_week` in any 7 days in a row (today and the 6 before),
and at least `min_gap_minutes` between two calls. Days are the business's (`timezone`),
not each campaign's, so every campaign counts the same day. The week is rolling rather than
a calendar week: a calendar week would let a number be rung twice the weekly cap across a
Sunday night.

What is counted: a call attempt handed to the provider. `dialer.services.call_place` locks
the number's counter (`services.number_call_lock`), asks `dial_decision` (which reads this
rule) and counts the call (`services.number_call_count`), all in the transaction that
creates the attempt, so 20 reps placing calls to one number at once count one at a time.
A placement the provider refused is uncounted, as it is not counted against the lead's
attempts either: no call happened.

The rule reads one row when the number was never called by the business (the usual case
for a new lead), two otherwise. Numbers appear only as keyed hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import zone_named

from .models import NumberCallCounter, NumberCallDay

if TYPE_CHECKING:
    from .decisions import Decision

WEEK_DAYS = 7


@dataclass(frozen=True)
class CallCounts:
    """What the caps know of one number at one business."""

    last_called_at: datetime | None
    per_day: dict[date, int]  # the last WEEK_DAYS local days


def business_day(business: Business, at: datetime) -> date:
    """The business's calendar day at `at`: the day the caps count in."""
    return at.astimezone(zone_named(business.timezone)).date()


def _day_start(business: Business, day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone_named(business.timezone))


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def caps_wait(*, business: Business, counts: CallCounts, now: datetime) -> Decision | None:
    """The caps' answer for a number with these counts: None (may be called now), or wait
    until the first moment every cap and the gap allow a call (`earliest_at`), with the cap
    that binds last as the code and reason. Counts only fall as time passes, so that moment
    stays right until the number is called again."""
    from .decisions import Decision  # decisions imports this module

    waits: list[tuple[datetime, str, str]] = []
    gap = timedelta(minutes=business.min_gap_minutes)
    last = counts.last_called_at
    if gap and last is not None and now < last + gap:
        waits.append(
            (
                last + gap,
                "gap",
                f"Called less than {_minutes_text(business.min_gap_minutes)} ago (the "
                "business's minimum gap between calls to one number).",
            )
        )
    today = business_day(business, now)
    day_cap, week_cap = business.calls_per_number_day, business.calls_per_number_week
    today_calls = counts.per_day.get(today, 0)
    # The first day (from today) with room under both caps; at most a week away, when the
    # 7-day window no longer holds any of the calls counted so far.
    for offset in range(WEEK_DAYS + 1):
        day = today + timedelta(days=offset)
        window_calls = sum(
            calls
            for counted, calls in counts.per_day.items()
            if day - timedelta(days=WEEK_DAYS - 1) <= counted <= day
        )
        day_calls = today_calls if offset == 0 else 0
        if day_calls < day_cap and window_calls < week_cap:
            break
    if offset:
        if offset == 1 and today_calls >= day_cap:
            code = "cap_day"
            reason = f"Called {today_calls} time(s) today: the business's daily cap per number."
        else:
            code = "cap_week"
            reason = (
                f"Called {sum(counts.per_day.values())} time(s) in the last 7 days: the "
                "business's weekly cap per number."
            )
        waits.append((_day_start(business, day), code, reason))
    if not waits:
        return None
    until, code, reason = max(waits)
    return Decision(dial=False, code=code, reason=reason, earliest_at=until)


def call_counts(
    *, business_id: int, number_hash: str, now: datetime
) -> tuple[Business, CallCounts] | None:
    """The business and its counts for a number, or None when the business never called it
    (then no cap can bind: one query)."""
    counter = (
        NumberCallCounter.objects.select_related("business")
        .filter(business_id=business_id, number_hash=number_hash)
        .first()
    )
    if counter is None:
        return None
    business = counter.business
    since = business_day(business, now) - timedelta(days=WEEK_DAYS - 1)
    per_day = dict(
        NumberCallDay.objects.filter(
            business_id=business_id, number_hash=number_hash, day__gte=since
        ).values_list("day", "calls")
    )
    return business, CallCounts(last_called_at=counter.last_called_at, per_day=per_day)


def caps_rule(*, campaign: Campaign, number_hash: str, now: datetime) -> Decision | None:
    """The caps rule of `dial_decision`: None lets the next rule answer; otherwise wait."""
    found = call_counts(business_id=campaign.business_id, number_hash=number_hash, now=now)
    if found is None:
        return None
    business, counts = found
    return caps_wait(business=business, counts=counts, now=now)
