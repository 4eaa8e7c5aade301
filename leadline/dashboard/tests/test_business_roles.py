"""Business roles on the dashboard: every URL, GET and POST, as a viewer, a manager and an owner.

`EXPECTED` below is the rule in test form (the lowest role for GET and for POST, and the
methods the page serves) and must name every dashboard URL: a new page fails
`test_the_table_covers_every_dashboard_url` until it is added, so its permission is decided,
not forgotten. A refusal is the dashboard's 403 page and changes nothing; the buttons and
links a role sees lead only to what it may do.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from leadline.accounts.models import ApiToken, User
from leadline.accounts.services import api_token_create
from leadline.compliance.models import Suppression
from leadline.leads.models import ErasureReceipt, ExportRun, Lead, LeadImport
from leadline.webhooks.models import Delivery, Event, WebhookEndpoint
from tests.test_hostile_forms import FormParser, url_patterns

pytestmark = pytest.mark.django_db

V, M, O = "viewer", "manager", "owner"  # noqa: E741 - the roles, as the table reads
RANK = {V: 0, M: 1, O: 2}
GET, POST = "GET", "POST"

# URL name -> (lowest role for GET, lowest role for POST, the methods the view serves).
# For a POST-only view the GET role is the POST one: the role is checked before the method.
EXPECTED: dict[str, tuple[str, str, set[str]]] = {
    "home": (V, V, {GET}),
    "integrations": (V, V, {GET}),
    "integrations_token_create": (O, O, {POST}),
    "integrations_token_revoke": (O, O, {GET, POST}),
    "integrations_endpoint_create": (O, O, {GET, POST}),
    "integrations_endpoint": (V, V, {GET}),
    "integrations_endpoint_edit": (O, O, {GET, POST}),
    "integrations_endpoint_disable": (M, M, {POST}),
    "integrations_endpoint_enable": (M, M, {POST}),
    "integrations_endpoint_secret": (O, O, {POST}),
    "integrations_endpoint_rotate": (O, O, {POST}),
    "integrations_endpoint_test": (M, M, {POST}),
    "integrations_redeliver_failed": (M, M, {POST}),
    "integrations_delivery_redeliver": (M, M, {POST}),
    "campaigns": (V, V, {GET}),
    "campaign": (V, V, {GET}),
    "campaign_leads": (V, V, {GET}),
    "campaign_report": (V, V, {GET}),
    "campaign_report_csv": (V, V, {GET}),
    "campaign_lead": (V, V, {GET}),
    "campaign_lead_row": (V, V, {GET}),
    "campaign_lead_disable": (M, M, {POST}),
    "campaign_lead_convert": (M, M, {POST}),
    "campaign_lead_erase": (O, O, {GET, POST}),
    "lead_upload": (V, M, {GET, POST}),
    "lead_import": (V, V, {GET}),
    "lead_import_valid_rows": (M, M, {POST}),
    "lead_import_cancel": (M, M, {POST}),
    "lead_import_problems": (V, V, {GET}),
    "results_export": (M, M, {GET}),
    "do_not_call": (V, V, {GET}),
    "do_not_call_search": (V, V, {POST}),
    "do_not_call_add": (M, M, {POST}),
    "do_not_call_upload": (M, M, {POST}),
    "do_not_call_remove": (V, O, {GET, POST}),
    "audit": (O, O, {GET}),
    "audit_export": (O, O, {GET}),
    "erasures": (O, O, {GET}),
    "erasure": (O, O, {GET}),
}
# Forms that POST only to keep a number out of the URL (a search): reading, open to viewers.
READ_ONLY_POSTS = {"do_not_call_search"}
# About the person signed in, not the business's data: every role.
ACCOUNT_PAGES = {"login", "logout", "password_change", "password_change_done"}

# A POST body that would change the most if it got through (each view reads its own fields).
POST_DATA = {
    "name": "x",
    "url": "https://93.184.216.34/hooks/other",
    "event_types": ["lead.processed"],
    "detail": "CHANGED",
    "confirm": "on",
    "since": "2000-01-01T00:00",
}
CSV = b"lead_id,phone_number,contact_name\nu-1,9876500999,Uma\nu-2,123,Bad\n"


def allowed(role: str, name: str, method: str) -> bool:
    get_role, post_role, _ = EXPECTED[name]
    return RANK[role] >= RANK[get_role if method == GET else post_role]


@pytest.fixture
def world(business, campaign, make_leads):
    from leadline.webhooks import services as webhook_services

    make_leads(3)
    leads = list(Lead.objects.filter(campaign=campaign).order_by("pk"))
    endpoint = webhook_services.endpoint_create(
        business=business, url="https://93.184.216.34/hooks/in", campaign=campaign
    ).endpoint
    event = Event.objects.create(
        business=business, campaign=campaign, type="lead.processed", payload={}
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        next_attempt_at=timezone.now(),
        status=Delivery.Status.FAILED,
        attempts_count=1,
    )
    token = api_token_create(business=business, name="ci").token
    users = {
        role: User.objects.create_user(
            username=f"role-{role}",
            password="role-password-1",
            role=User.Role.CLIENT,
            business=business,
            business_role=role,
        )
        for role in (V, M, O)
    }
    lead_import = LeadImport.objects.create(
        business=business,
        campaign=campaign,
        uploaded_by=users[O],
        original_name="x.csv",
        status=LeadImport.Status.NEEDS_DECISION,
        total_rows=2,
        valid_rows=1,
        error_rows=1,
    )
    suppression = Suppression.objects.create(
        business=business, number_hash="0" * 64, reason="asked", source="dashboard"
    )
    # A receipt as an earlier erasure left it (erasing one here would change the leads).
    receipt = ErasureReceipt.objects.create(
        business=business, campaign=campaign, lead_id="gone-1", requested_at=timezone.now()
    )
    return {
        "users": users,
        "business": business,
        "kwargs": {
            "suppression_id": suppression.pk,
            "campaign_id": campaign.public_id,
            "lead": leads[0].pk,
            "lead_id": leads[0].lead_id,
            "token": token.pk,
            "endpoint": endpoint.pk,
            "delivery_pk": delivery.pk,
            "import_id": lead_import.pk,
            "receipt_id": receipt.public_id,
        },
    }


def urls(world) -> dict[str, str]:
    """Every dashboard URL name with its URL, parameters filled from `world`."""
    out = {}
    for pattern in url_patterns("dashboard"):
        kwargs = {}
        for param in pattern.pattern.converters:
            if param == "pk":
                name = pattern.name or ""
                key = (
                    "token" if "token" in name else "endpoint" if "integrations" in name else "lead"
                )
                kwargs[param] = world["kwargs"][key]
            else:
                kwargs[param] = world["kwargs"][param]
        out[pattern.name] = reverse(f"dashboard:{pattern.name}", kwargs=kwargs)
    return out


def snapshot(business) -> tuple:
    return (
        list(Lead.objects.filter(campaign__business=business).order_by("pk").values()),
        list(ApiToken.objects.filter(business=business).order_by("pk").values()),
        list(WebhookEndpoint.objects.filter(business=business).order_by("pk").values()),
        list(Delivery.objects.filter(endpoint__business=business).order_by("pk").values()),
        list(LeadImport.objects.filter(business=business).order_by("pk").values()),
        list(Suppression.objects.filter(business=business).order_by("pk").values()),
        Event.objects.filter(business=business).count(),
        ExportRun.objects.count(),
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, method: str, url: str):
    if method == GET:
        return client.get(url)
    upload = SimpleUploadedFile("leads.csv", CSV, content_type="text/csv")
    return client.post(url, {**POST_DATA, "file": upload})


def assert_refused(response, url):
    assert response.status_code == 403, (url, response.status_code)
    assert b"does not allow this" in response.content, url
    assert b"Nothing was changed" in response.content


def test_the_table_covers_every_dashboard_url():
    names = {p.name for p in url_patterns("dashboard")}
    assert names == set(EXPECTED) | ACCOUNT_PAGES


def test_every_business_view_declares_its_permission():
    """The decorator is on every view (a page without one would let a viewer post)."""
    for pattern in url_patterns("dashboard"):
        if pattern.name in ACCOUNT_PAGES:
            continue
        assert hasattr(pattern.callback, "business_permissions"), pattern.name


@pytest.mark.parametrize("role", [V, M, O])
@pytest.mark.parametrize("method", [GET, POST])
def test_every_url_as_each_role(world, role, method, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    client = client_for(world["users"][role])
    for name, url in urls(world).items():
        if name in ACCOUNT_PAGES:
            continue
        before = snapshot(world["business"])
        response = send(client, method, url)
        if not allowed(role, name, method):
            assert_refused(response, f"{method} {url} as {role}")
            assert snapshot(world["business"]) == before, f"{method} {url} as {role} changed data"
        elif method not in EXPECTED[name][2]:
            assert response.status_code == 405, (method, url, role, response.status_code)
        else:
            assert response.status_code not in (403, 405), (method, url, role)
            assert response.status_code < 500, (method, url, role)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)  # an export ends its run when read


def _post_forms(client: Client, urls_by_name: dict[str, str]):
    """(page, form) for every POST form on every page `client` can GET."""
    for name, url in urls_by_name.items():
        if name in ACCOUNT_PAGES or GET not in EXPECTED[name][2]:
            continue
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = FormParser(url)
        parser.feed(response.content.decode())
        yield url, response, [f for f in parser.forms if f.method == "post"]


def test_viewer_posting_every_form_an_owner_sees_is_refused(world, settings):
    """Each form from the owner's pages, posted back as filled by a viewer: 403, no change."""
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    owner, viewer = client_for(world["users"][O]), client_for(world["users"][V])
    posted = 0
    for page, _, forms in _post_forms(owner, urls(world)):
        for form in forms:
            name = resolve(form.action).url_name
            if name in ACCOUNT_PAGES or name in READ_ONLY_POSTS:
                continue
            data: dict[str, list[str]] = {}
            for field, value in form.fields:
                data.setdefault(field, []).append(value)
            before = snapshot(world["business"])
            response = viewer.post(form.action, data)
            assert_refused(response, f"{form.action} from {page}")
            assert snapshot(world["business"]) == before
            posted += 1
    # Tokens, the endpoint's actions, the lead's actions, the upload and the import decision.
    assert posted >= 12, posted


HREF = re.compile(r'href="(/voice/dashboard/[^"?#]*)')


@pytest.mark.parametrize("role", [V, M, O])
def test_pages_offer_only_what_the_role_may_do(world, role):
    """No button (a POST form) or link on any page a role sees leads to a refusal."""
    client = client_for(world["users"][role])
    offered: set[tuple[str, str]] = set()
    for _, response, forms in _post_forms(client, urls(world)):
        for form in forms:
            offered.add((POST, resolve(form.action).url_name))
        for href in HREF.findall(response.content.decode()):
            offered.add((GET, resolve(href).url_name))
    refused = {
        (method, name)
        for method, name in offered
        if name not in ACCOUNT_PAGES and not allowed(role, name, method)
    }
    assert not refused, refused
    if role == O:  # the owner is offered everything dangerous, so the test above means something
        names = {name for _, name in offered}
        assert {
            "integrations_token_create",
            "integrations_endpoint_secret",
            "integrations_endpoint_rotate",
            "campaign_lead_erase",
            "lead_import_valid_rows",
            "results_export",
        } <= names


def test_viewer_can_change_their_own_password(world):
    client = client_for(world["users"][V])
    response = client.post(
        reverse("dashboard:password_change"),
        {
            "old_password": "role-password-1",
            "new_password1": "a-new-passphrase-42",
            "new_password2": "a-new-passphrase-42",
        },
    )
    assert response.status_code == 302
    world["users"][V].refresh_from_db()
    assert world["users"][V].check_password("a-new-passphrase-42")


def test_a_refused_htmx_poll_is_the_forbidden_page_not_a_redirect(world):
    client = client_for(world["users"][V])
    url = urls(world)["integrations_endpoint_secret"]
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
