"""The event admin shows payloads with the lead's number masked, as the lead admin hides it."""

import html
import re
import unicodedata

import pytest
from django.utils import timezone

from leadline.leads.models import Lead
from leadline.webhooks.models import Event

pytestmark = pytest.mark.django_db

NUMBER = "+919876500001"
# The national digits with anything but letters and digits between them.
SCAN = re.compile(r"[\W_]*".join("9876500001"))


def shown(page: bytes) -> str:
    """The page as read: entities decoded, NFKC, ASCII digits, no invisible characters."""
    text = unicodedata.normalize("NFKC", html.unescape(page.decode()))
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return "".join(str(unicodedata.decimal(c, "")) or c for c in text)


@pytest.fixture
def event(campaign):
    now = timezone.now()
    lead = Lead.objects.create(
        campaign=campaign,
        lead_id="evt-lead",
        phone_number=NUMBER,
        contact_name="Meera",
        created_at=now,
        updated_at=now,
        position=1,
    )
    return Event.objects.create(
        business=campaign.business,
        campaign=campaign,
        lead=lead,
        type=Event.Type.LEAD_PROCESSED,
        payload={
            "lead_id": "evt-lead",
            "phone_number": NUMBER,
            "contact_name": "Meera (98765\u2013 00001)",
            "custom_fields": {"alt": ["home", "0 98765-00001"], "policy": "POL-7788990011"},
            "processed_at": "2026-12-06T02:50:14Z",
        },
    )


def test_event_pages_mask_the_lead_s_number(client, operator, event):
    pages = {
        "list": client.get("/admin/webhooks/event/"),
        "search": client.get("/admin/webhooks/event/", {"q": event.campaign.public_id}),
        "filtered": client.get("/admin/webhooks/event/", {"type__exact": "lead.processed"}),
        "change": client.get(f"/admin/webhooks/event/{event.pk}/change/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert not SCAN.findall(shown(response.content)), name
    change = shown(pages["change"].content)
    # The payload is still there for operators, with only the number masked.
    assert '"phone_number": "+91 98XXX XXX01"' in change
    assert "Meera (+91 98XXX XXX01)" in change
    assert "POL-7788990011" in change and "2026-12-06T02:50:14Z" in change
    assert f"/admin/webhooks/event/{event.pk}/change/" in shown(pages["list"].content)


def test_delivery_page_masks_numbers_a_receiver_echoed(client, operator, campaign, settings):
    from leadline.webhooks import services as webhook_services
    from leadline.webhooks.models import Delivery, DeliveryAttempt, Event

    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True  # no DNS here; the URL is never called
    endpoint = webhook_services.endpoint_create(
        business=campaign.business, url="https://127.0.0.1:9/echo", campaign=campaign
    ).endpoint
    event = Event.objects.create(
        business=campaign.business, campaign=campaign, type="lead.processed", payload={}
    )
    delivery = Delivery.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=timezone.now()
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=timezone.now(),
        status_code=200,
        latency_ms=3,
        response_excerpt='{"echo": {"phone_number": "+919812345610"}}',
    )
    response = client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert response.status_code == 200
    page = shown(response.content)
    assert "9812345610" not in page and "XXX" in page
