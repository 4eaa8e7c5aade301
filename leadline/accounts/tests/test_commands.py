import io
import json

import pytest
from django.core.management import CommandError, call_command

from conftest import ApiClient
from leadline.accounts.models import ApiToken, Business, User
from leadline.campaigns.models import Campaign


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_bootstrap_creates_everything_and_reuses_by_name(client, db):
    first = json.loads(run("bootstrap", "--business", "Zed Co", "--json"))
    assert {
        "business_id",
        "campaign_id",
        "access_token",
        "dashboard_username",
        "dashboard_password",
    } <= set(first)
    second = json.loads(run("bootstrap", "--business", "Zed Co", "--rate-limit", "7", "--json"))
    assert second["business_id"] == first["business_id"]
    assert second["campaign_id"] == first["campaign_id"]
    assert second["access_token"] != first["access_token"]
    assert Business.objects.get(pk=first["business_id"]).rate_limit_per_minute == 7
    assert Campaign.objects.count() == 1
    assert ApiToken.objects.count() == 2
    user = User.objects.get(username=first["dashboard_username"])
    assert user.check_password(first["dashboard_password"])
    assert user.business_id == first["business_id"]
    api = ApiClient(client, first["access_token"])
    assert api.get(f"/api/v4/leads/responses/{first['campaign_id']}/").status_code == 200


def test_campaign_ids_are_short_random_strings(db):
    ids = {
        json.loads(run("bootstrap", "--business", "B", "--campaign", f"c{i}", "--json"))[
            "campaign_id"
        ]
        for i in range(5)
    }
    assert len(ids) == 5
    assert all((len(i) == 6 and i.isalnum() and i.isupper()) or i.isdigit() for i in ids)


def test_token_create_and_revoke(client, db):
    boot = json.loads(run("bootstrap", "--business", "T", "--json"))
    secret = run("token", "create", "--business", str(boot["business_id"]), "--name", "ci")
    secret = secret.strip()
    api = ApiClient(client, secret)
    url = f"/api/v4/leads/responses/{boot['campaign_id']}/"
    assert api.get(url).status_code == 200
    prefix = secret.split("_")[1]
    assert "Revoked" in run("token", "revoke", prefix)
    assert api.get(url).status_code == 403
    with pytest.raises(CommandError):
        run("token", "revoke", "nope")
    with pytest.raises(CommandError):
        run("token", "create", "--business", "999999")


@pytest.mark.django_db(transaction=True)
def test_worker_runs_housekeeping_once():
    run("worker", "--once")


def test_health_and_openapi(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    spec = client.get("/api/v4/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/v4/leads/create/{campaign_id}/",
        "/api/v4/leads/responses/{campaign_id}/",
        "/api/v4/leads/disable/{campaign_id}/",
        "/api/v4/leads/delete/{campaign_id}/",
        "/api/v4/leads/update/{campaign_id}/",
        "/api/v4/leads/convert/{campaign_id}/",
    } <= paths
    docs = client.get("/api/v4/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


def test_non_api_404_is_a_page_and_api_404_is_json(client, db):
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    api = client.get("/api/nothing")
    assert api.status_code == 404
    assert api.json()["detail"]
