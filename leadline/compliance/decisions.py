"""The one question: may this number be dialled now for this campaign, and if not, why.

`dial_decision` is asked by the dialer at claim time (and again when the call is placed), by
lead creation (a number that may never be dialled is processed at once), by the dry-run
check endpoint and by the dashboard's lead page. Each rule answers in the same shape, so every
decision not to call is explained the same way everywhere.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import campaign_zone, window_next_open, window_open

from . import suppressions
from .caps import caps_rule
from .consents import consent_given
from .dnd import dnd_cached, dnd_rule
from .hashing import number_hash

# `lead_outcome` of a lead that is processed without a call.
NOT_CALLED_DNC = "Not Called : Do Not Call"
NOT_CALLED_DND = "Not Called : DND"


@dataclass(frozen=True)
class Decision:
    """`dial` True: call now. Otherwise `never` (the lead is processed with `outcome`, no
    call) or wait until `earliest_at` (None: not known yet, e.g. DND status pending); `code`
    is stable for programs, `reason` is written for people (no numbers)."""

    dial: bool
    code: str = "ok"  # ok, suppressed, dnd, dnd_unknown, cap_day, cap_week, gap, window
    reason: str = ""
    never: bool = False
    outcome: str = ""  # lead_outcome when `never`
    earliest_at: datetime | None = None
    suppressed_in: list[str] = field(default_factory=list)  # "business" and/or campaign ids
    dnd: str | None = None  # promotional campaigns: "yes", "no" or "unknown"


DIAL = Decision(dial=True)


WINDOW_CLOSED = "Outside the campaign's calling window."
NO_CALLING_DAYS = "The campaign has no calling days."


def _local_text(campaign: Campaign, at: datetime) -> str:
    return at.astimezone(campaign_zone(campaign)).strftime("%Y-%m-%d %H:%M %Z")


def _in_window(campaign: Campaign, decision: Decision) -> Decision:
    """A caps wait moved to the first moment the campaign's window is open from then, with
    that moment in the reason (a lead's wait reason says why and until when)."""
    assert decision.earliest_at is not None
    opens = window_next_open(campaign, decision.earliest_at)
    if opens is None:
        return replace(decision, earliest_at=None, reason=f"{decision.reason} {NO_CALLING_DAYS}")
    return replace(
        decision,
        earliest_at=opens,
        reason=f"{decision.reason} Not before {_local_text(campaign, opens)}.",
    )


def dial_decision(
    *,
    campaign: Campaign,
    phone: str,
    now: datetime,
    consent: bool = False,
    window: bool = False,
) -> Decision:
    """Whether `phone` (E.164) may be dialled for `campaign` at `now`.

    Rules in order (the first that refuses answers): the do-not-call lists (never), DND for
    promotional campaigns without consent (never, or wait while unknown), the business's call
    caps and minimum gap (wait), then with `window` the campaign's calling window (wait; a
    caps wait then ends when the window is open). The claim, the dry run and the lead page
    ask with the window; call placing does not (the lead was claimed inside it), nor does
    the simulator's fast-forward, which ignores it.
    """
    hashed = number_hash(phone)
    where = suppressions.suppressed_in(campaign=campaign, number_hash=hashed)
    if where:
        return Decision(
            dial=False,
            code="suppressed",
            reason="The number is on the do-not-call list.",
            never=True,
            outcome=NOT_CALLED_DNC,
            suppressed_in=where,
        )
    # --- DND (NCPR) for promotional campaigns: compliance/dnd.py ---
    dnd = dnd_rule(campaign=campaign, number_hash=hashed, now=now, consent=consent)
    if dnd is not None:
        return dnd
    # --- end DND ---
    capped = caps_rule(campaign=campaign, number_hash=hashed, now=now)
    if capped is not None:
        return _in_window(campaign, capped) if window else capped
    if window and not window_open(campaign, now):
        opens = window_next_open(campaign, now)
        if opens is None:
            return Decision(dial=False, code="window", reason=NO_CALLING_DAYS)
        return Decision(
            dial=False,
            code="window",
            reason=f"{WINDOW_CLOSED} Not before {_local_text(campaign, opens)}.",
            earliest_at=opens,
        )
    return DIAL


# --- why a lead has not been called (the dry run and the dashboard's lead page) -------------


@dataclass(frozen=True)
class DialOutlook:
    """When a lead may first be dialled, or why never, for people and programs alike.

    `dial_at`: the earliest moment (None: never, or not known yet: DND status pending);
    `code` and `reason` say what holds it back (`ok` and "" when only the queue's own order
    does); `outcome` is the `lead_outcome` a lead that is never dialled gets."""

    dial_at: datetime | None
    never: bool
    code: str
    reason: str
    outcome: str
    suppressed_in: list[str]
    dnd: str | None  # promotional campaigns: "yes", "no" or "unknown"; None otherwise
    consent: bool | None  # promotional campaigns: consent recorded by the business


def dial_outlook(
    *, campaign: Campaign, phone: str, now: datetime, due_at: datetime | None = None
) -> DialOutlook:
    """When a lead of `campaign` with this number (E.164), due in the queue at `due_at`
    (None: at once, as a new lead), may first be dialled, or why never.

    The claim's own question (`dial_decision`, with the calling window) asked now, and again
    for the moment the queue offers the lead if that is later: counts only fall as time
    passes, so the answer holds until the number is called again. Reads caches only (no
    network): the DND status is the cached one, and "unknown" until the worker asked. Both
    the dry-run check endpoint and the dashboard's lead page show this.
    """
    consent = consent_given(campaign=campaign, phone=phone)
    promotional = campaign.category == Campaign.Category.PROMOTIONAL
    at = now
    decision = dial_decision(campaign=campaign, phone=phone, now=now, consent=consent, window=True)
    later = decision.earliest_at if not decision.dial else now
    if due_at is not None and later is not None and due_at > later:
        # The queue offers it after compliance would let it go (a retry delay, a callback
        # time): what compliance says at that moment (the window then, mostly).
        at = due_at
        decision = dial_decision(
            campaign=campaign, phone=phone, now=at, consent=consent, window=True
        )
    dnd: str | None = None
    if promotional:
        cached = dnd_cached(number_hash=number_hash(phone), now=now)
        dnd = "unknown" if cached is None else ("yes" if cached else "no")
    if decision.dial:
        dial_at: datetime | None = at
    elif decision.never or decision.code == "dnd_unknown":
        dial_at = None  # never; or not known until the worker has the DND status
    else:
        dial_at = decision.earliest_at
    return DialOutlook(
        dial_at=dial_at,
        never=decision.never,
        code=decision.code,
        reason=decision.reason,
        outcome=decision.outcome,
        # The do-not-call lists are the first rule: any other answer means not suppressed.
        suppressed_in=decision.suppressed_in,
        dnd=dnd,
        consent=consent if promotional else None,
    )
