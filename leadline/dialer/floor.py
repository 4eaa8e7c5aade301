"""The supervisor's wallboard: every rep's state and day, every campaign's queue, and flags.

A snapshot reads the reps' state rows and today's calls (both bounded by the number of reps),
and per campaign a few counts over the queue indexes, each capped at COUNT_CAP rows so a
refresh costs the same with a million queued leads as with a thousand. It never reads a
lead's number: nothing here selects one.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import window_open
from leadline.leads.models import Lead

from .models import CallAttempt, RepState

# Queue counts stop here ("1000+" on the board): the wallboard's cost must not grow with leads.
COUNT_CAP = 1000
BUSY_STATES = frozenset({RepState.State.ON_CALL, RepState.State.WRAP_UP})
# A rep paused longer than this is flagged.
PAUSE_TOO_LONG = timedelta(minutes=15)
# Personal callbacks listed (the most overdue first): enough to act on, bounded per refresh.
CALLBACKS_SHOWN = 50


@dataclass
class FloorRep:
    id: int
    username: str
    name: str
    state: str
    pause_code: str
    seconds_in_state: int
    campaign: str
    calls_today: int
    connects_today: int
    talk_seconds_today: int
    connect_rate: float | None
    flags: list[str] = field(default_factory=list)


@dataclass
class FloorCampaign:
    public_id: str
    name: str
    dial_mode: str
    calling_now: bool
    due_now: int
    callbacks_next_hour: int
    callbacks_overdue: int
    in_progress: int
    available_reps: int
    processed_today: int
    attempts_today: int
    connect_rate: float | None
    average_handle_seconds: int | None
    flags: list[str] = field(default_factory=list)


@dataclass
class FloorCallback:
    """A personal callback, by the lead's row id only (no number, no name)."""

    lead: int
    campaign: str
    campaign_name: str
    due_at: str
    owner_id: int | None
    owner: str
    owner_state: str
    overdue: bool  # past due + the campaign's grace time
    held: bool  # a rep holds the lead now: not reassignable
    # Whom it may go to instead: the campaign's reps (id, username), the owner excepted.
    reps: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Floor:
    at: str
    reps: list[FloorRep]
    campaigns: list[FloorCampaign]
    flags: list[str]
    callbacks: list[FloorCallback] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def supervised_campaigns(*, supervisor: User) -> QuerySet[Campaign]:
    """The campaigns a supervisor sees: those they supervise, or every one if none is named."""
    scoped = Campaign.objects.filter(supervisors=supervisor).order_by("name", "pk")
    if scoped.exists():
        return scoped
    return Campaign.objects.filter(business__is_active=True).order_by("name", "pk")


def supervised_reps(*, supervisor: User) -> QuerySet[User]:
    campaigns = supervised_campaigns(supervisor=supervisor)
    return (
        User.objects.filter(role=User.Role.REP, is_active=True, rep_campaigns__in=campaigns)
        .distinct()
        .order_by("username")
    )


def _capped_counts(*querysets: QuerySet[Lead]) -> list[int]:
    """Each queryset's rows counted up to COUNT_CAP, all in one statement (a round trip per
    count cost more than the counts themselves)."""
    parts: list[str] = []
    params: list[Any] = []
    for queryset in querysets:
        sql, part_params = queryset.values("pk")[:COUNT_CAP].query.sql_with_params()
        # Django compiled `sql`; every value stays a bound parameter.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped)")  # noqa: S608
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return [int(n) for n in row]


def _day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _day_figures(
    campaign_ids: list[int], day: datetime
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Today's calls per rep (all their campaigns) and per campaign (all its reps), from one
    grouped read of today's attempts (attempt_rep_day_idx and the campaign's day index)."""
    by_rep: dict[int, dict[str, int]] = {}
    by_campaign: dict[int, dict[str, int]] = {}
    rows = (
        CallAttempt.objects.filter(started_at__gte=day, discarded=False)
        .filter(Q(rep_id__in=_assigned_reps(campaign_ids)) | Q(campaign_id__in=campaign_ids))
        .values("rep_id", "campaign_id")
        .annotate(
            calls=Count("pk"),
            connects=Count("pk", filter=Q(connected=True)),
            talk=Sum("duration_seconds", filter=Q(answered_at__isnull=False)),
            handle=Sum("duration_seconds"),
        )
        .values_list("rep_id", "campaign_id", "calls", "connects", "talk", "handle")
    )
    for rep_id, campaign_id, calls, connects, talk, handle in rows:
        rep = by_rep.setdefault(rep_id, {"calls": 0, "connects": 0, "talk": 0})
        rep["calls"] += calls
        rep["connects"] += connects
        rep["talk"] += talk or 0
        campaign = by_campaign.setdefault(campaign_id, {"total": 0, "connects": 0, "talk": 0})
        campaign["total"] += calls
        campaign["connects"] += connects
        campaign["talk"] += handle or 0
    return by_rep, by_campaign


def _assigned_reps(campaign_ids: list[int]) -> QuerySet[Any]:
    # A subquery, not a list of 200 ids: building the IN list cost more than running it.
    return Campaign.reps.through.objects.filter(campaign_id__in=campaign_ids).values("user_id")


def _reps(
    campaign_ids: list[int], now: datetime, by_rep: dict[int, dict[str, int]]
) -> tuple[list[FloorRep], dict[int, int]]:
    """The reps with their state (one read: the state row and its campaign are joined), and
    how many are busy (on a call or in wrap-up) per campaign."""
    # Plain rows, not model instances: a refresh builds 200 reps every few seconds.
    reps = (
        User.objects.filter(pk__in=_assigned_reps(campaign_ids), role=User.Role.REP, is_active=True)
        .order_by("username")
        .values_list(
            "pk",
            "username",
            "first_name",
            "last_name",
            "floor_state__state",
            "floor_state__pause_code",
            "floor_state__since",
            "floor_state__campaign_id",
            "floor_state__campaign__name",
            "floor_state__campaign__wrap_up_seconds",
        )
    )
    rows = []
    busy: dict[int, int] = {}
    pause_limit = PAUSE_TOO_LONG.total_seconds()
    for pk, username, first, last, state, code, since, campaign_id, campaign, limit in reps:
        state = state or RepState.State.OFFLINE
        seconds = max(0, int((now - since).total_seconds())) if since is not None else 0
        flags = []
        if state == RepState.State.WRAP_UP and limit is not None and seconds > limit:
            flags.append("wrap_up_too_long")
        elif state == RepState.State.PAUSED and seconds > pause_limit:
            flags.append("paused_too_long")
        if state in BUSY_STATES and campaign_id is not None:
            busy[campaign_id] = busy.get(campaign_id, 0) + 1
        figures = by_rep.get(pk)
        calls = figures["calls"] if figures else 0
        connects = figures["connects"] if figures else 0
        name = f"{first} {last}".strip()
        rows.append(
            FloorRep(
                id=pk,
                username=username,
                name=name or username,
                state=state,
                pause_code=code or "",
                seconds_in_state=seconds,
                campaign=campaign or "",
                calls_today=calls,
                connects_today=connects,
                talk_seconds_today=figures["talk"] if figures else 0,
                connect_rate=_rate(connects, calls),
                flags=flags,
            )
        )
    return rows, busy


def _assigned(campaigns: list[Campaign]) -> dict[int, set[int]]:
    """Each campaign's reps' ids."""
    assigned: dict[int, set[int]] = {}
    for campaign_id, user_id in Campaign.reps.through.objects.filter(
        campaign_id__in=[c.pk for c in campaigns]
    ).values_list("campaign_id", "user_id"):
        assigned.setdefault(campaign_id, set()).add(user_id)
    return assigned


def _campaigns(
    campaigns: list[Campaign],
    now: datetime,
    day: datetime,
    reps: list[FloorRep],
    assigned: dict[int, set[int]],
    busy: dict[int, int],
    by_campaign: dict[int, dict[str, int]],
) -> list[FloorCampaign]:
    available = {r.id for r in reps if r.state == RepState.State.AVAILABLE}
    rows = []
    for campaign in campaigns:
        queued = Lead.objects.filter(
            campaign=campaign,
            status=Lead.Status.QUEUED,
            disabled_at__isnull=True,
            erased_at__isnull=True,
        )
        grace = timedelta(minutes=campaign.callback_grace_minutes)
        callbacks = queued.filter(queue_class=Lead.QueueClass.CALLBACK)
        attempts = by_campaign.get(campaign.pk, {})
        on_floor = available & assigned.get(campaign.pk, set())
        calling_now = campaign.status == Campaign.Status.ACTIVE and window_open(campaign, now)
        # What a claim could take now (not held, not someone's reservation), callbacks in
        # the next hour and past due + grace, processed today: one round trip.
        due_now, next_hour, overdue, processed_today = _capped_counts(
            queued.filter(
                Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
                Q(reserved_for__isnull=True) | Q(reserved_until__lte=now),
                due_at__lte=now,
            ),
            callbacks.filter(due_at__gt=now, due_at__lte=now + timedelta(hours=1)),
            callbacks.filter(due_at__lt=now - grace),
            # erased_at IS NULL: the partial index lead_processed_walk_idx answers it.
            Lead.objects.filter(campaign=campaign, erased_at__isnull=True, processed_at__gte=day),
        )
        total = attempts.get("total") or 0
        flags = []
        if overdue:
            flags.append("callbacks_overdue")
        if calling_now and not on_floor:
            flags.append("no_available_rep")
        if calling_now and due_now == 0:
            flags.append("queue_empty")
        rows.append(
            FloorCampaign(
                public_id=campaign.public_id,
                name=campaign.name,
                dial_mode=campaign.dial_mode,
                calling_now=calling_now,
                due_now=due_now,
                callbacks_next_hour=next_hour,
                callbacks_overdue=overdue,
                in_progress=busy.get(campaign.pk, 0),
                available_reps=len(on_floor),
                processed_today=processed_today,
                attempts_today=total,
                connect_rate=_rate(attempts.get("connects") or 0, total),
                average_handle_seconds=int((attempts.get("talk") or 0) / total) if total else None,
                flags=flags,
            )
        )
    return rows


def _callbacks(
    campaigns: list[Campaign], now: datetime, reps: list[FloorRep], assigned: dict[int, set[int]]
) -> list[FloorCallback]:
    """The personal callbacks of these campaigns, the most overdue first (lead_campaign_
    reserved_idx: reserved queued leads only, however long the queue)."""
    by_pk = {c.pk: c for c in campaigns}
    rep_rows = {r.id: r for r in reps}
    choices: dict[int, list[tuple[int, str]]] = {}  # a campaign's reps, by username
    rows = (
        Lead.objects.filter(
            campaign_id__in=list(by_pk),
            status=Lead.Status.QUEUED,
            reserved_for__isnull=False,
            erased_at__isnull=True,
            disabled_at__isnull=True,
        )
        .order_by("due_at", "id")
        .values(
            "pk",
            "campaign_id",
            "due_at",
            "reserved_for_id",
            "reserved_for__username",
            "lease_expires_at",
        )[:CALLBACKS_SHOWN]
    )
    shown = []
    for row in rows:
        campaign = by_pk[row["campaign_id"]]
        owner = rep_rows.get(row["reserved_for_id"])
        due = row["due_at"]
        assert due is not None  # a callback always has its time
        lease: datetime | None = row["lease_expires_at"]
        grace = timedelta(minutes=campaign.callback_grace_minutes)
        if campaign.pk not in choices:
            on_campaign = assigned.get(campaign.pk, set())
            choices[campaign.pk] = [(r.id, r.username) for r in reps if r.id in on_campaign]
        shown.append(
            FloorCallback(
                lead=row["pk"],
                campaign=campaign.public_id,
                campaign_name=campaign.name,
                due_at=due.isoformat(),
                owner_id=row["reserved_for_id"],
                owner=row["reserved_for__username"] or "",
                owner_state=owner.state if owner else RepState.State.OFFLINE,
                overdue=due < now - grace,
                held=lease is not None and lease > now,
                reps=[c for c in choices[campaign.pk] if c[0] != row["reserved_for_id"]],
            )
        )
    return shown


def _scope(supervisor: User) -> list[Campaign]:
    """supervised_campaigns as a list: one read for a scoped supervisor, not two."""
    scoped = list(Campaign.objects.filter(supervisors=supervisor).order_by("name", "pk"))
    return scoped or list(supervised_campaigns(supervisor=supervisor))


def floor_snapshot(*, supervisor: User, now: datetime | None = None) -> Floor:
    """Seven reads whatever the floor's size (campaigns, assignments, reps with their states,
    today's calls, personal callbacks; one for all of a campaign's queue counts), each
    bounded by reps or campaigns, not by leads."""
    now = now or timezone.now()
    day = _day_start(now)
    scope = _scope(supervisor)
    ids = [c.pk for c in scope]
    assigned = _assigned(scope)
    by_rep, by_campaign = _day_figures(ids, day)
    reps, busy = _reps(ids, now, by_rep)
    campaigns = _campaigns(scope, now, day, reps, assigned, busy, by_campaign)
    callbacks = _callbacks(scope, now, reps, assigned)
    flags = sorted({f for r in reps for f in r.flags} | {f for c in campaigns for f in c.flags})
    return Floor(
        at=now.isoformat(), reps=reps, campaigns=campaigns, flags=flags, callbacks=callbacks
    )


def supervised_rep_get(*, supervisor: User, rep_id: int) -> User | None:
    return supervised_reps(supervisor=supervisor).filter(pk=rep_id).first()
