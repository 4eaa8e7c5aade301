"""Business roles: the permission table, the migration's default, the admin field, bootstrap."""

import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leadline.accounts.models import User
from leadline.accounts.permissions import PERMISSIONS, allowed_actions, can, permission_required
from leadline.accounts.services import dashboard_user_create
from leadline.core.errors import Unprocessable
from leadline.core.tests.test_admin import form_data

Role = User.BusinessRole


def client_user(business, role, username=None) -> User:
    return User.objects.create_user(
        username=username or f"u-{role}",
        role=User.Role.CLIENT,
        business=business,
        business_role=role,
    )


@pytest.mark.django_db
def test_each_role_may_do_its_own_and_every_lower_roles_actions(business):
    viewer, manager, owner = (
        client_user(business, r) for r in (Role.VIEWER, Role.MANAGER, Role.OWNER)
    )
    assert allowed_actions(viewer) == {"dashboard.view", "account.password"}
    assert allowed_actions(manager) == allowed_actions(viewer) | {
        "leads.change",
        "leads.upload",
        "leads.export",
        "webhooks.operate",
        "suppressions.add",
    }
    assert allowed_actions(owner) == set(PERMISSIONS)
    # The line: managers get no tokens, secrets or erasure.
    for action in ("tokens.manage", "webhooks.secret", "leads.erase"):
        assert not can(manager, action) and can(owner, action)


@pytest.mark.django_db
def test_only_client_staff_of_a_business_have_business_rights(business):
    rep = User.objects.create_user(
        "rep", role=User.Role.REP, business=business, phone_number="+919000000001"
    )
    operator = User.objects.create_user("op", role=User.Role.OPERATOR, is_staff=True)
    orphan = User.objects.create_user("orphan", role=User.Role.CLIENT, business=None)
    odd = client_user(business, Role.OWNER, "odd")
    User.objects.filter(pk=odd.pk).update(business_role="admin")  # a value no choice has
    odd.refresh_from_db()
    for user in (rep, operator, orphan, odd, None):
        assert allowed_actions(user) == set(), user


def test_an_unknown_action_fails_when_the_view_is_declared_not_per_request():
    with pytest.raises(ImproperlyConfigured):
        permission_required("tokens.mange", forbidden_template="x.html")
    with pytest.raises(ImproperlyConfigured):
        can(None, "nope")


@pytest.mark.django_db(transaction=True)
def test_existing_logins_become_owners():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0003_business_retention_days")]
    after = [("accounts", "0004_user_business_role")]
    executor.migrate(before)
    try:
        old = MigrationExecutor(connection).loader.project_state(before).apps
        OldBusiness = old.get_model("accounts", "Business")
        OldUser = old.get_model("accounts", "User")
        biz = OldBusiness.objects.create(name="Old Co")
        OldUser.objects.create(username="old-client", role="client", business=biz)
        OldUser.objects.create(username="old-rep", role="rep", business=biz)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        roles = dict(User.objects.values_list("username", "business_role"))
        assert roles == {"old-client": Role.OWNER, "old-rep": Role.OWNER}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_the_admin_shows_and_changes_the_business_role(client, operator, business):
    user = client_user(business, Role.OWNER, "priya")
    url = f"/admin/accounts/user/{user.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="business_role"' in page.content.decode()
    saved = client.post(url, {**form_data(page), "business_role": Role.VIEWER})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.business_role == Role.VIEWER

    listed = client.get("/admin/accounts/user/", {"business_role__exact": "viewer"})
    assert [u.username for u in listed.context["cl"].result_list] == ["priya"]


@pytest.mark.django_db
def test_the_admin_adds_a_login_with_a_role(client, operator, business):
    base = {
        "usable_password": "true",
        "password1": "a-long-Passw0rd!",
        "password2": "a-long-Passw0rd!",
        "business": business.pk,
        "role": "client",
    }
    page = client.get("/admin/accounts/user/add/")
    assert 'name="business_role"' in page.content.decode()
    response = client.post(
        "/admin/accounts/user/add/", {**base, "username": "m", "business_role": "manager"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="m").business_role == Role.MANAGER
    # Left out (a script's post): the model's default, as before roles existed.
    assert client.post("/admin/accounts/user/add/", {**base, "username": "n"}).status_code == 302
    assert User.objects.get(username="n").business_role == Role.OWNER
    refused = client.post(
        "/admin/accounts/user/add/", {**base, "username": "x", "business_role": "admin"}
    )
    assert refused.status_code == 200
    assert "business_role" in refused.context["adminform"].form.errors


def run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_bootstrap_makes_an_owner_unless_told(db):
    first = run("bootstrap", "--business", "Role Co", "--json")
    assert first["dashboard_role"] == "owner"
    assert User.objects.get(username=first["dashboard_username"]).business_role == Role.OWNER
    second = run("bootstrap", "--business", "Role Co", "--role", "viewer", "--json")
    assert User.objects.get(username=second["dashboard_username"]).business_role == Role.VIEWER


@pytest.mark.django_db
def test_dashboard_user_create_refuses_an_unknown_role(business):
    with pytest.raises(Unprocessable):
        dashboard_user_create(business=business, business_role="admin")
    assert not User.objects.filter(business=business).exists()
