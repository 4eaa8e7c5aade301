"""The dashboard's integrations page end to end: headless Chromium against gunicorn, a real
`leadline worker` delivering to a receiver process on 127.0.0.1 (tests/receiver.py).

A client signs in, creates an API token and reads its secret off the page, creates leads with
it (201), revokes it on the page, and the same call is refused (403). Then it adds a webhook
endpoint at the receiver, reveals its secret, sends a test event, and the receiver gets a
`webhook.test` POST that verifies with the `standardwebhooks` package under that secret; the
endpoint's page lists the delivery with its attempt. Every wait is bounded. Screenshots go to
test-artifacts/screenshots/dashboard-integrations-*.png.
"""

import base64

import orjson
import pytest
import requests
import standardwebhooks

from conftest import LiveServer
from tests.browser import browser_or_skip, dashboard_sign_in, launch, screenshot
from tests.helpers import (
    HTTP_TIMEOUT,
    Worker,
    bootstrap,
    json_headers,
    leads_payload,
    wait_for,
)
from tests.test_webhooks_live import SCHEDULE_SCALE, WEBHOOK_TIMEOUT, Receiver

pytestmark = pytest.mark.live


@pytest.fixture
def site(live_db, tmp_path):
    """gunicorn and a delivering worker that may post to 127.0.0.1, plus the receiver."""
    sync_playwright = browser_or_skip()
    env = {
        **live_db,
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEADLINE_WEBHOOK_SCHEDULE_SCALE": SCHEDULE_SCALE,
        "LEADLINE_WEBHOOK_TIMEOUT": WEBHOOK_TIMEOUT,
        "LEADLINE_LOG_LEVEL": "INFO",  # Worker.wait_ready reads "worker started"
    }
    tenant = bootstrap(env, name="Integrations")
    receiver = Receiver(tmp_path)
    worker = Worker(env, tmp_path)
    server = None
    try:
        receiver.start()
        worker.start()
        server = LiveServer(env)
        worker.wait_ready()
        yield {
            "url": server.url,
            "tenant": tenant,
            "receiver": receiver,
            "worker": worker,
            "sync_playwright": sync_playwright,
        }
    finally:
        if server is not None:
            server.stop()
        worker.stop()
        receiver.stop()


def create_leads(base_url: str, token: str, campaign_id: str, prefix: str) -> int:
    response = requests.post(
        f"{base_url}/api/v4/leads/create/{campaign_id}/",
        data=orjson.dumps(leads_payload(prefix, 2)),
        headers=json_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    return response.status_code


def test_integrations_page_end_to_end(site):
    from playwright.sync_api import expect

    base = site["url"]
    tenant = site["tenant"]
    receiver = site["receiver"]
    campaign_id = tenant["campaign_id"]

    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)

            dashboard_sign_in(
                page, base, tenant["dashboard_username"], tenant["dashboard_password"]
            )
            page.goto(f"{base}/voice/dashboard/integrations/")
            expect(page.locator("h1")).to_have_text("Integrations")
            assert page.evaluate("typeof htmx") == "object"
            screenshot(page, "dashboard-integrations-01-page")

            # --- an API token: created, shown once, used, revoked -------------------------
            page.fill("#id_name", "E2E token")
            page.click("button:has-text('Create token')")
            secret = page.locator("#token-secret").inner_text().strip()
            assert secret.startswith("ll_"), secret
            screenshot(page, "dashboard-integrations-02-token-created")
            assert create_leads(base, secret, campaign_id, "e2e-a") == 201

            page.click("a:has-text('Done')")
            row = page.locator("table.tokens tr", has_text="E2E token")
            expect(row.locator(".pill")).to_have_text("active")
            assert secret not in page.content(), "the secret is shown once only"
            row.locator("a:has-text('Revoke')").click()
            expect(page.locator("h1")).to_contain_text("Revoke token")
            page.click("button:has-text('Revoke token')")
            expect(page.locator(".message.success")).to_contain_text("revoked")
            expect(row.locator(".pill")).to_contain_text("revoked")
            screenshot(page, "dashboard-integrations-03-token-revoked")
            assert create_leads(base, secret, campaign_id, "e2e-b") == 403

            # --- a webhook endpoint at the receiver, and a test event ---------------------
            page.click("a:has-text('Add endpoint')")
            page.fill("#id_url", "not a url")
            page.click("button:has-text('Add endpoint')")
            expect(page.locator(".errorlist")).to_contain_text("Enter a valid URL")
            page.fill("#id_url", receiver.url)
            page.select_option("#id_campaign", campaign_id)
            screenshot(page, "dashboard-integrations-04-add-endpoint")
            page.click("button:has-text('Add endpoint')")
            shown = page.locator("#secret-current").inner_text().strip()
            assert shown.startswith("whsec_")
            page.click("a:has-text('Back to the endpoint')")
            expect(page.locator("#endpoint")).to_contain_text(receiver.url)

            page.click("button:has-text('Reveal secret')")
            endpoint_secret = page.locator("#secret-current").inner_text().strip()
            assert endpoint_secret == shown
            expect(page.locator("#secret-previous")).to_have_count(0)
            screenshot(page, "dashboard-integrations-05-secret")
            page.click("a:has-text('Back to the endpoint')")

            page.click("button:has-text('Send test event')")
            expect(page.locator(".message.success")).to_contain_text("Test event queued")

            [record] = wait_for(receiver.records, timeout=30, what="the test event at the receiver")
            headers = {k.lower(): v for k, v in record["headers"].items()}
            body = base64.b64decode(record["body_b64"])
            assert headers["webhook-event-type"] == "webhook.test"
            payload = standardwebhooks.Webhook(endpoint_secret).verify(body, headers)
            assert payload["campaign_id"] == campaign_id
            assert payload["lead_id"] == "test-lead-0000"

            # The delivery appears with its attempt once the worker has recorded it.
            def delivered():
                page.reload()
                rows = page.locator("table.deliveries tr[data-status=succeeded]")
                return rows.count() == 1 and rows.locator("tr.attempt").count() == 1

            wait_for(delivered, timeout=30, what="the delivery listed as succeeded")
            delivery = page.locator("table.deliveries tr[data-status=succeeded]")
            expect(delivery).to_contain_text("webhook.test")
            expect(delivery).to_contain_text(headers["webhook-id"])
            expect(delivery.locator("tr.attempt")).to_contain_text("HTTP 200")
            expect(delivery.locator("tr.attempt")).to_contain_text(" ms")
            screenshot(page, "dashboard-integrations-06-delivered")

            # htmx refreshes the list in place; without htmx the same link reloads the page.
            page.click("#deliveries .pagination a:has-text('Newest')")
            expect(page.locator("table.deliveries tr[data-status=succeeded]")).to_have_count(1)
        finally:
            browser.close()
    assert len(receiver.records()) == 1, "the test event went to this endpoint once"
