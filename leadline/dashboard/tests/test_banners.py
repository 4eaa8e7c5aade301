"""The disabled-webhook banner: endpoint URLs are for the business's own client staff only."""

import pytest
from django.urls import reverse

from leadline.accounts.models import User
from leadline.webhooks import services as webhook_services
from leadline.webhooks.models import DISABLED_FAILING, WebhookEndpoint

pytestmark = pytest.mark.django_db

HOOK_URL = "https://93.184.216.34/hooks/banner-secret-path"  # an IP literal: no DNS lookup


@pytest.fixture
def disabled_endpoint(business):
    endpoint = webhook_services.endpoint_create(business=business, url=HOOK_URL).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason=DISABLED_FAILING
    )
    return endpoint


def _pages(client, *extra: str) -> list[bytes]:
    paths = [reverse("dashboard:home"), reverse("dashboard:integrations"), *extra]
    return [client.get(path, follow=True).content for path in paths]


def test_client_staff_of_an_active_business_see_the_banner(client, business, disabled_endpoint):
    staff = User.objects.create_user(username="priya", role=User.Role.CLIENT, business=business)
    client.force_login(staff)
    assert all(HOOK_URL.encode() in page for page in _pages(client))


@pytest.mark.parametrize("who", ["rep", "operator", "client of a suspended business"])
def test_nobody_else_signed_in_sees_endpoint_urls(client, business, disabled_endpoint, who):
    role = {"rep": User.Role.REP, "operator": User.Role.OPERATOR}.get(who, User.Role.CLIENT)
    user = User.objects.create_user(username="someone", role=role, business=business)
    if who.startswith("client"):
        business.is_active = False
        business.save(update_fields=["is_active"])
    client.force_login(user)
    pages = _pages(client, reverse("dashboard:login"), "/voice/dashboard/no-such-page/")
    assert pages and all(page for page in pages)  # the pages rendered something
    assert not [page for page in pages if HOOK_URL.encode() in page]
    assert not [page for page in pages if DISABLED_FAILING.encode() in page]
