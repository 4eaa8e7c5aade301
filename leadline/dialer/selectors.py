"""Reads for the rep console: a rep's campaigns, leads and calls, and today's figures.

Everything is scoped to the rep (and so to the rep's business): a lead or call of someone
else is indistinguishable from a missing one. What the console renders about a lead comes
from `lead_card` and `call_view`, small values without the phone number, so no template can
reach a lead's number by accident: the only phone text a rep ever sees is the masked form.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from leadline.accounts.models import Business, User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import window_open, zone_named
from leadline.core.errors import NotFound
from leadline.core.phones import mask_numbers_in_text, mask_phone
from leadline.core.recordings import recording_url
from leadline.leads.models import Lead

from .availability import UNAVAILABLE_MESSAGES, rep_leads, unavailable_kind
from .models import CallAttempt, PauseCode

# A rep's "today" when none of their campaigns says otherwise.
DEFAULT_REP_TIMEZONE = "Asia/Kolkata"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class RepCampaign:
    public_id: str
    name: str
    active: bool
    calling_now: bool
    window: str
    dial_mode: str = "preview"


@dataclass(frozen=True)
class LeadCard:
    """What a rep may see of a lead: never the number itself."""

    pk: int
    contact_name: str
    masked_phone: str
    fields: list[tuple[str, str]]
    campaign_name: str
    queue: str
    attempts_count: int


@dataclass(frozen=True)
class Availability:
    """Whether the rep may call the lead now, and if not, why (in the rep's words)."""

    kind: str  # "ok", "erased", "disabled", "processed", "done" or "expired"
    message: str

    @property
    def callable(self) -> bool:
        return self.kind == "ok"


@dataclass(frozen=True)
class CallView:
    uuid: str
    status: str
    status_label: str
    finished: bool
    answered: bool
    seconds: int | None  # talk time so far (live) or the call's duration once it ended
    lead_erased: bool
    failure: str = ""  # why the call failed, in our words (providers' texts never reach here)

    @property
    def duration(self) -> str:
        return clock(self.seconds or 0)


@dataclass(frozen=True)
class RepFigures:
    calls: int
    connects: int
    processed: int
    talk_seconds: int
    day: str

    @property
    def talk(self) -> str:
        return clock(self.talk_seconds)


def clock(seconds: int) -> str:
    """`m:ss`, or `h:mm:ss` from an hour up."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def window_text(campaign: Campaign) -> str:
    """The calling window as a rep reads it, e.g. "Mon-Sat 09:00-21:00 (Asia/Kolkata)"."""
    days = sorted(set(campaign.window_days or []))
    if not days:
        day_text = "no days"
    elif days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = f"{WEEKDAYS[days[0]]}-{WEEKDAYS[days[-1]]}"
    else:
        day_text = ", ".join(WEEKDAYS[d] for d in days if 0 <= d < len(WEEKDAYS))
    start = campaign.window_start.strftime("%H:%M")
    end = campaign.window_end.strftime("%H:%M")
    return f"{day_text} {start}-{end} ({campaign.timezone})"


def _rep_assigned_campaigns(rep: User) -> QuerySet[Campaign]:
    return Campaign.objects.filter(reps=rep, business__is_active=True, business=rep.business_id)


def rep_campaigns(*, rep: User, now: datetime | None = None) -> list[RepCampaign]:
    """The campaigns the rep works (active first), and whether each is calling now."""
    now = now or timezone.now()
    campaigns = sorted(
        _rep_assigned_campaigns(rep).order_by("name", "pk"), key=lambda c: c.status != "active"
    )
    return [campaign_summary(campaign=c, now=now) for c in campaigns]


def campaign_summary(*, campaign: Campaign, now: datetime | None = None) -> RepCampaign:
    now = now or timezone.now()
    active = campaign.status == Campaign.Status.ACTIVE
    return RepCampaign(
        public_id=campaign.public_id,
        name=campaign.name,
        active=active,
        calling_now=active and window_open(campaign, now),
        window=window_text(campaign),
        dial_mode=campaign.dial_mode,
    )


def rep_campaign_get(*, rep: User, public_id: str) -> Campaign:
    """One of the rep's campaigns, with its script and outcomes prefetched."""
    campaign = (
        _rep_assigned_campaigns(rep)
        .filter(public_id=public_id)
        .prefetch_related("questions", "outcomes")
        .first()
    )
    if campaign is None:
        raise NotFound("No such campaign of yours.")
    return campaign


def rep_lead_get(*, rep: User, lead_pk: int) -> Lead:
    """A lead the rep holds or has called, or an erased one of the rep's campaigns.

    Erasure clears the lease, so a lead erased while held is only known by its campaign;
    its tombstone holds nothing personal, and the rep learns why it went away.
    """
    lead = rep_leads(rep).select_related("campaign").filter(pk=lead_pk).first()
    if lead is None:
        raise NotFound("No such lead of yours.")
    return lead


def _display_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_display_text(v) for v in value)
    if value is None:
        return "—"
    return str(value)


def lead_card(*, lead: Lead) -> LeadCard:
    """The lead as a rep sees it: name, masked number, the campaign's rep-visible fields."""
    custom = lead.custom_fields or {}
    visible = [key for key in (lead.campaign.rep_visible_fields or []) if key in custom]
    own = lead.phone_number
    name = lead.contact_name or ("(erased)" if lead.erased_at else "(no name)")
    return LeadCard(
        pk=lead.pk,
        # Free text is masked however its numbers are spelled (core.phones, core.text).
        contact_name=mask_numbers_in_text(name, own),
        masked_phone=mask_phone(own),
        fields=[
            (key.replace("_", " "), mask_numbers_in_text(_display_text(custom[key]), own))
            for key in visible
        ],
        campaign_name=lead.campaign.name,
        queue=Lead.QueueClass(lead.queue_class).label,
        attempts_count=lead.attempts_count,
    )


def lead_availability(*, rep: User, lead: Lead, now: datetime | None = None) -> Availability:
    """Makes the checks `call_place` makes, so the page offers "Call" only when it can work."""
    now = now or timezone.now()
    kind = unavailable_kind(rep=rep, lead=lead, now=now)
    if kind is None:
        return Availability("ok", "")
    if kind == "expired":
        last = lead.attempts.filter(rep=rep).order_by("-started_at", "-pk").first()
        if last is not None and last.disposed_at is not None and lead.leased_by_id is None:
            return Availability(
                "done", f"You recorded this call as “{last.outcome}”; take the next lead."
            )
    return Availability(kind, UNAVAILABLE_MESSAGES[kind])


def call_open(*, rep: User, lead: Lead) -> CallAttempt | None:
    """The rep's call to this lead still waiting for its outcome, if any."""
    return (
        CallAttempt.objects.select_related("lead", "campaign")
        .filter(lead=lead, rep=rep, disposed_at__isnull=True, discarded=False)
        .order_by("-started_at", "-pk")
        .first()
    )


def rep_call_get(*, rep: User, attempt_uuid: str) -> CallAttempt:
    """One of the rep's calls by its UUID."""
    attempt = (
        CallAttempt.objects.select_related("lead", "campaign")
        .filter(uuid=attempt_uuid, rep=rep)
        .first()
    )
    if attempt is None:
        raise NotFound("No such call of yours.")
    return attempt


def call_view(*, attempt: CallAttempt, now: datetime | None = None) -> CallView:
    """The call's progress for the console (status, talk time, whether polling can stop)."""
    now = now or timezone.now()
    status = attempt.telephony_status
    erased = attempt.lead.erased_at is not None
    finished = status in CallAttempt.FINISHED or erased or attempt.discarded
    seconds = attempt.duration_seconds
    if status == CallAttempt.TelephonyStatus.ANSWERED and attempt.answered_at and not finished:
        seconds = max(0, int((now - attempt.answered_at).total_seconds()))
    return CallView(
        uuid=str(attempt.uuid),
        status=status,
        status_label=CallAttempt.TelephonyStatus(status).label,
        finished=finished,
        answered=attempt.answered_at is not None,
        seconds=seconds,
        lead_erased=erased,
        failure=attempt.failure,
    )


def rep_timezone(*, rep: User) -> ZoneInfo:
    """The rep's working day follows their (first) campaign's timezone."""
    name = (
        _rep_assigned_campaigns(rep).order_by("pk").values_list("timezone", flat=True).first()
        or DEFAULT_REP_TIMEZONE
    )
    return zone_named(name)


def rep_figures_today(*, rep: User, now: datetime | None = None) -> RepFigures:
    """Calls the rep placed today, how many connected, and how many leads they processed.

    One aggregate query. A lead counts as processed by the rep when the rep's disposition
    is the one that processed it (the service stamps both with the same instant).
    """
    now = now or timezone.now()
    local = now.astimezone(rep_timezone(rep=rep))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    figures = CallAttempt.objects.filter(rep=rep, started_at__gte=start, started_at__lt=end)
    totals = figures.aggregate(
        calls=Count("pk"),
        connects=Count("pk", filter=Q(connected=True)),
        # Erasure keeps processed_at, so an erased lead still counts for the rep who did it.
        processed=Count("pk", filter=Q(lead__processed_at=F("disposed_at"))),
        talk=Sum("duration_seconds"),
    )
    return RepFigures(
        calls=totals["calls"],
        connects=totals["connects"],
        processed=totals["processed"],
        talk_seconds=totals["talk"] or 0,
        day=start.strftime("%a %d %b"),
    )


# --- The client dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRow:
    """One call to a lead as its client sees it, with a signed URL for the recording."""

    uuid: str
    started_at: datetime
    rep_name: str
    status_label: str
    seconds: int | None
    outcome: str
    connected: bool | None
    answers: list[tuple[str, str]]
    recording_url: str | None
    discarded: bool
    recording_note: str = ""  # a real provider's recording still on its way, or given up

    @property
    def duration(self) -> str:
        return clock(self.seconds) if self.seconds is not None else "—"


def _origin_relative(url: str | None) -> str | None:
    # The player fetches from the origin the page came from (path and query only), so it
    # works however the dashboard is reached, whatever LEADLINE_PUBLIC_URL says.
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _recording_note(attempt: CallAttempt) -> str:
    if attempt.recording or not attempt.recording_status:
        return ""
    if attempt.recording_status == CallAttempt.RecordingStatus.PENDING:
        return "Recording on its way from the provider."
    return f"Recording unavailable: {attempt.recording_error or 'the provider never sent it'}"


def lead_attempts_for_business(*, business: Business, lead: Lead) -> list[AttemptRow]:
    """The lead's calls, latest first, in one query (reps joined).

    Answers are labelled by the campaign's script when the caller prefetched it (a question
    removed since keeps its key as the label). Recording URLs are the same signed, expiring
    URLs the API hands out, anchored at each call, so a page left open keeps working for at
    least half the TTL; an erased lead has none (its files are gone). The URLs are relative.
    """
    labels = {q.key: q.label for q in lead.campaign.questions.all()}
    attempts = (
        CallAttempt.objects.filter(lead=lead, campaign__business=business)
        .select_related("rep")
        .order_by("-started_at", "-pk")
    )
    return [
        AttemptRow(
            uuid=str(attempt.uuid),
            started_at=attempt.started_at,
            rep_name=attempt.rep.get_full_name() or attempt.rep.username,
            status_label=CallAttempt.TelephonyStatus(attempt.telephony_status).label,
            seconds=attempt.duration_seconds,
            outcome=attempt.outcome,
            connected=attempt.connected,
            answers=[
                (labels.get(k, k), _display_text(v)) for k, v in (attempt.answers or {}).items()
            ],
            recording_url=(
                _origin_relative(recording_url(str(attempt.uuid), anchor=attempt.started_at))
                if attempt.recording and lead.erased_at is None
                else None
            ),
            discarded=attempt.discarded,
            recording_note=_recording_note(attempt) if lead.erased_at is None else "",
        )
        for attempt in attempts
    ]


def pause_codes() -> list[tuple[str, str]]:
    """The pause codes a rep may pick: (code, label)."""
    return list(PauseCode.objects.filter(active=True).values_list("code", "label"))
