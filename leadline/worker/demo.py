"""The demo's story: a business whose campaign has leads in every state a real one reaches.

`make run` runs `leadline demo` once on a fresh database. A newcomer should find, without
reading any reference, a campaign with processed leads (every outcome, recordings, answers),
callbacks booked, leads waiting for a retry, disabled, converted and erased ones, and fresh
leads a rep can call at once. Every state is reached through the services the API, the
console and the worker use (lead_create_batch, the simulator's reps working the console's
claim/call/outcome services, lead_disable_batch, lead_convert, lead_erase): nothing here
writes a result field itself, so the demo shows what the product really does.

It lives with the worker, the top layer, because it drives every app below it.
"""

import random
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.db import transaction

from leadline.accounts.models import Business, User
from leadline.accounts.services import (
    api_token_create,
    business_get_or_create,
    dashboard_user_create,
    generate_password,
    rep_upsert,
)
from leadline.campaigns.models import Campaign
from leadline.campaigns.services import campaign_get_or_create, campaign_settings_update
from leadline.dialer.simulation import simulate
from leadline.leads.models import Lead
from leadline.leads.selectors import lead_counts
from leadline.leads.services import lead_convert, lead_create_batch, lead_disable_batch, lead_erase
from leadline.leads.validation import clean_new_leads

DEMO_BUSINESS = "Demo Business"
DEMO_CAMPAIGN = "Demo campaign"
FINISHED_LEADS = 150  # worked to the end: every final outcome, retries exhausted included
DAY_ONE_LEADS = 90  # called once each: retries and callbacks still to come
FRESH_LEADS = 40  # left queued for the demo rep's console
DISABLED, CONVERTED, ERASED = 8, 10, 3
SEED = 20261206  # the same story on every fresh clone

_FIRST = ["Aarav", "Diya", "Kabir", "Ananya", "Vihaan", "Isha", "Arjun", "Meera", "Rohan", "Sara"]
_LAST = ["Sharma", "Iyer", "Reddy", "Khan", "Patel", "Nair", "Gupta", "Das", "Singh", "Menon"]
_CITIES = ["Pune", "Bengaluru", "Chennai", "Delhi", "Mumbai", "Hyderabad", "Kolkata", "Jaipur"]
_SOURCES = ["website", "facebook", "referral", "expo"]


@dataclass
class DemoLogins:
    business: Business
    campaign: Campaign
    access_token: str
    owner: tuple[str, str]
    supervisor: tuple[str, str]
    rep: tuple[str, str]
    states: dict[str, int] = field(default_factory=dict)


def _lead_items(rng: random.Random, prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "lead_id": f"{prefix}-{i + 1:04d}",
            # Fictional mobile numbers; the demo never rings anyone (simulator only).
            "phone_number": f"9{rng.randrange(10**8, 10**9)}",
            "contact_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "city": rng.choice(_CITIES),
            "source": rng.choice(_SOURCES),
        }
        for i in range(count)
    ]


def _create(campaign: Campaign, items: list[dict[str, Any]]) -> None:
    leads, problems = clean_new_leads(items)
    assert not problems, problems  # generated above: a problem is a bug in this module
    lead_create_batch(campaign=campaign, leads=leads)


def _around_the_clock(campaign: Campaign) -> None:
    """The demo campaign calls at any hour, every day, so the console always has a lead.

    Real campaigns keep the default 09:00-21:00 window (TRAI's hours); the window is
    start <= t < end, so 00:00 to the last instant of the day is the whole day.
    """
    campaign_settings_update(
        campaign=campaign, window_start=time(0, 0), window_end=time.max, days=list(range(7))
    )
    Campaign.objects.filter(pk=campaign.pk).update(rep_visible_fields=["city", "source"])
    campaign.refresh_from_db()


def demo_create(*, business_name: str = DEMO_BUSINESS) -> DemoLogins:
    """Create the demo business and its story; call only when it does not exist yet."""
    rng = random.Random(SEED)
    with transaction.atomic():
        business = business_get_or_create(name=business_name)
        # The demo compresses days of calling into seconds (fast_forward retries at once), so
        # the 2-hour gap between calls to one number would leave retries unfinished; the
        # daily and weekly caps stay. Real businesses keep the default gap.
        Business.objects.filter(pk=business.pk).update(min_gap_minutes=0)
        campaign = campaign_get_or_create(business=business, name=DEMO_CAMPAIGN)
        _around_the_clock(campaign)
        issued = api_token_create(business=business, name="demo")
        owner, owner_password = dashboard_user_create(business=business, username="demo")
        supervisor, supervisor_password = dashboard_user_create(
            business=business,
            username="demo-supervisor",
            business_role=User.BusinessRole.MANAGER,
        )
        rep_password = generate_password()
        rep, _ = rep_upsert(
            campaign=campaign,
            username="demo-rep",
            phone_number="+919000012345",
            password=rep_password,
        )

    _create(campaign, _lead_items(rng, "done", FINISHED_LEADS))
    # fast_forward: retries and callbacks are called at once, so each lead reaches its end.
    simulate(campaign=campaign, reps=3, seed=SEED, fast_forward=True)
    _create(campaign, _lead_items(rng, "day1", DAY_ONE_LEADS))
    # One attempt per lead, as a day of calling leaves it: final outcomes are processed (with
    # recordings and answers), retries wait for their delay, callbacks are booked.
    simulate(campaign=campaign, reps=3, seed=SEED + 1)

    live = Lead.objects.filter(campaign=campaign, erased_at__isnull=True)
    waiting = live.filter(processed_at__isnull=True, disabled_at__isnull=True)
    lead_disable_batch(campaign=campaign, lead_ids=_first_ids(waiting, DISABLED))
    connected = live.filter(processed_at__isnull=False, lead_outcome__startswith="Connected")
    processed = _first_ids(connected, CONVERTED + ERASED)
    for lead_id in processed[:CONVERTED]:
        lead_convert(campaign=campaign, lead_id=lead_id, detail="Bought the annual plan (demo)")
    for lead_id in processed[CONVERTED:]:
        lead_erase(campaign=campaign, lead_id=lead_id)

    _create(campaign, _lead_items(rng, "fresh", FRESH_LEADS))
    return DemoLogins(
        business=business,
        campaign=campaign,
        access_token=issued.secret,
        owner=(owner.username, owner_password),
        supervisor=(supervisor.username, supervisor_password),
        rep=(rep.username, rep_password),
        states=demo_states(campaign),
    )


def _first_ids(leads: Any, count: int) -> list[str]:
    ids = leads.order_by("lead_id").values_list("lead_id", flat=True)[:count]
    return [lead_id for lead_id in ids if lead_id is not None]  # only tombstones have none


def demo_states(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's leads are in each state (what the banner reports): the
    dashboard's counts (`lead_counts`), with its queued leads split the way the story made
    them: never called, waiting for a retry, or with a callback booked."""
    counts = lead_counts(campaign=campaign)
    waiting = Lead.objects.filter(
        campaign=campaign, erased_at__isnull=True, status=Lead.Status.QUEUED
    )
    return {
        "callbacks_booked": waiting.filter(queue_class=Lead.QueueClass.CALLBACK).count(),
        "queued": waiting.filter(attempts_count=0).count(),
        "waiting_retry": waiting.filter(queue_class=Lead.QueueClass.RETRY).count(),
        "processed": counts.processed,
        "disabled": counts.disabled,
        "converted": counts.converted,
        "erased": counts.erased,
    }
