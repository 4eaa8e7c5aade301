from datetime import UTC, datetime, timedelta

import pytest

from leadline.accounts.models import User


def next_monday_morning() -> datetime:
    """A moment inside the default calling window (10:30 in Kolkata on a Monday), in the future."""
    today = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
    days = (7 - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


@pytest.fixture
def now():
    return next_monday_morning()


def make_rep(campaign, username: str, phone: str) -> User:
    user = User.objects.create_user(
        username=username,
        password="pw",
        role=User.Role.REP,
        phone_number=phone,
        business=campaign.business,
    )
    campaign.reps.add(user)
    return user


@pytest.fixture
def rep(campaign):
    return make_rep(campaign, "rep1", "+919000000001")


@pytest.fixture
def rep2(campaign):
    return make_rep(campaign, "rep2", "+919000000002")


def no_call_gap(business) -> None:
    """Turn the business's minimum gap between calls to a number off (the default is 2 h) and
    widen its daily and weekly caps: a fast-forwarded simulation's retries and callbacks can
    ring one number more than 3 times in a simulated day (the default daily cap)."""
    business.min_gap_minutes = 0
    business.calls_per_number_day, business.calls_per_number_week = 20, 100
    business.save(
        update_fields=["min_gap_minutes", "calls_per_number_day", "calls_per_number_week"]
    )


@pytest.fixture
def campaign(campaign):
    """The suite's campaign, its business without a minimum gap between calls and with wide
    caps: these tests call a lead again minutes later (retries, callbacks, a refused
    placement), which the defaults would hold back; the caps themselves are tested in
    compliance/tests/test_caps.py."""
    no_call_gap(campaign.business)
    return campaign
