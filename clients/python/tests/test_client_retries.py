"""Idempotent retries after a dropped connection: a TCP proxy on 127.0.0.1 forwards the
first request to the live server, waits until the server has run it, and cuts the connection
before the answer gets back. The client retries with the same Idempotency-Key and must get the
first answer, with nothing created twice."""

import pytest
from client_support import CuttingProxy, leads, new_tenant, run

from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live


@pytest.fixture
def tenant(live_db):
    return new_tenant(live_db, name="Retry")


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
