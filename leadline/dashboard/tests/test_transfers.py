"""The dashboard's CSV pages: upload, progress, decision, problem report, results export."""

import csv
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leadline.leads import exports, imports
from leadline.leads.models import Lead, LeadImport
from leadline.leads.results import FIXED_KEYS

pytestmark = pytest.mark.django_db
# Tests that read an export's rows commit them: on PostgreSQL the export reads on a connection
# of its own, which does not see a test transaction's rows.
committed = pytest.mark.django_db(transaction=True)

HEADER = "lead_id,phone_number,contact_name,city\n"
GOOD = HEADER + "g-1,9876500001,Meera Nair,Kochi\ng-2,9876500002,Arjun Rao,Pune\n"
BAD = HEADER + (
    "ok-1,9876500001,Meera Nair,Kochi\n"
    "bad-1,12345,Arjun Rao,Pune\n"
    "ok-1,9876500003,Farah Khan,\n"
    "ok-2,9876500004,Ravi Iyer,Delhi\n"
)


@pytest.fixture(autouse=True)
def _media(media):
    """Uploaded files go to a temporary directory (the root conftest's `media`)."""
    return media


@pytest.fixture(autouse=True)
def _exports_per_minute(settings):
    """Several exports per test; the limit itself is tested in test_export_runs."""
    settings.LEADLINE_EXPORTS_PER_MINUTE = 1000


@pytest.fixture
def work(django_capture_on_commit_callbacks):
    """One pass of the worker's import loop (bounded), with on-commit hooks run."""

    def go():
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(10):
                if not imports.imports_process_next():
                    break

    return go


def upload_url(campaign):
    return reverse("dashboard:lead_upload", args=[campaign.public_id])


def export_url(campaign):
    return reverse("dashboard:results_export", args=[campaign.public_id])


def csv_upload(content, name="leads.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def post_file(client, campaign, content, name="leads.csv"):
    return client.post(upload_url(campaign), {"file": csv_upload(content, name)})


def import_url(lead_import, suffix=""):
    name = {"": "lead_import", "valid": "lead_import_valid_rows", "cancel": "lead_import_cancel"}
    name["problems"] = "lead_import_problems"
    return reverse(
        f"dashboard:{name[suffix]}", args=[lead_import.campaign.public_id, lead_import.pk]
    )


def test_the_url_names_the_campaign_pages_link_to(campaign):
    assert upload_url(campaign) == f"/voice/dashboard/campaigns/{campaign.public_id}/upload/"
    assert export_url(campaign) == f"/voice/dashboard/campaigns/{campaign.public_id}/export.csv"


def test_upload_page(staff_client, campaign):
    response = staff_client.get(upload_url(campaign))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'enctype="multipart/form-data"' in body and "lead_id" in body
    assert export_url(campaign) in body and "No uploads yet" in body


def test_a_valid_file_is_imported(staff_client, staff, campaign, api, work):
    response = post_file(staff_client, campaign, GOOD)
    assert response.status_code == 302
    lead_import = LeadImport.objects.get()
    assert response["Location"] == import_url(lead_import)
    assert lead_import.uploaded_by == staff and lead_import.original_name == "leads.csv"
    stored = lead_import.file.name
    page = staff_client.get(import_url(lead_import)).content.decode()
    assert 'data-status="validating"' in page and 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh"' in page
    work()
    page = staff_client.get(import_url(lead_import)).content.decode()
    assert 'data-status="done"' in page and "hx-trigger" not in page and "noscript" not in page
    assert "2 leads were created" in page
    assert not default_storage.exists(stored)
    results = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    assert [(r["lead_id"], r["city"]) for r in results] == [("g-1", "Kochi"), ("g-2", "Pune")]
    # The upload page lists it.
    assert import_url(lead_import) in staff_client.get(upload_url(campaign)).content.decode()


def test_htmx_polls_get_the_status_card_only(staff_client, campaign):
    post_file(staff_client, campaign, GOOD)
    lead_import = LeadImport.objects.get()
    response = staff_client.get(import_url(lead_import), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card import-status" id="import-status"')
    assert "<html" not in body and 'hx-trigger="every 1s"' in body


def test_bad_rows_report_then_import_the_valid_rows(staff_client, campaign, api, work):
    post_file(staff_client, campaign, BAD)
    lead_import = LeadImport.objects.get()
    work()
    page = staff_client.get(import_url(lead_import)).content.decode()
    assert 'data-status="needs_decision"' in page
    assert "2 of 4 rows have problems" in page and "Import the 2 valid rows" in page
    assert "12345" not in page and "Arjun" not in page
    assert Lead.objects.count() == 0

    report = staff_client.get(import_url(lead_import, "problems"))
    assert report.status_code == 200 and report.streaming
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert f"import-{lead_import.pk}-problems.csv" in report["Content-Disposition"]
    text = b"".join(report.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["row", "lead_id", "field", "code", "message"],
        [
            "3",
            "bad-1",
            "phone_number",
            "invalid",
            "phone_number is not a valid Indian phone number.",
        ],
        ["4", "ok-1", "lead_id", "duplicate", "lead_id is repeated in this file (row 2)."],
    ]
    assert "12345" not in text and "9876500003" not in text and "Farah" not in text

    response = staff_client.post(import_url(lead_import, "valid"))
    assert response.status_code == 302 and response["Location"] == import_url(lead_import)
    page = staff_client.get(import_url(lead_import)).content.decode()
    assert "Importing the 2 valid rows" in page and 'data-status="importing"' in page
    work()
    page = staff_client.get(import_url(lead_import)).content.decode()
    assert 'data-status="done"' in page and "2 leads were created" in page
    results = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    assert [r["lead_id"] for r in results] == ["ok-1", "ok-2"]
    # Deciding again is a message, not an error page.
    response = staff_client.post(import_url(lead_import, "valid"), follow=True)
    assert response.status_code == 200
    assert "no longer waiting for a decision" in response.content.decode()


def test_cancel(staff_client, campaign, work):
    post_file(staff_client, campaign, BAD)
    lead_import = LeadImport.objects.get()
    work()
    lead_import.refresh_from_db()
    stored = lead_import.file.name
    response = staff_client.post(import_url(lead_import, "cancel"), follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "Import cancelled" in body
    assert 'data-status="cancelled"' in body
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.CANCELLED
    assert Lead.objects.count() == 0
    assert lead_import.file.name == ""
    # The test transaction never commits; the deletion is queued on commit like the import's.
    default_storage.delete(stored)
    response = staff_client.post(import_url(lead_import, "cancel"), follow=True)
    assert "Only an import that is validating or waiting" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "The submitted file is empty."),
        (b"\xff\xd8\xff\xe0binary" * 10, 400, "not UTF-8"),
        (b"lead_id,naam\n1,2\n", 400, "lacks the column(s) phone_number, contact_name"),
        (HEADER.encode(), 400, "no data rows"),
        ("lead_id,phone_number,contact_name\nx,9876500001,Zoë\n".encode("utf-16"), 400, "UTF-16"),
        ("lead_id,phone_number,contact_name\nx,9876500001,Renée\n".encode("cp1252"), 400, "line 2"),
    ],
)
def test_bad_files_are_form_errors(staff_client, campaign, content, status, message):
    response = post_file(staff_client, campaign, content)
    assert response.status_code == status
    body = response.content.decode()
    assert message in body and 'class="errorlist"' in body
    assert not LeadImport.objects.exists()


def test_a_file_over_the_limit_is_refused_without_storing_it(staff_client, campaign, settings):
    settings.LEADLINE_IMPORT_MAX_BYTES = 1024
    response = post_file(staff_client, campaign, GOOD + "x" * 200_000)
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not LeadImport.objects.exists()


def test_no_file_or_a_broken_body_is_a_form_error(staff_client, campaign):
    response = staff_client.post(upload_url(campaign), {})
    assert response.status_code == 400 and "Choose a CSV file" in response.content.decode()
    response = staff_client.post(
        upload_url(campaign),
        data=b"--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\nabc",
        content_type="multipart/form-data; boundary=xyz",
    )
    assert response.status_code == 400
    response = staff_client.post(
        upload_url(campaign), data=b"\x00\xff", content_type="multipart/form-data; boundary="
    )
    assert response.status_code == 400
    response = staff_client.post(upload_url(campaign), data="file=x", content_type="text/plain")
    assert response.status_code == 400


def test_the_upload_form_is_csrf_protected(client, staff, campaign):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff)
    response = csrf_client.post(upload_url(campaign), {"file": csv_upload(GOOD)})
    assert response.status_code == 403
    assert not LeadImport.objects.exists()


def test_wrong_methods_are_405(staff_client, campaign, work):
    post_file(staff_client, campaign, BAD)
    lead_import = LeadImport.objects.get()
    assert staff_client.get(import_url(lead_import, "valid")).status_code == 405
    assert staff_client.get(import_url(lead_import, "cancel")).status_code == 405
    assert staff_client.post(import_url(lead_import)).status_code == 405
    assert staff_client.post(export_url(campaign)).status_code == 405
    assert staff_client.put(upload_url(campaign)).status_code == 405


@committed
def test_export_is_the_api_get_streamed(staff_client, campaign, api, make_leads):
    make_leads(3, city="Pune")
    response = staff_client.get(export_url(campaign))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="leadline-results-{campaign.public_id}-')
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    items = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    columns = [*FIXED_KEYS, "city"]
    assert rows == [{c: exports.column_cell(c, item.get(c)) for c in columns} for item in items]


@committed
def test_export_window_is_in_the_campaign_zone(staff_client, campaign, make_leads):
    from datetime import UTC, datetime

    make_leads(2)
    # 12:00 in Kolkata is 06:30 UTC.
    Lead.objects.filter(lead_id="lead-1").update(
        processed_at=datetime(2026, 1, 1, 6, 30, tzinfo=UTC), status=Lead.Status.PROCESSED
    )
    params = {"processed_from": "2026-01-01T12:00", "processed_to": "2026-01-01T12:01"}
    body = b"".join(staff_client.get(export_url(campaign), params).streaming_content).decode()
    assert [row["lead_id"] for row in csv.DictReader(io.StringIO(body))] == ["lead-1"]
    params = {"processed_from": "2026-01-01T12:01"}
    body = b"".join(staff_client.get(export_url(campaign), params).streaming_content).decode()
    assert list(csv.DictReader(io.StringIO(body))) == []
    body = b"".join(
        staff_client.get(export_url(campaign), {"custom_fields": "json"}).streaming_content
    ).decode()
    assert body.splitlines()[0].endswith(",custom_fields")


@pytest.mark.parametrize(
    "params",
    [
        {"processed_from": "yesterday"},
        {"processed_from": "2026-01-02T00:00", "processed_to": "2026-01-01T00:00"},
        {"processed_to": "99999-01-01T00:00"},
        {"custom_fields": "xml"},
        {"processed_from": "0001-01-01T00:00"},  # before year 1 in UTC
    ],
)
def test_bad_export_parameters_are_form_errors(staff_client, campaign, params):
    response = staff_client.get(export_url(campaign), params)
    assert response.status_code == 400
    assert not response.streaming and 'class="errorlist"' in response.content.decode()


def test_odd_export_parameters_never_fail(staff_client, campaign, make_leads):
    make_leads(1)
    for params in (
        {"processed_from": "9999-12-31T23:59"},
        {"processed_to": "0001-01-02T00:00"},
        {"processed_from": "2026-01-01T00:00\x00"},
        {"processed_to": "\x00"},
        {"x": "1"},
    ):
        response = staff_client.get(export_url(campaign), params)
        assert response.status_code in (200, 400), params
        if response.streaming:  # the rows are read while streaming: that must work too
            b"".join(response.streaming_content)


def test_other_businesses_see_nothing(
    staff_client, other_staff_client, campaign, other_campaign, work
):
    post_file(staff_client, campaign, BAD)
    lead_import = LeadImport.objects.get()
    work()
    for url in [
        upload_url(campaign),
        export_url(campaign),
        import_url(lead_import),
        import_url(lead_import, "problems"),
    ]:
        assert other_staff_client.get(url).status_code == 404, url
    for suffix in ("valid", "cancel"):
        assert other_staff_client.post(import_url(lead_import, suffix)).status_code == 404
    response = other_staff_client.post(upload_url(campaign), {"file": csv_upload(GOOD)})
    assert response.status_code == 404
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.NEEDS_DECISION
    # Nor may staff reach another business's campaign, or an import under the wrong campaign.
    assert staff_client.get(upload_url(other_campaign)).status_code == 404
    assert staff_client.get(export_url(other_campaign)).status_code == 404
    wrong = reverse("dashboard:lead_import", args=[other_campaign.public_id, lead_import.pk])
    assert staff_client.get(wrong).status_code == 404
    missing = reverse("dashboard:lead_import", args=[campaign.public_id, 999_999_999])
    assert staff_client.get(missing).status_code == 404
    assert (
        staff_client.get(
            f"/voice/dashboard/campaigns/{campaign.public_id}/imports/99999999999999999999/"
        ).status_code
        == 404
    )


def test_signed_out_visitors_are_sent_to_login(client, campaign):
    for url in (upload_url(campaign), export_url(campaign)):
        response = client.get(url)
        assert response.status_code == 302 and "/voice/dashboard/login/" in response["Location"]
    response = client.post(upload_url(campaign), {"file": csv_upload(GOOD)})
    assert response.status_code == 302 and not LeadImport.objects.exists()


FORMULA_FILE = HEADER + (
    "=1+1,12345,Meera Nair,Kochi\n"
    '@SUM(A1),9876500002,"=HYPERLINK(""http://evil.example"")",-2+3\n'
    "-7,12345,Farah Khan,Pune\n"
)


@committed
def test_formula_cells_are_neutralised_in_the_problem_report_and_the_export(
    staff_client, campaign, api, work
):
    post_file(staff_client, campaign, FORMULA_FILE)
    lead_import = LeadImport.objects.get()
    work()
    report = staff_client.get(import_url(lead_import, "problems"))
    text = b"".join(report.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    # The ids as the file had them, neutralised; the row numbers stay numbers.
    assert [(row[0], row[1]) for row in rows[1:]] == [("2", "'=1+1"), ("4", "'-7")]
    staff_client.post(import_url(lead_import, "valid"))
    work()
    body = b"".join(staff_client.get(export_url(campaign)).streaming_content).decode()
    (row,) = csv.DictReader(io.StringIO(body))
    assert row["lead_id"] == "'@SUM(A1)"
    assert row["contact_name"] == '\'=HYPERLINK("http://evil.example")'
    assert row["city"] == "'-2+3"
    # The API returns what was stored.
    (item,) = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    assert (item["lead_id"], item["city"]) == ("@SUM(A1)", "-2+3")
    assert item["contact_name"] == '=HYPERLINK("http://evil.example")'


def test_one_file_per_upload(staff_client, campaign):
    two = [csv_upload(GOOD, "a.csv"), csv_upload(GOOD, "b.csv")]
    response = staff_client.post(upload_url(campaign), {"file": two})
    assert response.status_code == 400
    assert "Upload one CSV file at a time." in response.content.decode()
    response = staff_client.post(
        upload_url(campaign), {"file": csv_upload(GOOD), "extra": csv_upload(GOOD, "c.csv")}
    )
    assert response.status_code == 400
    assert "Upload one CSV file at a time." in response.content.decode()
    assert not LeadImport.objects.exists()


def test_the_size_limit_counts_every_file_of_the_request(staff_client, campaign, settings):
    settings.LEADLINE_IMPORT_MAX_BYTES = len(GOOD) + 10  # each file fits, both do not
    two = [csv_upload(GOOD, "a.csv"), csv_upload(GOOD, "b.csv")]
    response = staff_client.post(upload_url(campaign), {"file": two})
    assert response.status_code == 413 and "larger than" in response.content.decode()
    assert not LeadImport.objects.exists()


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_declared_size_over_the_limit_is_refused_before_reading(staff_client, campaign, settings):
    settings.LEADLINE_IMPORT_MAX_BYTES = 1024 * 1024
    response = staff_client.post(
        upload_url(campaign),
        data={"file": csv_upload(GOOD)},
        CONTENT_LENGTH=str(2 * 1024 * 1024),
        **{"wsgi.input": _Unreadable()},
    )
    assert response.status_code == 413
    assert "larger than 1 MB" in response.content.decode()
    assert not LeadImport.objects.exists()
    # A body within the limit is read as before.
    assert post_file(staff_client, campaign, GOOD).status_code == 302
