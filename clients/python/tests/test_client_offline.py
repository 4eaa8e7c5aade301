"""The client's logic without a server (httpx.MockTransport): Retry-After and backoff, pacing
from the RateLimit header, writes carrying an Idempotency-Key, lenient models, and webhook
verification (signatures, rotation, wrong secret, tolerance)."""

import json
import time

import httpx
import pytest

import leadline_client as lc
from leadline_client import Leadline, _base, webhooks

PAGE = {"count": 0, "next": None, "previous": None, "results": []}


def test_429_waits_retry_after_then_succeeds(monkeypatch):
    slept = []
    monkeypatch.setattr(_base.random, "uniform", lambda a, b: 0.0)
    monkeypatch.setattr(time, "sleep", slept.append)
    answers = iter(
        [
            httpx.Response(429, json={"detail": "slow", "limit": 5, "retry_after": 7},
                           headers={"Retry-After": "7"}),
            httpx.Response(503, json={"detail": "down"}),
            httpx.Response(200, json=PAGE),
        ]
    )  # fmt: skip
    client = Leadline(
        "k", "http://api.test", transport=httpx.MockTransport(lambda r: next(answers))
    )
    assert list(client.leads.responses("C1")) == []
    waits = [s for s in slept if s > 0]
    assert waits[0] == 7  # the server's Retry-After, honoured
    assert waits[1] == _base.BACKOFF_BASE  # then backoff of the 2nd try, 2x base, halved (jitter 0)


def test_retries_stop_after_max_retries_with_the_typed_error(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(429, json={"detail": "no", "limit": 5, "retry_after": 1},
                              headers={"Retry-After": "1"})  # fmt: skip

    client = Leadline("k", "http://api.test", max_retries=2, transport=httpx.MockTransport(handler))
    with pytest.raises(lc.RateLimitError) as info:
        client.leads.get("C1", "x")
    assert len(calls) == 3 and info.value.retry_after == 1 and info.value.limit == 5


def test_backoff_is_capped():
    assert all(_base.backoff(n) <= _base.BACKOFF_CAP for n in range(30))
    assert _base.backoff(30) >= _base.BACKOFF_CAP / 2


def test_pacing_waits_for_the_window_before_a_429(monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    headers = {"RateLimit": '"business";r=0;t=12', "RateLimit-Policy": '"business";q=3;w=60'}
    client = Leadline(
        "k",
        "http://api.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=PAGE, headers=headers)),
    )
    list(client.leads.responses("C1"))
    assert slept == []  # nothing was known before the first answer
    list(client.leads.responses("C1"))
    # The second request waited for the reset: no 429 spent.
    assert len(slept) == 1 and 11 <= slept[0] <= 12


def test_writes_carry_an_idempotency_key_reused_across_retries(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: None)
    keys = []

    def handler(request):
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            raise httpx.ReadError("connection reset")
        return httpx.Response(201, json={"detail": "1", "disabled": 1, "lead_ids": ["a"],
                                         "receipt_id": "r-1"})  # fmt: skip

    client = Leadline("k", "http://api.test", transport=httpx.MockTransport(handler))
    result = client.leads.disable("C1", "a")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert result.extra == {"receipt_id": "r-1"}  # an unknown field is kept, not an error


def test_a_post_without_a_key_is_not_retried():
    call = _base.Call("POST", "/x", body=b"[]")
    assert _base.retry_delay(call, 0, None, 5) is None
    assert _base.retry_delay(_base.Call("GET", "/x"), 0, None, 5) is not None


def test_results_are_lenient_and_dates_aware():
    item = {
        "phone_number": "+919800000000",
        "lead_id": "a",
        "latest_recording_url": None,
        "campaign_id": "C1",
        "latest_called_at": "2026-01-01T10:00:00Z",
        "lead_outcome": "Interested",
        "processed_at": "2026-01-01T10:05:00+05:30",
        "contact_name": "A",
        "created_at": "2026-01-01T09:00:00",
        "lead_responses": {"q": "yes"},
        "city": "Pune",
    }
    lead = lc.LeadResult.from_dict(item)
    assert lead.custom_fields == {"city": "Pune"}
    for value in (lead.latest_called_at, lead.processed_at, lead.created_at):
        assert value is not None and value.tzinfo is not None


SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def signed(body: bytes, secrets: list[str], ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    sigs = " ".join(webhooks.sign(s, "msg_1", ts, body) for s in secrets)
    return {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": sigs,
            "webhook-event-type": "lead.converted"}  # fmt: skip


def test_webhook_verify_accepts_good_and_rotated_signatures():
    body = json.dumps({"lead_id": "a", "campaign_id": "C1"}).encode()
    event = webhooks.verify(body, signed(body, [SECRET]), SECRET)
    assert (event.id, event.type, event.data["lead_id"]) == ("msg_1", "lead.converted", "a")
    assert event.lead is None  # not a lead result event
    # During a rotation the header has two signatures: either secret verifies.
    both = signed(body, [OTHER, SECRET])
    assert webhooks.verify(body, both, SECRET).id == "msg_1"
    assert webhooks.verify(body, both, OTHER).id == "msg_1"
    # Header names in any case (a plain dict from a framework).
    upper = {k.upper(): v for k, v in signed(body, [SECRET]).items()}
    assert webhooks.verify(body.decode(), upper, [OTHER, SECRET]).data["campaign_id"] == "C1"


def test_webhook_verify_rejects():
    body = b'{"lead_id": "a"}'
    with pytest.raises(lc.WebhookVerificationError, match="no signature"):
        webhooks.verify(body, signed(body, [OTHER]), SECRET)  # wrong secret
    with pytest.raises(lc.WebhookVerificationError, match="no signature"):
        webhooks.verify(body + b" ", signed(body, [SECRET]), SECRET)  # body changed
    old = signed(body, [SECRET], ts=int(time.time()) - 3600)
    with pytest.raises(lc.WebhookVerificationError, match="tolerance"):
        webhooks.verify(body, old, SECRET)
    headers = signed(body, [SECRET])
    del headers["webhook-signature"]
    with pytest.raises(lc.WebhookVerificationError, match="missing"):
        webhooks.verify(body, headers, SECRET)
