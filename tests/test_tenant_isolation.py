"""A business never reaches another business's campaign or leads, and cannot tell they exist.

`api` is business A (the `business` fixture), `other_api` business B (`other_business`).
"""

import pytest

from leadline.campaigns.models import Campaign
from leadline.leads.models import Lead

NOT_FOUND = {"detail": "Campaign not found."}


def lead(lead_id, name="John Doe", phone="9876543210", **custom):
    return {"lead_id": lead_id, "phone_number": phone, "contact_name": name, **custom}


# Every endpoint, with a request that would change (or read) B's lead "b-1" if it got through.
ENDPOINTS = {
    "create": ("post", "/api/v4/leads/create/{cid}/", [lead("new-1"), lead("b-1")]),
    "create-single": ("post", "/api/v4/leads/create/{cid}/", lead("new-2")),
    "responses": ("get", "/api/v4/leads/responses/{cid}/", None),
    "responses-lead": ("get", "/api/v4/leads/responses/{cid}/", {"lead_id": "b-1"}),
    "disable": ("post", "/api/v4/leads/disable/{cid}/", [{"lead_id": "b-1"}]),
    "disable-single": ("post", "/api/v4/leads/disable/{cid}/", {"lead_id": "b-1"}),
    "delete": ("post", "/api/v4/leads/delete/{cid}/", {"lead_id": "b-1"}),
    "update": (
        "patch",
        "/api/v4/leads/update/{cid}/",
        {"lead_id": "b-1", "contact_name": "Mallory", "phone_number": "9123456789", "x": 1},
    ),
    "convert": ("post", "/api/v4/leads/convert/{cid}/", {"lead_id": "b-1", "detail": "STOLEN"}),
}


def call(client, endpoint, campaign_id, *, slash=True, headers=None):
    method, path, body = ENDPOINTS[endpoint]
    path = path.format(cid=campaign_id)
    if not slash:
        path = path.rstrip("/")
    if method == "get":
        return client.get(path, body, headers=headers)
    return getattr(client, method)(path, body, headers=headers)


def snapshot():
    """Every lead row and campaign counter, to prove nothing changed."""
    leads = list(Lead.objects.order_by("id").values())
    counts = dict(Campaign.objects.values_list("public_id", "lead_count"))
    return leads, counts


def missing_campaign_id():
    candidate = "ZZZZZ9"
    assert not Campaign.objects.filter(public_id=candidate).exists()
    return candidate


@pytest.fixture
def b_leads(other_api, other_campaign):
    response = other_api.post(
        f"/api/v4/leads/create/{other_campaign.public_id}/",
        [lead("b-1", "Bee One", city="Pune"), lead("b-2", "Bee Two")],
    )
    assert response.status_code == 201, response.content
    return ["b-1", "b-2"]


@pytest.mark.parametrize("slash", [True, False], ids=["slash", "no-slash"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_other_business_campaign_is_indistinguishable_from_a_missing_one(
    api, other_api, campaign, other_campaign, b_leads, endpoint, slash
):
    before = snapshot()
    b_view = other_api.get(f"/api/v4/leads/responses/{other_campaign.public_id}/").json()

    foreign = call(api, endpoint, other_campaign.public_id, slash=slash)
    missing = call(api, endpoint, missing_campaign_id(), slash=slash)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert foreign.json() == NOT_FOUND
    assert foreign["Content-Type"] == missing["Content-Type"] == "application/json"
    # Same headers too (the RateLimit values differ only by the request count).
    assert set(foreign.headers) == set(missing.headers)
    assert snapshot() == before
    assert other_api.get(f"/api/v4/leads/responses/{other_campaign.public_id}/").json() == b_view


@pytest.mark.parametrize("endpoint", ["create", "disable", "delete", "update", "convert"])
def test_idempotency_key_does_not_open_a_way_in(api, other_api, other_campaign, b_leads, endpoint):
    before = snapshot()
    headers = {"Idempotency-Key": f"key-{endpoint}"}
    foreign = call(api, endpoint, other_campaign.public_id, headers=headers)
    missing = call(api, endpoint, missing_campaign_id(), headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert "Idempotent-Replayed" not in foreign.headers
    assert snapshot() == before
    # B using the same key on its own campaign is B's own first request, not a replay.
    own = call(other_api, endpoint, other_campaign.public_id, headers=headers)
    assert own.status_code != 404, own.content
    assert "Idempotent-Replayed" not in own.headers


def test_b_sees_its_campaign_and_a_sees_only_its_own(api, other_api, campaign, other_campaign):
    """Sanity check of the setup: each token works on its own campaign only."""
    assert api.get(f"/api/v4/leads/responses/{campaign.public_id}/").status_code == 200
    assert other_api.get(f"/api/v4/leads/responses/{other_campaign.public_id}/").status_code == 200
    assert other_api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json() == NOT_FOUND


def test_same_lead_ids_in_two_businesses_stay_separate(api, other_api, campaign, other_campaign):
    a_url = "/api/v4/leads/{op}/" + campaign.public_id + "/"
    b_url = "/api/v4/leads/{op}/" + other_campaign.public_id + "/"
    b_body = [lead("shared", "Bee", "9811111111", owner="B"), lead(7, "Bee Seven", owner="B")]
    assert other_api.post(b_url.format(op="create"), b_body).status_code == 201
    b_before = other_api.get(b_url.format(op="responses")).json()
    b_rows = list(Lead.objects.filter(campaign=other_campaign).order_by("id").values())

    # A can create the same ids (string and numeric) in its own campaign: not duplicates.
    a_body = [lead("shared", "Ay", "9822222222"), lead("7", "Ay Seven")]
    created = api.post(a_url.format(op="create"), a_body)
    assert created.status_code == 201, created.content

    # A reads only its own lead under that id.
    page = api.get(a_url.format(op="responses"), {"lead_id": "shared"}).json()
    assert page["count"] == 1
    (item,) = page["results"]
    assert item["contact_name"] == "Ay"
    assert item["phone_number"] == "+919822222222"
    assert item["campaign_id"] == campaign.public_id
    assert "owner" not in item
    everything = api.get(a_url.format(op="responses")).json()
    assert everything["count"] == 2
    assert {r["contact_name"] for r in everything["results"]} == {"Ay", "Ay Seven"}

    # A changes its own leads with those ids in every way it can.
    assert (
        api.patch(a_url.format(op="update"), {"lead_id": "shared", "contact_name": "Ay 2"})
    ).status_code == 200
    assert (
        api.post(a_url.format(op="convert"), {"lead_id": "shared", "detail": "WON"})
    ).status_code == 200
    assert api.post(a_url.format(op="disable"), [{"lead_id": 7}]).status_code == 201
    assert api.post(a_url.format(op="delete"), {"lead_id": "shared"}).status_code == 202

    # B's leads with the same ids are untouched, row for row, and as B reads them.
    assert list(Lead.objects.filter(campaign=other_campaign).order_by("id").values()) == b_rows
    assert other_api.get(b_url.format(op="responses")).json() == b_before
    b_item = other_api.get(b_url.format(op="responses"), {"lead_id": "shared"}).json()
    assert b_item["results"][0]["contact_name"] == "Bee"
    assert b_item["results"][0]["owner"] == "B"

    # And A's erased "shared" is gone for A only.
    assert api.get(a_url.format(op="responses"), {"lead_id": "shared"}).json()["count"] == 0
    assert api.post(a_url.format(op="delete"), {"lead_id": "shared"}).status_code == 404
