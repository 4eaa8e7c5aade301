"""Walking GET pages with `next` while leads are being created stays consistent.

250 leads exist; the walk reads pages of 50 by following the absolute `next` URLs while
another thread creates more leads: a batch is committed between every two page fetches, and
the next batch is sent while the following page is being fetched. No lead may appear twice,
and every lead that existed when the walk started must appear.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.helpers import HTTP_TIMEOUT, auth, bootstrap, create_leads, get_page, leads_payload

pytestmark = pytest.mark.live

INITIAL = 250
PAGE_SIZE = 50
BATCH = 7
MAX_PAGES = 40  # bound: the walk gains 50 per page, the writer adds 7


@pytest.fixture
def tenant(live_server_proc, live_db):
    tenant = bootstrap(live_db, name="Walk")
    create_leads(
        live_server_proc.url,
        tenant["access_token"],
        tenant["campaign_id"],
        leads_payload("initial", INITIAL, city="Pune"),
    )
    return tenant


def responses_path(tenant):
    return f"/api/v4/leads/responses/{tenant['campaign_id']}/"


def check_link(link, *, base_url, tenant, page):
    """An absolute URL of the documented shape `.../leads/responses/{campaign_id}/?page=N...`."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == base_url, link
    assert parts.path == responses_path(tenant), link
    assert parts.fragment == ""
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query.get("page_size") == [str(PAGE_SIZE)], link
    if page == 1:
        assert query.get("page", ["1"]) == ["1"], link
    else:
        assert query["page"] == [str(page)], link
    assert set(query) <= {"page", "page_size"}, link


def test_walk_is_stable_under_concurrent_inserts(live_server_proc, tenant):
    base = live_server_proc.url
    token = tenant["access_token"]
    session = requests.Session()
    session.headers.update(auth(token))
    batches = []
    lock = threading.Lock()

    def write_batch():
        n = len(batches)
        leads = leads_payload(f"during-{n}", BATCH, start=n * BATCH)
        create_leads(base, token, tenant["campaign_id"], leads)
        with lock:
            batches.append([lead["lead_id"] for lead in leads])

    seen = []
    pages = 0
    url = f"{base}{responses_path(tenant)}?page_size={PAGE_SIZE}"
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        while url:
            pages += 1
            assert pages <= MAX_PAGES, "the walk does not end"
            response = session.get(url, timeout=HTTP_TIMEOUT)
            assert response.status_code == 200, response.text
            body = response.json()
            seen.extend(item["lead_id"] for item in body["results"])
            assert len(body["results"]) <= PAGE_SIZE
            if body["next"] is not None:
                assert len(body["results"]) == PAGE_SIZE  # only the last page is short
                check_link(body["next"], base_url=base, tenant=tenant, page=pages + 1)
            if pages == 1:
                assert body["previous"] is None
            else:
                check_link(body["previous"], base_url=base, tenant=tenant, page=pages - 1)
            # The previous batch is committed before the next page is read; the next batch
            # is written while that page is being read.
            if pending is not None:
                pending.result()
            if body["next"] is not None:
                pending = writer.submit(write_batch)
            url = body["next"]
        if pending is not None:
            pending.result()

    initial = [f"initial-{i}" for i in range(INITIAL)]
    written = [lead_id for batch in batches for lead_id in batch]
    assert len(batches) >= INITIAL // PAGE_SIZE  # inserts really happened during the walk
    assert len(seen) == len(set(seen)), "a lead appeared twice"
    assert seen[:INITIAL] == initial  # all of them, in creation order, first
    assert set(seen) <= set(initial) | set(written)
    # New leads only ever append: those seen are a prefix of the creation order.
    assert seen[INITIAL:] == written[: len(seen) - INITIAL]

    # A walk after the writes sees everything, and `count` agrees.
    final = get_page(base, token, tenant["campaign_id"], page_size=1000)
    assert final["count"] == INITIAL + len(written)
    assert [item["lead_id"] for item in final["results"]] == initial + written


def test_next_and_previous_are_absolute_urls(live_server_proc, tenant):
    base = live_server_proc.url
    token = tenant["access_token"]
    first = get_page(base, token, tenant["campaign_id"], page_size=PAGE_SIZE)
    assert first["count"] == INITIAL
    assert first["previous"] is None
    check_link(first["next"], base_url=base, tenant=tenant, page=2)
    # Following them lands on the pages they name.
    second = requests.get(first["next"], headers=auth(token), timeout=HTTP_TIMEOUT).json()
    assert second["results"][0]["lead_id"] == f"initial-{PAGE_SIZE}"
    check_link(second["previous"], base_url=base, tenant=tenant, page=1)
    back = requests.get(second["previous"], headers=auth(token), timeout=HTTP_TIMEOUT).json()
    assert back == first
    last = get_page(base, token, tenant["campaign_id"], page_size=PAGE_SIZE, page=5)
    assert last["next"] is None
    check_link(last["previous"], base_url=base, tenant=tenant, page=4)
    # Without the trailing slash, the links still carry the documented path.
    bare = requests.get(
        f"{base}{responses_path(tenant).rstrip('/')}",
        params={"page_size": PAGE_SIZE},
        headers=auth(token),
        timeout=HTTP_TIMEOUT,
    ).json()
    check_link(bare["next"], base_url=base, tenant=tenant, page=2)
    # Other filters are carried along.
    filtered = requests.get(
        f"{base}{responses_path(tenant)}",
        params={"page_size": 1, "lead_id": "initial-3"},
        headers=auth(token),
        timeout=HTTP_TIMEOUT,
    ).json()
    assert filtered["count"] == 1
    assert filtered["next"] is None


def test_next_url_is_exactly_the_documented_string(live_server_proc, tenant):
    base = live_server_proc.url
    first = get_page(base, tenant["access_token"], tenant["campaign_id"], page_size=PAGE_SIZE)
    assert first["next"] == f"{base}{responses_path(tenant)}?page=2&page_size={PAGE_SIZE}"
