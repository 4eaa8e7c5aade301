"""Signing in and out of the dashboard, who may, and the failed-login throttle (django-axes)."""

import pytest
from django.urls import reverse

from leadline.accounts.models import User

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("dashboard:login"), {"username": username, "password": password})


def test_pages_need_a_signed_in_client(client):
    response = client.get("/voice/dashboard/integrations/")
    assert response.status_code == 302
    assert response["Location"].startswith("/voice/dashboard/login/?next=")


def test_htmx_request_after_logout_is_sent_to_login(client):
    response = client.get("/voice/dashboard/campaigns/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/voice/dashboard/login/"


def test_client_signs_in_and_out(client, staff):
    response = login(client, "priya", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:home")
    assert client.get("/voice/dashboard/").status_code == 302
    assert client.get("/voice/dashboard/integrations/").status_code == 200
    response = client.post(reverse("dashboard:logout"))
    assert response.status_code == 302
    assert client.get("/voice/dashboard/integrations/").status_code == 302


def test_wrong_password_is_a_form_error(client, staff):
    response = login(client, "priya", "nope")
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [User.Role.REP, User.Role.OPERATOR])
def test_only_client_staff_may_sign_in(client, business, role):
    User.objects.create_user(username="x", password=PASSWORD, role=role, business=business)
    response = login(client, "x", PASSWORD)
    assert response.status_code == 200
    assert b"for client staff" in response.content
    assert "_auth_user_id" not in client.session


def test_a_rep_session_gets_403_not_the_dashboard(client, business):
    rep = User.objects.create_user(username="r", role=User.Role.REP, business=business)
    client.force_login(rep)
    response = client.get("/voice/dashboard/campaigns/")
    assert response.status_code == 403
    assert b"client staff" in response.content


def test_inactive_business_is_locked_out(staff_client, business):
    business.is_active = False
    business.save()
    assert staff_client.get("/voice/dashboard/campaigns/").status_code == 403


def test_repeated_failures_lock_the_username_from_that_address(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "priya", "wrong").status_code == 200
    locked = login(client, "priya", "wrong")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    # Even the right password is refused during the cool-off ...
    assert login(client, "priya", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # ... from that address; the same user elsewhere is not locked out by someone else's guesses.
    assert (
        client.post(
            reverse("dashboard:login"),
            {"username": "priya", "password": PASSWORD},
            REMOTE_ADDR="10.9.8.7",
        ).status_code
        == 302
    )


def test_forwarded_for_does_not_dodge_the_lockout(client, staff, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("dashboard:login"),
            {"username": "priya", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    assert login(client, "priya", PASSWORD).status_code == 429


def test_a_success_resets_the_count(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "priya", "wrong")
    assert login(client, "priya", PASSWORD).status_code == 302
    client.post(reverse("dashboard:logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "priya", "wrong")
    assert login(client, "priya", PASSWORD).status_code == 302


def test_password_change(staff_client, staff):
    page = staff_client.get(reverse("dashboard:password_change"))
    assert page.status_code == 200
    bad = staff_client.post(
        reverse("dashboard:password_change"),
        {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
    )
    assert bad.status_code == 200
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    good = staff_client.post(
        reverse("dashboard:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-pass-42",
            "new_password2": "a-much-better-pass-42",
        },
    )
    assert good.status_code == 302
    assert good["Location"] == reverse("dashboard:password_change_done")
    staff.refresh_from_db()
    assert staff.check_password("a-much-better-pass-42")
    # The session survives its own password change.
    assert staff_client.get(reverse("dashboard:password_change_done")).status_code == 200


def test_disabled_endpoint_banner(staff_client, business, campaign, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    from leadline.webhooks.models import DISABLED_GONE
    from leadline.webhooks.services import endpoint_create, endpoint_disable

    endpoint = endpoint_create(
        business=business, campaign=campaign, url="http://127.0.0.1:9/hook"
    ).endpoint
    assert b"was disabled" not in staff_client.get("/voice/dashboard/campaigns/").content
    endpoint_disable(endpoint=endpoint, reason=DISABLED_GONE)
    page = staff_client.get("/voice/dashboard/campaigns/").content.decode()
    assert "http://127.0.0.1:9/hook" in page
    assert "410 Gone" in page


@pytest.mark.parametrize("forwarded", ["not-an-ip", "", "1.2.3.4.5"])
def test_a_forged_forwarded_address_never_breaks_login(client, staff, settings, forwarded):
    # Behind one trusted proxy the address comes from X-Forwarded-For; garbage there is
    # stored as "no address" (the column is an IP column on PostgreSQL), never a 500.
    settings.LEADLINE_TRUSTED_PROXY_HOPS = 1
    post = {"username": "priya", "password": "wrong"}
    response = client.post(reverse("dashboard:login"), post, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 200
    post["password"] = PASSWORD
    response = client.post(reverse("dashboard:login"), post, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 302
