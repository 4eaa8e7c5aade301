"""Two Leadline nodes on one PostgreSQL and one Redis, one of them killed mid-run.

Each node is `leadline serve` (gunicorn and a worker) on its own port, in its own process
group, as a machine of its own would be. The client drives the API through both nodes,
`leadline simulate --fast-forward` works the campaign meanwhile, and both workers deliver
the `lead.processed` webhooks to a receiver process. Node B is then killed with SIGKILL (the
whole group: its gunicorn, its worker) while leads are still being processed and delivered.

What must hold:
- the rate limit is exact across nodes: requests spread over both in one window get exactly
  the business's budget, the rest 429 (the counters live in Redis);
- no lead is lost or created twice: a batch whose request died with node B is sent again to
  node A with the same Idempotency-Key, and every lead_id ends up in the campaign once;
- no lead is processed twice: one `lead.processed` event per lead, and every lead's call
  attempts are the ones its counter says;
- every webhook arrives, signed, equal to the lead's GET item; duplicates (deliveries node
  B's worker had leased when it died are sent again once their lease expires) carry the same
  `webhook-id`;
- the campaign's kept counts equal a recount (`leadline counts verify`).

PostgreSQL and Redis only (SQLite is one machine's file). Bounded: a killed worker's leases
expire after the webhook timeout (2 s) + 30 s, and every wait has a limit.
"""

import contextlib
import os
import signal
import subprocess
import threading
import uuid

import orjson
import pytest
import requests

from conftest import BIN, ROOT, free_port, leadline, live_database_url, server_env
from tests.helpers import (
    HTTP_TIMEOUT,
    IS_POSTGRES,
    all_results,
    auth,
    bootstrap,
    json_headers,
    leads_payload,
    no_call_gap,
    query_live_db,
    wait_for_fresh_window,
)
from tests.test_webhooks_live import (
    SCHEDULE_SCALE,
    WEBHOOK_TIMEOUT,
    Receiver,
    all_succeeded,
    check_received,
    deliveries,
    simulate_finish,
    simulate_start,
    wait_until,
)

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not IS_POSTGRES, reason="several nodes need PostgreSQL"),
]

REDIS_URL = os.environ.get("LEADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LEADS = 120  # a multiple of BATCH
BATCH = 20
RATE_LIMIT = 40


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


class Node:
    """`leadline serve` on its own port, in a process group of its own."""

    def __init__(self, env: dict[str, str], directory, name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"node-{name}.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "leadline"), "serve", "--port", str(self.port)],
                env={**env, "WEB_CONCURRENCY": "2", "WEB_THREADS": "4"},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        def up():
            assert self.proc.poll() is None, self.tail()
            try:
                return requests.get(self.url + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=timeout, what=f"node on {self.port}", tail=self.tail)
        wait_until(
            lambda: "worker started with loops" in self.output(),
            timeout=timeout,
            what=f"the worker of node {self.port}",
            tail=self.tail,
        )

    def kill9(self) -> None:
        """The machine dies: every process of the node at once, nothing shuts down."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Whatever of the group is left (a gunicorn worker, the worker's threads).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


@pytest.fixture
def cluster_env(tmp_path_factory, tmp_path):
    if not redis_up():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    url, drop = live_database_url(tmp_path_factory)
    env = server_env(
        url,
        REDIS_URL=REDIS_URL,
        # This run's own keys: other runs share the Redis database.
        LEADLINE_REDIS_PREFIX=f"test-multi-{uuid.uuid4().hex[:10]}",
        LEADLINE_WEBHOOK_ALLOW_PRIVATE="1",
        LEADLINE_WEBHOOK_SCHEDULE_SCALE=SCHEDULE_SCALE,
        LEADLINE_WEBHOOK_TIMEOUT=WEBHOOK_TIMEOUT,
        LEADLINE_LOG_LEVEL="INFO",
        LEADLINE_VAR_DIR=str(tmp_path / "var"),
        LEADLINE_SIMULATOR_ANSWER="0.8",
    )
    leadline(env, "migrate", "--no-input", "-v0")
    yield env
    drop()


def post_batch(urls: list[str], token: str, campaign_id: str, leads: list[dict]) -> int:
    """Create a batch through the first node that answers, as a careful client would: one
    Idempotency-Key for every try, so a request that died with its node and is sent again
    elsewhere cannot create twice. If the dead node left the key in progress (409 until it is
    abandoned, minutes later), the batch goes again under a new key: the lead_ids themselves
    then guard against a second copy (400 "exists" if the dead node had committed it).
    Returns how many nodes were tried."""
    key = uuid.uuid4().hex
    body = orjson.dumps(leads)
    for tried, url in enumerate(urls, 1):
        try:
            response = requests.post(
                f"{url}/api/v4/leads/create/{campaign_id}/",
                data=body,
                headers=json_headers(token) | {"Idempotency-Key": key},
                timeout=HTTP_TIMEOUT,
            )
        except requests.ConnectionError:
            continue
        if response.status_code == 409:
            response = requests.post(
                f"{url}/api/v4/leads/create/{campaign_id}/",
                data=body,
                headers=json_headers(token) | {"Idempotency-Key": uuid.uuid4().hex},
                timeout=HTTP_TIMEOUT,
            )
            if response.status_code == 400:
                codes = {e["code"] for e in response.json()["errors"]}
                assert codes == {"duplicate"}, response.text
                return tried
        assert response.status_code == 201, response.text
        return tried
    raise AssertionError("no node took the batch")


def test_two_nodes_one_killed_mid_run(cluster_env, tmp_path):
    env = cluster_env
    receiver = Receiver(tmp_path)
    receiver.start()
    nodes = [Node(env, tmp_path, "a"), Node(env, tmp_path, "b")]
    simulation = None
    try:
        for node in nodes:
            node.wait_ready()
        a, b = nodes

        # Rate limits: one window, requests alternating over both nodes, exact budget.
        limited = bootstrap(env, rate_limit=RATE_LIMIT, name="Limited")
        wait_for_fresh_window(8)
        statuses = [
            requests.get(
                f"{node.url}/api/v4/leads/responses/{limited['campaign_id']}/",
                headers=auth(limited["access_token"]),
                timeout=HTTP_TIMEOUT,
            ).status_code
            for _ in range(RATE_LIMIT // 2 + 10)
            for node in nodes
        ]
        assert statuses.count(200) == RATE_LIMIT
        assert statuses.count(429) == len(statuses) - RATE_LIMIT

        tenant = bootstrap(env, name="Cluster")
        no_call_gap(env, "Cluster %")
        added = leadline(
            env, "webhook", "add", "--campaign", tenant["campaign_id"], "--url", receiver.url,
            "--rate", "100000", "--json",
        )  # fmt: skip
        tenant.update(orjson.loads(added))
        token, campaign_id = tenant["access_token"], tenant["campaign_id"]

        # The first half of the leads through both nodes, then the simulator starts on them.
        batches = [
            leads_payload("node", BATCH, start=i, city="Pune") for i in range(0, LEADS, BATCH)
        ]
        half = len(batches) // 2
        for n, batch in enumerate(batches[:half]):
            first = nodes[n % 2]
            post_batch([first.url, a.url], token, campaign_id, batch)
        simulation = simulate_start(env, tenant, tmp_path)

        # The rest while node B dies: a client thread keeps posting to B first.
        failures: list[BaseException] = []

        def client() -> None:
            try:
                for batch in batches[half:]:
                    post_batch([b.url, a.url], token, campaign_id, batch)
            except BaseException as exc:  # re-raised by the test below
                failures.append(exc)

        poster = threading.Thread(target=client)
        poster.start()
        wait_until(lambda: len(receiver.records()) >= 20, timeout=60, what="the first deliveries")
        b.kill9()
        poster.join(timeout=120)
        assert not poster.is_alive()
        if failures:
            raise failures[0]

        # The simulator (not on a node) finishes every lead, which were all there when it
        # started or came in while it ran; a second run picks up any it missed.
        proc, out, err = simulation
        proc.wait(timeout=120)
        assert proc.returncode == 0, err.read_text()[-3000:]
        first_report = orjson.loads(out.read_bytes())
        assert not first_report["errors"], first_report
        done = first_report["leads_processed"]
        if done < LEADS:
            again = simulate_start(env, tenant, tmp_path, name="simulate-2")
            simulate_finish(again, expected=LEADS - done, timeout=120)
        simulation = None

        # Every lead once, processed once.
        items = {item["lead_id"]: item for item in all_results(a.url, token, campaign_id)}
        assert sorted(items) == sorted(lead["lead_id"] for batch in batches for lead in batch)
        assert all(item["lead_outcome"] for item in items.values())
        per_lead = query_live_db(
            env,
            "SELECT l.lead_id, count(e.id), l.attempts_count, "
            "(SELECT count(*) FROM dialer_callattempt c WHERE c.lead_id = l.id AND NOT "
            "c.discarded) FROM leads_lead l LEFT JOIN webhooks_event e ON e.lead_id = l.id "
            "AND e.type = 'lead.processed' WHERE l.campaign_id = "
            "(SELECT id FROM campaigns_campaign WHERE public_id = %s) "
            "GROUP BY l.id, l.lead_id, l.attempts_count",
            (campaign_id,),
        )
        assert len(per_lead) == LEADS
        assert all(events == 1 for _, events, _, _ in per_lead)
        assert all(made == counted for _, _, made, counted in per_lead)

        # Every webhook delivered (node B's leased ones after their lease expired).
        endpoint = tenant["endpoint_id"]
        stored = wait_until(
            all_succeeded(env, endpoint, LEADS),
            timeout=float(WEBHOOK_TIMEOUT) + 30 + 40,
            what="every delivery to succeed",
            tail=a.tail,
        )
        assert set(stored) == set(deliveries(env, endpoint))
        check_received(receiver, tenant, stored, items)

        # The kept counts survived the kill (each change committed with its counts).
        out = leadline(env, "counts", "verify", "--campaign", campaign_id, "--json")
        assert orjson.loads(out)["ok"], out
        assert b.proc.poll() is not None and a.proc.poll() is None
    finally:
        if simulation is not None and simulation[0].poll() is None:
            simulation[0].kill()
            simulation[0].wait(timeout=10)
        for node in nodes:
            node.stop()
        receiver.stop()
