"""Metrics and logs with real processes: gunicorn (2 workers, multiprocess metrics in one
PROMETHEUS_MULTIPROC_DIR, as `leadline serve` sets it), `leadline simulate`, `leadline worker`
and a webhook receiver on 127.0.0.1, all with LEADLINE_LOG_FORMAT=json.

One run: API create (with X-Request-ID), a 429, a simulate run, webhook deliveries by the
worker, an erasure (with X-Request-ID) whose lead.erased event the worker delivers. Then:
- /metrics (bearer token) sums the counters of both gunicorn workers and of the worker
  process: the number of create requests is exact whichever worker answered each;
- every log line of every process is one JSON object with the expected keys, the erasure's
  request id reaches the worker's line for its delivery, and no line holds a phone number,
  the API token, the webhook secret or the metrics token.
"""

import concurrent.futures
import os
import uuid
from pathlib import Path

import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import BIN, ROOT, LiveServer, leadline, live_database_url, server_env
from leadline.webhooks.tests.conftest import Receiver
from tests.helpers import HTTP_TIMEOUT, Worker, bootstrap, no_call_gap, wait_for

pytestmark = pytest.mark.live

METRICS_TOKEN = f"metrics-{uuid.uuid4().hex}"
LEADS = 12
PARALLEL_CREATES = 24
CREATE_ROUTE = "api/v4/leads/create/<campaign_id>/"


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(
        url + "/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples, name: str, **labels) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def gunicorn_worker_pids(master: int) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.add(int(entry.name))
    return pids


@pytest.fixture
def run_dir(tmp_path_factory):
    url, drop = live_database_url(tmp_path_factory)
    directory = tmp_path_factory.mktemp("observability")
    metrics_dir = directory / "metrics"
    metrics_dir.mkdir()
    env = server_env(
        url,
        LEADLINE_LOG_FORMAT="json",
        LEADLINE_LOG_LEVEL="DEBUG",
        LEADLINE_WEBHOOK_ALLOW_PRIVATE="1",
        LEADLINE_METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    leadline(env, "migrate", "--no-input", "-v0")
    yield env, directory
    drop()


def test_metrics_add_up_across_processes_and_logs_are_json_without_secrets(run_dir):
    env, directory = run_dir
    receiver = Receiver()
    server = LiveServer(env, workers=2, threads=1, log=directory / "server.log")
    worker = Worker(env, directory, loops=("deliver-webhooks", "expire-dialer-leases"))
    try:
        _run(env, directory, receiver, server, worker)
    finally:
        worker.stop()
        server.stop()
        receiver.close()


def _run(env, directory: Path, receiver: Receiver, server: LiveServer, worker: Worker) -> None:
    tenant = bootstrap(env, name="Observed")
    no_call_gap(env, "Observed %")
    hook = orjson.loads(
        leadline(
            env,
            "webhook",
            "add",
            "--campaign",
            tenant["campaign_id"],
            "--url",
            receiver.url,
            "--events",
            "lead.processed",
            "lead.erased",
            "--rate",
            "100000",
            "--json",
        )
    )
    limited = bootstrap(env, rate_limit=1, name="Limited")
    token, campaign = tenant["access_token"], tenant["campaign_id"]
    phones = [f"97531{i:05d}" for i in range(LEADS)]
    before = scrape(server.url)

    # API creates, one lead each, in parallel over both gunicorn workers (threads=1 each).
    def create(i: int) -> int:
        response = requests.post(
            f"{server.url}/api/v4/leads/create/{campaign}/",
            json=[{"lead_id": f"obs-{i}", "phone_number": phones[i], "contact_name": f"P {i}"}],
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": f"create-{i}"},
            timeout=HTTP_TIMEOUT,
        )
        assert response.headers["X-Request-ID"] == f"create-{i}"
        return response.status_code

    # The first LEADS create leads; the rest repeat lead ids (400): all count as requests.
    indexes = [i % LEADS for i in range(PARALLEL_CREATES)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, indexes))
    assert statuses.count(201) == LEADS, statuses
    # A 429 from the limited business (1 request a minute).
    limited_statuses = {
        requests.get(
            f"{server.url}/api/v4/leads/responses/{limited['campaign_id']}/",
            headers={"Authorization": f"Bearer {limited['access_token']}"},
            timeout=HTTP_TIMEOUT,
        ).status_code
        for _ in range(3)
    }
    assert 429 in limited_statuses

    # A simulate run processes every lead; the worker delivers each lead.processed.
    simulate = _leadline_logged(env, directory / "simulate", "simulate", "--campaign", campaign,
                                "--fast-forward", "--seed", "3", "--json")  # fmt: skip
    assert orjson.loads(simulate)["leads_processed"] == LEADS
    worker.start()
    worker.wait_ready()
    wait_for(lambda: len(receiver.requests) >= LEADS, timeout=60, what="webhook deliveries")

    # An erasure with a request id: its lead.erased event is delivered by the worker.
    erased = requests.post(
        f"{server.url}/api/v4/leads/delete/{campaign}/",
        json={"lead_id": "obs-0"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "erase-obs-0"},
        timeout=HTTP_TIMEOUT,
    )
    assert erased.status_code == 202, erased.text
    wait_for(
        lambda: any(
            r["headers"].get("webhook-event-type") == "lead.erased" for r in receiver.requests
        ),
        timeout=60,
        what="the lead.erased delivery",
    )
    wait_for(lambda: "erase-obs-0" in worker.output(), timeout=30, what="the erasure's request id")
    after = scrape(server.url)

    # Both gunicorn workers wrote metrics, and the scrape adds theirs and the worker's up.
    pids = gunicorn_worker_pids(server.proc.pid)
    written = {
        int(name.rsplit("_", 1)[1].removesuffix(".db"))
        for name in os.listdir(env["PROMETHEUS_MULTIPROC_DIR"])
        if name.startswith("counter_")
    }
    assert len(pids & written) == 2, (pids, written)
    assert worker.proc.pid in written

    def moved(name: str, **labels) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("leadline_http_requests_total", route=CREATE_ROUTE) == PARALLEL_CREATES
    assert moved("leadline_http_requests_total", route=CREATE_ROUTE, status="201") == LEADS
    assert moved("leadline_http_request_duration_seconds_count", route=CREATE_ROUTE) == (
        PARALLEL_CREATES
    )
    assert moved("leadline_leads_created_total") == LEADS
    assert moved("leadline_rate_limit_rejections_total", policy="business") >= 1
    assert moved("leadline_dialer_claims_total", result="lead") >= LEADS
    assert moved("leadline_calls_total", provider="simulator", status="placed") >= LEADS
    assert moved("leadline_webhook_deliveries_total", result="succeeded") >= LEADS + 1
    assert moved("leadline_webhook_delivery_delay_seconds_count") >= LEADS + 1
    assert moved("leadline_worker_loop_runs_total", loop="deliver-webhooks") >= 1
    assert total(after, "leadline_worker_loop_last_success_timestamp_seconds") > 0
    assert ("leadline_leads_due", (("campaign", campaign),)) in after

    _check_logs(directory, worker, phones, [token, limited["access_token"], hook["secret"]])


def _leadline_logged(env, base: Path, *args: str) -> str:
    import subprocess

    result = subprocess.run(
        [str(BIN / "leadline"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    base.with_suffix(".log").write_text(result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _check_logs(directory: Path, worker: Worker, phones: list[str], secrets: list[str]) -> None:
    logs = {
        "server": (directory / "server.log").read_text(),
        "worker": worker.output(),
        "simulate": (directory / "simulate.log").read_text(),
    }
    forbidden = [*secrets, METRICS_TOKEN]
    for phone in phones:
        forbidden += [phone, "+91" + phone]
    entries = []
    for name, text in logs.items():
        for line in text.splitlines():
            if not line.strip():
                continue
            for value in forbidden:
                assert value not in line, f"{name} log holds a secret or a number: {line}"
            entry = orjson.loads(line)  # every line is one JSON object
            assert {"timestamp", "level", "logger", "message", "request_id"} <= entry.keys(), line
            entries.append((name, entry))
    assert any(name == "worker" for name, _ in entries)
    # The access log names each request by the id it was given (or that we returned).
    access = {e["request_id"] for name, e in entries if e["logger"] == "gunicorn.access"}
    assert {f"create-{i}" for i in range(LEADS)} <= access
    delivered = [
        entry
        for name, entry in entries
        if name == "worker" and entry["request_id"] == "erase-obs-0"
    ]
    assert delivered and delivered[0]["event_type"] == "lead.erased", delivered


def test_serve_shares_one_metrics_directory_between_gunicorn_and_its_worker(tmp_path_factory):
    """`leadline serve`: the worker's loop counters show in gunicorn's /metrics (loopback, no
    token), /readyz lists the loops, and the directory goes when serve stops."""
    import signal
    import subprocess

    from conftest import free_port

    url, drop = live_database_url(tmp_path_factory)
    scratch = tmp_path_factory.mktemp("serve-tmp")
    port = free_port()
    env = server_env(url, TMPDIR=str(scratch), PORT=str(port), WEB_CONCURRENCY="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        leadline(env, "migrate", "--no-input", "-v0")
        log = tmp_path_factory.mktemp("serve") / "serve.log"
        with open(log, "wb") as output:
            proc = subprocess.Popen(
                [str(BIN / "leadline"), "serve"],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:

            def loops_counted() -> bool:
                try:
                    text = requests.get(base + "/metrics", timeout=HTTP_TIMEOUT).text
                except requests.ConnectionError:
                    return False
                return 'leadline_worker_loop_runs_total{loop="expire-dialer-leases"}' in text

            wait_for(loops_counted, timeout=60, what="the worker's counters in /metrics")
            [metrics_dir] = [p for p in scratch.iterdir() if p.name.startswith("leadline-metrics")]
            assert any(metrics_dir.iterdir())
            ready = requests.get(base + "/readyz", timeout=HTTP_TIMEOUT)
            assert ready.status_code == 200, ready.text
            assert "expire-dialer-leases" in ready.json()["loops"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        assert not any(p.name.startswith("leadline-metrics") for p in scratch.iterdir())
    finally:
        drop()
