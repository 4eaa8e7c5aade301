"""Sign-in sessions last a working day in an HttpOnly, SameSite=Lax cookie; the admin's URL
follows LEADLINE_ADMIN_PATH."""

import importlib
import os
import subprocess
import sys

import pytest
from django.test import override_settings
from django.urls import clear_url_caches, reverse

from conftest import ROOT
from leadline.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "login, role",
    [("/voice/dashboard/login/", User.Role.CLIENT), ("/console/login/", User.Role.REP)],
)
def test_a_sign_in_lasts_eight_hours(client, business, login, role):
    User.objects.create_user(
        username="u1",
        password="pw-123456",
        role=role,
        business=business,
        phone_number="+919000000001",
    )
    response = client.post(login, {"username": "u1", "password": "pw-123456"})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == 8 * 3600
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def _reload_urls():
    import config.urls

    importlib.reload(config.urls)
    clear_url_caches()


def test_the_admin_moves_with_its_setting(client):
    operator = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(operator)
    try:
        with override_settings(LEADLINE_ADMIN_PATH="ops-7f3k/"):
            _reload_urls()
            assert reverse("admin:index") == "/ops-7f3k/"
            assert client.get("/ops-7f3k/").status_code == 200
            assert client.get("/ops-7f3k/accounts/user/").status_code == 200
            assert client.get("/admin/").status_code == 404
    finally:
        _reload_urls()
    assert reverse("admin:index") == "/admin/"


@pytest.mark.parametrize("value, path", [("/ops/", "ops/"), ("ops", "ops/"), ("a/b", "a/b/")])
def test_the_admin_path_is_normalised(value, path):
    env = {
        **os.environ,
        "LEADLINE_ADMIN_PATH": value,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    code = "from django.conf import settings; print(settings.LEADLINE_ADMIN_PATH)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == path
