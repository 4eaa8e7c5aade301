import os
import time
import uuid

import pytest
from django.db import connection, transaction
from django.test import override_settings

from conftest import ApiClient
from leadline.accounts import ratelimit
from leadline.accounts.models import ApiToken
from leadline.accounts.services import api_token_create, api_token_revoke, business_get_or_create


def results(campaign):
    return f"/api/v4/leads/responses/{campaign.public_id}/"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 5000,
    ],
)
def test_missing_or_wrong_token_is_403_json(client, campaign, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(results(campaign), headers=headers)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Authentication credentials were not provided or are not valid."
    }
    assert response["RateLimit-Policy"].startswith('"auth-failures"')


def test_revoked_token_is_403(client, campaign, business):
    issued = api_token_create(business=business, name="temp")
    api = ApiClient(client, issued.secret)
    assert api.get(results(campaign)).status_code == 200
    api_token_revoke(prefix=issued.token.prefix)
    assert api.get(results(campaign)).status_code == 403


def test_token_is_stored_hashed_and_last_use_recorded(api, campaign, token):
    stored = ApiToken.objects.get()
    assert token not in {stored.token_hash, stored.prefix, stored.name}
    assert stored.last_used_at is None
    api.get(results(campaign))
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_inactive_business_tokens_stop_working(api, campaign, business):
    business.is_active = False
    business.save()
    assert api.get(results(campaign)).status_code == 403


def test_unknown_campaign_and_unknown_path_are_json_404(api):
    missing = api.get("/api/v4/leads/responses/NOPE42/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Campaign not found."}
    unknown = api.get("/api/v4/leads/nothing-here/")
    assert unknown.status_code == 404
    assert unknown.json()["detail"]
    assert "RateLimit" in unknown


def test_every_api_response_has_ratelimit_headers(api, campaign):
    response = api.get(results(campaign))
    assert response["RateLimit-Policy"] == '"business";q=100000;w=60'
    remaining = response["RateLimit"]
    assert remaining.startswith('"business";r=99999;t=')


def test_business_limit_gives_429_with_retry_after(client, campaign, business, token):
    business.rate_limit_per_minute = 3
    business.save()
    api = ApiClient(client, token)
    statuses = [api.get(results(campaign)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = api.get(results(campaign))
    assert limited.status_code == 429
    body = limited.json()
    assert body["limit"] == 3
    assert "3 requests per minute" in body["detail"]
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["RateLimit"].startswith('"business";r=0;t=')


def test_all_tokens_of_a_business_share_one_budget(client, campaign, business, token):
    business.rate_limit_per_minute = 2
    business.save()
    second = api_token_create(business=business).secret
    assert ApiClient(client, token).get(results(campaign)).status_code == 200
    assert ApiClient(client, second).get(results(campaign)).status_code == 200
    assert ApiClient(client, second).get(results(campaign)).status_code == 429


@override_settings(LEADLINE_AUTH_FAILURES_PER_MINUTE=3)
def test_failed_authentications_are_limited_per_address(client, campaign):
    statuses = [
        client.get(results(campaign), headers={"Authorization": "Bearer bad"}).status_code
        for _ in range(5)
    ]
    assert statuses == [403, 403, 403, 429, 429]
    other = client.get(results(campaign), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 403


def test_fixed_window_resets_at_the_next_minute(db):
    start = 1_800_000_000.0  # a minute boundary
    key = f"test:{uuid.uuid4()}"
    first = [ratelimit.hit(key=key, limit=2, policy="p", now=start + i) for i in range(3)]
    assert [s.allowed for s in first] == [True, True, False]
    assert first[2].reset_seconds == 58
    assert ratelimit.hit(key=key, limit=2, policy="p", now=start + 60).allowed
    assert ratelimit.purge_expired(now=start + 61) == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_hit_in_autocommit_counts_and_leaves_commits_synchronous():
    """On PostgreSQL a hit outside any transaction skips its WAL flush (SET LOCAL, in the
    hit's own implicit transaction): it still counts, and the session's setting, and a
    transaction the hit runs inside, keep waiting for the disk."""
    key = f"test:{uuid.uuid4()}"
    now = 1_800_000_000.0
    assert [ratelimit.hit(key=key, limit=5, policy="p", now=now).hits for _ in range(3)] == [
        1,
        2,
        3,
    ]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
        with transaction.atomic():
            assert ratelimit.hit(key=key, limit=5, policy="p", now=now).hits == 4
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.fixture
def redis_url():
    url = os.environ.get("LEADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running")
    return url


@pytest.fixture
def redis_settings(settings, redis_url):
    settings.REDIS_URL = redis_url
    # Business ids repeat between test runs; a fresh prefix keeps old counters out.
    settings.REDIS_KEY_PREFIX = f"leadline-test-{uuid.uuid4().hex}"
    return settings


def test_redis_backend_counts_across_clients(db, redis_settings):
    key = f"test:{uuid.uuid4()}"
    now = time.time()
    statuses = [ratelimit.hit(key=key, limit=2, policy="p", now=now).allowed for _ in range(3)]
    assert statuses == [True, True, False]
    from leadline.accounts.models import RateLimitBucket

    assert not RateLimitBucket.objects.exists()


def test_redis_backend_limits_the_api(client, campaign, redis_settings):
    business = business_get_or_create(name=f"Redis {uuid.uuid4().hex[:6]}", rate_limit_per_minute=2)
    from leadline.campaigns.services import campaign_create

    theirs = campaign_create(business=business, name="r")
    api = ApiClient(client, api_token_create(business=business).secret)
    statuses = [api.get(results(theirs)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
