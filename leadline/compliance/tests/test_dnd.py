"""DND (NCPR) for promotional campaigns: the rule, the registry import, the lookup loop and
what a claim then does; no number in clear in any compliance table."""

import logging
from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from leadline.campaigns.models import Campaign
from leadline.compliance import dnd
from leadline.compliance.consents import ConsentItem, consents_record
from leadline.compliance.decisions import NOT_CALLED_DND, dial_decision
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import (
    Consent,
    DndRegistryEntry,
    DndRegistryImport,
    DndStatus,
    Suppression,
)
from leadline.dialer import services as dialer
from leadline.dialer.dnd import DndLookups
from leadline.dialer.models import CallAttempt
from leadline.dialer.tests.conftest import make_rep
from leadline.leads.models import Lead

pytestmark = pytest.mark.django_db

PHONE = "+919876543210"
OTHER = "+919876543211"


@pytest.fixture
def promo(campaign):
    campaign.category = Campaign.Category.PROMOTIONAL
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = campaign.window_start.replace(hour=0, minute=0)
    campaign.window_end = time.max  # the whole day: a test may run at 23:59 local
    campaign.save()
    return campaign


def _cache(phone, dnd_yes, *, age=timedelta(0)):
    DndStatus.objects.create(
        number_hash=number_hash(phone), dnd=dnd_yes, source="test", checked_at=timezone.now() - age
    )


# --- the rule ------------------------------------------------------------------------------


def test_rule_each_case(promo):
    now = timezone.now()
    unknown = dial_decision(campaign=promo, phone=PHONE, now=now)
    assert (unknown.dial, unknown.never, unknown.code) == (False, False, "dnd_unknown")
    assert unknown.reason == "DND status not known yet" and unknown.dnd == "unknown"
    assert now < unknown.earliest_at <= now + timedelta(minutes=10)

    _cache(PHONE, True)
    refused = dial_decision(campaign=promo, phone=PHONE, now=now)
    assert (refused.dial, refused.never, refused.code) == (False, True, "dnd")
    assert refused.outcome == NOT_CALLED_DND and refused.dnd == "yes"
    # Consent lifts DND for the business's promotional campaigns.
    assert dial_decision(campaign=promo, phone=PHONE, now=now, consent=True).dial

    _cache(OTHER, False)
    assert dial_decision(campaign=promo, phone=OTHER, now=now).dial
    # Stale after 7 days, whichever the answer: not known again.
    later = now + dnd.DND_TTL + timedelta(seconds=1)
    assert dial_decision(campaign=promo, phone=OTHER, now=later).code == "dnd_unknown"
    assert dial_decision(campaign=promo, phone=PHONE, now=later).code == "dnd_unknown"


def test_service_campaigns_ignore_dnd(campaign):
    assert campaign.category == "service"
    _cache(PHONE, True)
    assert dial_decision(campaign=campaign, phone=PHONE, now=timezone.now()).dial
    assert dial_decision(campaign=campaign, phone=OTHER, now=timezone.now()).dial


def test_suppression_answers_before_dnd(promo):
    from leadline.compliance.services import SuppressionItem, suppressions_add

    _cache(PHONE, True)
    suppressions_add(business=promo.business, items=[SuppressionItem(PHONE)], source="api")
    assert dial_decision(campaign=promo, phone=PHONE, now=timezone.now()).code == "suppressed"


# --- the registry file ---------------------------------------------------------------------


def test_dnd_import_hashes_counts_and_replaces(tmp_path, capsys):
    first = tmp_path / "ncpr.txt"
    first.write_text("9876543210\n+91 98765 43211\nnot a number\n\n9876543210\n")
    call_command("dnd", "import", str(first))
    out = capsys.readouterr().out
    assert "4 line(s) read, 2 number(s) added, 1 invalid" in out and "2 number(s) in" in out
    hashes = set(DndRegistryEntry.objects.values_list("number_hash", flat=True))
    assert hashes == {number_hash(PHONE), number_hash(OTHER)}
    # Listed numbers are known DND at once.
    assert dnd.dnd_cached(number_hash=number_hash(PHONE), now=timezone.now()) is True

    csv_file = tmp_path / "ncpr.csv"
    csv_file.write_text("name,Phone_Number\nA,09876543212\nB,9876543210\n")
    call_command("dnd", "import", str(csv_file), "--replace")
    out = capsys.readouterr().out
    assert "2 line(s) read" in out and "2 number(s) in the DND registry (replaced" in out
    assert set(DndRegistryEntry.objects.values_list("number_hash", flat=True)) == {
        number_hash(PHONE),
        number_hash("+919876543212"),
    }
    # The dropped number's cached "yes" came from the registry: it is asked again.
    assert dnd.dnd_cached(number_hash=number_hash(OTHER), now=timezone.now()) is None
    assert DndRegistryImport.objects.count() == 2
    for row in DndRegistryEntry.objects.values_list("number_hash", flat=True):
        assert len(row) == 64 and "98765" not in row


def test_dnd_import_refuses_unreadable_files(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("dnd", "import", str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.csv"
    bad.write_text("name,city\nA,Pune\n")
    with pytest.raises(CommandError, match="no phone column"):
        call_command("dnd", "import", str(bad))
    assert not DndRegistryEntry.objects.exists() and not DndRegistryImport.objects.exists()


# --- the loop, then the claim ----------------------------------------------------------------


def _leads(make_leads, count, prefix):
    make_leads(count, prefix=prefix)
    return list(Lead.objects.filter(lead_id__startswith=prefix).order_by("pk"))


def test_loop_then_claim_withdraws_dnd_and_calls_the_rest(promo, make_leads, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    first, second = _leads(make_leads, 2, "promo")
    registry = tmp_path / "ncpr.txt"
    registry.write_text(first.phone_number + "\n")
    DndStatus.objects.all().delete()  # as if the import were older than the cache
    call_command("dnd", "import", str(registry))
    DndStatus.objects.all().delete()
    assert DndLookups().run_once() == 2  # one yes from the file, one "no" (not listed)

    rep = make_rep(promo, "rep-promo", "+919000000001")
    claimed = dialer.lead_claim(rep=rep)
    assert claimed is not None and claimed.pk == second.pk
    first.refresh_from_db()
    assert (first.status, first.lead_outcome) == ("processed", NOT_CALLED_DND)
    dialer.call_place(rep=rep, lead_pk=second.pk)
    # The simulator was asked to dial only the lead not on DND.
    assert list(CallAttempt.objects.values_list("lead_id", flat=True)) == [second.pk]
    _no_numbers_in_compliance_tables_or_logs([first, second], caplog)


def test_unknown_status_waits_with_the_reason_visible(promo, make_leads):
    (lead,) = _leads(make_leads, 1, "wait")
    # No registry imported, no provider lookup (the simulator): nobody knows.
    assert DndLookups().run_once() == 0
    rep = make_rep(promo, "rep-wait", "+919000000001")
    assert dialer.lead_claim(rep=rep) is None
    lead.refresh_from_db()
    assert lead.status == "queued" and lead.wait_reason == "DND status not known yet"
    assert lead.due_at > timezone.now() and not CallAttempt.objects.exists()


def test_consent_lets_a_dnd_lead_be_called(promo, make_leads):
    (lead,) = _leads(make_leads, 1, "consent")
    _cache(lead.phone_number, True)
    consents_record(
        business=promo.business,
        items=[ConsentItem(lead.phone_number, timezone.now(), "web_form", "form-77")],
    )
    # The loop has nothing to ask about a consented number.
    assert DndLookups().run_once() == 0
    rep = make_rep(promo, "rep-consent", "+919000000001")
    claimed = dialer.lead_claim(rep=rep)
    assert claimed is not None and claimed.pk == lead.pk
    row = Consent.objects.get()
    assert row.number_hash == number_hash(lead.phone_number) and row.reference == "form-77"


def test_service_campaign_claims_a_dnd_number(campaign, make_leads):
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = campaign.window_start.replace(hour=0, minute=0)
    campaign.window_end = time.max  # the whole day: a test may run at 23:59 local
    campaign.save()
    (lead,) = _leads(make_leads, 1, "svc")
    _cache(lead.phone_number, True)
    rep = make_rep(campaign, "rep-svc", "+919000000001")
    claimed = dialer.lead_claim(rep=rep)
    assert claimed is not None and claimed.pk == lead.pk
    dialer.call_place(rep=rep, lead_pk=lead.pk)
    assert CallAttempt.objects.filter(lead=lead).count() == 1


def test_the_loop_walks_in_bounded_batches(promo, make_leads, monkeypatch, tmp_path):
    monkeypatch.setattr("leadline.dialer.dnd.SCAN", 2)
    _leads(make_leads, 5, "walk")
    registry = tmp_path / "ncpr.txt"
    registry.write_text("9000000009\n")
    call_command("dnd", "import", str(registry))
    loop = DndLookups()
    handled = [loop.run_once() for _ in range(3)]
    # Two answers and the walk goes on, twice; the last lead's answer ends the walk.
    assert handled == [2 + 2, 2 + 2, 1]
    assert DndStatus.objects.filter(dnd=False).count() == 5
    # A walk over numbers all known asks nobody and ends with a rest (0).
    handled = [loop.run_once() for _ in range(3)]
    assert handled == [2, 2, 0]


def _no_numbers_in_compliance_tables_or_logs(leads, caplog):
    digits = [lead.phone_number[3:] for lead in leads]
    rows = [
        *DndStatus.objects.values_list(),
        *DndRegistryEntry.objects.values_list(),
        *DndRegistryImport.objects.values_list(),
        *Consent.objects.values_list(),
        *Suppression.objects.values_list(),
    ]
    text = repr(rows) + caplog.text
    for d in digits:
        assert d not in text
