"""Personal ("me") callbacks through the real claim, call, outcome and state services: theirs
while their rep is on, anyone's after due + grace once the rep is offline; shown to the client
as a scheduled callback; reassigned by a supervisor."""

from datetime import timedelta

import pytest

from leadline.accounts.models import AuditEntry, User
from leadline.campaigns.services import campaign_create
from leadline.core.errors import ApiError
from leadline.dialer import floor, services
from leadline.leads import selectors as lead_selectors
from leadline.leads.models import Lead

from .conftest import make_rep
from .test_rep_states import CALLBACK, SECOND, work_one

GRACE = timedelta(minutes=10)


@pytest.fixture
def booked(campaign, make_leads, rep, now, answered_calls):
    """One lead, its personal callback booked by `rep` for an hour later (grace 10 min)."""
    make_leads(1)
    campaign.callback_grace_minutes = 10
    campaign.save(update_fields=["callback_grace_minutes"])
    due = now + timedelta(hours=1)
    result = work_one(rep, now, CALLBACK, callback_at=due, callback_for="me")
    assert result.state == "callback"
    lead = Lead.objects.get()
    assert (lead.reserved_for_id, lead.reserved_until) == (rep.pk, None)  # rep is on
    return lead, due


def test_an_online_rep_keeps_their_callback_past_the_grace_time(booked, rep, rep2):
    lead, due = booked
    services.rep_available(rep=rep2, now=due)
    # The owner is available (not calling) long after due + grace: still nobody else's.
    later = due + GRACE + timedelta(hours=2)
    assert services.lead_claim(rep=rep2, now=later) is None
    services.rep_pause(rep=rep, code="break", now=later)  # paused is still on the floor
    assert services.lead_claim(rep=rep2, now=later + SECOND) is None
    assert services.lead_claim(rep=rep, now=later + 2 * SECOND).pk == lead.pk


def test_an_offline_rep_s_callback_goes_to_anyone_after_due_plus_grace(booked, rep, rep2):
    lead, due = booked
    services.rep_offline(rep_id=rep.pk, now=due - timedelta(minutes=30))
    lead.refresh_from_db()
    assert lead.reserved_until == due + GRACE
    assert services.lead_claim(rep=rep2, now=due + SECOND) is None  # within the grace time
    assert services.lead_claim(rep=rep2, now=due + GRACE + SECOND).pk == lead.pk


def test_going_offline_after_due_plus_grace_frees_it_at_once_and_coming_back_takes_it_back(
    booked, rep, rep2
):
    lead, due = booked
    late = due + GRACE + timedelta(minutes=5)
    services.rep_offline(rep_id=rep.pk, now=late)
    lead.refresh_from_db()
    assert lead.reserved_until is not None and lead.reserved_until <= late
    # Back on before anyone took it: theirs alone again.
    services.rep_available(rep=rep, now=late + SECOND)
    lead.refresh_from_db()
    assert (lead.reserved_for_id, lead.reserved_until) == (rep.pk, None)
    assert services.lead_claim(rep=rep2, now=late + 2 * SECOND) is None
    # Off again (silent console, say): another rep takes it straight away.
    services.rep_offline(rep_id=rep.pk, now=late + 3 * SECOND)
    assert services.lead_claim(rep=rep2, now=late + 4 * SECOND).pk == lead.pk
    # The owner coming back does not take a lead another rep holds.
    services.rep_available(rep=rep, now=late + 5 * SECOND)
    assert services.lead_claim(rep=rep, now=late + 6 * SECOND) is None


def test_a_callback_booked_while_offline_waits_only_the_grace_time(
    campaign, make_leads, rep, rep2, now, answered_calls
):
    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now + SECOND)
    services.call_refresh(attempt=attempt, now=now + 5 * SECOND)
    services.rep_offline(rep_id=rep.pk, now=now + 6 * SECOND)  # forced offline in wrap-up
    due = now + timedelta(hours=1)
    services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=CALLBACK,
        answers={"interested": "yes"},
        callback_at=due,
        callback_for="me",
        now=now + 9 * SECOND,
    )
    lead.refresh_from_db()
    grace = timedelta(minutes=campaign.callback_grace_minutes)
    assert (lead.reserved_for_id, lead.reserved_until) == (rep.pk, due + grace)


def test_the_dashboard_shows_a_reserved_callback_as_queued_not_in_progress(booked, campaign):
    lead, due = booked
    assert lead.leased_by_id is None and lead.lease_expires_at is None
    assert lead_selectors.lead_state(lead, now=due - SECOND) == "queued"
    counts = lead_selectors.lead_counts(campaign=campaign, now=due - SECOND)
    assert (counts.queued, counts.in_progress) == (1, 0)


def test_a_skipped_personal_callback_goes_to_anyone(booked, rep, rep2):
    lead, due = booked
    assert services.lead_claim(rep=rep, now=due + SECOND).pk == lead.pk
    services.lead_skip(rep=rep, lead_pk=lead.pk, reason="Other", now=due + 2 * SECOND)
    lead.refresh_from_db()
    assert lead.reserved_for_id is None
    assert services.lead_claim(rep=rep2, now=due + 3 * SECOND).pk == lead.pk


def supervisor(username: str, *campaigns) -> User:
    user = User.objects.create_user(username=username, password="pw", role=User.Role.SUPERVISOR)
    user.supervised_campaigns.add(*campaigns)
    return user


def test_a_supervisor_reassigns_a_personal_callback(booked, campaign, rep, rep2):
    lead, due = booked
    boss = supervisor("meena", campaign)
    [listed] = floor.floor_snapshot(supervisor=boss, now=due + SECOND).callbacks
    assert (listed.lead, listed.owner, listed.overdue) == (lead.pk, "rep1", False)
    # To rep2 (offline: so anyone after due + grace)...
    services.callback_reassign(supervisor=boss, lead_pk=lead.pk, to=str(rep2.pk), now=due)
    lead.refresh_from_db()
    assert (lead.reserved_for_id, lead.reserved_until) == (rep2.pk, due + GRACE)
    assert services.lead_claim(rep=rep, now=due + SECOND) is None
    services.rep_available(rep=rep2, now=due + 2 * SECOND)
    lead.refresh_from_db()
    assert lead.reserved_until is None
    # ...then to anyone: the first rep's claim takes it.
    services.callback_reassign(supervisor=boss, lead_pk=lead.pk, to="anyone", now=due)
    lead.refresh_from_db()
    assert lead.reserved_for_id is None
    entries = AuditEntry.objects.filter(action="callback.reassigned").order_by("pk")
    assert [e.details["to_rep"] for e in entries] == [rep2.pk, "anyone"]
    assert services.lead_claim(rep=rep, now=due + 3 * SECOND).pk == lead.pk
    # Held now: not reassignable (and no longer listed as someone's).
    with pytest.raises(ApiError) as held:
        services.callback_reassign(supervisor=boss, lead_pk=lead.pk, to="anyone", now=due)
    assert held.value.status == 404


def test_reassigning_refuses_bad_input_and_other_campaigns(booked, campaign, business, rep):
    lead, due = booked
    boss = supervisor("meena", campaign)
    other = campaign_create(business=business, name="Other one")
    stranger = make_rep(other, "rep9", "+919000000009")
    outsider = supervisor("ravi", other)
    for to, status in [
        (str(stranger.pk), 400),
        ("x1", 400),
        ("", 400),
        ("9" * 30, 400),
        ("²", 400),
        ("1\x00", 400),
    ]:
        with pytest.raises(ApiError) as bad:
            services.callback_reassign(supervisor=boss, lead_pk=lead.pk, to=to, now=due)
        assert bad.value.status == status
    with pytest.raises(ApiError) as scoped:
        services.callback_reassign(supervisor=outsider, lead_pk=lead.pk, to="anyone", now=due)
    assert scoped.value.status == 404
    lead.refresh_from_db()
    assert (lead.reserved_for_id, lead.reserved_until) == (rep.pk, None)  # nothing changed
    # A rep holding it: refused.
    assert services.lead_claim(rep=rep, now=due + SECOND).pk == lead.pk
    with pytest.raises(ApiError) as held:
        services.callback_reassign(supervisor=boss, lead_pk=lead.pk, to="anyone", now=due)
    assert held.value.status == 409


def test_overdue_personal_callbacks_are_shown_to_the_supervisor(booked, campaign, rep):
    lead, due = booked
    services.rep_offline(rep_id=rep.pk, now=due)
    boss = supervisor("meena", campaign)
    board = floor.floor_snapshot(supervisor=boss, now=due + GRACE + SECOND)
    [listed] = board.callbacks
    assert (listed.lead, listed.overdue, listed.owner_state) == (lead.pk, True, "offline")
    assert "callbacks_overdue" in board.flags
    assert "phone" not in str(board.as_dict()) and "98765" not in str(board.as_dict())


def test_the_silent_console_loop_repairs_a_callback_booked_as_its_rep_went_offline(
    booked, rep, rep2
):
    lead, due = booked
    services.rep_offline(rep_id=rep.pk, now=due - timedelta(minutes=30))
    # The race: the booking's transaction read "online" just before the rep went offline,
    # and committed after the state change had opened the rep's other callbacks.
    Lead.objects.filter(pk=lead.pk).update(reserved_until=None)
    assert services.lead_claim(rep=rep2, now=due + GRACE + SECOND) is None
    services.reps_silent_offline(now=due + GRACE + SECOND)
    lead.refresh_from_db()
    assert lead.reserved_until == due + GRACE
    assert services.lead_claim(rep=rep2, now=due + GRACE + 2 * SECOND).pk == lead.pk
