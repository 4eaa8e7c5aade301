"""Failed sign-in limits: a username from one address (axes), one address across usernames,
one username across addresses (accounts.lockout), their lockout page and the reset commands."""

import io
import re

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse

from leadline.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "quartz-meadow-lantern-8"
HOME = "10.1.1.1"
ADDRESS_PAUSED = b"paused for every username from your address"
USERNAME_PAUSED = b"paused for this username from every address"


@pytest.fixture
def priya(business):
    return User.objects.create_user(
        username="priya", password=PASSWORD, role=User.Role.CLIENT, business=business
    )


def login(client, username, password, address=HOME, url=None):
    return client.post(
        url or reverse("dashboard:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def reset(*args) -> None:
    call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())


def stuff_from_one_address(client, settings, url=None):
    """One wrong password for each of many usernames from HOME, up to the address's limit."""
    limit = settings.LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT
    for i in range(limit - 1):
        assert login(client, f"guess-{i}", "wrong", url=url).status_code == 200
    return login(client, f"guess-{limit}", "wrong", url=url)


@pytest.mark.parametrize("url", ["/voice/dashboard/login/", "/console/login/", "/admin/login/"])
def test_one_address_failing_across_usernames_is_locked(client, priya, settings, url):
    locked = stuff_from_one_address(client, settings, url=url)
    assert locked.status_code == 429
    assert ADDRESS_PAUSED in locked.content
    assert b"Try again in 15 minutes" in locked.content
    # Every username from that address waits, even with the right password ...
    refused = login(client, "priya", PASSWORD)
    assert refused.status_code == 429 and ADDRESS_PAUSED in refused.content
    assert "_auth_user_id" not in client.session
    # ... the same account from elsewhere does not.
    assert login(client, "priya", PASSWORD, address="10.2.2.2").status_code == 302


def test_a_success_does_not_clear_the_address_count(client, priya, settings):
    for i in range(settings.LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        login(client, f"guess-{i}", "wrong")
    # Signing in with a working login between guesses only forgives that login's failures.
    assert login(client, "priya", PASSWORD).status_code == 302
    client.post(reverse("dashboard:logout"))
    assert login(client, "one-more-guess", "wrong").status_code == 429


def test_one_username_failing_from_many_addresses_is_locked(client, priya, settings):
    limit = settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT
    for i in range(limit - 1):
        assert login(client, "priya", "wrong", address=f"10.9.0.{i}").status_code == 200
    locked = login(client, "priya", "wrong", address="10.9.1.1")
    assert locked.status_code == 429
    assert USERNAME_PAUSED in locked.content
    refused = login(client, "priya", PASSWORD, address="10.9.2.2")
    assert refused.status_code == 429 and USERNAME_PAUSED in refused.content
    # Other accounts on those addresses are untouched.
    User.objects.create_user(
        username="omar", password=PASSWORD, role=User.Role.CLIENT, business=priya.business
    )
    assert login(client, "omar", PASSWORD, address="10.9.0.1").status_code == 302


def test_a_missing_username_is_locked_the_same_way(client, priya, settings):
    # The page must not tell an existing account from a made-up one.
    pages = []
    for username in ["priya", "nobody-here"]:
        for i in range(settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT):
            response = login(client, username, "wrong", address=f"10.8.{len(pages)}.{i}")
        assert response.status_code == 429
        # The clock time the lock ends is the only part allowed to differ: the two locks are
        # taken a moment apart, and that moment may cross a minute.
        page = response.content.split(b"<h1>", 1)[1]
        pages.append(re.sub(rb"after \d\d:\d\d UTC", b"after HH:MM UTC", page))
    assert b"after HH:MM UTC" in pages[0]
    assert pages[0] == pages[1]


def test_the_pair_lock_says_so(client, priya, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "priya", "wrong")
    locked = login(client, "priya", "wrong")
    assert locked.status_code == 429
    assert b"paused for this username from your address" in locked.content
    assert b"Try again in 15 minutes" in locked.content


def test_reset_commands_lift_each_lock(client, priya, settings):
    stuff_from_one_address(client, settings)
    assert login(client, "priya", PASSWORD).status_code == 429
    reset("axes_reset_ip", HOME)
    assert login(client, "priya", PASSWORD).status_code == 302
    client.post(reverse("dashboard:logout"))

    for i in range(settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT):
        login(client, "priya", "wrong", address=f"10.7.0.{i}")
    assert login(client, "priya", PASSWORD).status_code == 429
    reset("axes_reset_username", "priya")
    assert login(client, "priya", PASSWORD).status_code == 302
    client.post(reverse("dashboard:logout"))

    stuff_from_one_address(client, settings)
    for i in range(settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT):
        login(client, "priya", "wrong", address=f"10.6.0.{i}")
    assert login(client, "priya", PASSWORD, address="10.5.0.1").status_code == 429
    reset("axes_reset")
    assert not AccessAttempt.objects.exists()
    assert login(client, "priya", PASSWORD).status_code == 302


def test_limits_come_from_settings(client, priya, settings):
    settings.LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for i in range(2):
        assert login(client, f"guess-{i}", "wrong").status_code == 200
    assert login(client, "guess-2", "wrong").status_code == 429


def test_one_address_cannot_lock_an_account_everywhere(client, priya, settings):
    # Tries refused by the pair's lock are not counted toward the username's limit.
    for _ in range(settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT + 5):
        login(client, "priya", "wrong")
    refused = login(client, "priya", PASSWORD)
    assert refused.status_code == 429
    assert b"paused for this username from your address" in refused.content
    assert login(client, "priya", PASSWORD, address="10.3.3.3").status_code == 302
