"""Password rules (AUTH_PASSWORD_VALIDATORS) on every path that sets a password."""

import io
import json

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.urls import reverse

from leadline.accounts.models import User
from leadline.accounts.services import dashboard_user_create

pytestmark = pytest.mark.django_db

SHORT = "Xq7-short"  # 9 characters, otherwise unremarkable
GOOD = "plum-orbit-cascade-41"


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (SHORT, "too short"),
        ("password1234", "too common"),
        ("820417359261", "entirely numeric"),
        ("asha.kumar-rep", "too similar to the username"),
    ],
)
def test_rep_add_refuses_a_weak_password_naming_the_rules(campaign, password, message):
    with pytest.raises(CommandError, match=message) as refused:
        run(
            "rep", "add", "--campaign", campaign.public_id, "--username", "asha.kumar-rep",
            "--password", password, "--phone", "9000000001",
        )  # fmt: skip
    # The message names every rule, so the next try can pass.
    assert "at least 12 characters" in str(refused.value)
    assert not User.objects.filter(username="asha.kumar-rep").exists()


def test_rep_add_refuses_a_weak_new_password_for_an_existing_rep(campaign):
    run(
        "rep", "add", "--campaign", campaign.public_id, "--username", "asha",
        "--password", GOOD, "--phone", "9000000001",
    )  # fmt: skip
    with pytest.raises(CommandError, match="too short"):
        run(
            "rep", "add", "--campaign", campaign.public_id, "--username", "asha",
            "--password", SHORT, "--phone", "9000000002",
        )  # fmt: skip
    rep = User.objects.get(username="asha")
    assert rep.check_password(GOOD) and rep.phone_number == "+919000000001"


def test_generated_logins_pass_the_validators(campaign):
    boot = json.loads(run("bootstrap", "--business", "Zed Co", "--json"))
    rep = json.loads(
        run(
            "rep", "add", "--campaign", campaign.public_id, "--username", "ravi",
            "--phone", "9000000002", "--json",
        )
    )  # fmt: skip
    _, demo_password = dashboard_user_create(business=campaign.business, username="demo")
    for username, password in [
        (boot["dashboard_username"], boot["dashboard_password"]),
        ("ravi", rep["password"]),
        ("demo", demo_password),
    ]:
        user = User.objects.get(username=username)
        assert len(password) >= 20
        validate_password(password, user=user)  # raises if any rule refuses it
        assert user.check_password(password)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_createsuperuser_applies_the_validators(monkeypatch):
    from django.contrib.auth.management.commands import createsuperuser

    # A short password twice, refusing to bypass the rules, then a good one twice.
    typed = iter([SHORT, SHORT, GOOD, GOOD])
    monkeypatch.setattr(createsuperuser.getpass, "getpass", lambda prompt="": next(typed))
    answers: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt="": answers.append(prompt) or "n")
    err = io.StringIO()
    call_command(
        "createsuperuser", interactive=True, username="root", email="r@example.com",
        stdin=FakeTTY(), stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    assert "too short" in err.getvalue()
    assert any("Bypass password validation" in prompt for prompt in answers)
    assert User.objects.get(username="root").check_password(GOOD)


def test_dashboard_password_change_enforces_the_rules(client, business):
    staff = User.objects.create_user(
        username="priya", password=GOOD, role=User.Role.CLIENT, business=business
    )
    client.force_login(staff)
    response = client.post(
        reverse("dashboard:password_change"),
        {"old_password": GOOD, "new_password1": SHORT, "new_password2": SHORT},
    )
    assert response.status_code == 200
    assert "too short" in " ".join(response.context["form"].errors["new_password2"])
    staff.refresh_from_db()
    assert staff.check_password(GOOD)


def test_admin_user_add_enforces_the_rules(client, business):
    operator = User.objects.create_superuser(username="op", password=GOOD, email="o@example.com")
    client.force_login(operator)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new-rep",
            "usable_password": "true",
            "password1": SHORT,
            "password2": SHORT,
            "business": business.pk,
            "role": "rep",
            "phone_number": "98765 43210",
        },
    )
    assert response.status_code == 200
    assert "too short" in str(response.context["adminform"].form.errors)
    assert not User.objects.filter(username="new-rep").exists()
