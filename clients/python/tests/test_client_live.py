"""The client's surface against a live Leadline server (gunicorn), sync and async: every
endpoint, typed results, and every error status as its exception."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from client_support import leads, new_tenant, run

import leadline_client as lc
from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live


@pytest.fixture
def tenant(live_db):
    return new_tenant(live_db)


@pytest.fixture
def client(live_server_proc, tenant):
    with Leadline(tenant["access_token"], live_server_proc.url) as client:
        yield client


def check_surface(tenant, created, page_items, found, updated, converted, disabled, erased, gone):
    """What both the sync and the async walk through every endpoint must have seen."""
    cid = tenant["campaign_id"]
    assert created.complete and created.created == 3
    assert created.lead_ids == ["a-0", "a-1", "7"]  # a numeric lead_id comes back as a string
    assert len(created.chunks) == 1 and created.chunks[0].created is not None

    assert [item.lead_id for item in page_items] == ["a-0", "a-1", "7"]
    first = page_items[0]
    assert first.campaign_id == cid
    assert first.phone_number == "+919800000000"
    assert first.custom_fields == {"city": "Pune", "policy": {"kind": "motor", "year": 2024}}
    assert first.lead_responses == {}
    assert first.processed_at is None and first.lead_outcome is None and not first.processed
    assert first.created_at.tzinfo is not None
    assert abs(first.created_at - datetime.now(UTC)) < timedelta(minutes=5)

    assert found is not None and found.lead_id == "a-1" and found.contact_name == "Person 1"
    assert updated.contact_name == "Asha Rao" and updated.custom_fields["city"] == "Mumbai"
    assert "policy" not in updated.custom_fields  # sent as None: removed
    assert converted.lead_id == "a-1" and converted.conversion_detail == "policy-sold"
    assert converted.converted_at.tzinfo is not None
    assert disabled.disabled == 2 and disabled.lead_ids == ["a-0", "7"]
    assert erased.detail == "Lead erased."
    assert gone is None


def test_every_endpoint_sync(client, tenant):
    cid = tenant["campaign_id"]
    batch = leads("a", 2, city="Pune", policy={"kind": "motor", "year": 2024})
    batch.append({"lead_id": 7, "phone_number": "+91 98000-00007", "contact_name": "Seven"})
    created = client.leads.create(cid, batch)
    page_items = list(client.leads.responses(cid))
    found = client.leads.get(cid, "a-1")
    updated = client.leads.update(
        cid, "a-1", contact_name="Asha Rao", custom_fields={"city": "Mumbai", "policy": None}
    )
    converted = client.leads.convert(cid, "a-1", "policy-sold")
    disabled = client.leads.disable(cid, ["a-0", 7])
    erased = client.leads.delete(cid, "a-1")
    gone = client.leads.get(cid, "a-1")
    check_surface(tenant, created, page_items, found, updated, converted, disabled, erased, gone)

    given = datetime.now(UTC) - timedelta(days=1)
    recorded = client.consents.record(
        [
            {"phone_number": "9800000001", "given_at": given, "method": "web_form"},
            {"phone_number": "9800000002", "given_at": given.isoformat(), "method": "sms"},
        ]
    )
    assert (recorded.created, recorded.updated) == (2, 0)
    again = client.consents.record(
        {"phone_number": "9800000001", "given_at": given, "method": "ivr"}
    )
    assert (again.created, again.updated) == (0, 1)
    withdrawn = client.consents.withdraw(["9800000001", "9800000099"])
    assert withdrawn.withdrawn == 1  # the unknown number is ignored


def test_every_endpoint_async(live_server_proc, tenant):
    cid = tenant["campaign_id"]

    async def walk():
        async with AsyncLeadline(tenant["access_token"], live_server_proc.url) as client:
            batch = leads("a", 2, city="Pune", policy={"kind": "motor", "year": 2024})
            batch.append({"lead_id": 7, "phone_number": "9800000007", "contact_name": "Seven"})
            created = await client.leads.create(cid, batch)
            page_items = [item async for item in client.leads.responses(cid)]
            found = await client.leads.get(cid, "a-1")
            updated = await client.leads.update(
                cid,
                "a-1",
                contact_name="Asha Rao",
                custom_fields={"city": "Mumbai", "policy": None},
            )
            converted = await client.leads.convert(cid, "a-1", "policy-sold")
            disabled = await client.leads.disable(cid, ["a-0", 7])
            erased = await client.leads.delete(cid, "a-1")
            gone = await client.leads.get(cid, "a-1")
            given = datetime.now(UTC) - timedelta(hours=1)
            recorded = await client.consents.record(
                {"phone_number": "9800000003", "given_at": given, "method": "call"}
            )
            withdrawn = await client.consents.withdraw("9800000003")
            return (
                (created, page_items, found, updated, converted, disabled, erased, gone),
                recorded,
                withdrawn,
            )

    results, recorded, withdrawn = run(walk())
    check_surface(tenant, *results)
    assert recorded.created == 1 and withdrawn.withdrawn == 1


def test_environment_variables_configure_the_client(live_server_proc, tenant, monkeypatch):
    monkeypatch.setenv("LEADLINE_API_KEY", tenant["access_token"])
    monkeypatch.setenv("LEADLINE_BASE_URL", live_server_proc.url + "/")
    with Leadline() as client:
        assert client.base_url == live_server_proc.url
        assert list(client.leads.responses(tenant["campaign_id"])) == []
    monkeypatch.delenv("LEADLINE_API_KEY")
    with pytest.raises(lc.MissingApiKey):
        Leadline()


def test_error_statuses_are_typed_exceptions(client, live_server_proc, tenant):
    cid = tenant["campaign_id"]
    client.leads.create(cid, leads("e", 2))

    # 400: every problem of the batch, typed, with its position, lead_id, field and code.
    bad = [
        {"lead_id": "dup", "phone_number": "9800000000", "contact_name": "Dup"},
        {"lead_id": "ok", "phone_number": "12345", "contact_name": "Bad phone"},
        {"lead_id": "x" * 300, "phone_number": "9800000001", "contact_name": "Long id"},
        {"phone_number": "9800000002", "contact_name": "No id"},
        {"lead_id": "dup", "phone_number": "9800000003", "contact_name": "Dup again"},
    ]
    with pytest.raises(lc.BadRequestError) as info:
        client.leads.create(cid, bad)
    err = info.value
    assert err.status_code == 400 and err.detail
    by_index = {p.index: p for p in err.errors}
    assert set(by_index) == {1, 2, 3, 4}
    assert (by_index[4].lead_id, by_index[4].field, by_index[4].code) == (
        "dup",
        "lead_id",
        "duplicate",
    )
    assert (by_index[1].field, by_index[1].code) == ("phone_number", "invalid")
    assert by_index[2].code == "too_long" and len(by_index[2].lead_id) == 255
    assert (by_index[3].lead_id, by_index[3].code) == (None, "required")
    assert all(isinstance(p, lc.Problem) and p.message for p in err.errors)

    # 403: an unknown token.
    stranger = Leadline("not-a-token", live_server_proc.url)
    with stranger, pytest.raises(lc.PermissionDeniedError) as info:
        list(stranger.leads.responses(cid))
    assert info.value.status_code == 403 and info.value.detail

    # 404: an unknown campaign, an unknown lead, a page past the end.
    with pytest.raises(lc.NotFoundError) as info:
        client.leads.create("NOPE00", leads("n", 1))
    assert info.value.detail == "Campaign not found."
    with pytest.raises(lc.NotFoundError):
        client.leads.delete(cid, "never-created")
    with pytest.raises(lc.NotFoundError):
        client.leads.convert(cid, "never-created", "x")

    # 405 and 415 cannot come from the client's own methods; they still map to their classes.
    with pytest.raises(lc.MethodNotAllowedError) as info:
        client._json(lc._base.Call("DELETE", f"/api/v4/leads/create/{cid}/"))
    assert info.value.status_code == 405

    def plain_text(request: httpx.Request) -> None:
        request.headers["Content-Type"] = "text/plain"

    hooked = httpx.Client(event_hooks={"request": [plain_text]})
    text = Leadline(tenant["access_token"], live_server_proc.url, http_client=hooked)
    with text, pytest.raises(lc.UnsupportedMediaTypeError) as info:
        text.leads.disable(cid, "e-0")
    hooked.close()
    assert info.value.status_code == 415

    # 413: more leads in one request than the server takes (a chunk size over its limit).
    with pytest.raises(lc.PayloadTooLargeError) as info:
        client.leads.create(cid, leads("big", 10_001), chunk_size=10_001)
    assert "10000" in info.value.detail.replace(",", "")

    # 422: the same Idempotency-Key with a different request.
    client.leads.disable(cid, "e-0", idempotency_key="fixed-key-1")
    with pytest.raises(lc.UnprocessableEntityError):
        client.leads.disable(cid, "e-1", idempotency_key="fixed-key-1")
    # ... while the same request with it is replayed, not run again.
    replay = client.leads.disable(cid, "e-0", idempotency_key="fixed-key-1")
    assert replay.lead_ids == ["e-0"]

    # 400 on a single object: index is None.
    with pytest.raises(lc.BadRequestError) as info:
        client.leads.convert(cid, "e-1", "x" * 40)
    assert [(p.index, p.lead_id, p.field) for p in info.value.errors] == [(None, "e-1", "detail")]


def test_bad_query_parameters_are_400(client, tenant):
    with pytest.raises(lc.BadRequestError) as info:
        list(client.leads.responses(tenant["campaign_id"], page_size=0))
    assert "page_size" in info.value.detail


def test_connection_refused_is_an_api_connection_error(tenant):
    from conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    client = Leadline(tenant["access_token"], url, max_retries=1)
    with client, pytest.raises(lc.APIConnectionError):
        client.leads.get(tenant["campaign_id"], "x")
