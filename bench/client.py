"""The Python client (clients/python): create 100,000 leads and read them all back through
`leadline_client`, beside the same requests made with raw httpx calls in the same run (same
chunks of 10,000, same pages of 1,000, fresh campaigns), so the ratio is the client's own cost
(models, retries bookkeeping, JSON) on top of the HTTP calls."""

import json
import time

import httpx
from leadline_client import Leadline

from . import report
from .infra import Server

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


def _raw(base: str, token: str, campaign: str, leads: list[dict]) -> tuple[float, float, int]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
        started = time.perf_counter()
        for start in range(0, len(leads), CHUNK):
            body = json.dumps(leads[start : start + CHUNK]).encode()
            response = http.post(f"/api/v4/leads/create/{campaign}/", content=body)
            assert response.status_code == 201, response.text[:200]
        created = time.perf_counter() - started
        started = time.perf_counter()
        read = 0
        url: str | None = f"/api/v4/leads/responses/{campaign}/?page_size={PAGE}"
        while url:
            page = http.get(url).json()
            read += len(page["results"])
            url = page["next"]
        return created, time.perf_counter() - started, read


def _client(base: str, token: str, campaign: str, leads: list[dict]) -> tuple[float, float, int]:
    with Leadline(token, base, timeout=300) as client:
        started = time.perf_counter()
        result = client.leads.create(campaign, leads)
        assert result.created == len(leads)
        created = time.perf_counter() - started
        started = time.perf_counter()
        read = sum(1 for _ in client.leads.responses(campaign, page_size=PAGE))
        return created, time.perf_counter() - started, read


def run(*, server: Server, token: str, raw_campaign: str, client_campaign: str, count: int) -> None:
    report.heading(f"Python client: create {count:,} leads, read them all back")
    base = f"http://127.0.0.1:{server.port}"
    raw = _raw(base, token, raw_campaign, _leads("raw", count))
    ours = _client(base, token, client_campaign, _leads("cli", count))
    assert raw[2] == ours[2] == count, (raw[2], ours[2])
    rows = []
    for label, r, c in (("create", raw[0], ours[0]), ("read all", raw[1], ours[1])):
        rows.append([label, f"{r:.2f}", f"{c:.2f}", report.rate(count / c), report.ratio(c / r)])
    report.table(["step", "raw httpx s", "client s", "client leads/s", "client/raw"], rows)
