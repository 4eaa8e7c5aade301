"""LEADLINE_PUBLIC_URL follows HOST and PORT when it is not set (settings are read once per
process, so each case imports them in a fresh interpreter)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT


def public_url(**env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOST", "PORT", "LEADLINE_PUBLIC_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(env_overrides)
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.dev as s; print(s.LEADLINE_PUBLIC_URL)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "192.168.1.20", "PORT": "8080"}, "http://192.168.1.20:8080"),
        ({"HOST": "leads.local"}, "http://leads.local:8000"),
        # Wildcard listen addresses are not addresses to connect to: loopback instead.
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "::", "PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "::1"}, "http://[::1]:8000"),
        ({"HOST": "", "PORT": ""}, "http://127.0.0.1:8000"),
        # Set explicitly, it wins over HOST and PORT.
        (
            {"LEADLINE_PUBLIC_URL": "https://leads.example.com/", "PORT": "9000"},
            "https://leads.example.com",
        ),
    ],
)
def test_public_url_follows_host_and_port(env, expected):
    assert public_url(**env) == expected
