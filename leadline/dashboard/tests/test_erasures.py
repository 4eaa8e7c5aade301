"""The erasure receipts pages: the list and one receipt, owners only, no personal data."""

import pytest
from django.test import Client
from django.urls import reverse

from leadline.accounts.models import AuditEntry, User
from leadline.compliance.models import Suppression
from leadline.dashboard.erasures import views
from leadline.leads import services as lead_services
from leadline.leads.hooks import ERASURE_COUNTS
from leadline.leads.models import ErasureReceipt, Lead
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import clean_new_leads

pytestmark = pytest.mark.django_db


def lead_url(campaign, lead, action=""):
    return (
        reverse(
            "dashboard:campaign_lead_row",
            kwargs={"campaign_id": campaign.public_id, "pk": lead.pk},
        )
        + action
    )


def client_with(business, role):
    user = User.objects.create_user(
        username=f"u-{role}",
        password="role-password-1",
        role=User.Role.CLIENT,
        business=business,
        business_role=role,
    )
    client = Client()
    client.force_login(user)
    return client


def test_an_erasure_from_the_dashboard_shows_on_the_owners_pages(
    staff_client, campaign, make_leads
):
    make_leads(2, city="Pune")
    lead = Lead.objects.get(lead_id="lead-1")
    response = staff_client.post(lead_url(campaign, lead, "erase/"), {"confirm": "on"})
    assert response.status_code == 302
    receipt = ErasureReceipt.objects.get()
    listing = staff_client.get(reverse("dashboard:erasures"))
    assert listing.status_code == 200
    page = listing.content.decode()
    detail_url = reverse("dashboard:erasure", kwargs={"receipt_id": receipt.public_id})
    assert detail_url in page
    assert "lead-1" in page and "Pending" in page
    # The nav offers the page to the owner.
    assert f'href="{reverse("dashboard:erasures")}"' in page

    detail = staff_client.get(detail_url)
    assert detail.status_code == 200
    text = detail.content.decode()
    assert str(receipt.public_id) in text
    assert "Call attempts&#x27; captured answers" in text
    assert "custom_fields" in text  # the city was wiped
    assert "Not added." in text
    # Nothing personal: not the number, not the name, not the custom field's value.
    for personal in ("9876500001", "Person 1", "Pune"):
        assert personal not in page and personal not in text

    lead_services.erasure_receipts_complete()
    assert "Complete" in staff_client.get(detail_url).content.decode()


def test_suppressed_and_paged(staff_client, campaign, make_leads, monkeypatch):
    make_leads(3)
    for lead_id in ("lead-0", "lead-1", "lead-2"):
        lead_services.lead_erase(campaign=campaign, lead_id=lead_id, suppress=lead_id == "lead-2")
    newest = ErasureReceipt.objects.get(lead_id="lead-2")
    detail = staff_client.get(reverse("dashboard:erasure", kwargs={"receipt_id": newest.public_id}))
    assert "The number was added" in detail.content.decode()
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = staff_client.get(reverse("dashboard:erasures")).content.decode()
    assert "lead-2" in first and "lead-1" in first and "lead-0" not in first
    older = ErasureReceipt.objects.get(lead_id="lead-1").pk
    assert f"?before={older}" in first
    second = staff_client.get(reverse("dashboard:erasures"), {"before": older})
    assert "lead-0" in second.content.decode() and "lead-1" not in second.content.decode()
    assert staff_client.get(reverse("dashboard:erasures"), {"before": "x"}).status_code == 400


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_managers_and_viewers_are_refused_and_not_offered_the_page(
    business, campaign, make_leads, role
):
    make_leads(1)
    receipt = lead_services.lead_erase(campaign=campaign, lead_id="lead-0")
    client = client_with(business, role)
    for url in (
        reverse("dashboard:erasures"),
        reverse("dashboard:erasure", kwargs={"receipt_id": receipt.public_id}),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert b"lead-0" not in response.content
    home = client.get(reverse("dashboard:campaigns")).content.decode()
    assert reverse("dashboard:erasures") not in home


def test_another_business_receipt_is_a_404(staff_client, other_campaign):
    clean, _ = clean_new_leads(
        [{"lead_id": "b-1", "phone_number": "9876543210", "contact_name": "B"}]
    )
    lead_create_batch(campaign=other_campaign, leads=clean)
    theirs = lead_services.lead_erase(campaign=other_campaign, lead_id="b-1")
    url = reverse("dashboard:erasure", kwargs={"receipt_id": theirs.public_id})
    assert staff_client.get(url).status_code == 404
    assert b"b-1" not in staff_client.get(reverse("dashboard:erasures")).content


def test_every_count_has_a_label():
    assert tuple(views.COUNT_LABELS) == ERASURE_COUNTS


def test_the_erase_form_can_list_the_number(staff_client, campaign, make_leads):
    make_leads(1)
    lead = Lead.objects.get(lead_id="lead-0")
    form = staff_client.get(lead_url(campaign, lead, "erase/")).content.decode()
    assert 'name="suppress"' in form
    response = staff_client.post(
        lead_url(campaign, lead, "erase/"), {"confirm": "on", "suppress": "on"}
    )
    assert response.status_code == 302
    assert ErasureReceipt.objects.get().suppressed is True
    entry = Suppression.objects.get(business=campaign.business)
    assert (entry.source, entry.campaign_id) == (Suppression.Source.ERASURE, None)
    assert AuditEntry.objects.get(action="lead.erase").details == {"suppress": True}
