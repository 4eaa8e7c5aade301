"""Large volumes through the client against a live server: a create of 30,000 leads sent in
chunks, read back across all 30 pages (sync and async); 25,000 of them processed through the
real path and read back, lazily, with every filter; and a chunked create that fails midway and
is resumed.

How the 25,000 results are processed, and why not by the simulator: their number is put on the
business's do-not-call list through the API (`client.suppressions.create`) before the leads
are created, so the create itself processes each of them without a call
(`lead_create_batch` -> `_withdraw_suppressed`, "Not Called : Do Not Call", a lead.processed
event each), the path a real business takes when it uploads leads it must not call. It is the
cheapest real processing path: the create processes its listed leads in bulk, in its own
transaction (withdrawing them after the create, one transaction each, measured ~4.5 ms a lead
on SQLite, ~115 s for 25,000); `leadline simulate --fast-forward` pays a claim, an attempt and
an outcome per lead, slower still."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from client_support import leads, new_tenant, run

import leadline_client as lc
from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live

TOTAL = 30_000
PROCESSED = 25_000
# The processed leads share one number: one do-not-call entry processes them all.
DNC_PHONE = "9811111111"


@pytest.fixture(scope="module")
def bulk(live_db, live_server_proc):
    """30,000 leads created by one `leads.create` (three chunks of the server's 10,000 limit);
    the first 25,000 carry one number already on the do-not-call list, so the create
    processes them ("Not Called : Do Not Call")."""
    tenant = new_tenant(live_db)
    cid = tenant["campaign_id"]
    batch = [
        *leads("p", PROCESSED, phone=DNC_PHONE, source="bulk"),
        *leads("q", TOTAL - PROCESSED, start=PROCESSED),
    ]
    seen_chunks = []
    before = datetime.now(UTC) - timedelta(seconds=1)
    # A generous timeout: a busy shared machine (CI runs several suites) slows the creates.
    with Leadline(tenant["access_token"], live_server_proc.url, timeout=300) as client:
        listed = client.suppressions.create(DNC_PHONE, reason="bulk test")
        result = client.leads.create(
            cid, batch, idempotency_key="bulk", on_chunk=seen_chunks.append
        )
        # Counted by the server: the processed filter's count on the first page.
        processed = next(client.leads.responses(cid, processed_after=0).pages()).count
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert (listed.created, listed.withdrawn) == (1, 0)
    return {
        **tenant,
        "result": result,
        "seen_chunks": seen_chunks,
        "processed": processed,
        "window": (before, after),
    }


def test_chunked_create_says_which_chunk_created_what(bulk):
    result = bulk["result"]
    assert result.complete and result.created == TOTAL
    assert [(c.index, c.start, c.stop) for c in result.chunks] == [
        (0, 0, 10_000),
        (1, 10_000, 20_000),
        (2, 20_000, 30_000),
    ]
    assert [c.idempotency_key for c in result.chunks] == ["bulk-0", "bulk-1", "bulk-2"]
    assert result.chunks[1].created.lead_ids[0] == "p-10000"
    assert result.chunks[2].created.lead_ids[-1] == f"q-{TOTAL - 1}"
    assert len(set(result.lead_ids)) == TOTAL
    assert bulk["seen_chunks"] == result.chunks  # on_chunk saw each as it finished
    assert bulk["processed"] == PROCESSED


def test_iterating_follows_every_page(bulk, live_server_proc):
    cid = bulk["campaign_id"]
    with Leadline(bulk["access_token"], live_server_proc.url) as client:
        pages = list(client.leads.responses(cid, page_size=1000).pages())
        items = list(client.leads.responses(cid, processed_after=0))
    assert len(pages) == TOTAL // 1000
    assert all(page.count == TOTAL for page in pages)
    assert pages[-1].next is None and pages[0].previous is None
    ids = [item.lead_id for page in pages for item in page.results]
    assert ids == [f"p-{i}" for i in range(PROCESSED)] + [f"q-{i}" for i in range(PROCESSED, TOTAL)]

    # Every processed lead, once, each with its outcome and an aware processed_at.
    assert len(items) == PROCESSED
    assert len({item.lead_id for item in items}) == PROCESSED
    before, after = bulk["window"]
    for item in items:
        assert item.lead_outcome == "Not Called : Do Not Call"
        assert item.processed_at is not None and before <= item.processed_at <= after
        assert item.custom_fields == {"source": "bulk"}


def test_iteration_is_lazy(bulk, live_server_proc):
    requests = []

    def count(request):
        requests.append(request.url)

    http = httpx.Client(event_hooks={"request": [count]})
    with Leadline(bulk["access_token"], live_server_proc.url, http_client=http) as client:
        iterator = iter(client.leads.responses(bulk["campaign_id"], page_size=100))
        first = [next(iterator) for _ in range(150)]
    http.close()
    assert [item.lead_id for item in first] == [f"p-{i}" for i in range(150)]
    assert len(requests) == 2  # two pages of 100 for 150 items, not all 300 pages


def test_filters_async(bulk, live_server_proc):
    cid = bulk["campaign_id"]
    before, after = bulk["window"]

    async def read():
        requests = []

        async def count(request):
            requests.append(request.url)

        http = httpx.AsyncClient(event_hooks={"request": [count]})
        async with AsyncLeadline(
            bulk["access_token"], live_server_proc.url, http_client=http
        ) as client:
            # Lazily: 1,500 items cost two pages of 1,000, then the rest follow page by page.
            walk = aiter(
                client.leads.responses(cid, processed_after=before, processed_before=after)
            )
            first = [await anext(walk) for _ in range(1_500)]
            pages_for_first = len(requests)
            processed = first + [item async for item in walk]
            pages = len(requests)
            none_yet = [
                item
                async for item in client.leads.responses(cid, processed_before=before.timestamp())
            ]
            in_future = [
                item
                async for item in client.leads.responses(cid, processed_after=time.time() + 3600)
            ]
            one = [item async for item in client.leads.responses(cid, lead_id="q-29999")]
            unprocessed = await client.leads.get(cid, "q-25000")
        await http.aclose()
        return pages_for_first, processed, pages, none_yet, in_future, one, unprocessed

    pages_for_first, processed, pages, none_yet, in_future, one, unprocessed = run(read())
    assert pages_for_first == 2
    assert pages == PROCESSED // 1000
    # In the order they were processed: the order they were created in, here.
    assert [item.lead_id for item in processed] == [f"p-{i}" for i in range(PROCESSED)]
    assert all(item.lead_outcome == "Not Called : Do Not Call" for item in processed)
    assert none_yet == [] and in_future == []
    assert [item.lead_id for item in one] == ["q-29999"]
    assert unprocessed is not None and unprocessed.processed_at is None


def test_failed_chunk_is_resumed_without_duplicates(live_db, live_server_proc):
    tenant = new_tenant(live_db)
    cid = tenant["campaign_id"]
    batch = leads("r", 2_500)
    batch[1_200]["phone_number"] = "12345"  # chunk 1 (leads 1,000..1,999) is refused
    with Leadline(tenant["access_token"], live_server_proc.url) as client:
        with pytest.raises(lc.ChunkedCreateError) as info:
            client.leads.create(cid, batch, chunk_size=1_000)
        error = info.value
        assert isinstance(error.cause, lc.BadRequestError)
        # The problem's index is the position in the whole list, not in the chunk.
        assert [(p.index, p.lead_id, p.field) for p in error.errors] == [
            (1_200, "r-1200", "phone_number")
        ]
        partial = error.result
        assert [c.done for c in partial.chunks] == [True, False, False]
        assert partial.created == 1_000 and partial.chunks[1].error is error.cause
        assert [c.stop for c in partial.pending] == [2_000, 2_500]

        batch[1_200]["phone_number"] = "9812001200"
        resumed = client.leads.create(cid, batch, chunk_size=1_000, resume=partial)
        assert resumed.complete and resumed.created == 2_500
        # Chunk 0 was not sent again; chunk 1 went with a fresh key (the server kept its 400).
        assert resumed.chunks[0].idempotency_key == partial.chunks[0].idempotency_key
        ids = [item.lead_id for item in client.leads.responses(cid)]
    assert ids == [f"r-{i}" for i in range(2_500)]
