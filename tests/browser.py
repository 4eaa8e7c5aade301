"""Headless Chromium for the end-to-end page tests (Debian's chromium, Playwright's Python API).

Skipped only when Chromium or Playwright is missing on a developer's machine; under CI (env
CI set) that is a failure instead. Screenshots go to test-artifacts/screenshots/ (not committed).
"""

import os
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = os.environ.get("LEADLINE_CHROMIUM", "/usr/bin/chromium")
# The closed network stalls Chromium's background fetches; Playwright cannot fetch browsers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def browser_or_skip():
    """Playwright's sync API, or skip (fail under CI) when it or Chromium is missing."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
        sync_playwright = None
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {problem}")
        pytest.skip(problem)
    return sync_playwright


def launch(playwright):
    """A headless Chromium browser; close it when done."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot for a person to look at (test-artifacts/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def dashboard_sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the dashboard's login form."""
    page.goto(f"{base_url}/voice/dashboard/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
