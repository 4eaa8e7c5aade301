"""The Python client (clients/python): create 100,000 leads and read them all back through
`leadline_client`, beside the same requests made with raw httpx calls in the same run (same
chunks of 10,000, same pages of 1,000, fresh campaigns), so the ratio is the client's own cost
(models, retries bookkeeping, JSON) on top of the HTTP calls.

The read-back is repeated (raw and client alternating) and the median reported: one walk is a
few seconds of mostly server time, and a busy machine moves it by more than the client's own
cost. The CPU seconds of this process (`time.process_time`) are the client's cost without the
server's: what parsing the results into typed objects adds to raw httpx's `.json()`."""

import json
import statistics
import time
from collections.abc import Callable

import httpx
from leadline_client import Leadline

from . import report
from .infra import Server
from .ingest import FENCE_LEADS

CHUNK = 10_000
PAGE = 1_000


def _leads(prefix: str, count: int) -> list[dict]:
    return [
        {
            "lead_id": f"{prefix}-{i}",
            "phone_number": f"98{i % 100_000_000:08d}",
            "contact_name": f"Person {i}",
            "city": "Pune",
        }
        for i in range(count)
    ]


READ_ROUNDS = 3


def _raw_read(http: httpx.Client, campaign: str) -> int:
    read = 0
    url: str | None = f"/api/v4/leads/responses/{campaign}/?page_size={PAGE}"
    while url:
        page = http.get(url).json()
        read += len(page["results"])
        url = page["next"]
    return read


def _timed(read: Callable[[], int]) -> tuple[float, float, int]:
    """Wall seconds, this process's CPU seconds, items read."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = read()
    return time.perf_counter() - wall, time.process_time() - cpu, count


def run(
    *,
    server: Server,
    token: str,
    raw_campaign: str,
    client_campaign: str,
    fence_campaign: str,
    count: int,
) -> None:
    report.heading(f"Python client: create {count:,} leads, read them all back")
    base = f"http://127.0.0.1:{server.port}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    raw_leads, client_leads = _leads("raw", count), _leads("cli", count)
    with (
        httpx.Client(base_url=base, headers=headers, timeout=300) as http,
        Leadline(token, base, timeout=300) as client,
    ):
        # Untimed: leads in a campaign created after both, so that neither appends at the
        # right edge of the campaign-leading indexes (see bench/ingest.py fence).
        fenced = http.post(
            f"/api/v4/leads/create/{fence_campaign}/", json=_leads("fence", FENCE_LEADS)
        )
        assert fenced.status_code == 201, fenced.text[:200]
        started = time.perf_counter()
        for start in range(0, count, CHUNK):
            body = json.dumps(raw_leads[start : start + CHUNK]).encode()
            response = http.post(f"/api/v4/leads/create/{raw_campaign}/", content=body)
            assert response.status_code == 201, response.text[:200]
        raw_create = time.perf_counter() - started
        started = time.perf_counter()
        assert client.leads.create(client_campaign, client_leads).created == count
        client_create = time.perf_counter() - started

        raw_reads, client_reads = [], []
        for _ in range(READ_ROUNDS):
            raw_reads.append(_timed(lambda: _raw_read(http, raw_campaign)))
            client_reads.append(
                _timed(lambda: sum(1 for _ in client.leads.responses(client_campaign)))
            )
    assert {r[2] for r in raw_reads + client_reads} == {count}

    def median(reads: list[tuple[float, float, int]], i: int) -> float:
        return statistics.median(r[i] for r in reads)

    rows = [
        ["create", raw_create, client_create],
        [f"read all (median of {READ_ROUNDS})", median(raw_reads, 0), median(client_reads, 0)],
        ["read all: this process's CPU s", median(raw_reads, 1), median(client_reads, 1)],
    ]
    report.table(
        ["step", "raw httpx s", "client s", "client leads/s", "client/raw"],
        [
            [label, f"{r:.2f}", f"{c:.2f}", report.rate(count / c), report.ratio(c / r)]
            for label, r, c in rows
        ],
    )
