"""The pipelined delivery loop: several batches per run, limits, releases, stop, recording."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from leadline.webhooks import services
from leadline.webhooks.delivery import DeliveryLoop, claim, pipeline
from leadline.webhooks.delivery.record import results_record
from leadline.webhooks.delivery.sender import PostResult
from leadline.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


class CountingReceiver:
    """127.0.0.1 receiver that answers `status` after `delay` s, counting requests in flight."""

    def __init__(self, *, status: int = 200, delay: float = 0.0, on_request=None):
        self.status, self.delay, self.on_request = status, delay, on_request
        self.ids: list[str] = []
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    receiver.ids.append(self.headers["webhook-id"])
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                if receiver.on_request is not None:
                    receiver.on_request()
                time.sleep(receiver.delay)
                with lock:
                    receiver.in_flight -= 1
                body = json.dumps({"ok": True}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks(settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    made: list[CountingReceiver] = []

    def make(**options) -> CountingReceiver:
        made.append(CountingReceiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def loop():
    runner = DeliveryLoop()
    yield runner
    runner.close()


def endpoint_with(campaign, url: str, count: int, **fields) -> WebhookEndpoint:
    """An endpoint with `count` pending test deliveries (through endpoint_send_test)."""
    endpoint = services.endpoint_create(
        business=campaign.business, url=url, campaign=campaign
    ).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(rate_per_minute=100_000, **fields)
    endpoint.refresh_from_db()
    for _ in range(count):
        services.endpoint_send_test(endpoint=endpoint)
    return endpoint


def test_one_run_delivers_several_batches_once_each(campaign, hooks, loop):
    receiver = hooks()
    count = claim.BATCH_SIZE * 2 + 50
    endpoint_with(campaign, receiver.url, count)
    # One run claims batch after batch while it posts (a run may end early when the
    # endpoint holds its share of claimed deliveries; the next run goes on).
    runs = [loop.run_once()]
    assert runs[0] > claim.BATCH_SIZE
    while sum(runs) < count and len(runs) < 5:
        runs.append(loop.run_once())
    assert sum(runs) == count
    ids = set(Delivery.objects.values_list("message_id", flat=True))
    assert len(receiver.ids) == count and set(receiver.ids) == ids
    assert set(Delivery.objects.values_list("status", "attempts_count", "lease_expires_at")) == {
        ("succeeded", 1, None)
    }
    assert DeliveryAttempt.objects.filter(status_code=200).count() == count
    assert WebhookEndpoint.objects.get().last_success_at is not None
    assert loop.run_once() == 0


def test_in_flight_limit_holds_across_overlapping_batches(campaign, hooks, loop, monkeypatch):
    # Small batches, claimed while the previous ones are still being posted.
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 5)
    monkeypatch.setattr(pipeline, "CLAIM_BELOW", 5)
    receiver = hooks(delay=0.02)
    endpoint_with(campaign, receiver.url, 40, max_in_flight=3)
    handled = 0
    for _ in range(10):
        handled += loop.run_once()
        if handled == 40:
            break
    assert handled == 40
    assert receiver.max_in_flight == 3


def test_stop_mid_run_finishes_posts_in_flight_and_gives_back_the_rest(campaign, hooks, loop):
    stop = threading.Event()

    def first_request():
        stop.set()
        time.sleep(0.2)  # the loop sees the stop before any answer frees a slot

    receiver = hooks(on_request=first_request)
    endpoint_with(campaign, receiver.url, 10, max_in_flight=2)
    loop.bind_stop(stop)
    assert loop.run_once() == 2
    assert len(receiver.ids) == 2
    succeeded = Delivery.objects.filter(status="succeeded")
    assert set(succeeded.values_list("message_id", flat=True)) == set(receiver.ids)
    rest = Delivery.objects.exclude(message_id__in=receiver.ids)
    assert set(rest.values_list("status", "attempts_count", "lease_expires_at")) == {
        ("pending", 0, None)
    }
    assert DeliveryAttempt.objects.count() == 2
    # Stopped: claims nothing more.
    assert loop.run_once() == 0 and len(receiver.ids) == 2


def test_a_lease_too_short_to_post_is_given_back_unposted(campaign, hooks, loop, monkeypatch):
    # A post may not start once the lease no longer covers it plus the recording.
    monkeypatch.setattr(claim, "RECORD_SLACK", claim.LEASE_MARGIN + timedelta(seconds=1))
    receiver = hooks()
    endpoint_with(campaign, receiver.url, 3)
    assert loop.run_once() == 0
    assert receiver.ids == []
    assert set(Delivery.objects.values_list("status", "attempts_count", "lease_expires_at")) == {
        ("pending", 0, None)
    }


def test_gone_disables_and_the_endpoints_queue_is_given_back(campaign, hooks, loop):
    receiver = hooks(status=410)
    endpoint_with(campaign, receiver.url, 5, max_in_flight=1)
    assert loop.run_once() == 1
    assert len(receiver.ids) == 1
    assert not WebhookEndpoint.objects.get().enabled
    posted = Delivery.objects.get(message_id=receiver.ids[0])
    assert posted.attempts_count == 1 and posted.status == "pending"
    rest = Delivery.objects.exclude(pk=posted.pk)
    assert set(rest.values_list("attempts_count", "lease_expires_at")) == {(0, None)}


def test_success_for_a_delivery_erased_in_flight_keeps_it_cancelled_and_scrubbed(campaign, hooks):
    receiver = hooks()
    endpoint = endpoint_with(campaign, receiver.url, 2)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=1)
    )
    claimed = claim.batch_claim().deliveries
    assert len(claimed) == 2
    erased, kept = claimed
    # What events_scrub_for_lead does, while the posts are in flight.
    Delivery.objects.filter(pk=erased.pk).update(status="cancelled", lease_expires_at=None)
    Event.objects.filter(deliveries=erased.pk).update(payload={"erased": True})
    now = timezone.now()
    recorded = results_record(
        [
            PostResult(d.pk, now, 200, 5, "the receiver's answer", endpoint_id=endpoint.pk)
            for d in claimed
        ],
        now=now,
    )
    assert recorded == 2
    cancelled, succeeded = Delivery.objects.get(pk=erased.pk), Delivery.objects.get(pk=kept.pk)
    assert (cancelled.status, cancelled.attempts_count, cancelled.delivered_at) == (
        "cancelled",
        1,
        None,
    )
    assert cancelled.attempts.get().response_excerpt == ""
    assert (succeeded.status, succeeded.attempts_count) == ("succeeded", 1)
    assert succeeded.delivered_at == now and succeeded.lease_expires_at is None
    assert succeeded.attempts.get().response_excerpt == "the receiver's answer"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.last_success_at == now


def test_released_outcomes_clear_the_lease_and_count_no_attempt(campaign, hooks):
    receiver = hooks()
    endpoint_with(campaign, receiver.url, 2)
    claimed = claim.batch_claim().deliveries
    assert all(d.lease_expires_at for d in Delivery.objects.all())
    now = timezone.now()
    results_record(
        [
            PostResult(claimed[0].pk, now, 200, 3),
            PostResult(claimed[1].pk, now, released=True),
        ]
    )
    released = Delivery.objects.get(pk=claimed[1].pk)
    assert (released.status, released.attempts_count, released.lease_expires_at) == (
        "pending",
        0,
        None,
    )
    assert not released.attempts.exists()
    assert Delivery.objects.get(pk=claimed[0].pk).status == "succeeded"


def test_a_slow_endpoint_is_held_to_what_it_can_post_soon(loop):
    # Unknown latency: one batch. 1 s answers, 10 at once: 5 s worth is 50 deliveries.
    assert loop._endpoint_share(1, 10) == pipeline.BATCH_SIZE
    loop._latency_s[1] = 1.0
    assert loop._endpoint_share(1, 10) == 10 * pipeline.QUEUE_S
    loop._latency_s[1] = 60.0
    assert loop._endpoint_share(1, 10) == 10  # never fewer than it may post at once
    loop._latency_s[1] = 0.002
    assert loop._endpoint_share(1, 10) == pipeline.ENDPOINT_QUEUE_MAX
