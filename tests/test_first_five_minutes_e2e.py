"""The first five minutes of a newcomer, in headless Chromium, on a database of its own.

What `make run` does, through its commands: `leadline migrate`, `leadline demo` (the banner is
read as a person would read it), then the server. The dashboard shows leads in every state,
the demo rep signs in to the console and calls a lead (the demo campaign is open at any hour),
and the banner's curl creates a lead. Screenshots of each step go to
test-artifacts/first-five-minutes/ for a person to look at.
"""

import re
import shlex

import pytest
import requests

from conftest import ROOT, LiveServer, free_port, leadline, live_database_url, server_env
from tests.browser import browser_or_skip, dashboard_sign_in, launch

pytestmark = pytest.mark.live

SHOTS = ROOT / "test-artifacts" / "first-five-minutes"
NUMBER = re.compile(r"(?<![0-9])[6-9][0-9]{9}(?![0-9])")


def banner_value(banner: str, key: str) -> str:
    line = next(line for line in banner.splitlines() if line.strip().startswith(f"{key}:"))
    return line.split(":", 1)[1].split()[0]


def login(banner: str, role: str) -> tuple[str, str]:
    line = next(line for line in banner.splitlines() if line.strip().startswith(f"{role}:"))
    username, _, password = line.split(":", 1)[1].split()[:3]
    return username, password


@pytest.fixture
def newcomer(tmp_path_factory, tmp_path):
    sync_playwright = browser_or_skip()
    url, drop = live_database_url(tmp_path_factory)
    port = free_port()
    env = server_env(
        url,
        HOST="127.0.0.1",
        PORT=str(port),
        LEADLINE_VAR_DIR=str(tmp_path / "var"),
        # The console's call ends quickly and is answered (the demo itself is unaffected).
        LEADLINE_SIMULATOR_SPEED="100",
        LEADLINE_SIMULATOR_ANSWER="1",
    )
    leadline(env, "migrate", "--no-input", "-v0")
    banner = leadline(env, "demo")
    server = LiveServer(env, port=port)
    try:
        yield {"env": env, "banner": banner, "url": server.url, "playwright": sync_playwright}
    finally:
        server.stop()
        drop()


def test_the_first_five_minutes(newcomer):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    banner, url = newcomer["banner"], newcomer["url"]
    campaign_id = banner_value(banner, "campaign_id")
    # The banner ends with the four addresses (on this server's port) and a create curl.
    for address in ("/voice/dashboard/", "/console/", "/admin/", "/api/v4/docs"):
        assert f"{url}{address}" in banner
    curl = shlex.split(banner.strip().splitlines()[-1])
    assert curl[0] == "curl"
    headers = dict(h.split(": ", 1) for h in (curl[i + 1] for i, a in enumerate(curl) if a == "-H"))
    body = curl[curl.index("--data-binary") + 1]
    target = next(a for a in curl if a.startswith("http"))
    created = requests.post(target, data=body.encode(), headers=headers, timeout=30)
    assert created.status_code == 201, created.text

    pages: list[str] = []
    with newcomer["playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)

            def snap(name: str) -> None:
                pages.append(page.content())
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

            # The owner's dashboard: a campaign with leads in every state.
            dashboard_sign_in(page, url, *login(banner, "owner"))
            expect(page.locator("h1")).to_be_visible()
            snap("01-dashboard-home")
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/")
            snap("02-campaign")
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/")
            snap("03-leads")
            for state in ("queued", "processed", "disabled", "erased", "converted"):
                page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/?state={state}")
                rows = page.locator("#leads tbody tr[data-pk]")
                expect(rows.first).to_be_visible()
                assert rows.count() > 0, state
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/leads/?state=processed")
            page.locator("#leads tbody tr[data-pk] a").first.click()
            expect(page.locator("audio").first).to_be_attached()
            snap("04-processed-lead-with-recording")
            page.context.clear_cookies()

            # The supervisor (manager role) reads the same campaign.
            dashboard_sign_in(page, url, *login(banner, "supervisor"))
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/")
            expect(page.locator("h1")).to_be_visible()
            snap("05-supervisor-campaign")
            page.context.clear_cookies()

            # The demo rep calls a lead, whatever the hour.
            page.goto(f"{url}/console/")
            page.fill("#id_username", login(banner, "rep")[0])
            page.fill("#id_password", login(banner, "rep")[1])
            page.click("button:has-text('Sign in')")
            expect(page.locator(".pill.on")).to_have_text("Calling now")
            snap("06-console-home")
            page.click("a:has-text('Demo campaign')")
            page.click("button:has-text('Next lead')")
            expect(page.locator("h1.contact")).to_be_visible()
            snap("07-console-lead")
            page.click("button.call")
            status = page.locator("#call-status")
            expect(status).to_have_attribute("data-status", "completed", timeout=30_000)
            page.select_option("#id_outcome", "Connected : Objective Met")
            page.check("input[name=answer_interested][value=yes]")
            page.fill("#id_answer_notes", "Demo call from the first five minutes.")
            page.click("button:has-text('Save outcome')")
            expect(page.locator(".message.success")).to_contain_text("The lead is processed.")
            snap("08-console-after-outcome")
        finally:
            browser.close()

    # The rep's pages never carry a lead's number (the dashboard's show it masked too).
    for html in pages:
        assert not NUMBER.search(html), "a lead's number reached the browser"
