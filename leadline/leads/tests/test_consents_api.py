"""POST /api/v4/consents/ and /consents/delete/: record and withdraw consent to promotional
calls; stored per business as a number hash, never echoed, documented in the OpenAPI."""

import pytest

from leadline.compliance.consents import consent_given
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Consent

pytestmark = pytest.mark.django_db

URL = "/api/v4/consents/"
ITEM = {
    "phone_number": "98765 43210",
    "given_at": "2025-01-15T10:30:00+05:30",
    "method": "web_form",
    "reference": "signup-8812",
}


def test_record_update_and_withdraw(api, business, campaign):
    response = api.post(URL, [ITEM, {**ITEM, "phone_number": "+919876543211", "method": "sms"}])
    assert response.status_code == 201, response.content
    assert response.json() == {"detail": "2 consent(s) recorded.", "created": 2, "updated": 0}
    assert b"98765" not in response.content
    row = Consent.objects.get(number_hash=number_hash("+919876543210"))
    assert (row.business_id, row.method, row.reference) == (business.pk, "web_form", "signup-8812")
    assert row.given_at.isoformat() == "2025-01-15T05:00:00+00:00"

    again = api.post(URL, {**ITEM, "method": "ivr", "reference": "ivr-1"})
    assert again.json() == {"detail": "1 consent(s) recorded.", "created": 0, "updated": 1}
    assert Consent.objects.get(number_hash=row.number_hash).method == "ivr"

    campaign.category = "promotional"
    assert consent_given(campaign=campaign, phone="+919876543210")
    campaign.category = "service"
    assert not consent_given(campaign=campaign, phone="+919876543210")  # not needed there

    gone = api.post(
        URL + "delete/", [{"phone_number": "9876543210"}, {"phone_number": "9000000000"}]
    )
    assert gone.status_code == 200 and gone.json()["withdrawn"] == 1
    assert Consent.objects.count() == 1


def test_consents_belong_to_one_business(api, other_token, client, campaign):
    from conftest import ApiClient

    api.post(URL, ITEM)
    other = ApiClient(client, other_token)
    assert (
        other.post(URL + "delete/", {"phone_number": ITEM["phone_number"]}).json()["withdrawn"] == 0
    )
    campaign.category = "promotional"
    assert consent_given(campaign=campaign, phone="+919876543210")


@pytest.mark.parametrize(
    "item, field",
    [
        ({**ITEM, "phone_number": "12"}, "phone_number"),
        ({**ITEM, "given_at": "yesterday"}, "given_at"),
        ({**ITEM, "given_at": "2025-01-15T10:30:00"}, "given_at"),
        ({**ITEM, "given_at": "2999-01-01T00:00:00+00:00"}, "given_at"),
        ({**ITEM, "method": "telepathy"}, "method"),
        ({**ITEM, "reference": "x" * 201}, "reference"),
        ({**ITEM, "reference": 5}, "reference"),
    ],
)
def test_bad_items_are_400_and_change_nothing(api, item, field):
    response = api.post(URL, [ITEM, item])
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["index"] == 1 and body["errors"][0]["field"] == field
    assert "12" not in body["errors"][0]["message"] or field != "phone_number"
    assert not Consent.objects.exists()


@pytest.mark.parametrize("raw", [b"{", b"[]", b"3", b"[3]"])
def test_malformed_bodies_are_400(api, raw):
    assert api.post(URL, raw=raw).status_code == 400
    assert api.post(URL + "delete/", raw=raw).status_code == 400


def test_documented_in_openapi(client):
    document = client.get("/api/v4/openapi.json").json()
    assert "/api/v4/consents/" in document["paths"]
    assert "/api/v4/consents/delete/" in document["paths"]
    schemas = document["components"]["schemas"]
    assert {"RecordConsentsRequest", "WithdrawConsentsRequest", "ConsentsRecorded"} <= set(schemas)
