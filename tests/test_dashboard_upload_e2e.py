"""CSV upload and export in the client dashboard, end to end: real gunicorn, a real
`leadline worker` running the import loop, headless Chromium.

Flow: sign in, upload a file with some bad rows (while no worker runs, so the progress page
is seen polling), start the worker, watch the page turn into the decision, download the
problem report, import the valid rows, find them through the API's GET, then export the
results as CSV and compare it with the API's GET items. Screenshots: dashboard-upload*.png.
"""

import csv
import io

import pytest
import requests

from conftest import LiveServer
from tests.browser import browser_or_skip, dashboard_sign_in, launch, screenshot
from tests.helpers import HTTP_TIMEOUT, Worker, all_results, auth, bootstrap

pytestmark = pytest.mark.live

CSV_TEXT = (
    "lead_id,Phone Number,contact_name,city,plan\n"
    "up-1,9876500101,Meera Nair,Kochi,Gold\n"
    "up-2,98765 00102,Arjun Rao,Pune,\n"
    "up-bad-phone,12345,Farah Khan,Delhi,Silver\n"  # row 4
    "up-3,+91 9876500103,Ravi Iyer,,Gold\n"
    "up-no-name,9876500104,,Chennai,\n"  # row 6
    "up-1,9876500105,Again Meera,Kochi,\n"  # row 7: repeated id
)
BAD_VALUES = ("12345", "9876500104", "9876500105", "Again Meera", "Farah")


@pytest.fixture
def site(live_db, tmp_path):
    sync_playwright = browser_or_skip()
    # Server and worker share the uploaded files through this directory.
    env = {**live_db, "LEADLINE_VAR_DIR": str(tmp_path / "var"), "LEADLINE_LOG_LEVEL": "INFO"}
    tenant = bootstrap(env, name="Upload")
    server = LiveServer(env)
    worker = Worker(env, tmp_path, loops=("process-lead-imports",))
    try:
        yield {
            "url": server.url,
            "tenant": tenant,
            "worker": worker,
            "var": tmp_path / "var",
            "sync_playwright": sync_playwright,
        }
    finally:
        worker.stop()
        server.stop()


def download_text(page, click) -> str:
    with page.expect_download(timeout=15_000) as info:
        click()
    path = info.value.path()
    return path.read_text(encoding="utf-8") if hasattr(path, "read_text") else open(path).read()


def test_upload_with_bad_rows_decide_and_export(site, tmp_path):
    from playwright.sync_api import expect

    from leadline.leads.exports import column_cell
    from leadline.leads.results import FIXED_KEYS

    url, tenant, worker = site["url"], site["tenant"], site["worker"]
    campaign_id, token = tenant["campaign_id"], tenant["access_token"]
    upload_path = tmp_path / "leads.csv"
    upload_path.write_text(CSV_TEXT, encoding="utf-8")
    pages: list[str] = []

    with site["sync_playwright"]() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            page.set_default_timeout(15_000)

            dashboard_sign_in(page, url, tenant["dashboard_username"], tenant["dashboard_password"])
            expect(page.locator(".topbar .who")).to_be_visible()

            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/upload/")
            expect(page.locator("h1")).to_contain_text("Upload leads")
            assert page.evaluate("typeof htmx") == "object"
            screenshot(page, "dashboard-upload-1-form")

            # A file without the required columns: a form error on the same page.
            wrong = tmp_path / "wrong.csv"
            wrong.write_text("id,phone\n1,9876500101\n", encoding="utf-8")
            page.set_input_files("input[type=file]", str(wrong))
            page.click("button:has-text('Upload and check')")
            expect(page.locator(".errorlist")).to_contain_text("lacks the column(s)")
            screenshot(page, "dashboard-upload-2-form-error")

            # No worker yet: the import waits in "validating", and the page polls.
            polls: list[str] = []
            page.on("request", lambda r: polls.append(r.url) if "/imports/" in r.url else None)
            page.set_input_files("input[type=file]", str(upload_path))
            page.click("button:has-text('Upload and check')")
            status = page.locator("#import-status")
            expect(status).to_have_attribute("data-status", "validating")
            expect(page.locator(".progress")).to_be_visible()
            screenshot(page, "dashboard-upload-3-progress")
            import_url = page.url

            worker.start()
            worker.wait_ready()
            expect(status).to_have_attribute("data-status", "needs_decision", timeout=30_000)
            assert len(polls) >= 2, "the progress page polled with htmx"
            expect(status).to_contain_text("3 of 6 rows have problems")
            expect(page.locator("table.problems")).to_contain_text("phone_number")
            pages.append(page.content())
            screenshot(page, "dashboard-upload-4-decision")

            report = download_text(
                page, lambda: page.click("a:has-text('Download the problem report')")
            )
            rows = list(csv.reader(io.StringIO(report)))
            assert rows[0] == ["row", "lead_id", "field", "code", "message"]
            assert [r[:4] for r in rows[1:]] == [
                ["4", "up-bad-phone", "phone_number", "invalid"],
                ["6", "up-no-name", "contact_name", "required"],
                ["7", "up-1", "lead_id", "duplicate"],
            ]
            for secret in BAD_VALUES:
                assert secret not in report

            page.click("button:has-text('Import the 3 valid rows')")
            expect(status).to_have_attribute("data-status", "done", timeout=30_000)
            expect(status).to_contain_text("3 leads were created")
            pages.append(page.content())
            screenshot(page, "dashboard-upload-5-done")
            assert page.url == import_url

            items = all_results(url, token, campaign_id)
            assert [(i["lead_id"], i["phone_number"], i["contact_name"]) for i in items] == [
                ("up-1", "+919876500101", "Meera Nair"),
                ("up-2", "+919876500102", "Arjun Rao"),
                ("up-3", "+919876500103", "Ravi Iyer"),
            ]
            assert [(i.get("city"), i.get("plan")) for i in items] == [
                ("Kochi", "Gold"),
                ("Pune", None),
                (None, "Gold"),
            ]

            # The export, downloaded from the page's form, equals the API's GET items.
            page.goto(f"{url}/voice/dashboard/campaigns/{campaign_id}/upload/")
            expect(page.locator("table")).to_contain_text("Done")
            screenshot(page, "dashboard-upload-6-export")
            exported = download_text(page, lambda: page.click("button:has-text('Download CSV')"))
            reader = csv.DictReader(io.StringIO(exported))
            columns = [*FIXED_KEYS, "city", "plan"]
            assert reader.fieldnames == columns
            expected = [{c: column_cell(c, item.get(c)) for c in columns} for item in items]
            assert list(reader) == expected
        finally:
            browser.close()

    for html in pages:
        for secret in BAD_VALUES:
            assert secret not in html
    # The uploaded file is gone from storage once the import is done.
    assert not any(p.is_file() for p in (site["var"] / "media").rglob("*.csv"))
    # Nothing of the file reached the worker's log.
    log = worker.output()
    assert "lead import" in log
    for secret in (*BAD_VALUES, "9876500101", "Meera"):
        assert secret not in log
    # The API still answers for the campaign (a sanity check that the server stayed healthy).
    response = requests.get(
        f"{url}/api/v4/leads/responses/{campaign_id}/", headers=auth(token), timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 200 and response.json()["count"] == 3
