"""Daily reports per rep and per campaign, kept as rows by the dialer services.

The figures (dialer.models.DayCount) follow leads.counts' pattern:
- The services INSERT a row per change in the transaction that made it (`DayDeltas`): a
  call's outcome (calls, connects, the outcome, talk time, and for the campaign the lead
  processed and the calls it took), the call's end when its outcome came first (talk time),
  a skip, a state interval closing (time in the state, and by pause code), a conversion.
  No hot `n = n + 1` row: inserts take no row locks.
- The `compact-report-days` worker loop folds each (rep, campaign, day)'s new rows into one
  row per key; reads SUM the rows per key.
- `leadline reports verify` recounts from the raw rows (call attempts, state intervals,
  skips, leads) and compares; with `--repair` it replaces the differing days' rows.

Which day: the calendar day in the campaign's time zone (Campaign.timezone, where its calling
window is read too), of the call's start, the skip, the lead's processing or conversion. A
rep's time in a state is split at the campaign's midnights; time outside any campaign (signed
out, or before the first call of a session) at the platform's midnights (settings.TIME_ZONE).
Changing a campaign's time zone moves its days: `reports verify --repair` re-files them.

Definitions (what the recount counts):
- calls: call attempts with an outcome recorded (disposed, not discarded); a call placed but
  not yet disposed counts once its outcome is saved. connects: those with a connected outcome.
- talk: the duration of those calls that were answered, once the call has also finished.
- processed: leads processed by a call's outcome (the lead's processed_at is the outcome's
  time); processed_attempts: the calls those leads took (average = processed_attempts /
  processed). Leads processed without a call (a do-not-call list) are not in it.
- conversions: leads whose first conversion fell on the day (erased leads stay counted).
- time in a state: closed intervals only (the current state counts once it ends).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import zone_named
from leadline.core.db import is_postgres
from leadline.leads import hooks as lead_hooks
from leadline.leads.models import Lead

from .models import CallAttempt, DayCount, LeadSkip, RepStateInterval

Kind = DayCount.Kind
# (rep_id, campaign_id, day, kind, key): one figure.
FigureKey = tuple[int | None, int | None, date, str, str]
MICROSECONDS = 1_000_000


def platform_zone() -> ZoneInfo:
    return zone_named(settings.TIME_ZONE)


def campaign_zone(campaign_id: int | None, zones: dict[int, str] | None = None) -> ZoneInfo:
    """The zone a campaign's days are in (`zones`: campaign id -> name, when already read)."""
    if campaign_id is None:
        return platform_zone()
    if zones is not None and campaign_id in zones:
        return zone_named(zones[campaign_id])
    name = Campaign.objects.filter(pk=campaign_id).values_list("timezone", flat=True).first()
    return zone_named(name or settings.TIME_ZONE)


def day_of(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_pieces(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, int]]:
    """[start, end) cut at the zone's midnights: (day, microseconds) per day it covers."""
    pieces = []
    at = start
    while at < end:
        local_day = day_of(at, zone)
        midnight = datetime.combine(local_day + timedelta(days=1), time(), tzinfo=zone)
        upto = min(end, midnight)
        if upto <= at:  # never loop on a zone's oddity
            upto = end
        span = upto - at
        pieces.append(
            (
                local_day,
                span.days * 86_400 * MICROSECONDS + span.seconds * MICROSECONDS + span.microseconds,
            )
        )
        at = upto
    return pieces


# --- writes (called by the dialer services inside their transactions) ----------------------


class DayDeltas:
    """Changes to figures, collected and then written as one row per key (`write`)."""

    def __init__(self) -> None:
        self._n: Counter[FigureKey] = Counter()

    def add(
        self,
        kind: str,
        n: int,
        *,
        day: date,
        rep_id: int | None = None,
        campaign_id: int | None = None,
        key: str = "",
    ) -> None:
        self._n[(rep_id, campaign_id, day, kind, key)] += n

    def interval(
        self,
        *,
        rep_id: int,
        campaign_id: int | None,
        state: str,
        pause_code: str,
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
    ) -> None:
        for day, micros in day_pieces(start, end, zone):
            self.add(Kind.STATE, micros, day=day, rep_id=rep_id, campaign_id=campaign_id, key=state)
            if pause_code:
                self.add(
                    Kind.PAUSE,
                    micros,
                    day=day,
                    rep_id=rep_id,
                    campaign_id=campaign_id,
                    key=pause_code,
                )

    def call(
        self,
        *,
        rep_id: int,
        campaign_id: int,
        day: date,
        connected: bool,
        outcome: str,
        talk: int | None,
    ) -> None:
        """A disposed call (`talk`: its talk seconds if it has finished, else None)."""
        where: dict[str, Any] = {"day": day, "rep_id": rep_id, "campaign_id": campaign_id}
        self.add(Kind.CALLS, 1, **where)
        if connected:
            self.add(Kind.CONNECTS, 1, **where)
        self.add(Kind.OUTCOME, 1, key=outcome, **where)
        if talk:
            self.add(Kind.TALK, talk, **where)

    def items(self) -> Iterable[tuple[FigureKey, int]]:
        return ((k, n) for k, n in sorted(self._n.items(), key=_sort_key) if n)

    def write(self) -> None:
        """Insert the non-zero changes; call inside the transaction that made them."""
        rows = [
            DayCount(rep_id=rep, campaign_id=campaign, day=day, kind=kind, key=key, n=n)
            for (rep, campaign, day, kind, key), n in self.items()
        ]
        if rows:
            DayCount.objects.bulk_create(rows)
        self._n.clear()


def _sort_key(item: tuple[FigureKey, int]) -> tuple[Any, ...]:
    (rep, campaign, day, kind, key), _ = item
    return (rep or 0, campaign or 0, day, kind, key)


def _talk(attempt: CallAttempt) -> int | None:
    """Talk seconds of a finished call (0 if never answered); None while it is live."""
    if attempt.telephony_status not in CallAttempt.FINISHED:
        return None
    return (attempt.duration_seconds or 0) if attempt.answered_at is not None else 0


def report_call_disposed(*, attempt: CallAttempt, lead: Lead, processed: bool) -> None:
    """The outcome of `attempt` is recorded (in the disposition's transaction, `attempt` and
    `lead` locked): its call, and the lead if this outcome processed it."""
    zone = zone_named(lead.campaign.timezone)
    deltas = DayDeltas()
    deltas.call(
        rep_id=attempt.rep_id,
        campaign_id=attempt.campaign_id,
        day=day_of(attempt.started_at, zone),
        connected=bool(attempt.connected),
        outcome=attempt.outcome,
        talk=_talk(attempt),
    )
    if processed and lead.processed_at is not None:
        where: dict[str, Any] = {
            "day": day_of(lead.processed_at, zone),
            "campaign_id": lead.campaign_id,
        }
        deltas.add(Kind.PROCESSED, 1, **where)
        deltas.add(Kind.PROCESSED_ATTEMPTS, lead.attempts_count, **where)
    deltas.write()


def report_call_finished(*, attempt: CallAttempt) -> None:
    """The call ended after its outcome was recorded (in call_event_record's transaction, the
    attempt locked): its talk time, which the disposition could not know yet."""
    talk = _talk(attempt)
    if attempt.disposed_at is None or attempt.discarded or not talk:
        return
    deltas = DayDeltas()
    zone = campaign_zone(attempt.campaign_id)
    deltas.add(
        Kind.TALK,
        talk,
        day=day_of(attempt.started_at, zone),
        rep_id=attempt.rep_id,
        campaign_id=attempt.campaign_id,
    )
    deltas.write()


def report_skip(*, skip: LeadSkip) -> None:
    deltas = DayDeltas()
    deltas.add(
        Kind.SKIPS,
        1,
        day=day_of(skip.skipped_at, campaign_zone(skip.campaign_id)),
        rep_id=skip.rep_id,
        campaign_id=skip.campaign_id,
    )
    deltas.write()


def report_interval_closed(
    *, rep_id: int, closed: Sequence[Mapping[str, Any]], ended_at: datetime
) -> None:
    """The rep's open interval (`closed`: its values, as read before closing it) ended.
    A value `campaign__timezone`, read with the interval, spares a query for the zone."""
    zones = {
        interval["campaign_id"]: interval["campaign__timezone"]
        for interval in closed
        if interval.get("campaign__timezone")
    }
    deltas = DayDeltas()
    for interval in closed:
        deltas.interval(
            rep_id=rep_id,
            campaign_id=interval["campaign_id"],
            state=interval["state"],
            pause_code=interval["pause_code"],
            start=interval["started_at"],
            end=ended_at,
            zone=campaign_zone(interval["campaign_id"], zones),
        )
    deltas.write()


class ConversionRecorder:
    """Counts a lead's first conversion per day. Leads sit below the dialer, so it hears of
    conversions the way the webhooks' outbox does: as a lead event recorder (leads.hooks),
    inside the conversion's transaction."""

    def record(self, *, lead: Lead, type: str, payload: dict[str, Any]) -> None:
        return None

    def record_many(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> None:
        return None

    def record_optional(
        self, *, campaign: Campaign, type: str, items: list[tuple[Lead, dict[str, Any]]]
    ) -> int:
        if type != lead_hooks.LEAD_CONVERTED:
            return 0
        deltas = DayDeltas()
        zone = zone_named(campaign.timezone)
        for lead, _ in items:
            # A repeat conversion keeps the first time and only updates the detail: the
            # first one is the one whose converted_at is this change's own time.
            if lead.converted_at is not None and lead.converted_at == lead.updated_at:
                deltas.add(
                    Kind.CONVERSIONS,
                    1,
                    day=day_of(lead.converted_at, zone),
                    campaign_id=campaign.pk,
                )
        deltas.write()
        return 0  # nothing was kept for a subscriber


CONVERSIONS = ConversionRecorder()


# --- compaction (the worker loop) ----------------------------------------------------------

COMPACT_GROUPS = 50


def report_days_compact(*, limit: int = COMPACT_GROUPS) -> int:
    """Fold the new rows of up to `limit` (rep, campaign, day) groups into one row per key;
    returns the rows folded. Each group in its own short transaction; safe beside writers
    and other compactors for the reasons leads.counts.counts_compact gives (it deletes only
    the rows it locked and inserts their sum)."""
    groups = list(
        DayCount.objects.filter(compacted=False)
        .order_by()
        .values_list("rep_id", "campaign_id", "day")
        .distinct()[:limit]
    )
    folded = 0
    for rep_id, campaign_id, day in groups:
        with transaction.atomic():
            folded += _compact_group(rep_id, campaign_id, day)
    return folded


def _group(rep_id: int | None, campaign_id: int | None, day: date) -> Q:
    return Q(rep_id=rep_id) & Q(campaign_id=campaign_id) & Q(day=day)


def _compact_group(rep_id: int | None, campaign_id: int | None, day: date) -> int:
    rows = list(
        DayCount.objects.filter(_group(rep_id, campaign_id, day))
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "kind", "key", "n", "compacted")
    )
    if not any(not row[4] for row in rows):
        return 0  # another compactor folded them first
    sums: Counter[tuple[str, str]] = Counter()
    for _, kind, key, n, _ in rows:
        sums[(kind, key)] += n
    DayCount.objects.filter(pk__in=[row[0] for row in rows]).delete()
    DayCount.objects.bulk_create(
        DayCount(
            rep_id=rep_id,
            campaign_id=campaign_id,
            day=day,
            kind=kind,
            key=key,
            n=n,
            compacted=True,
        )
        for (kind, key), n in sorted(sums.items())
        if n
    )
    return len(rows)


# --- reads -----------------------------------------------------------------------------------


@dataclass
class RepDay:
    """A rep's figures for a day (summed over the campaigns asked for)."""

    rep_id: int
    username: str
    name: str
    day: date
    calls: int = 0
    connects: int = 0
    talk_seconds: int = 0
    skips: int = 0
    state_seconds: dict[str, int] = field(default_factory=dict)
    pause_seconds: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def wrap_up_seconds(self) -> int:
        return self.state_seconds.get("wrap_up", 0)

    @property
    def paused_seconds(self) -> int:
        return self.state_seconds.get("paused", 0)

    @property
    def connect_rate(self) -> float | None:
        return round(self.connects / self.calls, 3) if self.calls else None


@dataclass
class CampaignDay:
    """A campaign's figures for a day."""

    campaign_id: int
    public_id: str
    name: str
    day: date
    attempts: int = 0
    connects: int = 0
    talk_seconds: int = 0
    conversions: int = 0
    processed: int = 0
    processed_attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def attempts_per_processed(self) -> float | None:
        return round(self.processed_attempts / self.processed, 2) if self.processed else None

    @property
    def connect_rate(self) -> float | None:
        return round(self.connects / self.attempts, 3) if self.attempts else None


def _seconds(micros: int) -> int:
    return int(micros // MICROSECONDS)


def rep_days(
    *,
    campaign_ids: list[int],
    start: date,
    end: date,
    with_no_campaign: bool = True,
) -> list[RepDay]:
    """Per rep per day over [start, end] (inclusive) for the given campaigns' work; with
    `with_no_campaign` also the time those reps spent outside any campaign. One grouped read."""
    rows = (
        DayCount.objects.filter(day__gte=start, day__lte=end, rep__isnull=False)
        .filter(campaign_id__in=campaign_ids)
        .values_list("rep_id", "day", "kind", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    found = list(rows)
    if with_no_campaign:
        reps = {rep for rep, *_ in found}
        found += list(
            DayCount.objects.filter(
                day__gte=start, day__lte=end, rep_id__in=reps, campaign__isnull=True
            )
            .values_list("rep_id", "day", "kind", "key")
            .annotate(total=Sum("n"))
            .order_by()
        )
    names = {
        row[0]: row[1:]
        for row in User.objects.filter(pk__in={row[0] for row in found}).values_list(
            "pk", "username", "first_name", "last_name"
        )
    }
    days: dict[tuple[int, date], RepDay] = {}
    for rep_id, day, kind, key, total in found:
        username, first, last = names.get(rep_id, (f"#{rep_id}", "", ""))
        entry = days.get((rep_id, day))
        if entry is None:
            name = f"{first} {last}".strip() or username
            entry = days[(rep_id, day)] = RepDay(rep_id, username, name, day)
        if kind == Kind.CALLS:
            entry.calls += total
        elif kind == Kind.CONNECTS:
            entry.connects += total
        elif kind == Kind.TALK:
            entry.talk_seconds += total
        elif kind == Kind.SKIPS:
            entry.skips += total
        elif kind == Kind.OUTCOME:
            entry.outcomes[key] = entry.outcomes.get(key, 0) + total
        elif kind == Kind.STATE:
            entry.state_seconds[key] = entry.state_seconds.get(key, 0) + total
        elif kind == Kind.PAUSE:
            entry.pause_seconds[key] = entry.pause_seconds.get(key, 0) + total
    for entry in days.values():
        entry.state_seconds = {k: _seconds(v) for k, v in entry.state_seconds.items() if v}
        entry.pause_seconds = {k: _seconds(v) for k, v in entry.pause_seconds.items() if v}
        entry.outcomes = {k: v for k, v in entry.outcomes.items() if v}
    return sorted(days.values(), key=lambda r: (r.day, r.username))


def campaign_days(*, campaigns: list[Campaign], start: date, end: date) -> list[CampaignDay]:
    """Per campaign per day over [start, end] (inclusive): one grouped read."""
    by_id = {c.pk: c for c in campaigns}
    rows = (
        DayCount.objects.filter(day__gte=start, day__lte=end, campaign_id__in=list(by_id))
        .exclude(kind__in=[Kind.STATE, Kind.PAUSE, Kind.SKIPS])
        .values_list("campaign_id", "day", "kind", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    days: dict[tuple[int, date], CampaignDay] = {}
    for campaign_id, day, kind, key, total in rows:
        entry = days.get((campaign_id, day))
        if entry is None:
            campaign = by_id[campaign_id]
            entry = days[(campaign_id, day)] = CampaignDay(
                campaign_id, campaign.public_id, campaign.name, day
            )
        if kind == Kind.CALLS:
            entry.attempts += total
        elif kind == Kind.CONNECTS:
            entry.connects += total
        elif kind == Kind.TALK:
            entry.talk_seconds += total
        elif kind == Kind.CONVERSIONS:
            entry.conversions += total
        elif kind == Kind.PROCESSED:
            entry.processed += total
        elif kind == Kind.PROCESSED_ATTEMPTS:
            entry.processed_attempts += total
        elif kind == Kind.OUTCOME and total:
            entry.outcomes[key] = entry.outcomes.get(key, 0) + total
    return sorted(days.values(), key=lambda r: (r.day, r.name, r.public_id))


# --- recount and verify ----------------------------------------------------------------------

# A day in any zone lies within this much of the same UTC date.
ZONE_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class Scope:
    """What a verify looks at: one day (in every campaign's zone) and/or one campaign."""

    day: date | None = None
    campaign_id: int | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        assert self.day is not None
        lo = datetime.combine(self.day, time(), tzinfo=ZoneInfo("UTC")) - ZONE_MARGIN
        return lo, lo + 2 * ZONE_MARGIN

    def time_filter(self, field_name: str) -> Q:
        if self.day is None:
            return Q()
        lo, hi = self.bounds()
        return Q(**{f"{field_name}__gte": lo, f"{field_name}__lt": hi})

    def keeps(self, key: FigureKey) -> bool:
        _, campaign_id, day, _, _ = key
        if self.day is not None and day != self.day:
            return False
        return self.campaign_id is None or campaign_id == self.campaign_id


def recount(*, scope: Scope = Scope()) -> dict[FigureKey, int]:
    """The figures from the raw rows (non-zero keys only): call attempts, state intervals,
    skips and leads, every one read."""
    zones = dict(Campaign.objects.values_list("pk", "timezone"))
    deltas = DayDeltas()
    attempts = CallAttempt.objects.filter(
        scope.time_filter("started_at"), disposed_at__isnull=False, discarded=False
    )
    intervals = RepStateInterval.objects.filter(ended_at__isnull=False)
    skips = LeadSkip.objects.filter(scope.time_filter("skipped_at"))
    if scope.campaign_id is not None:
        attempts = attempts.filter(campaign_id=scope.campaign_id)
        intervals = intervals.filter(campaign_id=scope.campaign_id)
        skips = skips.filter(campaign_id=scope.campaign_id)
    if scope.day is not None:
        lo, hi = scope.bounds()
        intervals = intervals.filter(started_at__lt=hi, ended_at__gt=lo)
    for row in attempts.values(
        "rep_id",
        "campaign_id",
        "started_at",
        "connected",
        "outcome",
        "telephony_status",
        "answered_at",
        "duration_seconds",
    ).iterator(chunk_size=2000):
        finished = row["telephony_status"] in CallAttempt.FINISHED
        talk = (row["duration_seconds"] or 0) if row["answered_at"] is not None else 0
        deltas.call(
            rep_id=row["rep_id"],
            campaign_id=row["campaign_id"],
            day=day_of(row["started_at"], campaign_zone(row["campaign_id"], zones)),
            connected=bool(row["connected"]),
            outcome=row["outcome"],
            talk=talk if finished else None,
        )
    # The outcome that processed a lead: its time is the lead's processed_at.
    processed = CallAttempt.objects.filter(
        scope.time_filter("disposed_at"), discarded=False, lead__processed_at=F("disposed_at")
    )
    if scope.campaign_id is not None:
        processed = processed.filter(campaign_id=scope.campaign_id)
    for campaign_id, disposed_at, attempts_count in processed.values_list(
        "campaign_id", "disposed_at", "lead__attempts_count"
    ).iterator(chunk_size=2000):
        assert disposed_at is not None  # equal to the lead's processed_at (above)
        where: dict[str, Any] = {
            "day": day_of(disposed_at, campaign_zone(campaign_id, zones)),
            "campaign_id": campaign_id,
        }
        deltas.add(Kind.PROCESSED, 1, **where)
        deltas.add(Kind.PROCESSED_ATTEMPTS, attempts_count, **where)
    converted = Lead.objects.filter(scope.time_filter("converted_at"), converted_at__isnull=False)
    if scope.campaign_id is not None:
        converted = converted.filter(campaign_id=scope.campaign_id)
    for campaign_id, converted_at in converted.values_list("campaign_id", "converted_at").iterator(
        chunk_size=2000
    ):
        assert converted_at is not None  # filtered above
        deltas.add(
            Kind.CONVERSIONS,
            1,
            day=day_of(converted_at, campaign_zone(campaign_id, zones)),
            campaign_id=campaign_id,
        )
    for rep_id, campaign_id, skipped_at in skips.values_list(
        "rep_id", "campaign_id", "skipped_at"
    ).iterator(chunk_size=2000):
        deltas.add(
            Kind.SKIPS,
            1,
            day=day_of(skipped_at, campaign_zone(campaign_id, zones)),
            rep_id=rep_id,
            campaign_id=campaign_id,
        )
    for interval in intervals.values(
        "rep_id", "campaign_id", "state", "pause_code", "started_at", "ended_at"
    ).iterator(chunk_size=2000):
        assert interval["ended_at"] is not None  # closed ones only (above)
        deltas.interval(
            rep_id=interval["rep_id"],
            campaign_id=interval["campaign_id"],
            state=interval["state"],
            pause_code=interval["pause_code"],
            start=interval["started_at"],
            end=interval["ended_at"],
            zone=campaign_zone(interval["campaign_id"], zones),
        )
    return {key: n for key, n in deltas.items() if scope.keeps(key)}


def _kept(scope: Scope) -> dict[FigureKey, int]:
    rows = DayCount.objects.all()
    if scope.day is not None:
        rows = rows.filter(day=scope.day)
    if scope.campaign_id is not None:
        rows = rows.filter(campaign_id=scope.campaign_id)
    found = (
        rows.values_list("rep_id", "campaign_id", "day", "kind", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    return {
        (rep, campaign, day, kind, key): total
        for rep, campaign, day, kind, key, total in found
        if total
    }


@dataclass(frozen=True)
class FigureDifference:
    rep_id: int | None
    campaign_id: int | None
    day: date
    kind: str
    key: str
    kept: int
    actual: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "campaign_id": self.campaign_id,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "key": self.key,
            "kept": self.kept,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class ReportsCheck:
    differences: list[FigureDifference]
    repaired: bool


def reports_verify(*, scope: Scope = Scope(), repair: bool = False) -> ReportsCheck:
    """Compare the kept figures in `scope` with a recount; with `repair`, replace the rows of
    every (rep, campaign, day) that differs by the recount (one transaction, one snapshot)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and is_postgres():
            # The kept rows and the raw rows read at one instant (see leads.counts).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        kept = _kept(scope)
        actual = recount(scope=scope)
        differences = [
            FigureDifference(*key, kept.get(key, 0), actual.get(key, 0))
            for key in sorted(kept.keys() | actual.keys(), key=lambda k: _sort_key((k, 0)))
            if kept.get(key, 0) != actual.get(key, 0)
        ]
        if repair and differences:
            groups = {(d.rep_id, d.campaign_id, d.day) for d in differences}
            for rep_id, campaign_id, day in sorted(
                groups, key=lambda g: (g[0] or 0, g[1] or 0, g[2])
            ):
                DayCount.objects.filter(_group(rep_id, campaign_id, day)).delete()
            DayCount.objects.bulk_create(
                DayCount(
                    rep_id=rep,
                    campaign_id=campaign,
                    day=day,
                    kind=kind,
                    key=key,
                    n=n,
                    compacted=True,
                )
                for (rep, campaign, day, kind, key), n in sorted(
                    actual.items(), key=lambda item: _sort_key((item[0], 0))
                )
                if (rep, campaign, day) in groups
            )
    return ReportsCheck(differences, repaired=repair and bool(differences))
