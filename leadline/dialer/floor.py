"""The supervisor's wallboard: every rep's state and day, every campaign's queue, and flags.

A snapshot reads the reps' state rows and today's calls (both bounded by the number of reps),
and per campaign a few counts over the queue indexes, each capped at COUNT_CAP rows so a
refresh costs the same with a million queued leads as with a thousand. It never reads a
lead's number: nothing here selects one.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import window_open
from leadline.leads.models import Lead

from .models import CallAttempt, RepState

# Queue counts stop here ("1000+" on the board): the wallboard's cost must not grow with leads.
COUNT_CAP = 1000
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


def _capped(queryset: QuerySet[Lead]) -> int:
    return queryset.values("pk")[:COUNT_CAP].count()


def _day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _reps(campaigns: list[Campaign], now: datetime, day: datetime) -> list[FloorRep]:
    # Plain rows, not model instances: a refresh builds 200 reps every few seconds.
    reps = list(
        User.objects.filter(role=User.Role.REP, is_active=True, rep_campaigns__in=campaigns)
        .distinct()
        .order_by("username")
        .values("pk", "username", "first_name", "last_name")
    )
    rep_ids = [r["pk"] for r in reps]
    states = {
        row["rep_id"]: row
        for row in RepState.objects.filter(rep_id__in=rep_ids).values(
            "rep_id", "state", "pause_code", "since", "campaign__name", "campaign__wrap_up_seconds"
        )
    }
    today = (
        CallAttempt.objects.filter(rep_id__in=rep_ids, started_at__gte=day, discarded=False)
        .values("rep_id")
        .annotate(
            calls=Count("pk"),
            connects=Count("pk", filter=Q(connected=True)),
            talk=Sum("duration_seconds", filter=Q(answered_at__isnull=False)),
        )
    )
    figures: dict[int, dict[str, Any]] = {row["rep_id"]: dict(row) for row in today}
    rows = []
    for rep in reps:
        row = states.get(rep["pk"])
        state = row["state"] if row else RepState.State.OFFLINE
        seconds = max(0, int((now - row["since"]).total_seconds())) if row else 0
        flags = []
        limit = row["campaign__wrap_up_seconds"] if row else None
        if state == RepState.State.WRAP_UP and limit is not None and seconds > limit:
            flags.append("wrap_up_too_long")
        if state == RepState.State.PAUSED and seconds > PAUSE_TOO_LONG.total_seconds():
            flags.append("paused_too_long")
        day_figures = figures.get(rep["pk"], {})
        calls = day_figures.get("calls", 0)
        connects = day_figures.get("connects", 0)
        name = f"{rep['first_name']} {rep['last_name']}".strip()
        rows.append(
            FloorRep(
                id=rep["pk"],
                username=rep["username"],
                name=name or rep["username"],
                state=state,
                pause_code=row["pause_code"] if row else "",
                seconds_in_state=seconds,
                campaign=(row["campaign__name"] or "") if row else "",
                calls_today=calls,
                connects_today=connects,
                talk_seconds_today=day_figures.get("talk") or 0,
                connect_rate=_rate(connects, calls),
                flags=flags,
            )
        )
    return rows


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
) -> list[FloorCampaign]:
    ids = [c.pk for c in campaigns]
    available = {r.id for r in reps if r.state == RepState.State.AVAILABLE}
    busy = dict(
        RepState.objects.filter(
            campaign_id__in=ids, state__in=[RepState.State.ON_CALL, RepState.State.WRAP_UP]
        )
        .values("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    attempts_by_campaign: dict[int, dict[str, Any]] = {
        row["campaign_id"]: dict(row)
        for row in CallAttempt.objects.filter(
            campaign_id__in=ids, started_at__gte=day, discarded=False
        )
        .values("campaign_id")
        .annotate(
            total=Count("pk"),
            connects=Count("pk", filter=Q(connected=True)),
            talk=Sum("duration_seconds"),
        )
    }
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
        attempts: dict[str, Any] = attempts_by_campaign.get(campaign.pk, {})
        on_floor = available & assigned.get(campaign.pk, set())
        calling_now = campaign.status == Campaign.Status.ACTIVE and window_open(campaign, now)
        due_now = _capped(
            queued.filter(due_at__lte=now).filter(
                Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
            )
        )
        overdue = _capped(callbacks.filter(due_at__lt=now - grace))
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
                callbacks_next_hour=_capped(
                    callbacks.filter(due_at__gt=now, due_at__lte=now + timedelta(hours=1))
                ),
                callbacks_overdue=overdue,
                in_progress=busy.get(campaign.pk, 0),
                available_reps=len(on_floor),
                # erased_at IS NULL: the partial index lead_processed_walk_idx answers it.
                processed_today=_capped(
                    Lead.objects.filter(
                        campaign=campaign, erased_at__isnull=True, processed_at__gte=day
                    )
                ),
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
        others = sorted(
            (r.username, r.id)
            for r in reps
            if r.id in assigned.get(campaign.pk, set()) and r.id != row["reserved_for_id"]
        )
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
                reps=[(rep_id, username) for username, rep_id in others],
            )
        )
    return shown


def floor_snapshot(*, supervisor: User, now: datetime | None = None) -> Floor:
    now = now or timezone.now()
    day = _day_start(now)
    scope = list(supervised_campaigns(supervisor=supervisor))
    reps = _reps(scope, now, day)
    assigned = _assigned(scope)
    campaigns = _campaigns(scope, now, day, reps, assigned)
    callbacks = _callbacks(scope, now, reps, assigned)
    flags = sorted({f for r in reps for f in r.flags} | {f for c in campaigns for f in c.flags})
    return Floor(
        at=now.isoformat(), reps=reps, campaigns=campaigns, flags=flags, callbacks=callbacks
    )


def supervised_rep_get(*, supervisor: User, rep_id: int) -> User | None:
    return supervised_reps(supervisor=supervisor).filter(pk=rep_id).first()
