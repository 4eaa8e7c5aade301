"""Why a rep can no longer work a lead, in the rep's words.

`call_place` refuses a lead with these sentences and the console explains an unavailable lead
with the same ones before the rep tries, so both read one check and one table. The reasons
are for leads the rep knows (`rep_leads`); any other lead, whatever its state and whichever
business it belongs to, is refused with `NOT_YOURS` alone, so a guessed id reveals nothing.
"""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.core.errors import Conflict
from leadline.leads.models import Lead

from .models import CallAttempt

NOT_YOURS = "This lead is not yours to call; take the next lead."

UNAVAILABLE_MESSAGES = {
    "erased": "This lead was erased; nothing more can be done with it.",
    "disabled": "This lead was disabled by the client; do not call it.",
    "processed": "This lead is already processed.",
    "expired": "Your hold on this lead expired; take the next lead.",
}


class LeadUnavailable(Conflict):
    """The lead can no longer be worked (disabled, erased, processed or lease lost)."""


def unavailable_kind(*, rep: User, lead: Lead | None, now: datetime) -> str | None:
    """Why the rep may not call the lead now (a key of UNAVAILABLE_MESSAGES), or None."""
    # A lead no longer in the database is gone for good, as an erased one is.
    if lead is None or lead.erased_at is not None:
        return "erased"
    if lead.disabled_at is not None:
        return "disabled"
    if lead.status != Lead.Status.QUEUED:
        return "processed"
    if lead.leased_by_id != rep.pk or (lead.lease_expires_at or now) <= now:
        return "expired"
    return None


def rep_leads(rep: User) -> QuerySet[Lead]:
    """The leads a rep may hear about: held by them, called by them, or erased in one of
    their campaigns (erasure clears the lease, so a lead erased while held is only known by
    its campaign; its tombstone holds nothing personal). Always within the rep's business."""
    called = CallAttempt.objects.filter(lead=OuterRef("pk"), rep=rep)
    assigned = Campaign.reps.through.objects.filter(campaign=OuterRef("campaign"), user=rep)
    return Lead.objects.filter(campaign__business=rep.business_id).filter(
        Q(leased_by=rep) | Exists(called) | (Q(erased_at__isnull=False) & Exists(assigned))
    )
