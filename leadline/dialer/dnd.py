"""The dialer's part of DND (compliance.dnd): its providers' number lookup as a DND source,
and the `dnd-lookups` loop that resolves the status of queued leads of promotional campaigns
before a claim meets them (the decision itself reads only the cache).

Here because compliance sits below the dialer: it cannot reach a provider, and it knows no
leads. The source is registered into compliance from `DialerConfig.ready()`.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from leadline.campaigns.models import Campaign
from leadline.compliance import dnd
from leadline.leads.models import Lead

from .telephony import ProviderError, provider_for
from .telephony.accounts import line_for_campaign

logger = logging.getLogger(__name__)

# Provider lookups per source call: Exotel's APIs allow 200 requests a minute per account,
# shared with the calls themselves, so a batch stays well under it.
PROVIDER_LOOKUPS = 50
# Leads scanned per run, and numbers looked up per run (the worker runs again at once while
# a run did something).
SCAN = 500
LOOKUPS = 100


class ProviderDndSource:
    """The campaign's telephony account's number lookup, where the provider has one (Exotel:
    number metadata `DND: Yes|No`). Campaigns on the default provider (no account) or on a
    provider without a lookup get no answer here."""

    name = "provider"

    def lookup(self, *, campaign: Campaign, numbers: list[dnd.DndQuery]) -> dict[str, bool]:
        if campaign.telephony_account_id is None:
            return {}
        try:
            provider = provider_for(line_for_campaign(campaign))
        except ProviderError:
            return {}  # undecryptable credentials: the account is broken, not the number
        number_dnd: Callable[[str], bool | None] | None = getattr(provider, "number_dnd", None)
        if number_dnd is None:
            return {}
        answers: dict[str, bool] = {}
        for query in numbers[:PROVIDER_LOOKUPS]:
            try:
                answer = number_dnd(query.phone)
            except ProviderError as exc:
                # Rate limited, refused or down: the rest waits for the next run.
                logger.warning("DND lookup stopped for campaign %s: %s", campaign.pk, exc.kind)
                break
            if answer is not None:
                answers[query.number_hash] = answer
        return answers


class DndLookups:
    """The `dnd-lookups` loop: walks the queued leads of active promotional campaigns by id
    (a cursor, so a long queue of already-known numbers does not hide the ones after it) and
    resolves the numbers without a fresh answer or consent."""

    def __init__(self) -> None:
        self.after_pk = 0

    def run_once(self, now: datetime | None = None) -> int:
        now = now or timezone.now()
        rows = list(
            Lead.objects.filter(
                pk__gt=self.after_pk,
                status=Lead.Status.QUEUED,
                disabled_at__isnull=True,
                erased_at__isnull=True,
                phone_number__isnull=False,
                campaign__category=Campaign.Category.PROMOTIONAL,
                campaign__status=Campaign.Status.ACTIVE,
            )
            .order_by("pk")
            .values_list("pk", "campaign_id", "phone_number")[:SCAN]
        )
        walked_on = len(rows) == SCAN
        self.after_pk = rows[-1][0] if walked_on else 0
        by_campaign: dict[int, list[str]] = defaultdict(list)
        for _, campaign_id, phone in rows:
            if phone:  # filtered above; the column is nullable (erased tombstones)
                by_campaign[campaign_id].append(phone)
        campaigns = Campaign.objects.select_related("telephony_account").in_bulk(by_campaign)
        resolved = budget = 0
        for campaign_id, phones in by_campaign.items():
            campaign = campaigns[campaign_id]
            todo = dnd.dnd_to_resolve(
                campaign=campaign, phones=list(dict.fromkeys(phones)), now=now
            )
            todo = todo[: LOOKUPS - budget]
            if not todo:
                continue
            budget += len(todo)
            result = dnd.dnd_resolve(campaign=campaign, phones=todo, now=now)
            resolved += result.yes + result.no
            if budget >= LOOKUPS:
                self.after_pk = rows[0][0] - 1  # the rest of this scan next time
                break
        # Keep going at once while the walk is under way or answers came; rest otherwise.
        return resolved + (len(rows) if walked_on else 0)

    def close(self) -> None:
        pass
