"""Rate limits across processes: two gunicorn servers share one budget per business.

Windows are fixed and aligned to epoch minutes, so every test first makes sure enough of the
current minute is left (`wait_for_fresh_window`, which sleeps at most ~10 s).
"""

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import LiveServer
from tests.helpers import HTTP_TIMEOUT, auth, bootstrap, session_from, wait_for_fresh_window

pytestmark = pytest.mark.live

LIMIT = 10
RATE_LIMIT = re.compile(r'^"business";r=(\d+);t=(\d+)$')
REDIS_URL = os.environ.get("LEADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def start_pair(env):
    servers = []
    try:
        for _ in range(2):
            servers.append(LiveServer(env, workers=1, threads=4))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture(scope="module")
def db_servers(live_db):
    servers = start_pair(live_db)
    yield servers
    for server in servers:
        server.stop()


def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return client


@pytest.fixture(scope="module")
def redis_servers(live_db):
    client = redis_client()
    # A fresh key prefix: business ids restart in every test database, and other runs (on
    # another database, or CI's other leg) may share this Redis database.
    prefix = f"leadline-test-{uuid.uuid4().hex}"
    servers = start_pair({**live_db, "REDIS_URL": REDIS_URL, "LEADLINE_REDIS_PREFIX": prefix})
    yield servers, client, prefix
    for server in servers:
        server.stop()


def url(server, tenant):
    return f"{server.url}/api/v4/leads/responses/{tenant['campaign_id']}/"


def seconds_to_reset():
    return 60 - int(time.time()) % 60


def check_allowed(response, remaining):
    assert response.status_code == 200, response.text
    assert response.headers["RateLimit-Policy"] == f'"business";q={LIMIT};w=60'
    match = RATE_LIMIT.match(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    assert int(match.group(1)) == remaining
    assert abs(int(match.group(2)) - seconds_to_reset()) <= 1
    assert "Retry-After" not in response.headers


def check_limited(response):
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert re.search(rf"\b{LIMIT}\b", body["detail"]), body
    assert "per minute" in body["detail"]
    assert response.headers["RateLimit-Policy"] == f'"business";q={LIMIT};w=60'
    match = RATE_LIMIT.match(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    assert match.group(1) == "0"
    reset = int(match.group(2))
    assert 1 <= reset <= 60
    assert abs(reset - seconds_to_reset()) <= 1
    assert response.headers["Retry-After"] == str(reset)


def alternate_until_limited(servers, tenant):
    """LIMIT + 3 sequential requests, alternating servers: LIMIT answered, then 429s."""
    headers = auth(tenant["access_token"])
    responses = [
        requests.get(url(servers[i % 2], tenant), headers=headers, timeout=HTTP_TIMEOUT)
        for i in range(LIMIT + 3)
    ]
    for i, response in enumerate(responses[:LIMIT]):
        check_allowed(response, remaining=LIMIT - 1 - i)
    for response in responses[LIMIT:]:
        check_limited(response)
    # Every endpoint of the business is limited now, on both servers; writes included.
    for server in servers:
        create = requests.post(
            f"{server.url}/api/v4/leads/create/{tenant['campaign_id']}/",
            json=[{"lead_id": "late", "phone_number": "9876543210", "contact_name": "Late"}],
            headers=headers,
            timeout=HTTP_TIMEOUT,
        )
        check_limited(create)


def test_two_servers_share_one_budget_in_the_database(db_servers, live_db):
    tenant = bootstrap(live_db, rate_limit=LIMIT)
    other = bootstrap(live_db, rate_limit=LIMIT)
    wait_for_fresh_window()
    alternate_until_limited(db_servers, tenant)
    # Another business has its own budget.
    response = requests.get(
        url(db_servers[1], other), headers=auth(other["access_token"]), timeout=HTTP_TIMEOUT
    )
    check_allowed(response, remaining=LIMIT - 1)


def test_concurrent_burst_over_two_servers_lets_exactly_the_limit_through(db_servers, live_db):
    tenant = bootstrap(live_db, rate_limit=LIMIT)
    headers = auth(tenant["access_token"])
    wait_for_fresh_window()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda i: requests.get(
                    url(db_servers[i % 2], tenant), headers=headers, timeout=HTTP_TIMEOUT
                ),
                range(3 * LIMIT),
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * LIMIT + [429] * (2 * LIMIT)
    remaining = sorted(
        int(RATE_LIMIT.match(r.headers["RateLimit"]).group(1))
        for r in responses
        if r.status_code == 200
    )
    assert remaining == list(range(LIMIT))  # each hit counted once, none lost
    for response in responses:
        if response.status_code == 429:
            check_limited(response)


def test_two_servers_share_one_budget_in_redis(redis_servers, db_servers, live_db):
    servers, client, prefix = redis_servers
    tenant = bootstrap(live_db, rate_limit=LIMIT)
    wait_for_fresh_window()
    alternate_until_limited(servers, tenant)
    window_start = int(time.time()) // 60 * 60
    key = f"{prefix}:rl:business:{tenant['business_id']}:{window_start}"
    # The count lives in Redis: LIMIT + 3 reads and one create per server.
    assert int(client.get(key)) == LIMIT + 3 + 2
    assert 0 < client.ttl(key) <= 120
    # ... and not in the database: servers without REDIS_URL count in the database, where
    # this business has not spent anything yet.
    response = requests.get(
        url(db_servers[0], tenant), headers=auth(tenant["access_token"]), timeout=HTTP_TIMEOUT
    )
    check_allowed(response, remaining=LIMIT - 1)


def test_failed_authentications_are_limited_per_client_address(live_db):
    tenant = bootstrap(live_db)
    server = LiveServer({**live_db, "LEADLINE_AUTH_FAILURES_PER_MINUTE": "5"}, workers=1)
    try:
        # Other tests fail authentications from 127.0.0.1 against the same database: this
        # client uses its own loopback address (and so does the control client below).
        a, b, c = uuid.uuid4().bytes[:3]
        address = f"127.{1 + a % 254}.{1 + b % 254}.{1 + c % 253}"  # never 127.0.0.x
        me = session_from(address)
        other = session_from(address.rsplit(".", 1)[0] + f".{2 + c % 253}")
        target = f"{server.url}/api/v4/leads/responses/NOPE00/"
        bad = {"Authorization": "Bearer wrong-token"}
        wait_for_fresh_window()
        responses = [me.get(target, headers=bad, timeout=HTTP_TIMEOUT) for _ in range(6)]
        for response in responses[:5]:
            assert response.status_code == 403, response.text
            assert response.json()["detail"]
            assert response.headers["RateLimit-Policy"] == '"auth-failures";q=5;w=60'
        limited = responses[5]
        assert limited.status_code == 429, limited.text
        assert limited.headers["Content-Type"] == "application/json"
        assert "failed authentications" in limited.json()["detail"]
        assert re.match(r'^"auth-failures";r=0;t=\d+$', limited.headers["RateLimit"])
        assert int(limited.headers["Retry-After"]) >= 1
        # Another address is not limited; a valid token from the limited address still works
        # (only failures are counted against an address).
        assert other.get(target, headers=bad, timeout=HTTP_TIMEOUT).status_code == 403
        good = me.get(url(server, tenant), headers=auth(tenant["access_token"]), timeout=30)
        assert good.status_code == 200, good.text
        assert good.headers["RateLimit-Policy"].startswith('"business";')
    finally:
        server.stop()
