"""The dashboard's do-not-call pages: list, look-up, add, CSV upload, remove; adding withdraws
queued leads with the numbers; no number is stored, logged or shown beyond what was typed."""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leadline.campaigns.services import campaign_create
from leadline.compliance.decisions import NOT_CALLED_DNC
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.leads.models import Lead

pytestmark = pytest.mark.django_db

LIST = "/voice/dashboard/do-not-call/"
NUMBERS = ("9876500001", "9876500002", "9876500003", "98765 00004")


def url(name, *args):
    return reverse(f"dashboard:{name}", args=args)


def add(client, phone, scope="business", reason=""):
    return client.post(
        url("do_not_call_add"), {"phone_number": phone, "scope": scope, "reason": reason}
    )


def upload(client, content: str | bytes, name="dnc.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        url("do_not_call_upload"), {"file": SimpleUploadedFile(name, data, "text/csv")}
    )


def assert_no_number_stored():
    for row in Suppression.objects.values("number_hash", "reason"):
        for number in NUMBERS:
            digits = number.replace(" ", "")
            assert digits not in row["number_hash"] and digits not in row["reason"]


def test_the_urls_are_where_the_nav_says(staff_client):
    assert url("do_not_call") == LIST
    page = staff_client.get(LIST)
    assert page.status_code == 200
    assert f'href="{LIST}"' in page.content.decode()
    assert "The list is empty." in page.content.decode()


def test_add_business_wide_lists_it_and_withdraws_queued_leads(
    staff_client, campaign, business, make_leads, caplog
):
    other = campaign_create(business=business, name="Other campaign")
    make_leads(2)  # +919876500000, +919876500001
    caplog.set_level(logging.DEBUG)
    response = add(staff_client, "+91 98765 00001", reason="Asked by email")
    assert response.status_code == 302
    entry = Suppression.objects.get()
    assert entry.business == business and entry.campaign is None
    assert entry.number_hash == number_hash("+919876500001")
    assert (entry.source, entry.reason) == ("dashboard", "Asked by email")
    withdrawn = Lead.objects.get(campaign=campaign, lead_id="lead-1")
    assert (withdrawn.status, withdrawn.lead_outcome) == ("processed", NOT_CALLED_DNC)
    assert withdrawn.processed_at is not None
    assert Lead.objects.get(campaign=campaign, lead_id="lead-0").status == "queued"
    page = staff_client.get(LIST).content.decode()
    assert "1 queued lead with this number will not be called" in page
    assert f"#{entry.pk}" in page and "Business-wide" in page and "Asked by email" in page
    assert "9876500001" not in page and "98765 00001" not in page
    assert other.name  # the other campaign exists; a business-wide entry covers it too
    assert_no_number_stored()
    assert "9876500001" not in caplog.text


def test_add_for_one_campaign_withdraws_only_its_leads(staff_client, campaign, business, api):
    other = campaign_create(business=business, name="Second")
    for target in (campaign, other):
        body = [{"lead_id": "x", "phone_number": "9876500001", "contact_name": "A"}]
        assert api.post(f"/api/v4/leads/create/{target.public_id}/", body).status_code == 201
    response = add(staff_client, "9876500001", scope=other.public_id)
    assert response.status_code == 302
    assert Suppression.objects.get().campaign == other
    assert Lead.objects.get(campaign=other).lead_outcome == NOT_CALLED_DNC
    assert Lead.objects.get(campaign=campaign).status == "queued"
    page = staff_client.get(LIST).content.decode()
    assert "Second" in page and other.public_id in page


def test_adding_twice_is_not_an_error(staff_client, campaign):
    assert add(staff_client, "9876500001").status_code == 302
    response = add(staff_client, "9876500001", reason="again")
    assert response.status_code == 302
    assert Suppression.objects.count() == 1
    assert "already on that list" in staff_client.get(LIST).content.decode()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"phone_number": "12345", "scope": "business"}, "phone_number"),
        ({"phone_number": "", "scope": "business"}, "phone_number"),
        ({"phone_number": "9876500001", "scope": "nosuch"}, "scope"),
        ({"phone_number": "9876500001", "scope": "business", "reason": "x" * 201}, "reason"),
        ({"phone_number": "9876500001", "scope": "business", "reason": "a\x00b"}, "reason"),
        ({"phone_number": "9876500001", "scope": "business", "reason": "a\x1bb"}, "reason"),
    ],
)
def test_bad_add_is_a_form_error(staff_client, campaign, data, field):
    response = staff_client.post(url("do_not_call_add"), data)
    assert response.status_code == 400
    assert response.context["add_form"].errors[field]
    assert not Suppression.objects.exists()


def test_another_business_campaign_is_not_a_scope(staff_client, campaign, other_campaign):
    response = add(staff_client, "9876500001", scope=other_campaign.public_id)
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_search_says_whether_and_where(staff_client, campaign, business):
    suppressions_add(
        business=business,
        items=[
            SuppressionItem(phone="+919876500001", reason="business"),
            SuppressionItem(phone="+919876500001", campaign=campaign, reason="campaign"),
        ],
        source="api",
    )
    response = staff_client.post(url("do_not_call_search"), {"phone_number": "098765 00001"})
    assert response.status_code == 200
    entries = response.context["found_entries"]
    assert {(e.campaign_id, e.reason) for e in entries} == {
        (None, "business"),
        (campaign.pk, "campaign"),
    }
    html = response.content.decode()
    assert "is on the do-not-call list" in html and "098765 00001" in html  # what was typed
    assert "business-wide" in html and f"campaign {campaign.name}" in html
    response = staff_client.post(url("do_not_call_search"), {"phone_number": "9876500002"})
    assert response.status_code == 200 and response.context["found_entries"] == []
    assert "is not on the do-not-call list" in response.content.decode()


def test_search_is_a_post_and_bad_input_a_form_error(staff_client, campaign):
    assert staff_client.get(url("do_not_call_search")).status_code == 405
    response = staff_client.post(url("do_not_call_search"), {"phone_number": "not a number"})
    assert response.status_code == 400
    assert response.context["search_form"].errors["phone_number"]


def test_other_business_entries_are_invisible(staff_client, other_business, campaign):
    suppressions_add(
        business=other_business,
        items=[SuppressionItem(phone="+919876500001", reason="THEIR REASON")],
        source="api",
    )
    theirs = Suppression.objects.get()
    page = staff_client.get(LIST).content.decode()
    assert "THEIR REASON" not in page and f"#{theirs.pk}<" not in page
    found = staff_client.post(url("do_not_call_search"), {"phone_number": "9876500001"})
    assert found.context["found_entries"] == []
    assert staff_client.get(url("do_not_call_remove", theirs.pk)).status_code == 404
    assert staff_client.post(url("do_not_call_remove", theirs.pk)).status_code == 404
    assert Suppression.objects.filter(pk=theirs.pk).exists()


def test_remove_asks_then_removes(staff_client, business, campaign):
    suppressions_add(
        business=business, items=[SuppressionItem(phone="+919876500001")], source="api"
    )
    entry = Suppression.objects.get()
    confirm = staff_client.get(url("do_not_call_remove", entry.pk))
    assert confirm.status_code == 200
    assert b"Remove from the list" in confirm.content and b"9876500001" not in confirm.content
    assert Suppression.objects.exists()
    response = staff_client.post(url("do_not_call_remove", entry.pk))
    assert response.status_code == 302
    assert not Suppression.objects.exists()
    assert staff_client.post(url("do_not_call_remove", entry.pk)).status_code == 404


def test_remove_needs_csrf(client, staff, business):
    from django.test import Client

    suppressions_add(
        business=business, items=[SuppressionItem(phone="+919876500001")], source="api"
    )
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(staff)
    entry = Suppression.objects.get()
    assert checked.post(url("do_not_call_remove", entry.pk)).status_code == 403
    assert checked.post(url("do_not_call_upload"), {}).status_code == 403
    assert Suppression.objects.exists()


def test_list_is_paged(staff_client, business, settings):
    from leadline.dashboard.donotcall import views

    items = [SuppressionItem(phone=f"+9198765{i:05d}", reason=f"r{i}") for i in range(55)]
    suppressions_add(business=business, items=items, source="api")
    first = staff_client.get(LIST)
    rows = first.context["page"].rows
    assert len(rows) == views.PAGE_SIZE and rows[0].reason == "r54"
    older = first.context["page"].older
    second = staff_client.get(f"{LIST}?before={older}")
    assert [r.reason for r in second.context["page"].rows] == [f"r{i}" for i in range(4, -1, -1)]
    assert second.context["page"].older is None
    assert staff_client.get(f"{LIST}?before=abc").status_code == 400
    assert staff_client.get(f"{LIST}?before=-5").status_code == 400


def test_anonymous_and_other_roles_are_kept_out(client, campaign):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(url("do_not_call_add"), {"phone_number": "9876500001"}).status_code == 302
    assert not Suppression.objects.exists()


# --- CSV upload ---------------------------------------------------------------------------


def test_upload_adds_every_row_and_withdraws(staff_client, campaign, business, make_leads, caplog):
    make_leads(3)  # +919876500000 .. 02
    caplog.set_level(logging.DEBUG)
    content = (
        "Phone Number,campaign_id,reason\n"
        "9876500001,,Asked on the phone\n"
        f"+91 98765 00002,{campaign.public_id},\n"
        "\n"
        "9876500001,,repeated row: one entry\n"
        "9876500003,,\n"
    )
    response = upload(staff_client, "\ufeff" + content)
    assert response.status_code == 302, response.context and response.context["upload_form"].errors
    entries = Suppression.objects.order_by("pk")
    assert [(e.campaign_id, e.reason, e.source) for e in entries] == [
        (None, "Asked on the phone", "dashboard"),
        (campaign.pk, "", "dashboard"),
        (None, "", "dashboard"),
    ]
    outcomes = dict(Lead.objects.values_list("lead_id", "lead_outcome"))
    assert outcomes == {"lead-0": None, "lead-1": NOT_CALLED_DNC, "lead-2": NOT_CALLED_DNC}
    page = staff_client.get(LIST).content.decode()
    assert "Added 3 do-not-call entries" in page and "2 queued leads" in page
    assert_no_number_stored()
    assert "98765" not in caplog.text


def test_upload_of_known_numbers_is_not_an_error(staff_client, business, campaign):
    suppressions_add(
        business=business, items=[SuppressionItem(phone="+919876500001")], source="api"
    )
    assert upload(staff_client, "phone_number\n9876500001\n9876500002\n").status_code == 302
    assert Suppression.objects.count() == 2
    assert "(1 already listed)" in staff_client.get(LIST).content.decode()


def test_upload_with_row_problems_adds_nothing_and_lists_them(
    staff_client, campaign, other_campaign
):
    content = (
        "phone_number,campaign_id,reason\n"
        "9876500001,,fine\n"
        "12345,,short number\n"
        f"9876500002,{other_campaign.public_id},their campaign\n"
        f"9876500003,,{'x' * 201}\n"
        ",,no number\n"
        "9876500004,,too,many\n"
        "9876500005,,ctrl\x07char\n"
    )
    response = upload(staff_client, content)
    assert response.status_code == 400
    assert not Suppression.objects.exists()
    problems = [(p.row, p.field) for p in response.context["problems"]]
    assert problems == [
        (3, "phone_number"),
        (4, "campaign_id"),
        (5, "reason"),
        (6, "phone_number"),
        (7, ""),
        (8, "reason"),
    ]
    html = response.content.decode()
    assert "6 of the file&#x27;s 7 rows have problems; nothing was added" in html
    for number in ("12345", "9876500002", "9876500003", "9876500004", "9876500005"):
        assert number not in html
    assert 'id="dnc-problems"' in html


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The submitted file is empty"),
        (b"\n\n", "The file is empty, or its first row is blank"),
        (b"phone_number\n", "no data rows"),
        (b"9876500001,9876500002\n9876500003,x\n", "Column 1 of the header row"),
        (b"campaign_id,reason\nabc,x\n", "lacks the column phone_number"),
        (b"phone_number,phone number\n1,2\n", "names phone_number twice"),
        (b"phone_number;reason\n9876500001;x\n", "separated by commas"),
        (b"phone_number\n\xff\xfe9876\n", "not UTF-8"),
        (b"\xff\xfep\x00h\x00", "UTF-16"),
        (b'phone_number\n"' + b"9" * 140_000 + b'"\n', "not valid CSV"),
    ],
)
def test_upload_file_problems(staff_client, campaign, content, message):
    response = upload(staff_client, content)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'"), html
    assert "9876500001" not in html and "9876500003" not in html
    assert not Suppression.objects.exists()


def test_upload_limits(staff_client, campaign, settings):
    settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_ROWS = 3
    rows = "".join(f"98765{i:05d}\n" for i in range(4))
    response = upload(staff_client, "phone_number\n" + rows)
    assert response.status_code == 400 and b"more than 3 rows" in response.content
    settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES = 1024
    response = upload(staff_client, "phone_number\n" + "9876500001\n" * 200)
    assert response.status_code == 413 and b"larger than 1 KB" in response.content
    assert not Suppression.objects.exists()


def test_upload_without_a_file_or_with_two(staff_client, campaign):
    response = staff_client.post(url("do_not_call_upload"), {})
    assert response.status_code == 400 and b"Choose a CSV file" in response.content
    files = [SimpleUploadedFile(f"{i}.csv", b"phone_number\n9876500001\n") for i in range(2)]
    response = staff_client.post(url("do_not_call_upload"), {"file": files})
    assert response.status_code == 400 and b"one CSV file at a time" in response.content
    assert not Suppression.objects.exists()
