"""config.settings.production: clean under `check --deploy` with the documented environment,
refuses to load when unsafe, and serves HTTPS only (HSTS, redirect) except the health checks.

Each case loads the settings in a fresh interpreter: settings are read once per process.
"""

import json
import os
import secrets
import subprocess
import sys

import pytest

from conftest import BIN, ROOT


def production_env(tmp_path, **overrides) -> dict[str, str]:
    """The environment docs/operations.md asks for, and nothing else of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEADLINE_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        LEADLINE_VAR_DIR=str(tmp_path / "var"),
        LEADLINE_SECRET_KEY=secrets.token_urlsafe(50),
        LEADLINE_ENCRYPTION_KEY=secrets.token_urlsafe(32),
        LEADLINE_NUMBER_HASH_KEY=secrets.token_urlsafe(32),
        LEADLINE_PUBLIC_URL="https://leads.example.com",
        LEADLINE_ALLOWED_HOSTS="leads.example.com",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(env, *argv):
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("overrides", [{}, {"LEADLINE_SSL_REDIRECT": "0"}])
def test_check_deploy_prints_no_warning(tmp_path, overrides):
    result = run(production_env(tmp_path, **overrides), str(BIN / "leadline"), "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert "?:" not in result.stdout + result.stderr  # how each issue is listed


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1"}, "LEADLINE_WEBHOOK_ALLOW_PRIVATE"),
        ({"LEADLINE_PUBLIC_URL": "http://leads.example.com"}, "LEADLINE_PUBLIC_URL"),
        ({"LEADLINE_PUBLIC_URL": None}, "LEADLINE_PUBLIC_URL"),  # the http://127.0.0.1 default
        ({"LEADLINE_ENCRYPTION_KEY": None}, "LEADLINE_ENCRYPTION_KEY"),
        ({"LEADLINE_ENCRYPTION_KEY": "=LEADLINE_SECRET_KEY"}, "LEADLINE_ENCRYPTION_KEY"),
        ({"LEADLINE_SECRET_KEY": None}, "LEADLINE_SECRET_KEY"),
        ({"LEADLINE_NUMBER_HASH_KEY": None}, "LEADLINE_NUMBER_HASH_KEY"),
        ({"LEADLINE_NUMBER_HASH_KEY": ""}, "LEADLINE_NUMBER_HASH_KEY"),
    ],
    ids=[
        "allow-private",
        "http-public-url",
        "default-public-url",
        "no-key",
        "key-is-secret",
        "sk",
        "no-hash-key",
        "empty-hash-key",
    ],
)
def test_refuses_to_start(tmp_path, overrides, named):
    env = production_env(tmp_path, **overrides)
    if env.get("LEADLINE_ENCRYPTION_KEY") == "=LEADLINE_SECRET_KEY":
        env["LEADLINE_ENCRYPTION_KEY"] = env["LEADLINE_SECRET_KEY"]
    result = run(env, sys.executable, "-c", "import config.settings.production")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr, result.stderr
    # The documented environment itself loads.
    fine = run(production_env(tmp_path), sys.executable, "-c", "import config.settings.production")
    assert fine.returncode == 0, fine.stderr


# Requests through the whole middleware stack under the production settings.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
c = Client(HTTP_HOST="leads.example.com")
out = {}
for name, kwargs in [
    ("http_page", {}),
    ("https_page", {"secure": True}),
    ("proxied_https_page", {"HTTP_X_FORWARDED_PROTO": "https"}),
]:
    r = c.get("/voice/dashboard/login/", **kwargs)
    out[name] = [r.status_code, r.get("Location"), r.get("Strict-Transport-Security")]
for path in ("/healthz", "/readyz"):
    out[path] = c.get(path).status_code
out["session"] = [settings.SESSION_COOKIE_AGE, settings.SESSION_COOKIE_SECURE,
                  settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_SAMESITE]
print(json.dumps(out))
"""


def probe(tmp_path, **overrides):
    result = run(production_env(tmp_path, **overrides), sys.executable, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_only_but_the_health_checks(tmp_path):
    out = probe(tmp_path)
    status, location, hsts = out["http_page"]
    assert (status, location, hsts) == (
        301,
        "https://leads.example.com/voice/dashboard/login/",
        None,
    )
    assert out["https_page"] == [200, None, "max-age=31536000; includeSubDomains"]
    # Load balancers probe over plain HTTP: no redirect for them.
    assert out["/healthz"] == 200 and out["/readyz"] == 200
    assert out["session"] == [8 * 3600, True, True, "Lax"]


def test_behind_a_proxy_that_redirects(tmp_path):
    out = probe(
        tmp_path,
        LEADLINE_SSL_REDIRECT="0",
        LEADLINE_BEHIND_TLS_PROXY="1",
        LEADLINE_HSTS_PRELOAD="1",
        LEADLINE_SESSION_SECONDS="3600",
    )
    assert out["http_page"][0] == 200
    assert out["proxied_https_page"] == [200, None, "max-age=31536000; includeSubDomains; preload"]
    assert out["session"][0] == 3600
