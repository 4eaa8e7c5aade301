"""The audit trail from the dashboard: each action's entry, the page's filters, paging and CSV,
the dialer's masking audit (claims, calls, plays) and other businesses' entries kept out."""

import csv
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leadline.accounts import audit
from leadline.accounts.models import ApiToken, AuditEntry
from leadline.accounts.services import api_token_create
from leadline.leads.models import Lead
from leadline.webhooks import services as webhook_services

from . import dialing
from .dialing import OBJECTIVE, process_next

pytestmark = pytest.mark.django_db
rep = dialing.rep

PUBLIC_URL = "https://93.184.216.34/hooks/leadline"


def url(name, *args):
    return reverse(f"dashboard:{name}", args=args)


def actions(**filters):
    return list(
        AuditEntry.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


def lead_url(campaign, lead, rest=""):
    if rest:
        return url("campaign_lead_row", campaign.public_id, lead.pk) + rest
    return url("campaign_lead", campaign.public_id, lead.lead_id)


@pytest.fixture(autouse=True)
def _settings(settings, media):
    settings.LEADLINE_EXPORTS_PER_MINUTE = 1000


@pytest.fixture
def endpoint(business, campaign):
    return webhook_services.endpoint_create(
        business=business, url=PUBLIC_URL, campaign=campaign
    ).endpoint


def test_integrations_actions_are_recorded_without_secrets(staff_client, staff, business, endpoint):
    created = staff_client.post(url("integrations_token_create"), {"name": "CRM sync"})
    assert created.status_code == 201
    token = ApiToken.objects.get(name="CRM sync")
    secret = re.search(rb"ll_[0-9a-f]{8}_[A-Za-z0-9_\-]+", created.content)[0].decode()
    staff_client.post(url("integrations_token_revoke", token.pk))
    staff_client.post(url("integrations_endpoint_secret", endpoint.pk))
    staff_client.post(url("integrations_endpoint_rotate", endpoint.pk))
    staff_client.post(url("integrations_endpoint_disable", endpoint.pk))
    staff_client.post(url("integrations_endpoint_enable", endpoint.pk))
    assert actions() == [
        "token.create",
        "token.revoke",
        "webhook.secret_reveal",
        "webhook.secret_rotate",
        "webhook.disable",
        "webhook.enable",
    ]
    entries = list(AuditEntry.objects.order_by("id"))
    assert {(e.actor_kind, e.actor_label, e.business_id) for e in entries} == {
        ("user", "priya", business.pk)
    }
    assert entries[0].target == f"ll_{token.prefix[:4]}…"
    dumped = str([(e.target, e.details, e.lead_ids) for e in entries])
    assert secret not in dumped and "whsec_" not in dumped


def test_lead_actions_are_recorded_with_the_lead_id(staff_client, campaign, make_leads):
    make_leads(3)
    AuditEntry.objects.all().delete()  # the API's leads.create
    lead0, lead1, lead2 = (Lead.objects.get(lead_id=f"lead-{i}") for i in range(3))
    assert staff_client.get(lead_url(campaign, lead0)).status_code == 200
    staff_client.post(lead_url(campaign, lead0, "disable/"))
    staff_client.post(lead_url(campaign, lead1, "convert/"), {"detail": "sold"})
    staff_client.post(lead_url(campaign, lead2, "erase/"), {"confirm": "on"})
    assert Lead.objects.get(pk=lead2.pk).erased_at is not None
    got = [(e.action, e.lead_ids) for e in AuditEntry.objects.order_by("id")]
    assert got == [
        ("lead.view", "\nlead-0\n"),
        ("lead.disable", "\nlead-0\n"),
        ("lead.convert", "\nlead-1\n"),
        ("lead.erase", "\nlead-2\n"),
    ]
    # Erasure keeps the entries (only the lead_id, never personal data): the receipt counts them.
    assert audit.audit_entries_for_lead_count(business=campaign.business, lead_id="lead-2") == 1


def test_upload_and_export_are_recorded(staff_client, campaign):
    body = b"lead_id,phone_number,contact_name\nu-1,9876500001,Meera\n"
    upload = SimpleUploadedFile("leads.csv", body, content_type="text/csv")
    assert (
        staff_client.post(url("lead_upload", campaign.public_id), {"file": upload}).status_code
        == 302
    )
    export = staff_client.get(url("results_export", campaign.public_id))
    b"".join(export.streaming_content)
    assert actions() == ["leads.upload", "leads.export"]
    assert AuditEntry.objects.get(action="leads.export").target == campaign.public_id


def test_claims_calls_and_plays_record_which_rep_held_the_lead(
    staff_client,
    client,
    campaign,
    make_leads,
    rep,
    answered_calls,
):
    make_leads(1)
    result = process_next(rep, OBJECTIVE)
    held = AuditEntry.objects.get(action="lead.held")
    placed = AuditEntry.objects.get(action="call.placed")
    for entry in (held, placed):
        assert (entry.actor_kind, entry.actor_label) == ("rep", rep.username)
        assert entry.lead_ids == "\nlead-0\n" and entry.business == campaign.business
    assert placed.target.endswith(f"call #{result.attempt.pk}")
    assert "9000000001" not in str(placed.details) + placed.target  # the rep's own number

    page = staff_client.get(lead_url(campaign, result.lead)).content.decode()
    src = re.search(r'<audio controls preload="metadata" src="([^"]+)"', page)[1].replace(
        "&amp;", "&"
    )
    parts = urlsplit(src)
    signed = f"{parts.path}?{parts.query}"
    assert staff_client.get(signed, HTTP_RANGE="bytes=0-").status_code == 206
    assert staff_client.get(signed, HTTP_RANGE="bytes=100-199").status_code == 206  # a seek
    client.logout()
    assert client.get(signed).status_code == 200  # the link from the client's CRM
    plays = AuditEntry.objects.filter(action="recording.play").order_by("id")
    assert [(p.actor_kind, p.lead_ids) for p in plays] == [
        ("user", "\nlead-0\n"),
        ("link", "\nlead-0\n"),
    ]


def test_audit_page_filters_pages_and_exports(staff_client, staff, business):
    now = timezone.now()
    token = api_token_create(business=business, name="t").token
    for i in range(5):
        audit.audit_record(
            action="leads.create",
            actor=audit.actor_for_token(token),
            business=business,
            target="ABC123",
            lead_ids=[f"L{i}", "common"],
            at=now - timedelta(hours=i),
        )
    audit.audit_record(
        action="lead.view",
        actor=audit.actor_for_user(staff),
        business=business,
        lead_ids=["L1"],
        at=now - timedelta(days=3),
    )
    page = staff_client.get(url("audit"))
    assert page.status_code == 200
    assert page.content.decode().count("<tr data-pk=") == 6
    assert (
        'href="/voice/dashboard/audit/"'
        in staff_client.get(url("home"), follow=True).content.decode()
    )

    def rows(**params):
        response = staff_client.get(url("audit"), params)
        assert response.status_code == 200
        return response.content.decode().count("<tr data-pk=")

    assert rows(lead_id="L1") == 2
    assert rows(lead_id="common") == 5
    assert rows(action="lead.") == 1
    assert rows(actor="priya") == 1
    assert rows(actor=f"ll_{token.prefix[:4]}") == 5
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert rows(since=since) == 5
    assert staff_client.get(url("audit"), {"since": "tomorrow"}).status_code == 400
    assert staff_client.get(url("audit"), {"before": "x"}).status_code == 400
    assert staff_client.get(url("audit"), {"lead_id": "a\x00b"}).status_code == 400

    first = audit.audit_entries_page(business=business, filters=audit.AuditFilters(), size=4)
    second = audit.audit_entries_page(
        business=business, filters=audit.AuditFilters(), size=4, before=first.next_before
    )
    assert len(first.entries) == 4 and len(second.entries) == 2 and second.next_before is None
    assert not {e.pk for e in first.entries} & {e.pk for e in second.entries}

    export = staff_client.get(url("audit_export"), {"lead_id": "L1"})
    assert export["Content-Type"].startswith("text/csv")
    data = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert data[0][:4] == ["time", "actor_kind", "actor", "action"]
    assert sorted(row[3] for row in data[1:]) == ["lead.view", "leads.create"]
    assert AuditEntry.objects.filter(action="audit.export").exists()


def test_export_cells_are_spreadsheet_safe(staff_client, business):
    audit.audit_record(action="x", actor=audit.SYSTEM, business=business, target="=HYPERLINK(1)")
    export = staff_client.get(url("audit_export"))
    text = b"".join(export.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_other_businesses_entries_are_invisible(
    staff_client, other_staff_client, business, other_business
):
    audit.audit_record(
        action="secret.theirs", actor=audit.SYSTEM, business=other_business, lead_ids=["X"]
    )
    audit.audit_record(action="ours", actor=audit.SYSTEM, business=business, lead_ids=["X"])
    audit.audit_record(action="platform", actor=audit.SYSTEM, business=None, lead_ids=["X"])
    page = staff_client.get(url("audit"), {"lead_id": "X"}).content.decode()
    assert "ours" in page and "secret.theirs" not in page and "platform" not in page
    export = b"".join(staff_client.get(url("audit_export")).streaming_content).decode()
    assert "secret.theirs" not in export and "platform" not in export
    assert "secret.theirs" in other_staff_client.get(url("audit")).content.decode()
    assert audit.audit_entries_for_lead_count(business=business, lead_id="X") == 1
