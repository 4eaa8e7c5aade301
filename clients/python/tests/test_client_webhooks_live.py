"""Webhook verification of real deliveries: leads created through the client are processed
(putting their number on the do-not-call list through the client withdraws them, a real
path), `leadline worker` delivers their lead.processed webhooks to a receiver process, and
every recorded delivery verifies with `leadline_client.webhooks.verify` under the endpoint's
secret, and with no other secret."""

import base64

import orjson
import pytest
from client_support import leads, new_tenant
from conftest import leadline
from tests.helpers import Worker, wait_for
from tests.test_webhooks_live import Receiver

import leadline_client as lc
from leadline_client import Leadline, webhooks

pytestmark = pytest.mark.live

COUNT = 20


def test_real_deliveries_verify(live_db, live_server_proc, tmp_path):
    env = {
        **live_db,
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on 127.0.0.1
        "LEADLINE_LOG_LEVEL": "INFO",  # Worker.wait_ready reads "worker started"
    }
    receiver = Receiver(tmp_path)
    receiver.start()
    worker = Worker(env, tmp_path)
    try:
        tenant = new_tenant(env)
        cid = tenant["campaign_id"]
        added = orjson.loads(
            leadline(
                env,
                "webhook",
                "add",
                "--campaign",
                cid,
                "--url",
                receiver.url,
                "--rate",
                "100000",
                "--json",
            )
        )
        secret = added["secret"]
        with Leadline(tenant["access_token"], live_server_proc.url) as client:
            client.leads.create(cid, leads("h", COUNT, phone="9833333333", plan="gold"))
            # Listing the number processes its queued leads (the real path, lead_withdraw).
            assert client.suppressions.create("9833333333").withdrawn == COUNT
        worker.start()
        worker.wait_ready()
        records = wait_for(
            lambda: r if len(r := receiver.records()) >= COUNT else None,
            timeout=60,
            what="the webhook deliveries",
        )
    finally:
        worker.stop()
        receiver.stop()

    seen = set()
    for record in records:
        body = base64.b64decode(record["body_b64"])
        event = webhooks.verify(body, record["headers"], secret, now=record["received_at"])
        assert event.type == "lead.processed"
        lead = event.lead
        assert lead is not None and lead.campaign_id == cid
        assert lead.lead_outcome == "Not Called : Do Not Call" and lead.processed_at is not None
        assert lead.custom_fields == {"plan": "gold"}
        seen.add(lead.lead_id)
        # The same delivery under another secret, or tampered with, is refused.
        with pytest.raises(lc.WebhookVerificationError):
            webhooks.verify(
                body, record["headers"], "whsec_" + base64.b64encode(b"x" * 32).decode()
            )
        with pytest.raises(lc.WebhookVerificationError):
            webhooks.verify(body.replace(b"gold", b"gilt"), record["headers"], secret)
    assert seen == {f"h-{i}" for i in range(COUNT)}
