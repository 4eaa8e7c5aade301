"""Every page (dashboard, console, admin, API docs) carries the Content-Security-Policy.

The dashboard's and the console's URLs are walked from their urlpatterns, so a page added later
is checked without editing this file; URLs with parameters get ids of the right shape (a 404
page must carry the policy as well as a 200 one).
"""

import uuid

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, reverse

from leadline.accounts.models import User
from leadline.console.urls import urlpatterns as console_urls
from leadline.core.converters import PublicIdConverter, RowIdConverter
from leadline.dashboard.urls import urlpatterns as dashboard_urls

pytestmark = pytest.mark.django_db

STRICT = settings.LEADLINE_CSP
DIRECTIVES = {"default-src 'self'", "frame-ancestors 'none'", "base-uri 'self'"}


def _directives(policy: str) -> set[str]:
    return {part.strip() for part in policy.split(";")}


def _kwargs(pattern: URLPattern, campaign) -> dict:
    values = {}
    for name, converter in pattern.pattern.converters.items():
        if isinstance(converter, PublicIdConverter):
            values[name] = campaign.public_id
        elif isinstance(converter, RowIdConverter):
            values[name] = 1
        else:  # uuid
            values[name] = uuid.uuid4()
    return values


def _urls(namespace: str, patterns, campaign) -> list[str]:
    return [reverse(f"{namespace}:{p.name}", kwargs=_kwargs(p, campaign)) for p in patterns]


def test_the_policy_is_strict():
    assert DIRECTIVES | {"form-action 'self'"} <= _directives(STRICT)
    assert "unsafe-inline" not in STRICT and "unsafe-eval" not in STRICT


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_dashboard_page(client, campaign, signed_in):
    if signed_in:
        staff = User.objects.create_user(
            username="priya", password="pw", role=User.Role.CLIENT, business=campaign.business
        )
        client.force_login(staff)
    urls = _urls("dashboard", dashboard_urls, campaign)
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        assert response["Content-Security-Policy"] == STRICT, (url, response.status_code)


def test_every_console_page(client, campaign):
    rep = User.objects.create_user(
        username="asha",
        password="pw",
        role=User.Role.REP,
        phone_number="+919000000001",
        business=campaign.business,
    )
    campaign.reps.add(rep)
    client.force_login(rep)
    urls = _urls("console", console_urls, campaign)
    assert len(urls) >= 9
    for url in urls:
        response = client.get(url)
        assert response["Content-Security-Policy"] == STRICT, (url, response.status_code)


def test_every_admin_page(client, campaign):
    operator = User.objects.create_superuser("ops", "ops@example.com", "pw")
    anonymous = client.get(reverse("admin:login"))
    assert anonymous.status_code == 200
    assert anonymous["Content-Security-Policy"] == STRICT
    client.force_login(operator)
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    urls.append(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 403), url  # 403: models with no add page
        assert response["Content-Security-Policy"] == STRICT, url


def test_api_docs_have_their_own_policy_and_the_api_the_strict_one(client, token):
    docs = client.get("/api/v4/docs")
    assert docs.status_code == 200
    policy = docs["Content-Security-Policy"]
    assert _directives(policy) >= DIRECTIVES
    # Swagger UI's icons are data: URIs; nothing else is relaxed, and no CDN is allowed.
    assert "img-src 'self' data:" in _directives(policy)
    assert "unsafe" not in policy and "http" not in policy
    # The bundle is self-hosted (Ninja's static copy), so 'self' covers it.
    assert b"cdn" not in docs.content.lower()
    for response in (
        client.get("/api/v4/openapi.json"),
        client.get("/api/v4/leads/get/NOPE/", HTTP_AUTHORIZATION=f"Bearer {token}"),
        client.get("/api/v4/leads/get/NOPE/"),  # the gateway's own 403
    ):
        assert response["Content-Security-Policy"] == STRICT


def test_health_and_static_files(client):
    for url in ("/healthz", "/readyz", "/static/dashboard/dashboard.css"):
        assert client.get(url)["Content-Security-Policy"] == STRICT, url


def test_a_view_keeps_its_own_policy(rf):
    from django.http import HttpResponse

    from leadline.core.middleware import ContentSecurityPolicyMiddleware

    def view(request):
        response = HttpResponse()
        response["Content-Security-Policy"] = "sandbox"
        return response

    response = ContentSecurityPolicyMiddleware(view)(rf.get("/anything"))
    assert response["Content-Security-Policy"] == "sandbox"
