"""Erasure receipts end to end: real gunicorn, a real worker run, headless Chromium.

Flow: a lead created through the API; sign in as the owner, erase it from its page with the
do-not-call box ticked, follow the nav link to Erasures, open the receipt (pending, the
number listed); `leadline worker --once --only complete-erasure-receipts`; the page and the
API's GET of the receipt say complete. Screenshot: dashboard-erasure.png.
"""

import pytest
import requests

from conftest import LiveServer, leadline
from tests.browser import browser_or_skip, dashboard_sign_in, launch, screenshot
from tests.helpers import HTTP_TIMEOUT, bootstrap, json_headers

pytestmark = pytest.mark.live

LEAD = {"lead_id": "erase-me", "phone_number": "9876500301", "contact_name": "Kavya"}


@pytest.fixture
def site(live_db, tmp_path):
    sync_playwright = browser_or_skip()
    env = {**live_db, "LEADLINE_VAR_DIR": str(tmp_path / "var")}
    tenant = bootstrap(env, name="Erasures")
    server = LiveServer(env)
    try:
        yield {"url": server.url, "env": env, "tenant": tenant, "sync_playwright": sync_playwright}
    finally:
        server.stop()


def test_erase_then_follow_the_receipt_to_complete(site):
    from playwright.sync_api import expect

    url, tenant = site["url"], site["tenant"]
    campaign_id, token = tenant["campaign_id"], tenant["access_token"]
    created = requests.post(
        f"{url}/api/v4/leads/create/{campaign_id}/",
        json=[LEAD],
        headers=json_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text

    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            dashboard_sign_in(page, url, tenant["dashboard_username"], tenant["dashboard_password"])
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/?lead_id=erase-me")
            page.click("#leads a:has-text('erase-me')")
            page.click("a:has-text('Erase…')")
            page.check("#id_confirm")
            page.check("#id_suppress")
            page.click("button:has-text('Erase permanently')")
            expect(page.locator(".message.success")).to_contain_text("Lead erased")

            page.click(".topbar nav >> text=Erasures")
            expect(page.locator("h1")).to_have_text("Erasures")
            row = page.locator("#erasures tbody tr").first
            expect(row).to_contain_text("erase-me")
            expect(row).to_contain_text("Pending")
            receipt_id = row.get_attribute("data-receipt")
            row.locator("a").first.click()
            expect(page.locator("h1")).to_have_text("Erasure receipt")
            expect(page.locator("#receipt-status")).to_contain_text("Pending")
            expect(page.locator("#receipt")).to_contain_text("The number was added")

            leadline(site["env"], "worker", "--once", "--only", "complete-erasure-receipts")
            page.reload()
            expect(page.locator("#receipt-status")).to_have_text("Complete")
            screenshot(page, "dashboard-erasure")
            for personal in ("9876500301", "Kavya"):
                assert personal not in page.content()
        finally:
            browser.close()

    receipt = requests.get(
        f"{url}/api/v4/leads/erasures/{receipt_id}/",
        headers=json_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    assert receipt.status_code == 200, receipt.text
    body = receipt.json()
    assert (body["status"], body["lead_id"], body["suppressed"]) == ("complete", "erase-me", True)
    assert body["completed_at"] is not None
