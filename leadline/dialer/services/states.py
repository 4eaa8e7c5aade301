"""Rep states on the calling floor: offline, available, on a call, wrap-up, paused (with a code).

Every change closes the rep's open interval and opens the next at the same instant, so a rep's
intervals follow each other with no gap or overlap and time per state is exact. The other
dialer services drive the changes (placing a call: on_call; its end: wrap_up; its outcome:
available, or the pause asked for meanwhile); the console adds available, pause and sign-out,
and the worker takes reps whose console fell silent offline.

Locking: a change locks the rep's RepState row in its own short transaction, after the
caller's transaction committed; it never runs while a lead or call row is locked, so it cannot
deadlock with the claim, call and outcome paths (which lock the lead first).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadline.accounts.models import User
from leadline.core.errors import BadRequest, Conflict
from leadline.leads.models import Lead

from .. import reports
from ..availability import NOT_YOURS, LeadUnavailable
from ..models import CallAttempt, LeadSkip, PauseCode, RepState, RepStateInterval
from .reservations import reservations_follow_state, reservations_repair

State = RepState.State
# No heartbeat from the console for this long: the rep is taken offline, their lead released.
SILENT_AFTER = timedelta(minutes=2)
BUSY = frozenset({State.ON_CALL, State.WRAP_UP})
SKIP_REASON_MAX = 200
PAUSE_CODE = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True)
class RepStateView:
    state: str
    pause_code: str
    since: datetime
    pause_after: str
    campaign_id: int | None


def _locked_state(rep_id: int, now: datetime) -> RepState:
    """The rep's state row, locked (created offline on first use)."""
    found = RepState.objects.select_for_update().filter(rep_id=rep_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():  # a savepoint: a concurrent first use may win the insert
            RepState.objects.create(rep_id=rep_id, state=State.OFFLINE, since=now)
            RepStateInterval.objects.create(rep_id=rep_id, state=State.OFFLINE, started_at=now)
    except IntegrityError:
        pass
    return RepState.objects.select_for_update().get(rep_id=rep_id)


def _move(
    row: RepState,
    state: str,
    now: datetime,
    *,
    pause_code: str = "",
    campaign_id: int | None = None,
) -> RepState:
    """Close the open interval and open the next one at the same instant (never before the
    current one began: clocks of two processes may disagree by a little)."""
    if row.state == state and row.pause_code == pause_code:
        row.heartbeat_at = now
        row.save(update_fields=["heartbeat_at"])
        return row
    at = max(now, row.since)
    if (row.state == State.OFFLINE) != (state == State.OFFLINE):
        # Personal callbacks wait for their rep only while the rep is on (reservations).
        reservations_follow_state(rep_id=row.rep_id, online=state != State.OFFLINE)
    open_interval = RepStateInterval.objects.filter(rep_id=row.rep_id, ended_at__isnull=True)
    # The campaign's time zone comes in the same read: the report files the time by its days.
    closing = list(
        open_interval.values(
            "state", "pause_code", "campaign_id", "started_at", "campaign__timezone"
        )
    )
    open_interval.update(ended_at=at)
    reports.report_interval_closed(rep_id=row.rep_id, closed=closing, ended_at=at)
    keep_campaign = campaign_id if campaign_id is not None else row.campaign_id
    if state == State.OFFLINE:
        keep_campaign = None
    RepStateInterval.objects.create(
        rep_id=row.rep_id,
        state=state,
        pause_code=pause_code,
        campaign_id=keep_campaign,
        started_at=at,
    )
    row.state = state
    row.pause_code = pause_code
    row.since = at
    row.heartbeat_at = now
    row.campaign_id = keep_campaign
    if state not in BUSY:
        row.pause_after = ""
    row.save()
    return row


def _view(row: RepState) -> RepStateView:
    return RepStateView(row.state, row.pause_code, row.since, row.pause_after, row.campaign_id)


def rep_state_get(*, rep: User) -> RepStateView:
    row = RepState.objects.filter(rep_id=rep.pk).first()
    if row is None:
        return RepStateView(State.OFFLINE, "", timezone.now(), "", None)
    return _view(row)


def pause_code_clean(code: str) -> str:
    code = (code or "").strip().lower()
    # A slug or nothing: anything else (a NUL byte, say) is refused before it reaches the
    # database, which would refuse it with an error of its own.
    if (
        not PAUSE_CODE.fullmatch(code)
        or not PauseCode.objects.filter(code=code, active=True).exists()
    ):
        raise BadRequest("Pick one of the pause codes.", extra={"field": "code"})
    return code


def _held_release(rep_id: int, now: datetime) -> int:
    """The leads the rep holds now go back to the queue (a personal callback not yet due stays
    reserved for them: it is not held yet)."""
    return Lead.objects.filter(
        leased_by_id=rep_id,
        status=Lead.Status.QUEUED,
        lease_expires_at__gt=now,
        due_at__lte=now,
    ).update(leased_by=None, lease_expires_at=None)


def _has_open_call(rep_id: int) -> bool:
    return CallAttempt.objects.filter(rep_id=rep_id, disposed_at__isnull=True, discarded=False)[
        :1
    ].exists()


def rep_available(*, rep: User, now: datetime | None = None) -> RepStateView:
    """Ready for calls. During a call (or its wrap-up) this only cancels a pause asked for."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep.pk, now)
        if row.state in BUSY:
            row.pause_after = ""
            row.heartbeat_at = now
            row.save(update_fields=["pause_after", "heartbeat_at"])
        else:
            _move(row, State.AVAILABLE, now)
    return _view(row)


def rep_pause(*, rep: User, code: str, now: datetime | None = None) -> RepStateView:
    """Pause with a code. During a call or its wrap-up the pause starts once the outcome is
    recorded; otherwise now, and a lead held but not called goes back to the queue."""
    now = now or timezone.now()
    code = pause_code_clean(code)
    with transaction.atomic():
        row = _locked_state(rep.pk, now)
        if row.state in BUSY:
            row.pause_after = code
            row.heartbeat_at = now
            row.save(update_fields=["pause_after", "heartbeat_at"])
            return _view(row)
        _move(row, State.PAUSED, now, pause_code=code)
    if not _has_open_call(rep.pk):
        _held_release(rep.pk, now)
    return _view(row)


def rep_force_pause(*, rep: User, code: str, now: datetime | None = None) -> RepStateView:
    """A supervisor pauses a rep now, whatever they are doing (a call in progress goes on; its
    outcome can still be saved), and the lead they hold but have not called is released."""
    now = now or timezone.now()
    code = pause_code_clean(code)
    with transaction.atomic():
        row = _locked_state(rep.pk, now)
        _move(row, State.PAUSED, now, pause_code=code)
    if not _has_open_call(rep.pk):
        _held_release(rep.pk, now)
    return _view(row)


def rep_offline(*, rep_id: int, now: datetime | None = None) -> RepStateView:
    """Signed out (or silent): offline, and the lead they hold goes back to the queue."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep_id, now)
        _move(row, State.OFFLINE, now)
    _held_release(rep_id, now)
    return _view(row)


def rep_heartbeat(*, rep: User, now: datetime | None = None) -> RepStateView:
    """The console is open: keeps a signed-in rep from being taken offline."""
    now = now or timezone.now()
    RepState.objects.filter(rep_id=rep.pk).update(heartbeat_at=now)
    return rep_state_get(rep=rep)


def rep_call_started(*, rep_id: int, campaign_id: int, now: datetime | None = None) -> RepStateView:
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep_id, now)
        _move(row, State.ON_CALL, now, campaign_id=campaign_id)
    return _view(row)


def rep_call_ended(*, rep_id: int, now: datetime | None = None) -> None:
    """The call is over but its outcome is not recorded yet: wrap-up (from on_call only)."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep_id, now)
        if row.state == State.ON_CALL:
            _move(row, State.WRAP_UP, now)


def rep_call_not_placed(*, rep_id: int, now: datetime | None = None) -> None:
    """The provider refused the call: back to available (from on_call only)."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep_id, now)
        if row.state == State.ON_CALL:
            _move(row, State.AVAILABLE, now)


def rep_call_disposed(*, rep_id: int, now: datetime | None = None) -> RepStateView:
    """The outcome is recorded: paused if the rep asked for it meanwhile, else available."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_state(rep_id, now)
        if row.pause_after:
            _move(row, State.PAUSED, now, pause_code=row.pause_after)
        elif row.state in BUSY:
            _move(row, State.AVAILABLE, now)
        else:
            row.heartbeat_at = now
            row.save(update_fields=["heartbeat_at"])
    return _view(row)


def reps_silent_offline(*, now: datetime | None = None, limit: int = 200) -> int:
    """Reps whose console sent nothing for SILENT_AFTER: offline, their held lead released.
    A rep on a call is left alone (the call itself keeps their lead)."""
    now = now or timezone.now()
    silent = list(
        RepState.objects.exclude(state__in=[State.OFFLINE, State.ON_CALL])
        .filter(heartbeat_at__lt=now - SILENT_AFTER)
        .values_list("rep_id", flat=True)[:limit]
    )
    for rep_id in silent:
        rep_offline(rep_id=rep_id, now=now)
    reservations_repair()
    return len(silent)


def lead_skip(*, rep: User, lead_pk: int, reason: str, now: datetime | None = None) -> LeadSkip:
    """Progressive mode: the rep passes on the lead before the call. The reason is kept and
    the lead goes back to the queue, behind those of its kind already waiting."""
    now = now or timezone.now()
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise BadRequest("Say why you skip this lead.", extra={"field": "reason"})
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update()
            .filter(pk=lead_pk, leased_by=rep, status=Lead.Status.QUEUED, lease_expires_at__gt=now)
            .first()
        )
        if lead is None:
            raise LeadUnavailable(NOT_YOURS)
        if lead.attempts.filter(rep=rep, disposed_at__isnull=True, discarded=False).exists():
            raise Conflict("The call is placed; record its outcome instead.")
        # A skipped personal callback goes to anyone: kept for its rep, it would come straight
        # back to them (progressive mode would offer it again and again).
        Lead.objects.filter(pk=lead.pk).update(
            leased_by=None,
            lease_expires_at=None,
            due_at=now,
            reserved_for=None,
            reserved_until=None,
        )
        skip = LeadSkip.objects.create(
            rep=rep,
            lead=lead,
            campaign_id=lead.campaign_id,
            reason=reason[:SKIP_REASON_MAX],
            skipped_at=now,
        )
        reports.report_skip(skip=skip)
        return skip
