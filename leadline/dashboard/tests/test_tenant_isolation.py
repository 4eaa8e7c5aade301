"""Every dashboard URL that names an object answers 404 to another business, for every method,
and changes nothing: one business cannot reach, or learn of, another's objects.

The table below must name every dashboard URL with parameters; a new URL fails the test until
it is added here, so isolation is checked for pages that do not exist yet.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from leadline.accounts.models import ApiToken
from leadline.accounts.services import api_token_create
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.dashboard.urls import urlpatterns
from leadline.leads.models import ErasureReceipt, Lead, LeadImport
from leadline.leads.services import lead_create_batch
from leadline.leads.validation import clean_new_leads
from leadline.webhooks.models import Delivery, WebhookEndpoint
from leadline.webhooks.services import endpoint_create, endpoint_send_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_business, other_campaign, settings):
    """One of everything, belonging to the other business."""
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    clean, problems = clean_new_leads(
        [{"lead_id": "b-1", "phone_number": "9876543210", "contact_name": "Bea", "city": "Goa"}]
    )
    assert not problems
    lead_create_batch(campaign=other_campaign, leads=clean)
    endpoint = endpoint_create(
        business=other_business, campaign=other_campaign, url="http://127.0.0.1:9/b"
    ).endpoint
    endpoint_send_test(endpoint=endpoint)
    suppressions_add(
        business=other_business, items=[SuppressionItem(phone="+919876543210")], source="api"
    )
    return {
        "campaign_id": other_campaign.public_id,
        "lead": Lead.objects.get(campaign=other_campaign, lead_id="b-1").pk,
        "lead_id": "b-1",
        "token": api_token_create(business=other_business, name="theirs").token.pk,
        "endpoint": endpoint.pk,
        "delivery": Delivery.objects.get(endpoint=endpoint).pk,
        "import": LeadImport.objects.create(
            business=other_business, campaign=other_campaign, original_name="b.csv"
        ).pk,
        "suppression": Suppression.objects.get(business=other_business).pk,
        "receipt": ErasureReceipt.objects.create(
            business=other_business,
            campaign=other_campaign,
            lead_id="b-0",
            requested_at=timezone.now(),
        ).public_id,
    }


# For each URL name: its kwargs, taken from `theirs`.
ARGS = {
    "integrations_token_revoke": {"pk": "token"},
    "integrations_endpoint": {"pk": "endpoint"},
    "integrations_endpoint_edit": {"pk": "endpoint"},
    "integrations_endpoint_disable": {"pk": "endpoint"},
    "integrations_endpoint_enable": {"pk": "endpoint"},
    "integrations_endpoint_secret": {"pk": "endpoint"},
    "integrations_endpoint_rotate": {"pk": "endpoint"},
    "integrations_endpoint_test": {"pk": "endpoint"},
    "integrations_redeliver_failed": {"pk": "endpoint"},
    "integrations_delivery_redeliver": {"pk": "endpoint", "delivery_pk": "delivery"},
    "campaign": {"campaign_id": "campaign_id"},
    "campaign_leads": {"campaign_id": "campaign_id"},
    "campaign_report": {"campaign_id": "campaign_id"},
    "campaign_report_csv": {"campaign_id": "campaign_id"},
    "campaign_lead": {"campaign_id": "campaign_id", "lead_id": "lead_id"},
    "campaign_lead_row": {"campaign_id": "campaign_id", "pk": "lead"},
    "campaign_lead_disable": {"campaign_id": "campaign_id", "pk": "lead"},
    "campaign_lead_convert": {"campaign_id": "campaign_id", "pk": "lead"},
    "campaign_lead_erase": {"campaign_id": "campaign_id", "pk": "lead"},
    "lead_upload": {"campaign_id": "campaign_id"},
    "lead_import": {"campaign_id": "campaign_id", "import_id": "import"},
    "lead_import_valid_rows": {"campaign_id": "campaign_id", "import_id": "import"},
    "lead_import_cancel": {"campaign_id": "campaign_id", "import_id": "import"},
    "lead_import_problems": {"campaign_id": "campaign_id", "import_id": "import"},
    "results_export": {"campaign_id": "campaign_id"},
    "do_not_call_remove": {"suppression_id": "suppression"},
    "erasure": {"receipt_id": "receipt"},
}
# A POST body that would do the most damage if it got through.
POST_DATA = {
    "name": "x",
    "url": "http://127.0.0.1:9/mine",
    "event_types": ["lead.processed"],
    "detail": "STOLEN",
    "confirm": "on",
    "since": "2000-01-01T00:00",
}


def test_the_table_covers_every_url_with_parameters():
    with_params = {p.name for p in urlpatterns if p.pattern.converters}
    assert with_params == set(ARGS)


def snapshot(theirs):
    return (
        list(Lead.objects.filter(pk=theirs["lead"]).values()),
        list(ApiToken.objects.filter(pk=theirs["token"]).values()),
        list(WebhookEndpoint.objects.filter(pk=theirs["endpoint"]).values()),
        list(Delivery.objects.filter(pk=theirs["delivery"]).values()),
        list(LeadImport.objects.filter(pk=theirs["import"]).values()),
        list(Suppression.objects.filter(pk=theirs["suppression"]).values()),
    )


@pytest.mark.parametrize("name", sorted(ARGS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_business_gets_404_and_changes_nothing(staff_client, theirs, name, method):
    before = snapshot(theirs)
    url = reverse(f"dashboard:{name}", kwargs={k: theirs[v] for k, v in ARGS[name].items()})
    if method == "get":
        response = staff_client.get(url)
    else:
        response = staff_client.post(url, POST_DATA)
    # 405 is allowed only where the method itself is refused before any lookup (it reveals
    # nothing); everything else must look exactly like an object that does not exist.
    assert response.status_code in (404, 405), (url, response.status_code)
    assert snapshot(theirs) == before
    assert b"Bea" not in response.content and b"9876543210" not in response.content


def test_own_campaign_with_their_object_ids_is_404(staff_client, campaign, theirs, staff):
    mine = endpoint_create(business=campaign.business, url="http://127.0.0.1:9/a").endpoint
    urls = [
        reverse("dashboard:campaign_lead", args=[campaign.public_id, theirs["lead_id"]]),
        reverse("dashboard:campaign_lead_row", args=[campaign.public_id, theirs["lead"]]),
        reverse("dashboard:lead_import", args=[campaign.public_id, theirs["import"]]),
        reverse("dashboard:lead_import_problems", args=[campaign.public_id, theirs["import"]]),
    ]
    for url in urls:
        assert staff_client.get(url).status_code == 404, url
    redeliver = reverse(
        "dashboard:integrations_delivery_redeliver", args=[mine.pk, theirs["delivery"]]
    )
    assert staff_client.post(redeliver).status_code == 404
