"""The dry run of create, `POST /api/v4/leads/check/{campaign_id}/`: create's own validation,
existing ids, suppression, DND from the cache, the earliest dial time; nothing stored; and
what it says is what then happens when the same body is created and the dialer claims."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from leadline.accounts.models import AuditEntry, IdempotencyRecord, User
from leadline.campaigns.services import campaign_create
from leadline.compliance import dnd
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import DndStatus, NumberCallCounter
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.dialer import services as dialer
from leadline.dialer.tests.conftest import make_rep
from leadline.leads.models import Lead
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import CleanLead

pytestmark = pytest.mark.django_db

FINAL = "Wrong Number"


def url(campaign, verb="check"):
    return f"/api/v4/leads/{verb}/{campaign.public_id}/"


def open_window(campaign):
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start, campaign.window_end = time(0, 0), time.max
    campaign.save()
    return campaign


def lead(lead_id, phone, name="P", **custom):
    return {"lead_id": lead_id, "phone_number": phone, "contact_name": name, **custom}


def test_problems_are_creates_own_and_nothing_is_stored(api, campaign, make_leads):
    make_leads(1, prefix="old")  # old-0
    body = [
        lead("ok", "9876500001"),
        lead("bad-phone", "12345"),
        {"lead_id": "no-name", "phone_number": "9876500002"},
        lead("ok", "9876500003"),  # repeated in the body
        lead("x" * 300, "9876500004"),
        "not an object",
    ]
    before = (
        Lead.objects.count(),
        IdempotencyRecord.objects.count(),
        AuditEntry.objects.count(),
    )
    checked = api.post(url(campaign), body, headers={"Idempotency-Key": "dry-1"})
    assert checked.status_code == 200, checked.content
    results = checked.json()["results"]
    created = api.post(url(campaign, "create"), body)
    assert created.status_code == 400
    # Exactly the problems create reports, item by item.
    assert [e for r in results for e in r["errors"]] == created.json()["errors"]
    assert [r["valid"] for r in results] == [True, False, False, False, False, False]
    assert [r["index"] for r in results] == list(range(6))
    # A valid number gets its outlook even when the item has another problem.
    assert results[2]["dial"] in ("now", "later") and results[2]["dial_at"] is not None
    assert results[1]["dial"] is None and results[1]["suppressed"] is None
    assert results[5]["lead_id"] is None and results[5]["exists"] is None
    assert results[4]["lead_id"] == "x" * 255  # quoted as create quotes it
    # Nothing stored: no lead, no idempotency record, no audit entry (create's 400 adds none).
    assert before == (
        Lead.objects.count(),
        IdempotencyRecord.objects.count(),
        AuditEntry.objects.count(),
    )
    # An id already in the campaign: create's duplicate problem, and `exists`.
    body = [lead("old-0", "9876500005"), lead("new", "9876500006")]
    results = api.post(url(campaign), body).json()["results"]
    assert api.post(url(campaign, "create"), body).json()["errors"] == results[0]["errors"]
    assert [(r["exists"], r["valid"]) for r in results] == [(True, False), (False, True)]
    assert not Lead.objects.filter(lead_id="new").exists()


def test_suppression_and_where(api, business, campaign):
    other = campaign_create(business=business, name="Other")
    suppressions_add(
        business=business,
        items=[
            SuppressionItem("+919876500010"),
            SuppressionItem("+919876500010", campaign=campaign),
            SuppressionItem("+919876500011", campaign=other),
        ],
        source="api",
    )
    results = api.post(url(campaign), [lead("a", "9876500010"), lead("b", "9876500011")]).json()[
        "results"
    ]
    assert results[0]["suppressed"] and results[0]["dial"] == "never"
    assert sorted(results[0]["suppressed_in"]) == sorted(["business", campaign.public_id])
    assert results[0]["outcome"] == "Not Called : Do Not Call"
    assert results[0]["dial_at"] is None
    # Another campaign's list does not concern this campaign.
    assert (results[1]["suppressed"], results[1]["suppressed_in"]) == (False, [])


def test_dnd_from_the_cache_only(api, business, campaign, monkeypatch):
    campaign.category = "promotional"
    open_window(campaign)

    class Exploding:
        name = "exploding"

        def lookup(self, *, campaign, numbers):
            raise AssertionError("the dry run asked a DND source")

    monkeypatch.setattr(dnd, "_sources", [Exploding()])
    now = timezone.now()
    for phone, answer in (("+919876500020", True), ("+919876500021", False)):
        DndStatus.objects.create(
            number_hash=number_hash(phone), dnd=answer, source="test", checked_at=now
        )
    body = [lead("yes", "9876500020"), lead("no", "9876500021"), lead("unknown", "9876500022")]
    results = api.post(url(campaign), body).json()["results"]
    assert [r["dnd"] for r in results] == ["yes", "no", "unknown"]
    assert [r["dial"] for r in results] == ["never", "now", "unknown"]
    assert results[0]["outcome"] == "Not Called : DND"
    assert results[2]["code"] == "dnd_unknown" and results[2]["dial_at"] is None
    assert DndStatus.objects.count() == 2  # nothing looked up, nothing cached
    # Service campaigns are not concerned by DND.
    campaign.category = "service"
    campaign.save()
    assert {r["dnd"] for r in api.post(url(campaign), body).json()["results"]} == {None}


def test_outside_the_window_the_next_opening(api, campaign):
    kolkata = ZoneInfo("Asia/Kolkata")
    today = timezone.now().astimezone(kolkata)
    campaign.window_days = [(today.weekday() + 2) % 7]  # the day after tomorrow, 09:00-21:00
    campaign.save()
    result = api.post(url(campaign), lead("a", "9876500030")).json()["results"][0]
    assert (result["dial"], result["code"]) == ("later", "window")
    opens = datetime.fromisoformat(result["dial_at"]).astimezone(kolkata)
    assert (opens.date(), opens.hour, opens.minute) == (
        today.date() + timedelta(days=2),
        9,
        0,
    )
    assert result["reason"].endswith(f"Not before {opens:%Y-%m-%d} 09:00 IST.")


def call_now(campaign, rep, phone, lead_id):
    lead_create_batch(
        campaign=campaign, leads=[CleanLead(lead_id=lead_id, phone_number=phone, contact_name="P")]
    )
    now = timezone.now()
    held = dialer.lead_claim(rep=rep, now=now)
    assert held is not None and held.lead_id == lead_id
    attempt = dialer.call_place(rep=rep, lead_pk=held.pk, now=now)
    dialer.disposition_submit(
        rep=rep, attempt_uuid=str(attempt.uuid), outcome_label=FINAL, answers={}, now=now
    )


def test_the_dry_run_is_what_then_happens(api, business, campaign):
    """Check a body, create it, let a rep claim: each lead ends as the check said."""
    open_window(campaign)
    elsewhere = open_window(campaign_create(business=business, name="Elsewhere"))
    caller = make_rep(elsewhere, "rep-elsewhere", "+919000000009")
    # The number C is rung three times today (no gap then), B once (with the 2 h gap back).
    business.min_gap_minutes = 0
    business.save()
    for i in range(3):
        call_now(elsewhere, caller, "+919876500043", f"c-{i}")
    business.min_gap_minutes = 120
    business.save()
    call_now(elsewhere, caller, "+919876500042", "b-0")
    suppressions_add(business=business, items=[SuppressionItem("+919876500041")], source="api")
    body = [
        lead("suppressed", "9876500041"),
        lead("gap", "9876500042"),
        lead("capped", "9876500043"),
        lead("fine", "9876500044", city="Pune"),
    ]
    results = api.post(url(campaign), body).json()["results"]
    assert [r["dial"] for r in results] == ["never", "later", "later", "now"]
    assert [r["code"] for r in results][:2] == ["suppressed", "gap"]
    assert results[2]["code"] in ("cap_day", "gap")  # the gap, within 2 h of midnight
    assert api.post(url(campaign, "create"), body).status_code == 201
    rep = make_rep(campaign, "rep-here", "+919000000008")
    claimed = dialer.lead_claim(rep=rep, now=timezone.now())
    assert claimed is not None and claimed.lead_id == "fine"
    leads = {x.lead_id: x for x in Lead.objects.filter(campaign=campaign)}
    suppressed = leads["suppressed"]
    assert (suppressed.status, suppressed.lead_outcome) == ("processed", results[0]["outcome"])
    for result in results[1:3]:
        held = leads[result["lead_id"]]
        assert held.status == "queued" and held.leased_by_id is None
        assert held.wait_reason == result["reason"]
        assert held.due_at.replace(microsecond=0) == datetime.fromisoformat(result["dial_at"])
    # The dashboard's lead page explains the held lead the same way.
    staff = User.objects.create_user(username="priya", role=User.Role.CLIENT, business=business)
    browser = Client()
    browser.force_login(staff)
    page = browser.get(
        f"/voice/dashboard/campaigns/{campaign.public_id}/leads/{leads['gap'].lead_id}/"
    )
    assert page.status_code == 200
    assert results[1]["reason"] in page.content.decode().replace("&#x27;", "'")


def test_another_businesss_campaign_is_404_and_counters_untouched(api, other_campaign):
    response = api.post(url(other_campaign), lead("a", "9876500050"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Campaign not found."}
    assert not NumberCallCounter.objects.exists()


@pytest.mark.parametrize(("raw", "status"), [(b"", 415), (b"[]", 400), (b"{", 400), (b"7", 400)])
def test_malformed_bodies(api, campaign, raw, status):
    assert api.post(url(campaign), raw=raw).status_code == status


def test_documented_in_openapi(client):
    document = client.get("/api/v4/openapi.json").json()
    operation = document["paths"]["/api/v4/leads/check/{campaign_id}/"]["post"]
    assert set(operation["responses"]) == {"200", "400", "403", "404", "413", "415", "429"}
    assert "LeadsChecked" in document["components"]["schemas"]
