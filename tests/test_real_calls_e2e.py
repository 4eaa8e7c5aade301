"""A real provider's call end to end, once per provider (Exotel, Twilio), each against its fake
server: gunicorn, the worker, headless Chromium and the fake, all talking HTTP on 127.0.0.1.

The account is connected the way an operator does it (`leadline telephony add`, `use`,
`check`). A rep signs in, takes the lead and presses Call; the fake rings (our request is
checked there), its callbacks drive the status the console shows; the rep records the outcome;
the lead is processed; the worker fetches the recording from the fake and delivers the
`lead.processed` webhook, whose recording URL is ours and serves the fake's audio byte for
byte. Every page the rep saw and every log line of the server and the worker are scanned for
the lead's digits.
"""

import base64
import re
import uuid

import orjson
import pytest
import requests

from conftest import LiveServer, free_port, leadline
from tests.browser import SCREENSHOTS, browser_or_skip, launch
from tests.fakes.exotel import FakeExotel
from tests.fakes.twilio import FakeTwilio
from tests.helpers import HTTP_TIMEOUT, Worker, bootstrap, create_leads, wait_for
from tests.test_webhooks_live import SCHEDULE_SCALE, WEBHOOK_TIMEOUT, Receiver

pytestmark = pytest.mark.live

LEAD_DIGITS = "9876512345"
NUMBER = re.compile(r"[\s\-./()+]*".join("98765") + r"(?:[\s\-./()]*\d){5}")
OBJECTIVE = "Connected : Objective Met"


def _connect(env: dict[str, str], fake, business_id: int, campaign_id: str) -> int:
    """`leadline telephony add`, then `use` and `check`, as docs/operations.md tells."""
    if isinstance(fake, FakeExotel):
        secrets = ["--api-key", fake.api_key, "--api-token", fake.api_token]
        provider = "exotel"
    else:
        secrets = ["--auth-token", fake.auth_token]
        provider = "twilio"
    added = leadline(
        env,
        "telephony",
        "add",
        "--business",
        str(business_id),
        "--provider",
        provider,
        "--account-sid",
        fake.account_sid,
        *secrets,
        "--caller-id",
        fake.numbers[0],
        "--api-url",
        fake.url,
        "--json",
    )
    account_id = orjson.loads(added)["account_id"]
    leadline(env, "telephony", "use", "--campaign", campaign_id, "--account", str(account_id))
    checked = leadline(env, "telephony", "check", str(account_id))
    assert fake.account_sid in checked
    return account_id


@pytest.fixture(params=["exotel", "twilio"])
def site(request, live_db, tmp_path):
    sync_playwright = browser_or_skip()
    port = free_port()
    env = {
        **live_db,
        "LEADLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LEADLINE_VAR_DIR": str(tmp_path / "var"),
        "LEADLINE_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEADLINE_WEBHOOK_SCHEDULE_SCALE": SCHEDULE_SCALE,
        "LEADLINE_WEBHOOK_TIMEOUT": WEBHOOK_TIMEOUT,
        # Every line the server and the worker log is scanned for the lead's digits.
        "LEADLINE_LOG_LEVEL": "DEBUG",
    }
    fake = (FakeExotel if request.param == "exotel" else FakeTwilio)()
    fake.start()
    tenant = bootstrap(env, name=f"Real {request.param}")
    campaign_id = tenant["campaign_id"]
    leadline(
        env,
        "campaign",
        "set",
        campaign_id,
        "--window-start",
        "00:00",
        "--window-end",
        "23:59",
        "--days",
        "mon,tue,wed,thu,fri,sat,sun",
    )
    _connect(env, fake, tenant["business_id"], campaign_id)
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
    receiver = Receiver(tmp_path)
    receiver.start()
    leadline(
        env,
        "webhook",
        "add",
        "--campaign",
        campaign_id,
        "--url",
        receiver.url,
        "--json",
    )
    worker = Worker(
        env,
        tmp_path,
        loops=("deliver-webhooks", "fetch-recordings"),
    )
    server_log = tmp_path / "server.log"
    server = None
    try:
        worker.start()
        server = LiveServer(env, port=port, log=server_log)
        worker.wait_ready()
        create_leads(
            server.url,
            tenant["access_token"],
            campaign_id,
            [{"lead_id": "real-e2e", "phone_number": LEAD_DIGITS, "contact_name": "Kavya Iyer"}],
        )
        yield {
            "provider": request.param,
            "env": env,
            "fake": fake,
            "url": server.url,
            "username": username,
            "password": password,
            "campaign_name": tenant["campaign_name"],
            "receiver": receiver,
            "worker": worker,
            "server_log": server_log,
            "sync_playwright": sync_playwright,
        }
    finally:
        if server is not None:
            server.stop()
        worker.stop()
        receiver.stop()
        fake.stop()


def test_a_real_providers_call_from_the_console_to_the_webhook(site):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fake, url, provider = site["fake"], site["url"], site["provider"]
    pages: list[str] = []
    bodies: list[str] = []

    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)

            # Every response the rep's browser receives (pages, polled partials, assets), read
            # as it arrives: after a navigation an earlier body is gone.
            def keep(response) -> None:
                try:
                    bodies.append(response.body().decode(errors="replace"))
                except Exception:
                    return

            page.on("response", keep)

            def snap(name: str) -> None:
                pages.append(page.content())
                page.screenshot(path=str(SCREENSHOTS / f"real-{provider}-{name}.png"))

            page.goto(f"{url}/console/")
            page.fill("#id_username", site["username"])
            page.fill("#id_password", site["password"])
            page.click("button:has-text('Sign in')")
            page.click("button:has-text('Next lead')")
            expect(page.locator("h1.contact")).to_have_text("Kavya Iyer")
            snap("01-lead")

            # The provider refuses the credentials: the rep is told, keeps the lead, retries.
            fake.fail_next(401)
            page.click("button.call")
            expect(page.locator(".message.error")).to_contain_text("credentials")
            expect(page.locator("h1.contact")).to_have_text("Kavya Iyer")
            assert not fake.calls
            snap("02-refused")

            page.click("button.call")
            status = page.locator("#call-status")
            expect(status).to_be_visible()
            sid = wait_for(lambda: fake.calls and fake.last_call_sid(), timeout=15, what="the call")
            call = fake.calls[sid]
            # The rep's phone rings first; the lead sees the campaign's number.
            if provider == "exotel":
                assert (call.from_number, call.caller_id) == ("+919000000009", fake.numbers[0])
                assert call.to_number.endswith(LEAD_DIGITS)
            else:
                assert (call.to, call.from_) == ("+919000000009", fake.numbers[0])
                assert LEAD_DIGITS in call.twiml
            snap("03-ringing")

            fake.rep_answers(sid)
            fake.lead_answers(sid)
            expect(status).to_have_attribute("data-status", "answered")
            snap("04-answered")
            fake.hang_up(sid, talk_seconds=37)
            expect(status).to_have_attribute("data-status", "completed")
            expect(status.locator(".duration")).to_have_text("0:37")
            snap("05-ended")

            page.select_option("#id_outcome", OBJECTIVE)
            page.check("input[name=answer_interested][value=yes]")
            page.click("button:has-text('Save outcome')")
            expect(page.locator(".message.success")).to_contain_text("The lead is processed.")
            snap("06-saved")
        finally:
            browser.close()
    assert sum("call-status" in body for body in bodies) >= 3, "the polled partials were read"
    for body in bodies:
        assert not NUMBER.search(body), "a response to the rep carries the lead's number"

    def processed_event():
        for record in site["receiver"].records():
            # The lead.processed body is the lead's GET item.
            body = orjson.loads(base64.b64decode(record["body_b64"]))
            if body.get("lead_id") == "real-e2e" and body.get("processed_at"):
                return body
        return None

    event = wait_for(processed_event, timeout=60, what="the lead.processed webhook")
    data = event
    assert data["lead_id"] == "real-e2e"
    assert data["lead_outcome"] == OBJECTIVE
    recording_url = data["latest_recording_url"]
    assert recording_url.startswith(f"{url}/recordings/"), "our URL, never the provider's"
    assert fake.url not in orjson.dumps(event).decode()

    def stored():
        answer = requests.get(recording_url, timeout=HTTP_TIMEOUT)
        return answer if answer.status_code == 200 else None

    audio = wait_for(stored, timeout=60, what="the recording fetched by the worker")
    assert audio.content == fake.recording_bytes(sid)
    part = requests.get(recording_url, headers={"Range": "bytes=4-99"}, timeout=HTTP_TIMEOUT)
    assert part.status_code == 206
    assert part.content == fake.recording_bytes(sid)[4:100]
    # The worker's deletion loop runs every minute; one run of it here is the same code.
    leadline(site["env"], "worker", "--once", "--only", "delete-provider-recordings")
    if provider == "twilio":
        assert fake.deleted_recordings, "Twilio's copy is deleted once ours is stored"

    for html in pages:
        assert not NUMBER.search(html), "a rep page shows the lead's number"
    for log in (site["server_log"].read_text(errors="replace"), site["worker"].output()):
        for line in log.splitlines():
            assert LEAD_DIGITS not in re.sub(r"\D", "", line), "a log line has the lead's digits"
