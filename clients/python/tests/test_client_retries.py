"""Idempotent retries after a dropped connection: a TCP proxy on 127.0.0.1 forwards the
first request to the live server, waits until the server has run it, and cuts the connection
before the answer gets back. The client retries with the same Idempotency-Key and must get the
first answer, with nothing created twice."""

import pytest
from client_support import CuttingProxy, leads, new_tenant, run

import leadline_client as lc
from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live


@pytest.fixture
def tenant(live_db):
    return new_tenant(live_db)


@pytest.fixture
def proxy(live_server_proc):
    proxy = CuttingProxy(live_server_proc.port)
    yield proxy
    proxy.close()


def test_create_retried_after_a_dropped_connection_creates_once(tenant, proxy, live_server_proc):
    cid = tenant["campaign_id"]
    with Leadline(tenant["access_token"], proxy.url) as client:
        result = client.leads.create(cid, leads("d", 5))
    assert proxy.cut == 1 and proxy.connections >= 2
    assert result.created == 5 and result.lead_ids == [f"d-{i}" for i in range(5)]
    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        assert [item.lead_id for item in direct.leads.responses(cid)] == result.lead_ids


def test_large_chunk_whose_answer_was_lost_is_not_created_twice(tenant, proxy, live_server_proc):
    """10,000 lead_ids make an answer over the server's 64 KiB replay cap: the retry gets a 422
    naming the first status (201), which the client reads as "this chunk was created"."""
    cid = tenant["campaign_id"]

    async def push():
        async with AsyncLeadline(tenant["access_token"], proxy.url) as client:
            return await client.leads.create(cid, leads("big", 10_000))

    result = run(push())
    assert proxy.cut == 1
    assert result.created == 10_000 and result.chunks[0].created.extra == {"replayed": True}
    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        pages = list(direct.leads.responses(cid).pages())
    assert pages[0].count == 10_000


def test_update_and_get_retried(tenant, proxy, live_server_proc):
    cid = tenant["campaign_id"]
    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        direct.leads.create(cid, leads("u", 1))
    with Leadline(tenant["access_token"], proxy.url) as client:
        updated = client.leads.update(cid, "u-0", custom_fields={"tier": "gold"})
        assert proxy.cut == 1
    proxy.cuts_left = 1  # a new client opens a new connection: the proxy cuts that one too
    with Leadline(tenant["access_token"], proxy.url) as client:
        again = client.leads.get(cid, "u-0")
    assert proxy.cut == 2
    assert updated.custom_fields == {"tier": "gold"} and again.custom_fields == {"tier": "gold"}


@pytest.mark.parametrize(("status", "forward"), [(408, False), (503, False), (502, True)])
def test_408_and_5xx_from_a_proxy_are_retried(tenant, live_server_proc, status, forward):
    """A 408 or a load-shedding 503 the server never saw, and a 502 after the request did run
    upstream: each is retried with the same key, and the lead is created once."""
    cid = tenant["campaign_id"]
    proxy = CuttingProxy(live_server_proc.port, status=status, forward=forward)
    try:
        with Leadline(tenant["access_token"], proxy.url) as client:
            result = client.leads.create(cid, leads(f"s{status}", 2))
    finally:
        proxy.close()
    assert proxy.cut == 1 and proxy.connections == 2
    assert result.lead_ids == [f"s{status}-0", f"s{status}-1"]
    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        assert [item.lead_id for item in direct.leads.responses(cid)] == result.lead_ids


def test_5xx_is_an_error_once_the_retries_are_spent(tenant, live_server_proc):
    proxy = CuttingProxy(live_server_proc.port, cuts=2, status=504, forward=False)
    try:
        client = Leadline(tenant["access_token"], proxy.url, max_retries=1)
        with client, pytest.raises(lc.APIStatusError) as info:
            client.leads.disable(tenant["campaign_id"], "x")
    finally:
        proxy.close()
    assert info.value.status_code == 504 and proxy.cut == 2


def test_async_idempotent_writes_are_retried_without_duplicate_effects(tenant, live_server_proc):
    """Every write besides create, async, each first attempt run by the server and its answer
    lost (a dropped connection, or a 502 after forwarding): the retry with the same key gets
    the first answer replayed. Run twice, each would answer differently (a second disable
    would be the same, but a second delete is a 404, a second do-not-call create counts 0
    new entries, a second delete of an entry 0), so the answers prove one run each."""
    cid = tenant["campaign_id"]
    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        direct.leads.create(cid, leads("w", 3))

    async def once(write, *, status=None):
        # A new client per write: the proxy acts on a connection's first request.
        proxy = CuttingProxy(live_server_proc.port, status=status)
        try:
            async with AsyncLeadline(tenant["access_token"], proxy.url) as client:
                answer = await write(client)
        finally:
            proxy.close()
        assert proxy.cut == 1 and proxy.connections == 2
        return answer

    async def walk():
        disabled = await once(lambda c: c.leads.disable(cid, ["w-0"]))
        updated = await once(
            lambda c: c.leads.update(cid, "w-1", custom_fields={"tier": "gold"}), status=502
        )
        converted = await once(lambda c: c.leads.convert(cid, "w-1", "sold"))
        listed = await once(lambda c: c.suppressions.create("9877777777"), status=502)
        unlisted = await once(lambda c: c.suppressions.delete("9877777777"))
        erased = await once(lambda c: c.leads.delete(cid, "w-2"), status=502)
        return disabled, updated, converted, listed, unlisted, erased

    disabled, updated, converted, listed, unlisted, erased = run(walk())
    assert disabled.lead_ids == ["w-0"] and disabled.disabled == 1
    assert updated.custom_fields == {"tier": "gold"}
    assert converted.conversion_detail == "sold"
    assert (listed.created, unlisted.deleted) == (1, 1)
    assert erased.receipt_id

    with Leadline(tenant["access_token"], live_server_proc.url) as direct:
        assert [e.id for e in direct.suppressions.list()] == []
        assert direct.leads.erasure(erased.receipt_id).lead_id == "w-2"
        assert [r.lead_id for r in direct.leads.responses(cid)] == ["w-0", "w-1"]
        assert direct.leads.get(cid, "w-1").custom_fields == {"tier": "gold"}
