"""Fixtures shared by the whole suite: tenants, API clients and real server processes."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
import requests

from leadline.core.gunicorn import gunicorn_argv

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@pytest.fixture
def business(db):
    from leadline.accounts.services import business_get_or_create

    return business_get_or_create(name="Acme Insurance", rate_limit_per_minute=100_000)


@pytest.fixture
def other_business(db):
    from leadline.accounts.services import business_get_or_create

    return business_get_or_create(name="Other Corp", rate_limit_per_minute=100_000)


@pytest.fixture
def campaign(business):
    from leadline.campaigns.services import campaign_create

    return campaign_create(business=business, name="Renewals")


@pytest.fixture
def other_campaign(other_business):
    from leadline.campaigns.services import campaign_create

    return campaign_create(business=other_business, name="Theirs")


@pytest.fixture
def operator(client, db):
    """A signed-in operator (superuser): the admin's user."""
    from leadline.accounts.models import User

    user = User.objects.create_superuser("ops", "ops@example.com", "pw", role=User.Role.OPERATOR)
    client.force_login(user)
    return user


@pytest.fixture
def token(business):
    from leadline.accounts.services import api_token_create

    return api_token_create(business=business, name="tests").secret


@pytest.fixture
def other_token(other_business):
    from leadline.accounts.services import api_token_create

    return api_token_create(business=other_business, name="tests").secret


@pytest.fixture
def media(settings, tmp_path):
    """Stored files (recordings, uploads) go to a temporary directory, not the checkout's var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return tmp_path / "media"


@pytest.fixture
def answered_calls(settings, media):
    """Every simulated call is answered and finishes at once; recordings go to `media`."""
    settings.LEADLINE_SIMULATOR = {"answer": 1.0, "busy": 0.0, "speed": 1e6}
    return settings


class ApiClient:
    """Django's test client speaking the v4 API: bearer token, JSON bodies, parsed replies."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **(headers or {})}

    def post(self, path, body=None, *, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else orjson.dumps(body)
        return self.client.post(
            path, data=data, content_type=content_type, headers=self._headers(headers)
        )

    def patch(self, path, body=None, *, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else orjson.dumps(body)
        return self.client.patch(
            path, data=data, content_type=content_type, headers=self._headers(headers)
        )

    def get(self, path, params=None, *, headers=None):
        return self.client.get(path, params or {}, headers=self._headers(headers))


@pytest.fixture
def api(client, token):
    return ApiClient(client, token)


@pytest.fixture
def make_leads(api, campaign):
    """Create leads through the API (the real path) and return their lead_ids."""

    def make(count=3, *, prefix="lead", start=0, **custom):
        leads = [
            {
                "lead_id": f"{prefix}-{i}",
                "phone_number": f"98765{i:05d}",
                "contact_name": f"Person {i}",
                **custom,
            }
            for i in range(start, start + count)
        ]
        response = api.post(f"/api/v4/leads/create/{campaign.public_id}/", leads)
        assert response.status_code == 201, response.content
        return [lead["lead_id"] for lead in leads]

    return make


# --- real processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url(tmp_path_factory) -> tuple[str, callable]:
    """A fresh database for server processes (never the pytest-django one): same engine."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"leadline_live_{uuid.uuid4().hex[:10]}"
        admin = base.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return base.rsplit("/", 1)[0] + "/" + name, drop
    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    return f"sqlite:///{path}", lambda: None


def server_env(database_url: str, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        LEADLINE_AUTH_FAILURES_PER_MINUTE="100000",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def leadline(env, *args) -> str:
    result = subprocess.run(
        [str(BIN / "leadline"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


class LiveServer:
    def __init__(self, env, *, workers=2, threads=4, port=None, log=None):
        # A caller that must know the address first (LEADLINE_PUBLIC_URL, for providers'
        # callbacks) picks the port itself; one that scans the server's output passes `log`.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        output = open(log, "ab") if log is not None else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                gunicorn_argv(
                    bind=f"127.0.0.1:{self.port}",
                    workers=workers,
                    threads=threads,
                    log_level="warning",
                ),
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
            )
        finally:
            if output is not None:
                output.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or listening while a worker still imports Django (over
                # a second on a busy machine).
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("live server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def live_db(tmp_path_factory):
    """A migrated database for live servers, shared by the session's live tests."""
    url, drop = live_database_url(tmp_path_factory)
    env = server_env(url)
    leadline(env, "migrate", "--no-input", "-v0")
    yield env
    drop()


@pytest.fixture(scope="session")
def live_server_proc(live_db):
    server = LiveServer(live_db)
    yield server
    server.stop()


@pytest.fixture
def live_tenant(live_db):
    """A new business with a campaign and a token in the live database (via `bootstrap`)."""
    out = leadline(
        live_db,
        "bootstrap",
        "--business",
        f"Live {uuid.uuid4().hex[:8]}",
        "--rate-limit",
        "100000",
        "--json",
    )
    return orjson.loads(out)
