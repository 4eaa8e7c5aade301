"""What a new do-not-call entry does to leads already waiting: they are withdrawn.

A lead is processed without a call (`lead_outcome` "Not Called : Do Not Call", the
`lead.processed` webhook as for any processed lead) as soon as its number is suppressed,
instead of waiting for the claim to notice; the claim still checks at dial time, so a lead
this misses (created meanwhile, a crash between the entry and the withdrawal) is never rung.

Used by every way an entry is added: the dashboard's pages, the rep's do-not-call outcome and
the API (`suppressions_api`).
"""

from itertools import groupby

from leadline.accounts.models import Business
from leadline.compliance.decisions import NOT_CALLED_DNC
from leadline.compliance.services import SuppressionItem, suppressions_add

from .models import Lead
from .services import lead_withdraw

# Numbers per query: bounded IN lists (SQLite's variable limit, PostgreSQL plan size).
_CHUNK = 500


def _scope_key(item: SuppressionItem) -> int:
    return item.campaign.pk if item.campaign is not None else 0


def leads_withdraw_suppressed(*, business: Business, items: list[SuppressionItem]) -> int:
    """Withdraw the business's queued leads whose numbers `items` have just suppressed: every
    campaign's for a business-wide item, that campaign's for a campaign item. Each lead is
    withdrawn in its own transaction (`lead_withdraw` locks it and re-checks it is still
    queued), so no lock is held across the business's leads. Returns how many were withdrawn."""
    withdrawn = 0
    for _, scoped in groupby(sorted(items, key=_scope_key), key=_scope_key):
        group = list(scoped)
        campaign = group[0].campaign
        phones = sorted({item.phone for item in group})
        for start in range(0, len(phones), _CHUNK):
            leads = Lead.objects.filter(
                campaign__business=business,
                status=Lead.Status.QUEUED,
                disabled_at__isnull=True,
                erased_at__isnull=True,
                phone_number__in=phones[start : start + _CHUNK],
            )
            if campaign is not None:
                leads = leads.filter(campaign=campaign)
            for pk in leads.order_by("pk").values_list("pk", flat=True):
                if lead_withdraw(lead_pk=pk, outcome=NOT_CALLED_DNC) is not None:
                    withdrawn += 1
    return withdrawn


def suppressions_add_and_withdraw(
    *, business: Business, items: list[SuppressionItem], source: str
) -> tuple[int, int]:
    """Add do-not-call entries, then withdraw the queued leads they cover: (new entries,
    leads withdrawn). Every item counts for the withdrawal, not only the new entries: a lead
    created with the number after an earlier entry (and not yet reached by the claim) is
    withdrawn too. The entries commit first (their own transaction): a crash before the
    withdrawals leaves leads the claim still refuses, never a lead called after its entry."""
    created = suppressions_add(business=business, items=items, source=source)
    return created, leads_withdraw_suppressed(business=business, items=items)
