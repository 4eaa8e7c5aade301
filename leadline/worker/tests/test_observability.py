"""/metrics, /readyz's loop lag and request ids, through the real paths in one process
(single-process metrics: no PROMETHEUS_MULTIPROC_DIR). The multiprocess mode under gunicorn
and the JSON logs of a full run are tests/test_observability_live.py's."""

import io
import json
import logging
import re
import threading
import time

import pytest
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from leadline.core import loops as core_loops
from leadline.core.logs import JsonFormatter, request_id_bound
from leadline.dialer.tests.conftest import no_call_gap
from leadline.webhooks import services as webhook_services
from leadline.webhooks.delivery import DeliveryLoop
from leadline.webhooks.models import Event
from leadline.webhooks.tests.conftest import receiver  # noqa: F401  (shared fixture)
from leadline.worker.models import LoopHeartbeat
from leadline.worker.runner import load_loops, run_loop

CREATE_ROUTE = "api/v4/leads/create/<campaign_id>/"


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code in (200, 201), response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name: str, **labels) -> float:
    """The sum over every label set that includes `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def run_once(*names: str) -> None:
    by_name = {loop.name: loop for loop in load_loops()}
    for name in names:
        run_loop(by_name[name], threading.Event(), once=True)


@pytest.mark.django_db(transaction=True)
def test_each_named_metric_moves_through_the_real_paths(
    client,
    api,
    campaign,
    make_leads,
    media,
    receiver,  # noqa: F811
):
    no_call_gap(campaign.business)
    webhook_services.endpoint_create(business=campaign.business, url=receiver.url)
    before = scrape(client)

    # The API: leads created, then a 429 from the business's limit.
    make_leads(3, prefix="obs")
    campaign.business.rate_limit_per_minute = 1
    campaign.business.save(update_fields=["rate_limit_per_minute"])
    statuses = {api.get(f"/api/v4/leads/responses/{campaign.public_id}/").status_code for _ in "ab"}
    assert 429 in statuses
    middle = scrape(client)
    assert value(middle, "leadline_leads_due", campaign=campaign.public_id) == 3

    # A simulate run: claims, calls placed and finished, leads processed (webhook events).
    out = io.StringIO()
    call_command(
        "simulate", "--campaign", campaign.public_id, "--reps", "1", "--fast-forward", "--json",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert json.loads(out.getvalue())["errors"] == []
    queued = scrape(client)
    assert value(queued, "leadline_webhook_outbox_backlog") >= 3
    assert value(queued, "leadline_webhook_outbox_oldest_age_seconds") >= 0
    assert value(queued, "leadline_leads_due", campaign=campaign.public_id) == 0

    # The worker: webhook deliveries (to the receiver on 127.0.0.1) and housekeeping loops.
    run_once("deliver-webhooks", "expire-dialer-leases", "purge-rate-limit-windows")
    assert len(receiver.requests) >= 3
    failing = core_loops.Loop("always-failing", 60, lambda: _Failing())
    run_loop(failing, threading.Event(), once=True)
    after = scrape(client)

    def moved(name: str, **labels) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("leadline_http_requests_total", route=CREATE_ROUTE, status="201") == 1
    assert moved("leadline_http_request_duration_seconds_count", route=CREATE_ROUTE) == 1
    assert moved("leadline_http_requests_total", status="429") >= 1
    assert moved("leadline_leads_created_total") == 3
    assert moved("leadline_rate_limit_rejections_total", policy="business") >= 1
    assert moved("leadline_dialer_claims_total", result="lead") >= 3
    assert moved("leadline_dialer_claims_total", result="empty") >= 1
    assert moved("leadline_dialer_claim_duration_seconds_count") >= 4
    assert moved("leadline_calls_total", provider="simulator", status="placed") >= 3
    finished = moved("leadline_calls_total", provider="simulator") - moved(
        "leadline_calls_total", provider="simulator", status="placed"
    )
    assert finished >= 3
    assert moved("leadline_webhook_deliveries_total", result="succeeded") >= 3
    assert moved("leadline_webhook_delivery_delay_seconds_count") >= 3
    assert value(after, "leadline_webhook_outbox_backlog") == 0
    assert value(after, "leadline_webhook_outbox_oldest_age_seconds") == 0
    for loop in ("deliver-webhooks", "expire-dialer-leases", "purge-rate-limit-windows"):
        assert moved("leadline_worker_loop_runs_total", loop=loop) == 1
        assert value(after, "leadline_worker_loop_last_success_timestamp_seconds", loop=loop) > 0
        assert ("leadline_worker_loop_lag_seconds", (("loop", loop),)) in after
    assert moved("leadline_worker_loop_errors_total", loop="always-failing") == 1
    # No raw path, lead id or number in any label.
    for name, labels in after:
        for _, label in labels:
            assert "obs-" not in label and "+91" not in label


class _Failing:
    def run_once(self) -> int:
        raise RuntimeError("boom")

    def close(self) -> None:
        pass


@pytest.mark.django_db
def test_metrics_are_for_loopback_or_the_token(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    # Through a proxy on this machine: the public may be behind it.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics").status_code == 200
    settings.LEADLINE_METRICS_TOKEN = "metrics-token-1234"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer metrics-token-1234"
    )
    assert ok.status_code == 200 and b"leadline_http_requests_total" in ok.content


@pytest.mark.django_db
def test_metrics_are_off_the_api_rate_limit(client, api, business):
    business.rate_limit_per_minute = 1
    business.save(update_fields=["rate_limit_per_minute"])
    for _ in range(3):
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "RateLimit" not in response


# run_loop closes its thread's connection when done, as the worker does: these tests commit.
@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_stuck_loop(client, settings, monkeypatch):
    release = threading.Event()
    stuck = core_loops.Loop("stuck-for-test", 0.01, lambda: _Stuck(release))
    monkeypatch.setitem(core_loops._registry, stuck.name, stuck)
    settings.LEADLINE_LOOP_LAG_GRACE_SECONDS = 0
    run_once("expire-dialer-leases")
    run_loop(stuck, threading.Event(), once=True)  # its one successful run: stamped
    assert LoopHeartbeat.objects.filter(name="stuck-for-test").exists()
    # Its next run hangs: the stamp ages past 0.01 s x 3 while the others' stay fresh.
    thread = threading.Thread(target=run_loop, args=(stuck, threading.Event(), True))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while (response := client.get("/readyz")).status_code == 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        release.set()
        thread.join(timeout=10)
    body = response.json()
    assert response.status_code == 503
    assert body["late_loops"] == ["stuck-for-test"]
    assert body["loops"]["expire-dialer-leases"]["ok"] is True
    assert body["loops"]["stuck-for-test"]["ok"] is False


class _Stuck:
    def __init__(self, release: threading.Event):
        self.release = release

    def run_once(self) -> int:
        # The first run succeeds (and is stamped); any later one hangs until released.
        if LoopHeartbeat.objects.filter(name="stuck-for-test").exists():
            self.release.wait(10)
        return 0

    def close(self) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_fresh_loops(client):
    run_once("expire-dialer-leases")
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["loops"]["expire-dialer-leases"]["ok"] is True


@pytest.mark.django_db
def test_request_id_is_taken_validated_and_returned(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123.x")["X-Request-ID"] == "abc-123.x"
    for unsafe in ("bad id", "x" * 200, "<script>", ""):
        returned = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)["X-Request-ID"]
        assert returned != unsafe and len(returned) == 32
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_routes_are_url_patterns(client, api, campaign, settings):
    before = scrape(client)
    api.get(f"/api/v4/leads/responses/{campaign.public_id}/")
    client.get("/no/such/page/123")
    client.get("/static/dashboard/dashboard.css")
    client.get("/api/v4/leads/responses/NOPE99/", HTTP_AUTHORIZATION="Bearer wrong")
    after = scrape(client)
    moved = {
        dict(labels)["route"]
        for (name, labels), value in after.items()
        if name == "leadline_http_requests_total" and value > before.get((name, labels), 0)
    }
    # (and the first scrape itself)
    assert moved == {"api/v4/leads/responses/<campaign_id>/", "unmatched", "static", "metrics"}


@pytest.mark.django_db
def test_request_id_follows_the_event_into_the_webhook_sender(
    api,
    campaign,
    make_leads,
    receiver,  # noqa: F811
    caplog,
):
    webhook_services.endpoint_create(
        business=campaign.business, url=receiver.url, event_types=["lead.disabled"]
    )
    [lead_id] = make_leads(1, prefix="rid")
    response = api.post(
        f"/api/v4/leads/disable/{campaign.public_id}/",
        [{"lead_id": lead_id}],
        headers={"X-Request-ID": "req-disable-1"},
    )
    assert response.status_code in (200, 201), response.content
    assert response["X-Request-ID"] == "req-disable-1"
    assert Event.objects.get(type="lead.disabled").request_id == "req-disable-1"
    loop = DeliveryLoop()
    try:
        with caplog.at_level(logging.DEBUG, logger="leadline.webhooks"):
            assert loop.run_once() == 1
    finally:
        loop.close()
    [line] = [r for r in caplog.records if r.getMessage() == "webhook delivered"]
    entry = json.loads(JsonFormatter().format(line))
    assert entry["request_id"] == "req-disable-1"
    assert entry["logger"] == "leadline.webhooks.delivery" and entry["status_code"] == 200


def test_json_lines_carry_the_bound_request_id_and_extras():
    record = logging.LogRecord("leadline.x", logging.INFO, __file__, 1, "hi %s", ("there",), None)
    record.lead_count = 3
    record.request = object()  # not a plain value: left out
    with request_id_bound("rid-7"):
        entry = json.loads(JsonFormatter().format(record))
    assert "request" not in entry
    assert entry["message"] == "hi there" and entry["level"] == "INFO"
    assert entry["request_id"] == "rid-7" and entry["lead_count"] == 3
    assert entry["logger"] == "leadline.x" and entry["timestamp"].endswith("+00:00")


@pytest.mark.django_db
def test_the_grafana_dashboard_and_the_docs_use_the_metric_names_we_serve(client):
    from django.conf import settings as django_settings

    served = {
        family.name
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
    }
    docs = django_settings.BASE_DIR / "docs"
    for path in (docs / "grafana-leadline.json", docs / "operations.md"):
        named = set(re.findall(r"leadline_[a-z_]+", path.read_text()))
        named = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in named}
        assert named, path
        assert named <= served, (path, named - served)


@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_its_own_metrics_when_asked():
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    call_command(
        "worker", "--once", "--only", "expire-dialer-leases", "--metrics-bind", f"127.0.0.1:{port}"
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'leadline_worker_loop_runs_total{loop="expire-dialer-leases"}' in text
