"""The supervisor's report page in headless Chromium: after a simulated progressive session
(the real services, through `leadline simulate`), /console/reports/ draws its SVG charts and
tables, with no lead's number, and `leadline reports verify` agrees with the pages' rows."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conftest import LiveServer, leadline
from tests.browser import SCREENSHOTS, browser_or_skip, launch
from tests.helpers import bootstrap, calling_all_day, create_leads

pytestmark = pytest.mark.live

NUMBER = re.compile(r"98765\d{5}")
# The simulation's clock starts a week ahead at 05:00 UTC (10:30 in Kolkata, the campaign's
# zone): whatever the hour the test runs, its first calls fall on this day.
DAY = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()


@pytest.fixture
def report_site(live_db, tmp_path):
    sync_playwright = browser_or_skip()
    env = {**live_db, "LEADLINE_VAR_DIR": str(tmp_path / "var")}
    tenant = bootstrap(env, name="Reports")
    campaign_id = tenant["campaign_id"]
    calling_all_day(env, campaign_id)
    leadline(env, "campaign", "set", campaign_id, "--dial-mode", "progressive")
    boss, password = f"boss-{uuid.uuid4().hex[:8]}", "report-walk-pw-2026"
    leadline(
        env,
        "supervisor",
        "add",
        "--username",
        boss,
        "--campaign",
        campaign_id,
        "--password",
        password,
        "--json",
    )
    server = LiveServer(env)
    try:
        create_leads(
            server.url,
            tenant["access_token"],
            campaign_id,
            [
                {"lead_id": f"rep-{i}", "phone_number": f"98765222{i:02d}", "contact_name": "P"}
                for i in range(12)
            ],
        )
        simulated = leadline(
            env,
            "simulate",
            "--campaign",
            campaign_id,
            "--reps",
            "3",
            "--mode",
            "progressive",
            "--fast-forward",
            "--now",
            f"{DAY}T05:00:00+00:00",
            "--json",
        )
        assert json.loads(simulated)["leads_processed"] >= 1, simulated
        yield {
            "url": server.url,
            "boss": boss,
            "password": password,
            "env": env,
            "sync_playwright": sync_playwright,
        }
    finally:
        server.stop()


def test_the_supervisor_report_page_draws_its_charts(report_site):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with report_site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(f"{report_site['url']}/console/")
            page.fill("#id_username", report_site["boss"])
            page.fill("#id_password", report_site["password"])
            page.click("button:has-text('Sign in')")
            page.click("#reports-link")  # from the floor
            page.fill("input[name=start]", DAY)
            page.fill("input[name=end]", DAY)
            page.click("button:has-text('Show')")
            chart = page.locator("svg#chart-report-calls")
            expect(chart).to_be_visible()
            # One day asked for: one bar, the day's calls, as the campaign table says.
            bar = chart.locator("g.bar")
            expect(bar).to_have_count(1)
            calls = int(bar.get_attribute("data-value") or 0)
            assert calls >= 12  # every lead called at least once
            cell = page.locator("#campaign-days tbody tr[data-campaign] td[data-attempts]")
            expect(cell).to_have_text(str(calls))
            # A bar and a row per rep with figures that day: the three simulated reps share
            # twelve leads, and which of them gets a call depends on the run, so the check is
            # that bars, rows and the campaign's calls agree, not that every rep called.
            rows = page.locator("#rep-days tbody tr[data-rep]")
            expect(rows.first).to_be_visible()
            assert 1 <= rows.count() <= 3
            expect(page.locator("svg#chart-report-reps g.bar")).to_have_count(rows.count())
            per_rep = [int(t) for t in rows.locator("td[data-calls]").all_inner_texts()]
            assert sum(per_rep) == calls, per_rep
            page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)
            assert not NUMBER.search(page.content())
        finally:
            browser.close()
    leadline(report_site["env"], "reports", "verify")  # exits 1 on any difference
