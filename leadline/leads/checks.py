"""Why a lead is not called (yet): the dry run of create (`POST /check/{campaign_id}/`) and
the explanation on the dashboard's lead page, both from `compliance.decisions.dial_outlook`.

Reads only: the dry run stores nothing (no lead, no idempotency record; the audit trail
skips `check`), and both read the compliance caches, never the network.
"""

from datetime import UTC, datetime
from typing import Any

from leadline.campaigns.models import Campaign
from leadline.compliance.decisions import DialOutlook, dial_outlook

from .models import Lead
from .selectors import lead_ids_existing
from .validation import (
    LEAD_EXISTS,
    FieldProblem,
    check_new_leads,
    clean_lead_id,
    clean_phone,
    echoed_lead_id,
    problem,
)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat(timespec="seconds") if at is not None else None


def outlook_dial(outlook: DialOutlook, now: datetime) -> str:
    """`now`, `later`, `never` or `unknown` (DND status not known yet)."""
    if outlook.never:
        return "never"
    if outlook.dial_at is None:
        return "unknown"
    return "now" if outlook.dial_at <= now else "later"


def _outlook_item(outlook: DialOutlook | None, now: datetime) -> dict[str, Any]:
    if outlook is None:  # no valid number: nothing to say about dialling it
        return dict.fromkeys(
            (
                "suppressed",
                "suppressed_in",
                "dnd",
                "consent",
                "dial",
                "dial_at",
                "code",
                "reason",
                "outcome",
            )
        )
    return {
        "suppressed": bool(outlook.suppressed_in),
        "suppressed_in": outlook.suppressed_in,
        "dnd": outlook.dnd,
        "consent": outlook.consent,
        "dial": outlook_dial(outlook, now),
        "dial_at": _iso(outlook.dial_at),
        "code": outlook.code,
        "reason": outlook.reason,
        "outcome": outlook.outcome or None,
    }


def _clean_or_none(clean: Any, value: Any) -> Any:
    try:
        return clean(value)
    except FieldProblem:
        return None


def leads_create_check(
    *, campaign: Campaign, items: list[Any], now: datetime
) -> list[dict[str, Any]]:
    """Per item of a create body, what create would say and what the dialer would then do:
    the validation problems (create's own, a lead_id already in the campaign included),
    whether the id exists, and the number's outlook (suppression, DND, earliest dial time).

    An item with a problem still gets its number's outlook when the number itself is valid.
    Leads with the same number share one outlook (the answer depends only on the number).
    """
    checked = check_new_leads(items)
    raw = [item if isinstance(item, dict) else {} for item in items]
    lead_ids = [
        lead.lead_id if lead is not None else _clean_or_none(clean_lead_id, raw[i].get("lead_id"))
        for i, (lead, _) in enumerate(checked)
    ]
    existing = lead_ids_existing(
        campaign=campaign, lead_ids=sorted({i for i in lead_ids if i is not None})
    )
    outlooks: dict[str, DialOutlook] = {}
    results = []
    for index, (lead, found) in enumerate(checked):
        lead_id = lead_ids[index]
        errors = [found] if found is not None else []
        if lead is not None and lead.lead_id in existing:
            errors.append(problem(index, lead.lead_id, LEAD_EXISTS))
        phone = (
            lead.phone_number
            if lead is not None
            else _clean_or_none(clean_phone, raw[index].get("phone_number"))
        )
        outlook = None
        if phone is not None:
            if phone not in outlooks:
                outlooks[phone] = dial_outlook(campaign=campaign, phone=phone, now=now)
            outlook = outlooks[phone]
        results.append(
            {
                "index": index,
                "lead_id": lead_id
                if lead_id is not None
                else echoed_lead_id(raw[index].get("lead_id")),
                "valid": not errors,
                "errors": errors,
                "exists": (lead_id in existing) if lead_id is not None else None,
                **_outlook_item(outlook, now),
            }
        )
    return results


def lead_outlook(*, lead: Lead, now: datetime) -> DialOutlook | None:
    """The outlook of a lead waiting in the queue (from its place in it: `due_at`), or None
    when it is not waiting (processed, disabled, erased): the dashboard's lead page."""
    if (
        lead.status != Lead.Status.QUEUED
        or lead.disabled_at is not None
        or lead.erased_at is not None
        or lead.phone_number is None
    ):
        return None
    return dial_outlook(
        campaign=lead.campaign, phone=lead.phone_number, now=now, due_at=lead.due_at
    )
