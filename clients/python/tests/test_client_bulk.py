"""Large volumes through the client against a live server: a create of 30,000 leads sent in
chunks, read back across all 30 pages (sync and async), 5,000 of them processed through the
real path and read back with every filter; and a chunked create that fails midway and is
resumed.

Why 5,000 processed and not all 25,000 the issue asked for: the cheapest real processing path
(`lead_withdraw`, one transaction and one lead.processed event per lead) measured ~4.5 ms a
lead on SQLite here, ~115 s for 25,000, over the client suite's time budget on its own. The
pagination itself is exercised over all 30,000 results."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from client_support import leads, new_tenant, run, suppress_numbers

import leadline_client as lc
from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live

TOTAL = 30_000
PROCESSED = 5_000
# The processed leads share one number: one do-not-call entry processes them all.
DNC_PHONE = "9811111111"


@pytest.fixture(scope="module")
def bulk(live_db, live_server_proc):
    """30,000 leads created by one `leads.create` (three chunks of the server's 10,000 limit);
    the first 5,000 carry one number that is then put on the do-not-call list, which
    processes them ("Not Called : Do Not Call")."""
    tenant = new_tenant(live_db, name="Bulk")
    cid = tenant["campaign_id"]
    batch = [
        *leads("p", PROCESSED, phone=DNC_PHONE, source="bulk"),
        *leads("q", TOTAL - PROCESSED, start=PROCESSED),
    ]
    seen_chunks = []
    before = datetime.now(UTC) - timedelta(seconds=1)
    with Leadline(tenant["access_token"], live_server_proc.url) as client:
        result = client.leads.create(
            cid, batch, idempotency_key="bulk", on_chunk=seen_chunks.append
        )
    processed = suppress_numbers(live_db, cid, ["+91" + DNC_PHONE])
    after = datetime.now(UTC) + timedelta(seconds=1)
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
    assert result.chunks[1].created.lead_ids[0] == "q-10000"
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

    import httpx

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
        async with AsyncLeadline(bulk["access_token"], live_server_proc.url) as client:
            processed = 0
            pages = 0
            async for page in client.leads.responses(
                cid, processed_after=before, processed_before=after, page_size=1000
            ).pages():
                pages += 1
                processed += len(page.results)
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
            return processed, pages, none_yet, in_future, one, unprocessed

    processed, pages, none_yet, in_future, one, unprocessed = run(read())
    assert (processed, pages) == (PROCESSED, PROCESSED // 1000)
    assert none_yet == [] and in_future == []
    assert [item.lead_id for item in one] == ["q-29999"]
    assert unprocessed is not None and unprocessed.processed_at is None


def test_failed_chunk_is_resumed_without_duplicates(live_db, live_server_proc):
    tenant = new_tenant(live_db, name="Resume")
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
