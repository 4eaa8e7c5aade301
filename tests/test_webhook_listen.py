"""`leadline webhook listen` with real processes: API server, `leadline simulate`, `leadline
worker` and the listener forwarding to a receiver process on 127.0.0.1.

The listener registers its endpoint, verifies and prints every `lead.processed` of the leads the
simulator works, forwards each with its original headers (which still verify under the secret
it printed), rejects a forged post, and removes its endpoint on SIGINT. Every wait is bounded.
"""

import base64
import queue
import signal
import subprocess
import threading
import time

import orjson
import pytest
import requests
import standardwebhooks

from conftest import BIN, ROOT, LiveServer
from tests.helpers import (
    Worker,
    bootstrap,
    create_leads,
    leads_payload,
    no_call_gap,
    query_live_db,
)
from tests.test_webhooks_live import Receiver, _patient_get, simulate

pytestmark = pytest.mark.live


class Listen:
    """`leadline webhook listen ... --json` in the background; its lines read with a timeout."""

    def __init__(self, env, *args: str):
        self.proc = subprocess.Popen(
            [str(BIN / "leadline"), "webhook", "listen", *args, "--json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def next(self, timeout: float = 60) -> dict:
        try:
            return orjson.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no line from the listener in {timeout} s") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def env(live_db, tmp_path):
    return {
        **live_db,
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEADLINE_LOG_LEVEL": "INFO",  # Worker.wait_ready reads "worker started"
        "LEADLINE_VAR_DIR": str(tmp_path / "var"),
        "LEADLINE_SIMULATOR_ANSWER": "0.8",
    }


@pytest.fixture
def api_server(env):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests, "get", _patient_get)
        server = LiveServer(env)
    yield server
    server.stop()


def test_listen_verifies_prints_forwards_and_cleans_up(env, api_server, tmp_path):
    tenant = bootstrap(env, name="Listen")
    # The simulator retries unanswered leads at once: no call gap, or they would wait 2 hours.
    no_call_gap(env, "Listen %")
    receiver = Receiver(tmp_path)
    receiver.start()
    worker = Worker(env, tmp_path)
    listen = Listen(env, "--campaign", tenant["campaign_id"], "--forward", receiver.url)
    try:
        started = listen.next()["listening"]
        assert started["url"].startswith("http://127.0.0.1:")
        assert started["campaign_id"] == tenant["campaign_id"]
        assert "lead.processed" in started["event_types"]
        endpoint = started["endpoint_id"]
        rows = query_live_db(
            env, "SELECT url FROM webhooks_webhookendpoint WHERE id = %s", (endpoint,)
        )
        assert rows == [(started["url"],)]

        worker.start()
        leads = leads_payload("listen", 5)
        create_leads(api_server.url, tenant["access_token"], tenant["campaign_id"], leads)
        simulate(env, tenant, tmp_path, expected=5)

        printed = [listen.next() for _ in leads]
        assert {line["lead_id"] for line in printed} == {lead["lead_id"] for lead in leads}
        for line in printed:
            assert line["event_type"] == "lead.processed"
            assert line["signature"] == "verified"
            assert line["forwarded_status"] == 200
            assert line["outcome"] and line["delivery_id"].startswith("msg_")
        # The developer's handler got each delivery with its original, still valid, signature.
        hook = standardwebhooks.Webhook(started["secret"])
        forwarded = receiver.records()
        assert len(forwarded) == 5
        for record in forwarded:
            headers = {k.lower(): v for k, v in record["headers"].items()}
            body = base64.b64decode(record["body_b64"])
            assert hook.verify(body, headers)["lead_id"] in {line["lead_id"] for line in printed}
            assert headers["webhook-event-type"] == "lead.processed"

        # A post not signed with the endpoint's secret is refused (400) and reported as such.
        forged = requests.post(
            started["url"],
            data=b'{"lead_id": "forged"}',
            headers={
                "webhook-id": "msg_forged",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
                "webhook-event-type": "lead.processed",
            },
            timeout=10,
        )
        assert forged.status_code == 400
        rejected = listen.next()
        assert rejected["lead_id"] == "forged" and rejected["signature"].startswith("REJECTED")
        assert len(receiver.records()) == 5, "a forged delivery must not be forwarded"

        listen.proc.send_signal(signal.SIGINT)
        assert listen.proc.wait(timeout=30) == 0, listen.proc.stderr.read().decode()
        assert listen.next() == {"removed": endpoint}
        gone = query_live_db(
            env, "SELECT id FROM webhooks_webhookendpoint WHERE id = %s", (endpoint,)
        )
        assert gone == []
    finally:
        listen.stop()
        worker.stop()
        receiver.stop()


def test_listen_refuses_without_private_deliveries_allowed(live_db):
    tenant = bootstrap(live_db, name="Listen guard")
    env = {k: v for k, v in live_db.items() if k != "LEADLINE_WEBHOOK_ALLOW_PRIVATE"}
    result = subprocess.run(
        [str(BIN / "leadline"), "webhook", "listen", "--campaign", tenant["campaign_id"]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LEADLINE_WEBHOOK_ALLOW_PRIVATE=1" in result.stderr
    count = query_live_db(
        live_db,
        "SELECT COUNT(*) FROM webhooks_webhookendpoint e JOIN campaigns_campaign c "
        "ON c.id = e.campaign_id WHERE c.public_id = %s",
        (tenant["campaign_id"],),
    )
    assert count == [(0,)]


def test_listen_with_an_unknown_campaign_is_a_clear_error(live_db):
    result = subprocess.run(
        [str(BIN / "leadline"), "webhook", "listen", "--campaign", "NOPE00"],
        env={**live_db, "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "No campaign NOPE00" in result.stderr
