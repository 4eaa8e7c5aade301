"""SIGTERM drains the webhook worker: what it started posting is recorded, nothing more is claimed.

A real `leadline worker --only deliver-webhooks` process and a receiver process on 127.0.0.1
that holds every request HOLD_S seconds before answering 200 (the helpers and fixtures of
tests/test_webhooks_live.py). The endpoint's in-flight limit is 10, so the worker's first
posts are exactly 10 requests held by the receiver; SIGTERM arrives while they are held.
The worker must then exit by itself once they are answered, having recorded each of them
(succeeded, one attempt), given back the deliveries it had claimed but not posted (no lease
left to wait out), and claimed nothing after the signal. Every wait is bounded.
"""

import signal
import time

from conftest import leadline
from tests.helpers import Worker, query_live_db
from tests.test_webhooks_live import (  # noqa: F401  (fixtures)
    hook_env,
    receiver,
    tenant,
    wait_until,
)

HOLD_S = 1.5  # the receiver holds each request this long (well within the post timeout)
IN_FLIGHT = 10  # the endpoint's max_in_flight (the default)
DELIVERIES = 250  # more than one claim's worth: a claim after the signal would find some


def _test_events(env, endpoint_id: int, count: int) -> None:
    """`count` signed test events to the endpoint through the outbox (endpoint_send_test)."""
    code = (
        "from leadline.webhooks.models import WebhookEndpoint\n"
        "from leadline.webhooks.services import endpoint_send_test\n"
        f"endpoint = WebhookEndpoint.objects.get(pk={endpoint_id})\n"
        f"for _ in range({count}):\n"
        "    endpoint_send_test(endpoint=endpoint)\n"
    )
    leadline(env, "shell", "-c", code)


def _claimed(env, endpoint_id: int) -> int:
    """Deliveries claimed for the endpoint so far: each claim counts them against its pace."""
    [(hits,)] = query_live_db(
        env,
        "SELECT COALESCE(SUM(hits), 0) FROM accounts_ratelimitbucket WHERE key = %s",
        (f"webhook:{endpoint_id}",),
    )
    return hits


def test_sigterm_finishes_the_posts_in_flight_records_them_and_claims_nothing_more(
    hook_env,  # noqa: F811  (the fixtures imported above)
    tenant,  # noqa: F811
    receiver,  # noqa: F811
    tmp_path,
):
    endpoint_id = tenant["endpoint_id"]
    receiver.start("--delay", str(HOLD_S))
    _test_events(hook_env, endpoint_id, DELIVERIES)
    # hook_env's 2 s post timeout is too close to HOLD_S on a busy machine.
    worker = Worker({**hook_env, "LEADLINE_WEBHOOK_TIMEOUT": "10"}, tmp_path)
    try:
        worker.start()
        _drain_on_sigterm(hook_env, endpoint_id, receiver, worker)
    finally:
        worker.stop()


def _drain_on_sigterm(env, endpoint_id: int, hooks, worker) -> None:
    wait_until(
        lambda: len(hooks.records()) >= IN_FLIGHT,
        timeout=60,
        interval=0.02,
        what="the first posts to reach the receiver",
        tail=worker.tail,
    )
    # The first answers come back HOLD_S after the first posts: until then the worker has
    # nothing to record and no reason to claim again; let any claim under way settle.
    time.sleep(0.3)
    claimed_before = _claimed(env, endpoint_id)
    assert IN_FLIGHT <= claimed_before < DELIVERIES
    signalled = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(timeout=HOLD_S + 30)
    took = time.monotonic() - signalled
    assert worker.proc.returncode == 0, worker.tail()
    assert took < HOLD_S + 10, f"the worker took {took:.1f} s to stop:\n{worker.tail()}"
    assert "worker stopped" in worker.output()

    # Only the posts in flight at the signal went out; none started after it.
    posted = {record["headers"]["webhook-id"] for record in hooks.records()}
    assert len(posted) == len(hooks.records()) == IN_FLIGHT
    # Nothing was claimed after the signal.
    assert _claimed(env, endpoint_id) == claimed_before

    rows = query_live_db(
        env,
        "SELECT d.message_id, d.status, d.attempts_count, d.lease_expires_at, "
        "(SELECT COUNT(*) FROM webhooks_deliveryattempt a WHERE a.delivery_id = d.id), "
        "(SELECT MAX(a.status_code) FROM webhooks_deliveryattempt a WHERE a.delivery_id = d.id) "
        "FROM webhooks_delivery d WHERE d.endpoint_id = %s",
        (endpoint_id,),
    )
    assert len(rows) == DELIVERIES
    for message_id, status, attempts_count, lease, attempt_rows, code in rows:
        # No lease left for anyone to wait out: a restarted worker takes the rest at once.
        assert lease is None, message_id
        if message_id in posted:
            # Started before the signal: answered, and recorded before the worker exited.
            assert (status, attempts_count, attempt_rows, code) == ("succeeded", 1, 1, 200)
        else:
            # Claimed (or not) but never posted: untouched, no attempt counted.
            assert (status, attempts_count, attempt_rows) == ("pending", 0, 0), message_id
