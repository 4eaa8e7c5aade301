"""Metrics and logs with real processes: `leadline serve` (gunicorn with 2 workers and a
`leadline worker` beside it, sharing the metrics directory serve makes), `leadline simulate`
and a webhook receiver on 127.0.0.1, all with LEADLINE_LOG_FORMAT=json.

One run: API create (with X-Request-ID), a 429, a simulate run, webhook deliveries by the
worker, an erasure (with X-Request-ID) whose lead.erased event the worker delivers. Then:
- /metrics (bearer token) sums the counters of both gunicorn workers and of the worker
  process: the number of create requests is exact whichever worker answered each; /readyz
  lists the loops; serve removes its metrics directory when it stops;
- every log line of every process is one JSON object with the expected keys, the erasure's
  request id reaches the worker's line for its delivery, and no line holds a phone number,
  the API token, the webhook secret or the metrics token.
"""

import concurrent.futures
import os
import signal
import subprocess
import uuid
from pathlib import Path

import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import BIN, ROOT, free_port, leadline, live_database_url, server_env
from leadline.webhooks.tests.conftest import Receiver
from tests.helpers import HTTP_TIMEOUT, bootstrap, no_call_gap, wait_for

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


class Serve:
    """`leadline serve` (gunicorn with 2 single-threaded workers, and the worker beside it),
    its output (both, JSON lines) in one log; its metrics directory made under `scratch`."""

    def __init__(self, env: dict[str, str], directory: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.scratch = directory / "tmp"
        self.scratch.mkdir()
        self.log = directory / "serve.log"
        env = {**env, "PORT": str(self.port), "TMPDIR": str(self.scratch)}
        env.update(WEB_CONCURRENCY="2", WEB_THREADS="1")
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with open(self.log, "wb") as output:
            self.proc = subprocess.Popen(
                [str(BIN / "leadline"), "serve"],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_up(self) -> None:
        wait_for(self._up, timeout=60, what="leadline serve")
        [self.metrics_dir] = [
            p for p in self.scratch.iterdir() if p.name.startswith("leadline-metrics")
        ]

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.output()[-3000:]
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.fixture
def run_env(tmp_path_factory):
    url, drop = live_database_url(tmp_path_factory)
    env = server_env(
        url,
        LEADLINE_LOG_FORMAT="json",
        LEADLINE_LOG_LEVEL="DEBUG",
        LEADLINE_WEBHOOK_ALLOW_PRIVATE="1",
        LEADLINE_METRICS_TOKEN=METRICS_TOKEN,
    )
    leadline(env, "migrate", "--no-input", "-v0")
    yield env, tmp_path_factory.mktemp("observability")
    drop()


def test_metrics_add_up_across_processes_and_logs_are_json_without_secrets(run_env):
    env, directory = run_env
    receiver = Receiver()
    serve = Serve(env, directory)
    try:
        _run(env, directory, receiver, serve)
    finally:
        serve.stop()
        receiver.close()
    # serve removes the metrics directory it made.
    assert not any(p.name.startswith("leadline-metrics") for p in serve.scratch.iterdir())


def _run(env, directory: Path, receiver: Receiver, serve: Serve) -> None:
    # Set up while serve boots.
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
    serve.wait_up()
    before = scrape(serve.url)

    # API creates, one lead each, in parallel over both gunicorn workers (threads=1 each).
    def create(i: int) -> int:
        response = requests.post(
            f"{serve.url}/api/v4/leads/create/{campaign}/",
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
            f"{serve.url}/api/v4/leads/responses/{limited['campaign_id']}/",
            headers={"Authorization": f"Bearer {limited['access_token']}"},
            timeout=HTTP_TIMEOUT,
        ).status_code
        for _ in range(3)
    }
    assert 429 in limited_statuses

    # A simulate run on the node (its counters in the node's directory too) processes every
    # lead; serve's worker delivers each lead.processed.
    simulate = _leadline_logged(
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(serve.metrics_dir)},
        directory / "simulate",
        "simulate", "--campaign", campaign, "--fast-forward", "--seed", "3", "--json",
    )  # fmt: skip
    assert orjson.loads(simulate)["leads_processed"] == LEADS
    wait_for(lambda: len(receiver.requests) >= LEADS, timeout=60, what="webhook deliveries")

    # An erasure with a request id: its lead.erased event is delivered by the worker.
    erased = requests.post(
        f"{serve.url}/api/v4/leads/delete/{campaign}/",
        json={"lead_id": "obs-0"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "erase-obs-0"},
        timeout=HTTP_TIMEOUT,
    )
    assert erased.status_code == 202, erased.text
    wait_for(
        lambda: '"request_id":"erase-obs-0","webhook_id"' in serve.output(),
        timeout=60,
        what="the worker's line for the erasure's delivery",
    )

    delivered_before = total(before, "leadline_webhook_deliveries_total", result="succeeded")

    # The line is written when the post returns; the worker counts the delivery a moment
    # later, once its try is recorded: scrape until the count is in.
    def counted():
        samples = scrape(serve.url)
        delivered = total(samples, "leadline_webhook_deliveries_total", result="succeeded")
        return samples if delivered >= delivered_before + LEADS + 1 else None

    after = wait_for(
        counted,
        timeout=30,
        what="the erasure's delivery in the worker's counters",
    )
    ready = requests.get(serve.url + "/readyz", timeout=HTTP_TIMEOUT)
    assert ready.status_code == 200, ready.text
    assert "deliver-webhooks" in ready.json()["loops"]

    # Both gunicorn workers and the worker process wrote metrics; the scrape adds them up.
    [master, worker] = sorted(children(serve.proc.pid))  # gunicorn started first
    web_workers = children(master)
    written = {
        int(name.rsplit("_", 1)[1].removesuffix(".db"))
        for name in os.listdir(serve.metrics_dir)
        if name.startswith("counter_")
    }
    assert len(web_workers & written) == 2, (web_workers, written)
    assert worker in written

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

    _check_logs(
        {"serve": serve.output(), "simulate": (directory / "simulate.log").read_text()},
        phones,
        [token, limited["access_token"], hook["secret"]],
    )


def _leadline_logged(env, base: Path, *args: str) -> str:
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


def _check_logs(logs: dict[str, str], phones: list[str], secrets: list[str]) -> None:
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
    loggers = {entry["logger"] for _, entry in entries}
    assert {"gunicorn.access", "leadline.worker", "leadline.webhooks.delivery"} <= loggers
    # The access log names each request by the id it was given (or that we returned).
    access = {e["request_id"] for _, e in entries if e["logger"] == "gunicorn.access"}
    assert {f"create-{i}" for i in range(LEADS)} <= access
    # The worker's line for the erasure's delivery carries the erasure request's id.
    delivered = [e for _, e in entries if e["request_id"] == "erase-obs-0" and "webhook_id" in e]
    assert delivered and delivered[0]["event_type"] == "lead.erased", delivered
