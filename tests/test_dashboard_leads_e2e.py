"""The dashboard's campaign and lead pages end to end: a real gunicorn server, headless
Chromium, leads created through the API and processed by `leadline simulate`.

Skipped only when Chromium or Playwright is missing on a developer's machine; under CI (env
CI set) that is a failure instead. Screenshots go to test-artifacts/screenshots/.
"""

import json

import pytest
import requests

from conftest import LiveServer, leadline
from tests.browser import browser_or_skip, dashboard_sign_in, launch, screenshot
from tests.helpers import HTTP_TIMEOUT, auth, bootstrap, create_leads, get_page, no_call_gap

pytestmark = pytest.mark.live

PROCESSED = 4
WAITING = 3


@pytest.fixture
def dashboard_site(live_db, tmp_path):
    """A tenant with four leads processed by simulated, always-answered calls (recordings in a
    temp dir) and three more still queued."""
    sync_playwright = browser_or_skip()
    env = {
        **live_db,
        "LEADLINE_SIMULATOR_SPEED": "1000",
        "LEADLINE_SIMULATOR_ANSWER": "1",
        "LEADLINE_VAR_DIR": str(tmp_path / "var"),
    }
    tenant = bootstrap(env, name="Dashboard")
    # A simulated callback is called again at once (fast-forward): no 2-hour call gap.
    no_call_gap(env, "Dashboard %")
    campaign_id = tenant["campaign_id"]
    server = LiveServer(env)
    try:
        token = tenant["access_token"]
        create_leads(
            server.url,
            token,
            campaign_id,
            [
                {
                    "lead_id": f"done-{i}",
                    "phone_number": f"98765100{i:02d}",
                    "contact_name": f"Caller {i}",
                    "city": "Pune",
                }
                for i in range(PROCESSED)
            ],
        )
        report = json.loads(
            leadline(env, "simulate", "--campaign", campaign_id, "--fast-forward", "--json")
        )
        assert report["leads_processed"] == PROCESSED, report
        create_leads(
            server.url,
            token,
            campaign_id,
            [
                {
                    "lead_id": f"wait-{i}",
                    "phone_number": f"98765200{i:02d}",
                    "contact_name": f"Waiting {i}",
                }
                for i in range(WAITING)
            ],
        )
        yield {
            "url": server.url,
            "token": token,
            "campaign_id": campaign_id,
            "campaign_name": tenant["campaign_name"],
            "username": tenant["dashboard_username"],
            "password": tenant["dashboard_password"],
            "sync_playwright": sync_playwright,
        }
    finally:
        server.stop()


def test_dashboard_campaign_and_leads_end_to_end(dashboard_site):
    from playwright.sync_api import expect

    site = dashboard_site
    url, campaign_id = site["url"], site["campaign_id"]
    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            dashboard_sign_in(page, url, site["username"], site["password"])
            expect(page.locator("h1")).to_have_text("Campaigns")

            # The campaign: counts by status and both charts, drawn as inline SVG.
            page.click(f"a:has-text('{site['campaign_name']}')")
            figure = "[data-count={}] .figure"
            expect(page.locator(figure.format("processed"))).to_have_text(str(PROCESSED))
            expect(page.locator(figure.format("queued"))).to_have_text(str(WAITING))
            expect(page.locator(figure.format("erased"))).to_have_text("0")
            outcome_bars = page.locator("svg#chart-outcomes g.bar")
            assert (
                sum(
                    int(v)
                    for v in outcome_bars.evaluate_all("bars => bars.map(b => b.dataset.value)")
                )
                == PROCESSED
            )
            day_bars = page.locator("svg#chart-per-day g.bar")
            expect(day_bars).to_have_count(30)
            # All processed in this run: on today's bar, or split with yesterday's when the run
            # crosses the campaign's midnight, so the test sums the last two bars.
            per_day = [
                int(v) for v in day_bars.evaluate_all("bars => bars.map(b => b.dataset.value)")
            ]
            assert sum(per_day[-2:]) == sum(per_day) == PROCESSED
            expect(page.locator("svg#chart-per-day > title")).to_contain_text("processed per day")
            expect(page.locator("#script")).to_contain_text("Is the customer interested?")
            screenshot(page, "dashboard-campaign")

            # The leads table, newest first, numbers masked; then filtered to processed ones.
            page.click("a.button:has-text('Leads')")
            rows = page.locator("#leads tbody tr[data-pk]")
            expect(rows).to_have_count(PROCESSED + WAITING)
            expect(rows.first).to_contain_text("wait-2")
            expect(page.locator("#leads")).to_contain_text("+91 98XXX XXX00")
            assert "9876510000" not in page.content()
            page.select_option("#id_state", "processed")
            page.click("button:has-text('Search')")
            expect(rows).to_have_count(PROCESSED)
            assert "state=processed" in page.url
            screenshot(page, "dashboard-leads")

            # A processed lead: its full number (the client's own data), its call, the recording.
            page.click("#leads a:has-text('done-1')")
            expect(page.locator("#lead-phone")).to_have_text("+919876510001")
            # Simulated answers may book a callback first, so one call or more; each answered
            # call has a recording.
            attempts = page.locator("#attempts tbody tr[data-attempt]")
            expect(attempts.first).to_be_visible()
            assert attempts.count() >= 1
            audio = page.locator("#attempts audio").first
            expect(audio).to_have_attribute("preload", "metadata")
            duration = audio.evaluate(
                """a => new Promise((resolve, reject) => {
                    if (a.readyState >= 1) return resolve(a.duration);
                    a.addEventListener('loadedmetadata', () => resolve(a.duration));
                    a.addEventListener('error', () => reject(new Error('audio error')));
                    setTimeout(() => reject(new Error('no metadata in 10 s')), 10000);
                })"""
            )
            assert duration > 0
            target = duration / 2
            position = audio.evaluate(
                """(a, target) => new Promise((resolve, reject) => {
                    a.addEventListener('seeked', () => resolve(a.currentTime), {once: true});
                    setTimeout(() => reject(new Error('no seek in 10 s')), 10000);
                    a.currentTime = target;
                })""",
                target,
            )
            assert abs(position - target) < 0.5, (position, target)
            assert audio.evaluate("a => a.seekable.length") >= 1
            screenshot(page, "dashboard-lead")
            done_1 = page.url

            # Disable a waiting lead.
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/?lead_id=wait-0")
            page.click("#leads a:has-text('wait-0')")
            page.click("button:has-text('Disable lead')")
            expect(page.locator(".message.success")).to_contain_text("Lead disabled")
            expect(page.locator("#lead-state")).to_contain_text("Disabled")

            # Mark another converted.
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/?lead_id=wait-1")
            page.click("#leads a:has-text('wait-1')")
            page.fill("#id_detail", "PAID_PLAN")
            page.click("button:has-text('Mark converted')")
            expect(page.locator(".message.success")).to_contain_text("marked converted")
            expect(page.locator("#lead-facts")).to_contain_text("PAID_PLAN")

            # Erase the processed lead through the confirmation step.
            page.goto(done_1)
            page.click("a:has-text('Erase…')")
            expect(page.locator("h1")).to_contain_text("Erase lead")
            expect(page.locator("main")).to_contain_text("irreversible")
            page.check("#id_confirm")
            page.click("button:has-text('Erase permanently')")
            expect(page.locator(".message.success")).to_contain_text("Lead erased")
            expect(page.locator("#tombstone")).to_be_visible()
            assert "Caller 1" not in page.content() and "+919876510001" not in page.content()
            expect(page.locator("#attempts audio")).to_have_count(0)
        finally:
            browser.close()

    # The API agrees: the erased lead's personal data is gone, the others are as the page said.
    by_id = get_page(url, site["token"], campaign_id, lead_id="done-1")
    assert by_id["results"] == []
    items = get_page(url, site["token"], campaign_id, page_size=100)["results"]
    assert "done-1" not in {item["lead_id"] for item in items}
    assert all(item["contact_name"] != "Caller 1" for item in items)
    assert len(items) == PROCESSED + WAITING - 1
    converted = requests.get(
        f"{url}/api/v4/leads/responses/{campaign_id}/",
        params={"lead_id": "wait-1"},
        headers=auth(site["token"]),
        timeout=HTTP_TIMEOUT,
    )
    assert converted.status_code == 200 and converted.json()["count"] == 1
