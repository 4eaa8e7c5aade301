"""The one question: may this number be dialled now for this campaign, and if not, why.

`dial_decision` is asked by the dialer at claim time (and again when the call is placed), by
lead creation (a number that may never be dialled is processed at once), by the dry-run
check endpoint and by the dashboard's lead page. Each rule answers in the same shape, so every
decision not to call is explained the same way everywhere.
"""

from dataclasses import dataclass, field
from datetime import datetime

from leadline.campaigns.models import Campaign

from . import suppressions
from .dnd import dnd_rule
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


def dial_decision(
    *, campaign: Campaign, phone: str, now: datetime, consent: bool = False
) -> Decision:
    """Whether `phone` (E.164) may be dialled for `campaign` at `now`.

    Rules in order (the first that refuses answers): the do-not-call lists (never), DND for
    promotional campaigns without consent (never, or wait while unknown), the business's call
    caps and minimum gap (wait), the campaign's calling window (wait).
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
    return DIAL
