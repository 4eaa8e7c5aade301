"""Schemathesis against the live v4 API: every operation of /api/v4/openapi.json, authenticated.

A real gunicorn server (the session's `live_server_proc`) on a fresh database; the document is
read from the server itself, so a new endpoint is fuzzed without touching this file. For each
operation, schemathesis generates valid requests (POSITIVE) and invalid ones (NEGATIVE) for
our campaign, and every response must:

- not be a 5xx;
- have a status the document lists for the operation (429 included), with its content type;
- have a body that matches the documented schema for that status;
- when the request was rejected (4xx) or only read (GET), leave the campaign as it was: its
  leads (every column a request could change) and its webhook events, read from the database
  after each such call, are unchanged.

Bounded so CI stays inside its limit: at most EXAMPLES requests per operation and mode, no
shrinking, derandomized (the same cases every run), and a wall-clock budget (BUDGET_SECONDS
for the whole run, split evenly): an operation out of time stops sending. Failures of every
operation are collected and reported together, each with a curl command to reproduce it.
"""

import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadline.campaigns.models import Campaign
from leadline.leads.models import Lead
from leadline.webhooks.models import Event
from tests.helpers import HTTP_TIMEOUT, bootstrap, create_leads, leads_payload, query_live_db

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("LEADLINE_FUZZ_EXAMPLES", "40"))
BUDGET_SECONDS = float(os.environ.get("LEADLINE_FUZZ_BUDGET", "60"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
LEAD_COLUMNS = (
    "l.id, l.lead_id, l.phone_number, l.contact_name, l.custom_fields, l.status, "
    "l.updated_at, l.processed_at, l.disabled_at, l.converted_at, l.conversion_detail, "
    "l.erased_at"
)


@pytest.fixture(scope="module")
def target(live_server_proc, live_db):
    tenant = bootstrap(live_db, name="Fuzz")
    base = live_server_proc.url
    # Some leads for updates, conversions, disables and erasures to find; schemathesis draws
    # lead ids from the schema, so also a few short, likely ones.
    create_leads(base, tenant["access_token"], tenant["campaign_id"], leads_payload("base", 5))
    create_leads(
        base,
        tenant["access_token"],
        tenant["campaign_id"],
        [
            {"lead_id": lead_id, "phone_number": "9876543210", "contact_name": "Likely"}
            for lead_id in ("0", "a", "A", "00", "-")
        ],
    )
    schema = schemathesis.openapi.from_url(f"{base}/api/v4/openapi.json", timeout=HTTP_TIMEOUT)
    session = requests.Session()
    yield {"tenant": tenant, "base": base, "schema": schema, "session": session}
    session.close()


def snapshot(env, campaign_id: str) -> tuple:
    """What a request could change in the campaign: its leads and its webhook events."""
    leads = query_live_db(
        env,
        f"SELECT {LEAD_COLUMNS} FROM {Lead._meta.db_table} l JOIN {Campaign._meta.db_table} c "
        "ON c.id = l.campaign_id WHERE c.public_id = %s ORDER BY l.id",
        (campaign_id,),
    )
    events = query_live_db(
        env,
        f"SELECT count(*), max(e.id) FROM {Event._meta.db_table} e "
        f"JOIN {Campaign._meta.db_table} c ON c.id = e.campaign_id WHERE c.public_id = %s",
        (campaign_id,),
    )
    return tuple(map(repr, leads)), tuple(events)


# gunicorn's default limit_request_line: a longer request line gets its JSON 414.
REQUEST_LINE_LIMIT = 4094


def _request_line_bytes(response) -> int:
    request = response.request
    return len(f"{request.method} {request.path_url} HTTP/1.1".encode())


def operations(schema):
    ops = []
    for result in schema.get_all_operations():
        ops.append(result.ok())
    return ops


def test_document_lists_every_endpoint(target):
    labels = {op.label for op in operations(target["schema"])}
    assert labels == {
        "POST /api/v4/leads/create/{campaign_id}/",
        "POST /api/v4/leads/check/{campaign_id}/",
        "GET /api/v4/leads/responses/{campaign_id}/",
        "POST /api/v4/leads/disable/{campaign_id}/",
        "POST /api/v4/leads/delete/{campaign_id}/",
        "GET /api/v4/leads/erasures/{receipt_id}/",
        "PATCH /api/v4/leads/update/{campaign_id}/",
        "POST /api/v4/leads/convert/{campaign_id}/",
        "POST /api/v4/consents/",
        "POST /api/v4/consents/delete/",
        "POST /api/v4/suppressions/create/",
        "POST /api/v4/suppressions/delete/",
        "POST /api/v4/suppressions/check/",
        "GET /api/v4/suppressions/",
    }


def fuzz_operation(op, mode, *, target, env, checks, seconds) -> tuple[int, float]:
    """Send at most EXAMPLES generated requests to `op` within `seconds`; raise at the first
    failure (no shrinking). Returns how many were sent and how long it took."""
    base, session = target["base"], target["session"]
    campaign_id = target["tenant"]["campaign_id"]
    headers = {"Authorization": f"Bearer {target['tenant']['access_token']}"}
    state = {"before": snapshot(env, campaign_id), "sent": 0, "statuses": Counter()}
    started = time.monotonic()
    stop_at = started + seconds

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=op.as_strategy(generation_mode=mode, path_parameters={"campaign_id": campaign_id}))
    def fuzz(case):
        if time.monotonic() > stop_at:
            return
        response = case.call(base_url=base, session=session, headers=headers, timeout=30)
        state["sent"] += 1
        state["statuses"][response.status_code] += 1
        if response.status_code == 414 and _request_line_bytes(response) > REQUEST_LINE_LIMIT:
            # Refused by gunicorn before the API saw it (docs/api.md): no operation's status.
            assert response.json()["detail"].startswith("URI Too Long"), response.text
        else:
            case.validate_response(response, checks=checks, headers=headers)
        after = snapshot(env, campaign_id)
        if response.status_code >= 400 or op.method.upper() == "GET":
            assert after == state["before"], (
                f"{op.label} answered {response.status_code} but changed the campaign:\n"
                f"{case.as_curl_command(headers=headers)}\n{response.text[:500]}"
            )
        state["before"] = after

    try:
        fuzz()
    finally:
        state["elapsed"] = round(time.monotonic() - started, 1)
        target.setdefault("sent", {})[(op.label, mode.value)] = (
            state["sent"],
            state["elapsed"],
            dict(state["statuses"]),
        )
    return state["sent"], state["elapsed"]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_fuzz_every_operation(target, live_db, mode):
    ops = operations(target["schema"])
    seconds = BUDGET_SECONDS / len(MODES) / len(ops)
    # Not schemathesis's negative_data_rejection: it counts an unknown query parameter as
    # invalid, and the API ignores those (as the spec lets it); a rejected request's effects
    # are checked here instead (the snapshot).

    failures: list[str] = []
    for op in ops:
        try:
            fuzz_operation(op, mode, target=target, env=live_db, checks=CHECKS, seconds=seconds)
        except Exception as exc:
            failures.append(f"--- {op.label} ({mode.value})\n{exc}")
    sent = {label: v for (label, m), v in target["sent"].items() if m == mode.value}
    print(f"\nfuzzed ({mode.value}): requests and seconds per operation: {sent}")
    assert not failures, "\n\n".join(failures)
    assert all(count for count, *_ in sent.values()), sent
