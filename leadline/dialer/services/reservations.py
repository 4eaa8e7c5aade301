"""Personal ("me") callbacks: reserved for their rep, kept apart from the lease.

A reservation (`Lead.reserved_for`) says whose callback it is; the lease still says who holds
the lead now. The rule (issue 15, VICIdial's USERONLY): the callback goes to its rep when due,
or to anyone after the campaign's grace time if that rep is offline. So the claim compares
one column with now (`reserved_until`: null while the rep is online, due + grace once they
are offline), and this module moves that column when the rep goes offline or comes back
(`states._move` calls `reservations_follow_state`): no join with the reps' states in the
claim, which runs on every "next lead".
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leadline.accounts import audit
from leadline.accounts.models import User
from leadline.core.converters import RowIdConverter
from leadline.core.errors import BadRequest, Conflict, NotFound
from leadline.leads.models import Lead

from ..floor import supervised_campaigns
from ..models import RepState

ANYONE = "anyone"
_ONLINE = [state for state in RepState.State.values if state != RepState.State.OFFLINE]


def _reserved(rep_id: int) -> QuerySet[Lead]:
    return Lead.objects.filter(reserved_for_id=rep_id, status=Lead.Status.QUEUED)


def rep_is_offline(rep_id: int) -> bool:
    state = RepState.objects.filter(rep_id=rep_id).values_list("state", flat=True).first()
    return state in (None, RepState.State.OFFLINE)


def reserved_until(*, rep_id: int, due: datetime, grace_minutes: int) -> datetime | None:
    """When others may take a callback reserved for `rep_id` (None: not while they are on)."""
    if rep_is_offline(rep_id):
        return due + timedelta(minutes=grace_minutes)
    return None


def reservations_follow_state(*, rep_id: int, online: bool) -> int:
    """The rep went offline (signed out, silent console, forced) or came back: their personal
    callbacks open to anyone at due + grace (at once if that has passed), or are theirs
    alone again. Called inside the state change's transaction (RepState row locked, then
    these leads; no path locks them the other way round)."""
    reserved = _reserved(rep_id)
    if online:
        return reserved.exclude(reserved_until=None).update(reserved_until=None)
    changed = 0
    graces = reserved.values_list("campaign_id", "campaign__callback_grace_minutes").distinct()
    for campaign_id, grace in graces:
        changed += reserved.filter(campaign_id=campaign_id).update(
            reserved_until=F("due_at") + timedelta(minutes=grace)
        )
    return changed


def reservations_repair() -> int:
    """Personal callbacks still waiting with no end for a rep who is offline (booked in the
    instant the rep was taken offline, which the state change could not see yet): opened to
    anyone at due + grace like the others. The silent-console loop runs this each time; it
    reads reserved leads only (lead_reserved_idx)."""
    stale = Lead.objects.filter(
        status=Lead.Status.QUEUED,
        reserved_for__isnull=False,
        reserved_until__isnull=True,
    ).exclude(reserved_for__floor_state__state__in=_ONLINE)
    changed = 0
    for rep_id in set(stale.values_list("reserved_for_id", flat=True)[:1000]):
        with transaction.atomic():
            # Under the rep's state lock, as a state change: they may be coming back now.
            row = RepState.objects.select_for_update().filter(rep_id=rep_id).first()
            if row is None or row.state == RepState.State.OFFLINE:
                changed += reservations_follow_state(rep_id=rep_id, online=False)
    return changed


def callback_reassign(
    *, supervisor: User, lead_pk: int, to: str, now: datetime | None = None
) -> Lead:
    """A supervisor gives a personal callback to another rep of its campaign, or to anyone
    (`to` is a rep's id or "anyone"). Only in the supervisor's campaigns; not while a rep
    holds the lead (their call's outcome decides what happens to it)."""
    now = now or timezone.now()
    to_rep_id: int | None = None
    if to != ANYONE:
        to_rep_id = RowIdConverter.parse(to)
        if to_rep_id is None:
            raise BadRequest("Pick a rep of the campaign, or anyone.", extra={"field": "rep"})
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(
                pk=lead_pk,
                campaign__in=supervised_campaigns(supervisor=supervisor),
                status=Lead.Status.QUEUED,
                reserved_for__isnull=False,
                erased_at__isnull=True,
            )
            .first()
        )
        if lead is None:
            raise NotFound("No such personal callback on your floor.")
        if lead.lease_expires_at is not None and lead.lease_expires_at > now:
            raise Conflict("A rep is working this lead now; its outcome decides what follows.")
        before = lead.reserved_for_id
        if to_rep_id is None:
            lead.reserved_for = None
            lead.reserved_until = None
        else:
            rep = lead.campaign.reps.filter(
                pk=to_rep_id, role=User.Role.REP, is_active=True
            ).first()
            if rep is None:
                raise BadRequest("Pick a rep of this campaign.", extra={"field": "rep"})
            lead.reserved_for = rep
            assert lead.due_at is not None  # a callback always has its time
            lead.reserved_until = reserved_until(
                rep_id=rep.pk, due=lead.due_at, grace_minutes=lead.campaign.callback_grace_minutes
            )
        lead.updated_at = now
        lead.save(update_fields=["reserved_for", "reserved_until", "updated_at"])
        audit.audit_record(
            action="callback.reassigned",
            actor=audit.actor_for_user(supervisor),
            business=lead.campaign.business_id,
            target=f"{lead.campaign.public_id} lead #{lead.pk}",
            lead_ids=[lead.lead_id] if lead.lead_id else [],
            details={"from_rep": before, "to_rep": to_rep_id or ANYONE},
            at=now,
        )
    return lead
