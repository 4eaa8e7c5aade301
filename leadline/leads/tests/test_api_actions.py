import pytest

from leadline.accounts.models import IdempotencyRecord
from leadline.campaigns.models import Campaign
from leadline.leads.models import ErasureReceipt, Lead


def path(action, campaign):
    return f"/api/v4/leads/{action}/{campaign.public_id}/"


# --- disable --------------------------------------------------------------------------------


def test_disable_list_and_single_object(api, campaign, make_leads):
    make_leads(3)
    response = api.post(path("disable", campaign), [{"lead_id": "lead-0"}, {"lead_id": "lead-1"}])
    assert response.status_code == 201
    assert response.json()["lead_ids"] == ["lead-0", "lead-1"]
    single = api.post(path("disable", campaign), {"lead_id": "lead-2"})
    assert single.status_code == 201
    assert set(Lead.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        Lead.Status.DISABLED
    }
    assert not Lead.objects.filter(campaign=campaign, disabled_at__isnull=True).exists()


def test_disable_numeric_id_as_the_shell_example(api, campaign):
    api.post(
        path("create", campaign), {"lead_id": 1, "phone_number": "9876543210", "contact_name": "A"}
    )
    assert api.post(path("disable", campaign), {"lead_id": 1}).status_code == 201
    assert Lead.objects.get(lead_id="1").disabled_at is not None


def test_disabling_twice_is_fine_and_keeps_first_time(api, campaign, make_leads):
    make_leads(1)
    api.post(path("disable", campaign), {"lead_id": "lead-0"})
    first = Lead.objects.get(lead_id="lead-0").disabled_at
    assert api.post(path("disable", campaign), {"lead_id": "lead-0"}).status_code == 201
    assert Lead.objects.get(lead_id="lead-0").disabled_at == first


def test_disable_unknown_ids_lists_them_and_changes_nothing(api, campaign, make_leads):
    make_leads(2)
    response = api.post(
        path("disable", campaign), [{"lead_id": "lead-0"}, {"lead_id": "nope"}, {"lead_id": 7}]
    )
    assert response.status_code == 400
    assert [e["lead_id"] for e in response.json()["errors"]] == ["nope", "7"]
    assert all(e["code"] == "not_found" for e in response.json()["errors"])
    assert Lead.objects.get(lead_id="lead-0").disabled_at is None


def test_disable_echoes_an_over_long_lead_id_cut_to_255_characters(api, campaign, make_leads):
    make_leads(1)
    sent = "z" * 50_000
    response = api.post(path("disable", campaign), [{"lead_id": "lead-0"}, {"lead_id": sent}])
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["lead_id"], error["code"]) == (1, "z" * 255, "too_long")


@pytest.mark.parametrize("body", [[], {}, [{"id": 1}], ["lead-0"], 5, [{"lead_id": ""}]])
def test_disable_bad_bodies_are_400(api, campaign, make_leads, body):
    make_leads(1)
    assert api.post(path("disable", campaign), body).status_code == 400
    assert Lead.objects.get(lead_id="lead-0").disabled_at is None


# --- delete (erasure) -----------------------------------------------------------------------


def test_erase_removes_personal_data_and_keeps_a_tombstone(api, campaign, make_leads):
    make_leads(2, city="Pune")
    api.post(path("convert", campaign), {"lead_id": "lead-0", "detail": "PAID"})
    response = api.post(path("delete", campaign), {"lead_id": "lead-0"})
    assert response.status_code == 202
    # The reference defines no body fields: the answer does not echo the erased id, and
    # names the erasure's receipt instead.
    body = response.json()
    assert set(body) == {"detail", "receipt_id"}
    assert body["detail"] == "Lead erased."
    assert ErasureReceipt.objects.get(public_id=body["receipt_id"]).lead_id == "lead-0"
    tomb = Lead.objects.get(campaign=campaign, erased_at__isnull=False)
    assert tomb.lead_id is None
    assert tomb.phone_number is None
    assert tomb.contact_name is None
    assert tomb.custom_fields == {}
    assert tomb.lead_responses == {}
    assert tomb.conversion_detail is None
    assert tomb.status == Lead.Status.ERASED
    assert Campaign.objects.get(pk=campaign.pk).lead_count == 1
    assert Lead.objects.filter(phone_number="+919876500000").count() == 0


def test_erase_unknown_or_already_erased_is_404(api, campaign, make_leads):
    make_leads(1)
    assert api.post(path("delete", campaign), {"lead_id": "nope"}).status_code == 404
    assert api.post(path("delete", campaign), {"lead_id": "lead-0"}).status_code == 202
    again = api.post(path("delete", campaign), {"lead_id": "lead-0"})
    assert again.status_code == 404
    assert again.json()["detail"]


def test_erased_lead_id_can_be_created_again(api, campaign, make_leads):
    make_leads(1)
    api.post(path("delete", campaign), {"lead_id": "lead-0"})
    make_leads(1)
    assert Lead.objects.filter(campaign=campaign, lead_id="lead-0").count() == 1
    assert api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["count"] == 1


def test_erasure_deletes_stored_idempotent_responses_quoting_the_lead(api, campaign):
    body = {"lead_id": "someone@example.com", "phone_number": "9876543210", "contact_name": "S"}
    api.post(path("create", campaign), body, headers={"Idempotency-Key": "k1"})
    api.patch(
        path("update", campaign),
        {"lead_id": "someone@example.com", "city": "Goa"},
        headers={"Idempotency-Key": "k2"},
    )
    assert IdempotencyRecord.objects.count() == 2
    api.post(path("delete", campaign), {"lead_id": "someone@example.com"})
    remaining = list(IdempotencyRecord.objects.values_list("response_body", flat=True))
    assert not any("someone@example.com" in (body or "") for body in remaining)
    assert not any("+919876543210" in (body or "") for body in remaining)


def test_erasure_with_an_idempotency_key_stores_no_trace_of_the_id(api, campaign):
    body = {"lead_id": "someone@example.com", "phone_number": "9876543210", "contact_name": "S"}
    api.post(path("create", campaign), body)
    erase = {"lead_id": "someone@example.com"}
    first = api.post(path("delete", campaign), erase, headers={"Idempotency-Key": "erase-1"})
    replay = api.post(path("delete", campaign), erase, headers={"Idempotency-Key": "erase-1"})
    assert first.status_code == replay.status_code == 202
    assert replay["Idempotent-Replayed"] == "true"
    assert "someone@example.com" not in first.content.decode()
    assert "someone@example.com" not in replay.content.decode()
    stored = IdempotencyRecord.objects.get(key="erase-1").response_body or ""
    assert stored and "someone@example.com" not in stored


@pytest.mark.parametrize("body", [[{"lead_id": "lead-0"}], {}, {"lead_id": None}, "x"])
def test_erase_bad_bodies_are_400(api, campaign, make_leads, body):
    make_leads(1)
    assert api.post(path("delete", campaign), body).status_code == 400
    assert Lead.objects.get(lead_id="lead-0").erased_at is None


# --- update ---------------------------------------------------------------------------------


def test_update_phone_name_and_custom_fields(api, campaign, make_leads):
    make_leads(1, city="Pune", plan="gold")
    response = api.patch(
        path("update", campaign),
        {
            "lead_id": "lead-0",
            "phone_number": "+91 91234 56789",
            "contact_name": "New Name",
            "city": "Delhi",
            "plan": None,
            "source": "web",
        },
    )
    assert response.status_code == 200
    item = response.json()
    assert item["phone_number"] == "+919123456789"
    assert item["contact_name"] == "New Name"
    assert item["city"] == "Delhi"
    assert item["source"] == "web"
    assert "plan" not in item
    assert (
        item
        == api.get(f"/api/v4/leads/responses/{campaign.public_id}/", {"lead_id": "lead-0"}).json()[
            "results"
        ][0]
    )


def test_update_unknown_lead_is_404(api, campaign):
    response = api.patch(path("update", campaign), {"lead_id": "ghost", "contact_name": "X"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"phone_number": "123"},
        {"phone_number": None},
        {"contact_name": ""},
        {"contact_name": None},
        {"notes": "x" * 17000},
    ],
)
def test_update_invalid_changes_are_400_and_change_nothing(api, campaign, make_leads, changes):
    make_leads(1)
    response = api.patch(path("update", campaign), {"lead_id": "lead-0", **changes})
    assert response.status_code == 400
    lead = Lead.objects.get(lead_id="lead-0")
    assert lead.phone_number == "+919876500000"
    assert lead.contact_name == "Person 0"
    assert lead.custom_fields == {}


def test_update_with_post_is_405(api, campaign):
    response = api.post(path("update", campaign), {"lead_id": "x"})
    assert response.status_code == 405
    assert response.json()["detail"]


# --- convert --------------------------------------------------------------------------------


def test_convert_records_detail(api, campaign, make_leads):
    make_leads(1)
    response = api.post(path("convert", campaign), {"lead_id": "lead-0", "detail": "PLAN_GOLD"})
    assert response.status_code == 200
    assert response.json()["conversion_detail"] == "PLAN_GOLD"
    lead = Lead.objects.get(lead_id="lead-0")
    assert lead.converted_at is not None
    assert lead.conversion_detail == "PLAN_GOLD"


@pytest.mark.parametrize("detail", ["", "x" * 33, None, 5, ["a"]])
def test_convert_detail_must_be_1_to_32_characters(api, campaign, make_leads, detail):
    make_leads(1)
    response = api.post(path("convert", campaign), {"lead_id": "lead-0", "detail": detail})
    assert response.status_code == 400
    assert Lead.objects.get(lead_id="lead-0").converted_at is None


def test_convert_32_characters_and_unknown_lead(api, campaign, make_leads):
    make_leads(1)
    ok = api.post(path("convert", campaign), {"lead_id": "lead-0", "detail": "x" * 32})
    assert ok.status_code == 200
    missing = api.post(path("convert", campaign), {"lead_id": "ghost", "detail": "x"})
    assert missing.status_code == 404
