"""The claim: which lead a rep calls next, leased to them until they finish or vanish.

Concurrency: "next lead" locks its candidate with `SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL, so concurrent reps skip each other's candidates instead of queueing behind them;
on SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises claims outright.
A claim is a lease: if the rep vanishes, the lead is offered again once it expires.
"""

import time
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from leadline.accounts import audit
from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import window_open
from leadline.compliance.consents import consent_given
from leadline.compliance.decisions import dial_decision
from leadline.core import metrics
from leadline.core.db import SENTINEL_NOW, SENTINEL_PK, db_datetime, precompiled
from leadline.leads import services as lead_services
from leadline.leads.models import Lead

QUEUE_ORDER = ("queue_class", "-priority", "due_at", "id")
# A lead held back with no known time (DND status not yet known) is offered again after this.
DECISION_RETRY = timedelta(minutes=15)

# A claim runs three statements, two of them inside the rep's lock; each is precompiled once
# per process (`core.db.precompiled`), since building them with the ORM cost more Python than
# the database spent running them.


def _rep_campaigns_query() -> QuerySet[Campaign]:
    return Campaign.objects.filter(
        reps=SENTINEL_PK, status=Campaign.Status.ACTIVE, business__is_active=True
    ).order_by("pk")


def _rep_campaigns(rep: User) -> list[Campaign]:
    statement = precompiled("rep campaigns", _rep_campaigns_query, uses_now=False)
    return list(Campaign.objects.raw(statement.sql, statement.bind(rep.pk)))


def _candidates(campaign: Campaign, now: datetime) -> QuerySet[Lead]:
    leads = Lead.objects.filter(
        campaign=campaign,
        status=Lead.Status.QUEUED,
        due_at__lte=now,
        disabled_at__isnull=True,
        erased_at__isnull=True,
    ).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
        # Someone's personal callback only once it is open to anyone (its rep offline past
        # due + grace): one column against now, no join with the reps' states.
        Q(reserved_for__isnull=True) | Q(reserved_until__lte=now),
    )
    leads = leads.order_by(*QUEUE_ORDER)
    if connection.features.has_select_for_update_skip_locked:
        leads = leads.select_for_update(skip_locked=True, of=("self",))
    return leads


def _queue_key(lead: Lead) -> tuple[int, int, datetime | None, int]:
    return (lead.queue_class, -lead.priority, lead.due_at, lead.id)


def _holding(now: datetime) -> Q:
    """Leads still held at `now`: an unexpired lease on a lead still waiting to be worked and
    due. (A personal callback is not leased but reserved, see `_reserved_due`.)"""
    return Q(lease_expires_at__gt=now, status=Lead.Status.QUEUED, due_at__lte=now)


def lead_held_by(*, rep: User, now: datetime | None = None) -> Lead | None:
    """The lead the rep currently holds (unexpired lease), if any."""
    now = now or timezone.now()
    return Lead.objects.select_related("campaign").filter(_holding(now), leased_by=rep).first()


def _reserved_due(rep: Any, now: datetime) -> QuerySet[Lead]:
    """The rep's own personal callbacks that are due and that nobody else holds, the most
    overdue first (lead_reserved_idx: a few rows per rep)."""
    return (
        Lead.objects.filter(
            reserved_for=rep,
            status=Lead.Status.QUEUED,
            due_at__lte=now,
            disabled_at__isnull=True,
            erased_at__isnull=True,
        )
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .order_by("due_at", "id")
    )


def _held_lead_query() -> QuerySet[User, tuple[int | None, int | None]]:
    held = Lead.objects.filter(_holding(SENTINEL_NOW), leased_by=OuterRef("pk")).values("pk")[:1]
    reserved = _reserved_due(OuterRef("pk"), SENTINEL_NOW).values("pk")[:1]
    return (
        User.objects.select_for_update(of=("self",))
        .filter(pk=SENTINEL_PK)
        .annotate(held=Subquery(held), reserved=Subquery(reserved))
        .values_list("held", "reserved")[:1]
    )


def _queue_head_query() -> QuerySet[Lead, Any]:
    return _candidates(Campaign(pk=SENTINEL_PK), SENTINEL_NOW).values("pk")[:1]


def _lock_rep_and_find_held(rep: User, now: datetime) -> tuple[int | None, int | None]:
    """Lock the rep's row and return the pks of the lead they hold and of their most overdue
    personal callback, in one statement.

    One claim at a time per rep (a double click must not leave them holding two leads): the
    rep's row lock orders them, then the second sees the first's lease.
    """
    statement = precompiled("held", _held_lead_query)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(rep.pk, now))
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (None, None)


def _lease_reserved(
    lead_pk: int, campaigns: list[Campaign], rep: User, now: datetime
) -> Lead | None:
    """Lease the rep's due personal callback, if its campaign is one they may call now. The
    UPDATE re-checks that nobody holds it (another rep may have taken it once it was open to
    anyone): on PostgreSQL it waits for such a claim and then sees its lease."""
    lead = Lead.objects.filter(pk=lead_pk).only("pk", "campaign_id").first()
    by_pk = {c.pk: c for c in campaigns}
    if lead is None or lead.campaign_id not in by_pk:
        return None
    campaign = by_pk[lead.campaign_id]
    taken = (
        Lead.objects.filter(pk=lead_pk, status=Lead.Status.QUEUED)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(leased_by=rep, lease_expires_at=now + timedelta(minutes=campaign.lease_minutes))
    )
    if not taken:
        return None
    found = Lead.objects.get(pk=lead_pk)
    found.campaign = campaign
    return found


def _lease_queue_head(campaign: Campaign, rep: User, now: datetime) -> Lead | None:
    """Lease the head of one campaign's queue in a single UPDATE ... RETURNING.

    The candidate subquery is `_candidates` itself (FOR UPDATE SKIP LOCKED on PostgreSQL), so
    concurrent claims skip each other's rows exactly as the two-statement form did, with one
    round trip fewer while the rep's row is locked (that lock time is what claims queue on).
    """
    head_statement = precompiled("head", _queue_head_query)
    table = connection.ops.quote_name(Lead._meta.db_table)
    expires = now + timedelta(minutes=campaign.lease_minutes)
    # raw(): Django's field converters still turn the returned row into a proper Lead.
    rows = list(
        Lead.objects.raw(
            f"UPDATE {table} SET leased_by_id = %s, lease_expires_at = %s "  # noqa: S608
            f"WHERE id = ({head_statement.sql}) RETURNING *",
            [
                rep.pk,
                db_datetime(expires),
                *head_statement.bind(campaign.pk, now),
            ],
        )
    )
    if not rows:
        return None
    lead = rows[0]
    lead.campaign = campaign  # already loaded: no query inside the lock
    return lead


# A claim that meets leads compliance refuses (withdrawn or held back) takes the next one,
# this many times at most, so one claim stays bounded however long the refused run is.
CLAIM_SKIPS = 20


def lead_claim(
    *, rep: User, now: datetime | None = None, ignore_window: bool = False
) -> Lead | None:
    """Lease the most due lead of the rep's active campaigns (callbacks, retries, then new)
    that compliance lets us dial now. A lead it refuses is withdrawn (processed without a
    call: do-not-call, DND) or held back until it may be called (caps, gap), and the claim
    takes the next one. Caps are only read here: call_place counts the call, under the
    number's lock, and asks again."""
    now = now or timezone.now()
    started = time.perf_counter()
    lead = _lead_claim(rep=rep, now=now, ignore_window=ignore_window)
    metrics.DIALER_CLAIM_DURATION.observe(time.perf_counter() - started)
    metrics.DIALER_CLAIMS.labels("lead" if lead is not None else "empty").inc()
    return lead


def _lead_claim(*, rep: User, now: datetime, ignore_window: bool) -> Lead | None:
    for _ in range(CLAIM_SKIPS):
        lead = _lead_claim_once(rep=rep, now=now, ignore_window=ignore_window)
        if lead is None or lead_dial_check(lead=lead, now=now, window=not ignore_window):
            if lead is not None:
                _record_held(rep, lead, now)
            return lead
    return None


def _record_held(rep: User, lead: Lead, now: datetime) -> None:
    # The masking audit ("who could have spoken to this person"), written once the claim
    # committed rather than inside the rep's lock, which concurrent claims queue on. A double
    # click that gets the same lead back records it again: over-reporting, never under.
    audit.audit_record(
        action="lead.held",
        actor=audit.actor_for_user(rep),
        business=lead.campaign.business_id,
        target=f"{lead.campaign.public_id} lead #{lead.pk}",
        lead_ids=[lead.lead_id] if lead.lead_id else [],
        at=now,
    )


def lead_dial_allowed(*, lead: Lead, now: datetime, window: bool = False) -> bool:
    """Whether compliance lets the lead be dialled now (no side effects)."""
    if lead.phone_number is None:
        return False
    consent = consent_given(campaign=lead.campaign, phone=lead.phone_number)
    return dial_decision(
        campaign=lead.campaign, phone=lead.phone_number, now=now, consent=consent, window=window
    ).dial


def lead_dial_check(*, lead: Lead, now: datetime, window: bool = False) -> bool:
    """Ask compliance whether the lead may be dialled now; if not, act on the answer
    (withdraw or hold the lead) and say False."""
    if lead.phone_number is None:  # an erased tombstone is never claimed; be safe anyway
        return False
    consent = consent_given(campaign=lead.campaign, phone=lead.phone_number)
    decision = dial_decision(
        campaign=lead.campaign, phone=lead.phone_number, now=now, consent=consent, window=window
    )
    if decision.dial:
        return True
    if decision.never:
        lead_services.lead_withdraw(lead_pk=lead.pk, outcome=decision.outcome, now=now)
    else:
        until = decision.earliest_at or now + DECISION_RETRY
        lead_services.lead_hold(lead_pk=lead.pk, until=until, reason=decision.reason)
    return False


def _lead_claim_once(*, rep: User, now: datetime, ignore_window: bool) -> Lead | None:
    campaigns = [c for c in _rep_campaigns(rep) if ignore_window or window_open(c, now)]
    with transaction.atomic():
        held_pk, reserved_pk = _lock_rep_and_find_held(rep, now)
        if held_pk is not None:
            return Lead.objects.select_related("campaign").get(pk=held_pk)
        if reserved_pk is not None:
            # Their own callback first, whatever else is due: it is theirs alone.
            reserved = _lease_reserved(reserved_pk, campaigns, rep, now)
            if reserved is not None:
                return reserved
        if len(campaigns) == 1:
            # The usual case: one statement finds, locks and leases the head of the queue.
            return _lease_queue_head(campaigns[0], rep, now)
        best: Lead | None = None
        for campaign in campaigns:
            candidate = _candidates(campaign, now).first()
            if candidate is not None and (best is None or _queue_key(candidate) < _queue_key(best)):
                candidate.campaign = campaign  # already loaded: no query inside the lock
                best = candidate
        if best is None:
            return None
        best.leased_by = rep
        best.lease_expires_at = now + timedelta(minutes=best.campaign.lease_minutes)
        best.save(update_fields=["leased_by", "lease_expires_at"])
    return best


def leases_expire(*, now: datetime | None = None) -> int:
    """Clear expired leases (the claim query ignores them anyway; this keeps views honest)."""
    now = now or timezone.now()
    return Lead.objects.filter(lease_expires_at__lte=now, status=Lead.Status.QUEUED).update(
        leased_by=None, lease_expires_at=None
    )
