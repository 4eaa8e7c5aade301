"""The dial decision as the dialer meets it: a suppressed number is never dialled."""

from datetime import time

import pytest

from leadline.compliance.decisions import NOT_CALLED_DNC, dial_decision
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.core.errors import Conflict
from leadline.dialer import services as dialer
from leadline.dialer.models import CallAttempt
from leadline.dialer.tests.conftest import make_rep
from leadline.leads.models import Lead
from leadline.webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_campaign(campaign):
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = campaign.window_start.replace(hour=0, minute=0)
    campaign.window_end = time.max  # the whole day: a test may run at 23:59 local
    campaign.save()
    return campaign


def test_entries_are_keyed_hashes_and_scoped(open_campaign, other_campaign, business):
    assert (
        suppressions_add(
            business=business,
            items=[SuppressionItem("+919876543210", campaign=open_campaign, reason="asked")],
            source="api",
        )
        == 1
    )
    row = Suppression.objects.get()
    assert "9876543210" not in row.number_hash and len(row.number_hash) == 64
    # Adding it again is not an error, and adds nothing.
    assert (
        suppressions_add(
            business=business, items=[SuppressionItem("+919876543210", open_campaign)], source="api"
        )
        == 0
    )
    from django.utils import timezone

    now = timezone.now()
    refused = dial_decision(campaign=open_campaign, phone="+919876543210", now=now)
    assert (refused.dial, refused.never, refused.outcome) == (False, True, NOT_CALLED_DNC)
    assert refused.suppressed_in == [open_campaign.public_id]
    assert dial_decision(campaign=open_campaign, phone="+919876543211", now=now).dial
    suppressions_add(business=business, items=[SuppressionItem("+919876543211")], source="api")
    wide = dial_decision(campaign=open_campaign, phone="+919876543211", now=now)
    assert wide.suppressed_in == ["business"]


def test_a_claim_withdraws_a_suppressed_lead_and_takes_the_next(open_campaign, make_leads):
    make_leads(2, prefix="dnc")
    first, second = Lead.objects.order_by("pk")
    suppressions_add(
        business=open_campaign.business,
        items=[SuppressionItem(first.phone_number)],
        source="api",
    )
    rep = make_rep(open_campaign, "rep-dnc", "+919000000001")
    claimed = dialer.lead_claim(rep=rep)
    assert claimed is not None and claimed.pk == second.pk
    first.refresh_from_db()
    assert (first.status, first.lead_outcome) == ("processed", NOT_CALLED_DNC)
    assert first.processed_at is not None
    assert not CallAttempt.objects.filter(lead=first).exists()
    assert Event.objects.filter(lead=first, type="lead.processed").exists()


def test_a_number_suppressed_after_the_claim_is_never_rung(open_campaign, make_leads):
    make_leads(1, prefix="late")
    rep = make_rep(open_campaign, "rep-late", "+919000000001")
    lead = dialer.lead_claim(rep=rep)
    assert lead is not None
    suppressions_add(
        business=open_campaign.business, items=[SuppressionItem(lead.phone_number)], source="api"
    )
    with pytest.raises(Conflict):
        dialer.call_place(rep=rep, lead_pk=lead.pk)
    assert not CallAttempt.objects.filter(lead=lead).exists()
    lead.refresh_from_db()
    assert lead.lead_outcome == NOT_CALLED_DNC
