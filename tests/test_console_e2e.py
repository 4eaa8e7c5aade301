"""The rep console end to end: a real gunicorn server, headless Chromium, simulated calls.

Skipped only when Chromium or Playwright is missing on a developer's machine; under CI (env
CI set) that is a failure instead. Screenshots go to test-artifacts/screenshots/.
"""

import re
import uuid

import pytest

from conftest import LiveServer, leadline
from tests.browser import SCREENSHOTS, browser_or_skip, launch
from tests.helpers import bootstrap, calling_all_day, create_leads

pytestmark = pytest.mark.live

NUMBER = re.compile(r"[\s\-./()]*".join("98765000") + r"[\s\-./()]*\d[\s\-./()]*\d")
OBJECTIVE = "Connected : Objective Met"
CALLBACK = "Callback Requested"


@pytest.fixture
def console_site(live_db, tmp_path):
    """A server with fast, always-answered simulated calls, a campaign open at any hour,
    two leads created through the API and a rep created with `leadline rep add`."""
    sync_playwright = browser_or_skip()
    env = {
        **live_db,
        "LEADLINE_SIMULATOR_SPEED": "100",
        "LEADLINE_SIMULATOR_ANSWER": "1",
        "LEADLINE_VAR_DIR": str(tmp_path / "var"),
    }
    tenant = bootstrap(env, name="Console")
    campaign_id = tenant["campaign_id"]
    calling_all_day(env, campaign_id, rep_visible_fields=["city", "policy"])
    username, password = f"rep-{uuid.uuid4().hex[:8]}", "console-pw-1"
    leadline(
        env,
        "rep",
        "add",
        "--campaign",
        campaign_id,
        "--username",
        username,
        "--password",
        password,
        "--phone",
        "+919000000009",
        "--json",
    )
    server = LiveServer(env)
    try:
        create_leads(
            server.url,
            tenant["access_token"],
            campaign_id,
            [
                {
                    "lead_id": f"e2e-{i}",
                    "phone_number": f"98765000{i:02d}",
                    "contact_name": name,
                    "city": city,
                    "policy": "Motor renewal",
                    "pan": "ABCDE1234F",
                }
                for i, (name, city) in enumerate([("Meera Nair", "Kochi"), ("Arjun Rao", "Pune")])
            ],
        )
        yield {
            "url": server.url,
            "username": username,
            "password": password,
            "campaign_id": campaign_id,
            "campaign_name": tenant["campaign_name"],
            "sync_playwright": sync_playwright,
        }
    finally:
        server.stop()


def test_rep_console_end_to_end(console_site):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = console_site["url"]
    pages_seen: list[str] = []
    status_polls: list[str] = []

    with console_site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.on(
                "request",
                lambda r: status_polls.append(r.url) if "/status/" in r.url else None,
            )

            def snap(name: str) -> None:
                pages_seen.append(page.content())
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

            page.goto(f"{url}/console/")
            expect(page.locator("h1")).to_have_text("Sign in")
            assert page.evaluate("typeof htmx") == "object", "htmx is served and loaded"
            snap("01-login")
            page.fill("#id_username", console_site["username"])
            page.fill("#id_password", console_site["password"])
            page.click("button:has-text('Sign in')")

            expect(page.locator("#figures [data-figure=calls]")).to_have_text("0")
            expect(page.locator(".pill.on")).to_have_text("Calling now")
            snap("02-home")

            page.click(f"a:has-text('{console_site['campaign_name']}')")
            expect(page.locator("h1")).to_have_text(console_site["campaign_name"])
            expect(page.get_by_text("Is the customer interested?")).to_be_visible()
            snap("03-campaign")

            page.click("button:has-text('Next lead')")
            expect(page.locator("h1.contact")).to_have_text("Meera Nair")
            expect(page.locator(".phone")).to_have_text("+91 98XXX XXX00")
            expect(page.locator("dl.fields")).to_contain_text("Kochi")
            expect(page.locator("dl.fields")).to_contain_text("Motor renewal")
            assert "ABCDE1234F" not in page.content()
            snap("04-lead")

            page.click("button.call")
            status = page.locator("#call-status")
            expect(status).to_be_visible()
            snap("05-calling")
            expect(status).to_have_attribute("data-status", "completed", timeout=20_000)
            expect(status).to_contain_text("The call has ended")
            assert status_polls, "the status was polled by htmx"
            snap("06-call-ended")

            # The callback time shows only for a callback outcome (CSS :has()).
            callback = page.locator(".callback-field")
            expect(callback).to_be_hidden()
            page.select_option("#id_outcome", CALLBACK)
            expect(callback).to_be_visible()
            page.select_option("#id_outcome", OBJECTIVE)
            expect(callback).to_be_hidden()

            # A connected outcome without the required answer: a form error, not a 500.
            page.click("button:has-text('Save outcome')")
            expect(page.locator(".errorlist")).to_contain_text("Is required for a connected call")
            expect(page.locator("h1.contact")).to_have_text("Meera Nair")
            snap("07-form-errors")

            page.check("input[name=answer_interested][value=yes]")
            page.fill("#id_answer_notes", "Wants the gold plan; renew next week.")
            page.click("button:has-text('Save outcome')")
            expect(page.locator(".message.success")).to_contain_text("The lead is processed.")
            expect(page.locator("#figures [data-figure=calls]")).to_have_text("1")
            expect(page.locator("#figures [data-figure=connects]")).to_have_text("1")
            expect(page.locator("#figures [data-figure=processed]")).to_have_text("1")
            snap("08-after-outcome")

            page.click("button:has-text('Next lead')")
            expect(page.locator("h1.contact")).to_have_text("Arjun Rao")
            expect(page.locator(".phone")).to_have_text("+91 98XXX XXX01")
            snap("09-next-lead")
        finally:
            browser.close()

    for html in pages_seen:
        assert not NUMBER.search(html), "a lead's number reached the browser"
        assert "+9198765000" not in html
