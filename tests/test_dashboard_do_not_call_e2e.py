"""The dashboard's do-not-call list end to end: real gunicorn, headless Chromium.

Flow: leads created through the API; sign in, follow the nav link, add one number (its
queued lead is withdrawn: the API's GET shows "Not Called : Do Not Call"), upload a CSV with
a bad row (nothing added, the problem listed without the number), then a good one, look a
number up, and remove an entry through its confirmation page. No number is ever shown in the
list, nor written to the server's log. Screenshots: dashboard-dnc*.png.
"""

import pytest
import requests

from conftest import LiveServer
from tests.browser import browser_or_skip, dashboard_sign_in, launch, screenshot
from tests.helpers import HTTP_TIMEOUT, all_results, bootstrap, json_headers

pytestmark = pytest.mark.live

NOT_CALLED = "Not Called : Do Not Call"
LEADS = [
    {"lead_id": "dnc-1", "phone_number": "9876500201", "contact_name": "Meera"},
    {"lead_id": "dnc-2", "phone_number": "9876500202", "contact_name": "Arjun"},
    {"lead_id": "dnc-3", "phone_number": "9876500203", "contact_name": "Ravi"},
]
NUMBERS = ("9876500201", "9876500202", "9876500203", "12345")


@pytest.fixture
def site(live_db, tmp_path):
    sync_playwright = browser_or_skip()
    env = {**live_db, "LEADLINE_VAR_DIR": str(tmp_path / "var"), "LEADLINE_LOG_LEVEL": "INFO"}
    tenant = bootstrap(env, name="DoNotCall")
    log = tmp_path / "server.log"
    server = LiveServer(env, log=log)
    try:
        yield {"url": server.url, "tenant": tenant, "log": log, "sync_playwright": sync_playwright}
    finally:
        server.stop()


def outcomes(url, token, campaign_id) -> dict[str, str | None]:
    return {i["lead_id"]: i["lead_outcome"] for i in all_results(url, token, campaign_id)}


def test_add_upload_search_remove(site, tmp_path):
    from playwright.sync_api import expect

    url, tenant = site["url"], site["tenant"]
    campaign_id, token = tenant["campaign_id"], tenant["access_token"]
    created = requests.post(
        f"{url}/api/v4/leads/create/{campaign_id}/",
        json=LEADS,
        headers=json_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text
    bad = tmp_path / "bad.csv"
    bad.write_text("phone_number,reason\n9876500202,ok\n12345,short\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text(
        f"phone_number,campaign_id,reason\n9876500202,{campaign_id},From the CRM\n",
        encoding="utf-8",
    )
    pages: list[str] = []

    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            dashboard_sign_in(page, url, tenant["dashboard_username"], tenant["dashboard_password"])
            page.click(".topbar nav >> text=Do not call")
            expect(page.locator("h1")).to_have_text("Do not call")
            expect(page.locator("#dnc-entries")).to_contain_text("The list is empty.")

            # Add one number business-wide: its queued lead is withdrawn.
            page.fill("#dnc-add input[name=phone_number]", "+91 98765 00201")
            page.fill("#dnc-add input[name=reason]", "Asked by email")
            page.click("#dnc-add button[type=submit]")
            expect(page.locator(".messages")).to_contain_text("Added 1 do-not-call entry")
            expect(page.locator(".messages")).to_contain_text("1 queued lead")
            expect(page.locator("#dnc-entries")).to_contain_text("Business-wide")
            expect(page.locator("#dnc-entries")).to_contain_text("Asked by email")
            pages.append(page.content())
            screenshot(page, "dashboard-dnc-1-added")
            assert outcomes(url, token, campaign_id)["dnc-1"] == NOT_CALLED

            # A file with a bad row: nothing added, the problem listed by row.
            page.set_input_files("#dnc-upload input[type=file]", str(bad))
            page.click("#dnc-upload button[type=submit]")
            expect(page.locator("#dnc-upload .errorlist")).to_contain_text("nothing was added")
            expect(page.locator("#dnc-problems")).to_contain_text("phone_number")
            expect(page.locator("#dnc-problems tbody tr")).to_have_count(1)
            pages.append(page.content())
            screenshot(page, "dashboard-dnc-2-upload-problems")
            assert outcomes(url, token, campaign_id)["dnc-2"] is None

            page.set_input_files("#dnc-upload input[type=file]", str(good))
            page.click("#dnc-upload button[type=submit]")
            expect(page.locator(".messages")).to_contain_text("Added 1 do-not-call entry")
            expect(page.locator("#dnc-entries tbody tr")).to_have_count(2)
            expect(page.locator("#dnc-entries")).to_contain_text("From the CRM")
            pages.append(page.content())
            assert outcomes(url, token, campaign_id)["dnc-2"] == NOT_CALLED

            # Look-ups: listed (and where), and not listed.
            page.fill("#dnc-search input[name=phone_number]", "98765 00202")
            page.click("#dnc-search button[type=submit]")
            result = page.locator("#dnc-search-result")
            expect(result).to_contain_text("is on the do-not-call list")
            expect(result).to_contain_text("campaign")
            screenshot(page, "dashboard-dnc-3-search")
            page.fill("#dnc-search input[name=phone_number]", "9876500203")
            page.click("#dnc-search button[type=submit]")
            expect(result).to_contain_text("is not on the do-not-call list")

            # Remove the first entry, through its confirmation page.
            page.goto(f"{url}/voice/dashboard/do-not-call/")
            page.locator("#dnc-entries tbody tr").last.locator("text=Remove…").click()
            expect(page.locator("h1")).to_contain_text("Remove do-not-call entry")
            screenshot(page, "dashboard-dnc-4-confirm")
            page.click("button:has-text('Remove from the list')")
            expect(page.locator(".messages")).to_contain_text("removed")
            expect(page.locator("#dnc-entries tbody tr")).to_have_count(1)
            expect(page.locator("#dnc-entries")).not_to_contain_text("Asked by email")
            pages.append(page.content())
            page.fill("#dnc-search input[name=phone_number]", "9876500201")
            page.click("#dnc-search button[type=submit]")
            expect(result).to_contain_text("is not on the do-not-call list")
        finally:
            browser.close()

    for html in pages:
        for number in NUMBERS:
            assert number not in html
    assert outcomes(url, token, campaign_id)["dnc-3"] is None
    log = site["log"].read_text(encoding="utf-8", errors="replace")
    for number in NUMBERS:
        assert number not in log
