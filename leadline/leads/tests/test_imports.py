"""CSV imports (leads.imports): the API's validation and insert service behind a file, the
worker's lease, the decision on rows with problems, and what is kept (and not) afterwards."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leadline.campaigns.models import Campaign
from leadline.core.errors import Conflict
from leadline.core.logs import JsonFormatter, current_request_id, request_id_bound
from leadline.leads import imports
from leadline.leads.imports import jobs as import_jobs
from leadline.leads.models import Lead, LeadImport, LeadImportProblem
from leadline.webhooks.models import Event

pytestmark = pytest.mark.django_db
Status = LeadImport.Status

HEADER = "lead_id,phone_number,contact_name,city,policy\n"
GOOD = HEADER + (
    "c-1,9876500001,Meera Nair,Kochi,Motor\n"
    "00123, +91 98765-00002 ,  Arjun Rao ,Pune,\n"
    "c-3,09876500003,Farah Khan,,Health\n"
)


@pytest.fixture(autouse=True)
def _media(media):
    """Uploaded files go to a temporary directory (the root conftest's `media`)."""
    return media


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """The worker loop, run until it has nothing to do (bounded); on-commit hooks executed."""

    def go(limit=10):
        handled = 0
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(limit):
                if not imports.imports_process_next():
                    break
                handled += 1
        return handled

    return go


def csv_file(content, name="leads.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def start(campaign, content, name="leads.csv"):
    return imports.import_start(
        business=campaign.business, campaign=campaign, user=None, upload=csv_file(content, name)
    )


def results(api, campaign):
    body = api.get(f"/api/v4/leads/responses/{campaign.public_id}/", {"page_size": 1000}).json()
    return body["results"]


def problems(lead_import):
    return list(
        LeadImportProblem.objects.filter(lead_import=lead_import)
        .order_by("row")
        .values_list("row", "lead_id", "field", "code")
    )


def test_a_valid_file_is_imported_whole_through_the_api_path(campaign, api, run):
    lead_import = start(campaign, GOOD)
    stored = lead_import.file.name
    assert lead_import.status == Status.VALIDATING and default_storage.exists(stored)
    assert run() == 1
    lead_import.refresh_from_db()
    assert lead_import.status == Status.DONE
    assert (lead_import.total_rows, lead_import.valid_rows, lead_import.error_rows) == (3, 3, 0)
    assert lead_import.imported_rows == 3 and lead_import.progress == 100
    # The personal data is gone from storage once the import ended.
    assert lead_import.file.name == "" and not default_storage.exists(stored)
    campaign.refresh_from_db()
    assert campaign.lead_count == 3
    items = {item["lead_id"]: item for item in results(api, campaign)}
    assert set(items) == {"c-1", "00123", "c-3"}  # ids stay text: no lost leading zeros
    assert items["00123"]["phone_number"] == "+919876500002"
    assert items["00123"]["contact_name"] == "Arjun Rao"
    assert items["00123"]["city"] == "Pune"
    assert "policy" not in items["00123"]  # an empty custom cell stores nothing
    assert items["c-3"]["policy"] == "Health" and "city" not in items["c-3"]
    # Queued like API leads: the dialer sees them.
    assert Lead.objects.filter(campaign=campaign, status=Lead.Status.QUEUED).count() == 3


def test_bom_crlf_header_spelling_and_blank_rows(campaign, api, run):
    content = (
        "\ufeff Lead ID ,Phone Number,CONTACT-NAME,Policy Type\r\n"
        "\r\n"
        "x-1,9876500011,Asha,Gold\r\n"
        ",,,\r\n"
        '"x-2","9876500012","Rao, Ravi","multi\nline"\r\n'
    )
    lead_import = start(campaign, content)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.DONE, lead_import.failure
    assert lead_import.total_rows == 2
    items = {item["lead_id"]: item for item in results(api, campaign)}
    assert items["x-1"]["Policy Type"] == "Gold"
    assert items["x-2"]["contact_name"] == "Rao, Ravi"
    assert items["x-2"]["Policy Type"] == "multi\nline"


def bad_file():
    return HEADER + (
        "ok-1,9876500001,Meera,Kochi,\n"  # row 2
        "bad-phone,12345,Arjun,,\n"  # row 3
        "no-name,9876500003,,,\n"  # row 4
        "ok-1,9876500004,Again,,\n"  # row 5: repeated in the file
        "lead-0,9876500005,Exists,,\n"  # row 6: already in the campaign
        ",9876500006,No Id,,\n"  # row 7
        "ok-2,9876500007,Extra,a,b,c\n"  # row 8: more values than columns
        "ok-3,9876500008,Farah,,\n"  # row 9
    )


def test_rows_with_problems_wait_for_a_decision_then_only_valid_rows_go_in(
    campaign, api, make_leads, run
):
    make_leads(1)  # lead-0
    lead_import = start(campaign, bad_file())
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.NEEDS_DECISION
    assert (lead_import.total_rows, lead_import.valid_rows, lead_import.error_rows) == (8, 2, 6)
    assert problems(lead_import) == [
        (3, "bad-phone", "phone_number", "invalid"),
        (4, "no-name", "contact_name", "required"),
        (5, "ok-1", "lead_id", "duplicate"),
        (6, "lead-0", "lead_id", "duplicate"),
        (7, None, "lead_id", "required"),
        (8, "ok-2", "", "invalid"),
    ]
    # Nothing imported yet, and the file is kept for the decision.
    campaign.refresh_from_db()
    assert campaign.lead_count == 1
    assert default_storage.exists(lead_import.file.name)
    stored = lead_import.file.name

    imports.import_proceed_with_valid_rows(lead_import=lead_import)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.DONE and lead_import.imported_rows == 2
    assert not default_storage.exists(stored)
    assert sorted(item["lead_id"] for item in results(api, campaign)) == ["lead-0", "ok-1", "ok-3"]
    ok1 = next(item for item in results(api, campaign) if item["lead_id"] == "ok-1")
    assert ok1["contact_name"] == "Meera"  # the first row with the id, not the repeat
    # The report outlives the import (for fixing the file) until the retention purge.
    assert len(problems(lead_import)) == 6


def test_problem_report_never_holds_a_phone_number_or_name(campaign, make_leads, run, caplog):
    make_leads(1)
    caplog.set_level(logging.DEBUG)
    lead_import = start(campaign, bad_file())
    run()
    texts = [
        " ".join(str(v) for v in row)
        for row in LeadImportProblem.objects.filter(lead_import=lead_import).values_list(
            "lead_id", "field", "code", "message"
        )
    ]
    for text in [*texts, caplog.text]:
        for secret in ("98765", "12345", "Meera", "Arjun", "Exists"):
            assert secret not in text


def test_cancel_deletes_the_file_and_imports_nothing(
    campaign, make_leads, run, django_capture_on_commit_callbacks
):
    lead_import = start(campaign, bad_file())
    run()
    lead_import.refresh_from_db()
    stored = lead_import.file.name
    with django_capture_on_commit_callbacks(execute=True):
        imports.import_cancel(lead_import=lead_import)
    lead_import.refresh_from_db()
    assert lead_import.status == Status.CANCELLED and lead_import.file.name == ""
    assert not default_storage.exists(stored)
    assert Lead.objects.filter(campaign=campaign).count() == 0
    with pytest.raises(Conflict):
        imports.import_proceed_with_valid_rows(lead_import=lead_import)
    with pytest.raises(Conflict):
        imports.import_cancel(lead_import=lead_import)


def test_a_lead_id_taken_while_waiting_sends_the_import_back_to_a_decision(
    campaign, api, make_leads, run
):
    lead_import = start(campaign, bad_file())
    run()
    lead_import.refresh_from_db()
    assert lead_import.valid_rows == 3  # ok-1, lead-0, ok-3: lead-0 does not exist yet
    make_leads(1)  # lead-0 arrives through the API meanwhile
    imports.import_proceed_with_valid_rows(lead_import=lead_import)
    run()
    lead_import.refresh_from_db()
    # The insert service's constraint check caught it; the transaction left nothing behind.
    assert lead_import.status == Status.NEEDS_DECISION
    assert (lead_import.valid_rows, lead_import.error_rows) == (2, 6)
    assert (6, "lead-0", "lead_id", "duplicate") in problems(lead_import)
    assert [item["lead_id"] for item in results(api, campaign)] == ["lead-0"]
    imports.import_proceed_with_valid_rows(lead_import=lead_import)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.DONE and lead_import.imported_rows == 2


def test_erasing_a_lead_clears_its_id_from_import_reports(campaign, api, make_leads, run):
    make_leads(1)
    lead_import = start(campaign, bad_file())
    run()
    assert LeadImportProblem.objects.filter(lead_id="lead-0").count() == 1
    response = api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-0"})
    assert response.status_code == 202
    assert not LeadImportProblem.objects.filter(lead_id="lead-0").exists()
    assert (6, None, "lead_id", "duplicate") in problems(lead_import)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "first row is blank"),
        (HEADER.encode(), "no data rows"),
        (HEADER.encode() + b"\n\n", "no data rows"),
        (b"lead_id,phone,name\nx,9876500001,A\n", "lacks the column(s) phone_number, contact_name"),
        (b"x-1,9876500001,Meera\n", "lacks the column(s) lead_id, phone_number, contact_name"),
        (b"lead_id;phone_number;contact_name\nx;1;2\n", "semicolons or tabs"),
        (b"lead_id,phone_number,contact_name,Lead ID\n", "Columns 1 and 4 have the same name"),
        ("lead_id,phone_number,contact_name,Rés\n".encode("latin-1"), "not UTF-8 text (line 1)"),
        ("lead_id,phone_number,contact_name\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_hopeless_files_are_refused_at_upload(campaign, content, message):
    with pytest.raises(imports.ImportRejected) as caught:
        start(campaign, content)
    assert message in caught.value.detail
    assert caught.value.status == 400
    # Refused files are never stored, and never quote a cell.
    assert not LeadImport.objects.exists()
    assert "9876500001" not in caught.value.detail and "Meera" not in caught.value.detail


def test_a_file_over_the_size_limit_is_413(campaign, settings):
    settings.LEADLINE_IMPORT_MAX_BYTES = 100
    with pytest.raises(imports.ImportTooLarge) as caught:
        start(campaign, GOOD + "x" * 100)
    assert caught.value.status == 413 and "larger than" in caught.value.detail


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("c-2,9876500002,Rés\n".encode("latin-1"), "not UTF-8 text (line 3)"),
        # A quote left open swallows the rest of the file into one cell: a bad phone number.
        (b'c-2,"9876500002,Unclosed\n', None),
    ],
)
def test_problems_past_the_first_rows_fail_in_the_worker(campaign, run, tail, message):
    content = (HEADER + "c-1,9876500001,Meera,,\n").encode() + tail
    lead_import = start(campaign, content)
    stored = lead_import.file.name
    run()
    lead_import.refresh_from_db()
    if message is None:
        assert lead_import.status == Status.NEEDS_DECISION
        assert problems(lead_import) == [(3, "c-2", "phone_number", "invalid")]
        return
    assert lead_import.status == Status.FAILED
    assert message in lead_import.failure and "Meera" not in lead_import.failure
    assert not default_storage.exists(stored) and lead_import.file.name == ""
    assert not LeadImportProblem.objects.exists()
    assert Lead.objects.count() == 0


def test_too_many_rows_fails_clearly(campaign, run, settings):
    settings.LEADLINE_IMPORT_MAX_ROWS = 2
    lead_import = start(campaign, GOOD)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.FAILED
    assert "more than 2 rows" in lead_import.failure
    assert Lead.objects.count() == 0


def test_a_custom_value_in_an_unnamed_column_is_a_row_problem(campaign, run):
    lead_import = start(
        campaign, "lead_id,phone_number,contact_name,,\nx,9876500001,A,,\ny,9876500002,B,,v\n"
    )
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.NEEDS_DECISION
    assert problems(lead_import) == [(3, "y", "", "invalid")]


def test_custom_fields_over_the_api_size_limit_are_a_row_problem(campaign, run, settings):
    settings.LEADLINE_MAX_CUSTOM_BYTES = 40
    lead_import = start(
        campaign, HEADER + "a,9876500001,A,short,\nb,9876500002,B," + "x" * 50 + ",\n"
    )
    run()
    assert problems(lead_import) == [(3, "b", "", "too_large")]


def test_an_expired_lease_is_taken_over_and_the_old_worker_stops(campaign, api, run, settings):
    settings.LEADLINE_IMPORT_CHUNK_ROWS = 1  # a progress write (and lease check) per row
    lead_import = start(campaign, GOOD)
    first = imports.import_claim()
    assert first.pk == lead_import.pk and first.attempts == 1
    # The first worker "crashed": its lease holds the import until it runs out.
    assert imports.import_claim() is None
    later = timezone.now() + timedelta(seconds=settings.LEADLINE_IMPORT_LEASE_SECONDS + 1)
    second = imports.import_claim(now=later)
    assert second.pk == lead_import.pk and second.lease_token != first.lease_token
    assert second.attempts == 2
    # The first worker wakes up: its first write finds the lease gone and it stops.
    imports.import_process(first)
    lead_import.refresh_from_db()
    assert lead_import.status == Status.VALIDATING and Lead.objects.count() == 0
    # The second worker finishes the import on its own claim; nothing is left to claim.
    imports.import_process(second)
    lead_import.refresh_from_db()
    assert lead_import.status == Status.DONE and lead_import.imported_rows == 3
    assert run() == 0
    campaign.refresh_from_db()
    assert campaign.lead_count == 3


def test_a_crashed_validation_is_resumed_from_the_start(campaign, run, settings, monkeypatch):
    settings.LEADLINE_IMPORT_CHUNK_ROWS = 1
    lead_import = start(campaign, bad_file())
    claimed = imports.import_claim()
    calls = {"n": 0}
    real = import_jobs.lead_ids_existing

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker died")
        return real(*args, **kwargs)

    monkeypatch.setattr(import_jobs, "lead_ids_existing", crash_on_third)
    with pytest.raises(RuntimeError):
        imports.import_process(claimed)
    lead_import.refresh_from_db()
    assert lead_import.status == Status.VALIDATING and 0 < lead_import.total_rows < 8
    # Its lease runs out; another worker claims it and validates every row once.
    LeadImport.objects.filter(pk=lead_import.pk).update(lease_expires_at=timezone.now())
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.NEEDS_DECISION
    assert (lead_import.total_rows, lead_import.error_rows) == (8, 5)
    assert len(problems(lead_import)) == 5


def test_a_file_that_keeps_crashing_the_worker_fails_after_a_few_attempts(campaign, run):
    lead_import = start(campaign, GOOD)
    LeadImport.objects.filter(pk=lead_import.pk).update(attempts=imports.MAX_ATTEMPTS)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.FAILED and "repeatedly" in lead_import.failure
    assert lead_import.file.name == ""


def test_a_missing_stored_file_fails_the_import(campaign, run):
    lead_import = start(campaign, GOOD)
    default_storage.delete(lead_import.file.name)
    run()
    lead_import.refresh_from_db()
    assert lead_import.status == Status.FAILED and "upload it again" in lead_import.failure


def test_purge_expires_undecided_imports_and_old_reports(
    campaign, run, django_capture_on_commit_callbacks, settings
):
    waiting = start(campaign, bad_file())
    run()
    done = start(campaign, bad_file().replace("ok-", "new-"))
    run()
    imports.import_proceed_with_valid_rows(lead_import=done)
    run()
    waiting.refresh_from_db()
    stored = waiting.file.name
    assert waiting.status == Status.NEEDS_DECISION and default_storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.imports_purge() == 0  # nothing is old yet
    later = timezone.now() + timedelta(seconds=settings.LEADLINE_IMPORT_RETENTION_SECONDS + 60)
    with django_capture_on_commit_callbacks(execute=True):
        imports.imports_purge(now=later)
    waiting.refresh_from_db()
    assert waiting.status == Status.CANCELLED and "retention" in waiting.failure
    assert not default_storage.exists(stored)
    # Reports go a retention period after their import ended (or expired).
    assert not LeadImportProblem.objects.exists()
    assert LeadImport.objects.get(pk=done.pk).imported_rows == 3  # the counts stay
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.imports_purge(now=later) == 0


def test_unfinished_imports_per_business_are_bounded(campaign, settings):
    settings.LEADLINE_IMPORT_MAX_ACTIVE = 2
    start(campaign, GOOD)
    start(campaign, GOOD)
    with pytest.raises(imports.ImportRejected) as caught:
        start(campaign, GOOD)
    assert "finish or cancel" in caught.value.detail


def test_imports_of_campaigns_stay_apart(campaign, other_campaign, run, api):
    start(campaign, GOOD)
    start(other_campaign, GOOD)  # the same ids in another business's campaign are fine
    run()
    assert set(LeadImport.objects.values_list("status", flat=True)) == {Status.DONE}
    assert Campaign.objects.get(pk=other_campaign.pk).lead_count == 3
    assert len(results(api, campaign)) == 3


def test_the_worker_runs_the_import_loops():
    from leadline.worker.runner import load_loops

    names = {loop.name for loop in load_loops()}
    assert {"process-lead-imports", "purge-lead-imports"} <= names


def test_admin_shows_imports_read_only_without_the_file(admin_client, campaign):
    lead_import = start(campaign, GOOD, name="rahul-contacts.csv")
    changelist = admin_client.get("/admin/leads/leadimport/")
    assert changelist.status_code == 200
    page = admin_client.get(f"/admin/leads/leadimport/{lead_import.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert lead_import.file.name not in body and "rahul-contacts" not in body
    assert admin_client.post(f"/admin/leads/leadimport/{lead_import.pk}/delete/").status_code == 403


def test_an_imported_lead_with_a_do_not_call_number_is_processed_at_once(campaign, api, run):
    # Imports go through lead_create_batch, so a listed number is never queued either.
    listed = api.post(
        "/api/v4/suppressions/create/",
        {"phone_number": "09876500002", "campaign_id": campaign.public_id},
    )
    assert listed.status_code == 201
    start(campaign, GOOD)
    assert run() == 1
    outcomes = {item["lead_id"]: item["lead_outcome"] for item in results(api, campaign)}
    assert outcomes == {"c-1": None, "00123": "Not Called : Do Not Call", "c-3": None}
    assert Lead.objects.get(lead_id="00123").processed_at is not None


def test_the_worker_runs_an_import_under_the_request_id_that_queued_it(campaign, api, run, caplog):
    # The upload's request id reaches the worker's log lines and the events the import
    # causes (here the listed number's lead.processed), as a request's own writes carry it.
    listed = api.post("/api/v4/suppressions/create/", {"phone_number": "09876500002"})
    assert listed.status_code == 201
    with request_id_bound("req-upload-7"):
        lead_import = start(campaign, GOOD)
    assert lead_import.request_id == "req-upload-7"
    with caplog.at_level(logging.INFO, logger="leadline.leads.imports"):
        assert run() == 1
    [done] = [r for r in caplog.records if "done" in r.getMessage()]
    assert json.loads(JsonFormatter().format(done))["request_id"] == "req-upload-7"
    assert Event.objects.get(type="lead.processed").request_id == "req-upload-7"
    # Outside the import the id is unbound again.
    assert current_request_id() == ""
