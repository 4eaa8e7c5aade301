"""Leads taken through the real dialer path (claim, simulated call, disposition) for the
dashboard's tests: processed fields are only ever written by the dialer's services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadline.accounts.models import User
from leadline.dialer import services

OBJECTIVE = "Connected : Objective Met"
NOT_INTERESTED = "Connected : Not Interested"
WRONG_NUMBER = "Wrong Number"
BUSY = "Not Connected : Busy"


def make_rep(campaign, username: str = "dash-rep", phone: str = "+919000000001") -> User:
    user = User.objects.create_user(
        username=username,
        password="pw",
        first_name="Ravi",
        last_name="Kumar",
        role=User.Role.REP,
        phone_number=phone,
        business=campaign.business,
    )
    campaign.reps.add(user)
    return user


def process_next(rep, outcome=OBJECTIVE, answers=None, *, now=None):
    """Claim the most due lead (any hour), call it and record `outcome`; the result."""
    now = now or timezone.now()
    lead = services.lead_claim(rep=rep, now=now, ignore_window=True)
    assert lead is not None, "no lead due"
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    attempt = services.call_refresh(attempt=attempt, now=now + timedelta(seconds=1))
    if answers is None and outcome in (OBJECTIVE, NOT_INTERESTED):
        answers = {"interested": "yes" if outcome == OBJECTIVE else "no", "notes": "gold plan"}
    return services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=outcome,
        answers=answers or {},
        now=now + timedelta(seconds=2),
    )


@pytest.fixture
def rep(campaign):
    return make_rep(campaign)
