"""429 against a live server, with a business whose budget is 3 requests a minute: without
retries the client raises RateLimitError with the server's limit and Retry-After; with them it
waits out the window (Retry-After) and succeeds, and after that paces itself from the
`RateLimit` header instead of spending a request on a 429. At most one window (60 s) is
waited; the pacing over a second window is covered offline (test_client_offline.py)."""

import httpx
import pytest
from client_support import new_tenant
from tests.helpers import wait_for_fresh_window

import leadline_client as lc
from leadline_client import Leadline

pytestmark = pytest.mark.live

LIMIT = 3


def test_rate_limited_business(live_db, live_server_proc):
    tenant = new_tenant(live_db, rate_limit=LIMIT)
    cid = tenant["campaign_id"]
    wait_for_fresh_window(5)  # the burn below and the first 429 fall in one window
    headers = {"Authorization": f"Bearer {tenant['access_token']}"}
    url = f"{live_server_proc.url}/api/v4/leads/responses/{cid}/"
    for _ in range(LIMIT):
        assert httpx.get(url, headers=headers).status_code == 200

    impatient = Leadline(tenant["access_token"], live_server_proc.url, max_retries=0)
    with impatient, pytest.raises(lc.RateLimitError) as info:
        impatient.leads.get(cid, "x")
    assert info.value.status_code == 429 and info.value.limit == LIMIT
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60

    statuses = []

    def seen(response):
        statuses.append(response.status_code)

    http = httpx.Client(event_hooks={"response": [seen]})
    with Leadline(tenant["access_token"], live_server_proc.url, http_client=http) as patient:
        assert patient.leads.get(cid, "x") is None  # waited for the next window, then 200
        assert patient.leads.get(cid, "y") is None
        assert patient.leads.get(cid, "z") is None  # this one left r=0 ...
        # ... so the client now knows it must wait for the reset before its next request.
        assert patient._pacer.wait_time() > 0
    http.close()
    assert statuses == [429, 200, 200, 200]
