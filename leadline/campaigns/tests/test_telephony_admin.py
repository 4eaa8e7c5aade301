"""The admin's telephony pages: accounts with write-only credentials, a campaign's Telephony
fieldset; the rules are the services'."""

import pytest

from leadline.campaigns.models import Campaign, TelephonyAccount
from leadline.campaigns.services import campaign_telephony_use, telephony_account_create
from leadline.core.tests.test_admin import form_data

ADD = "/admin/campaigns/telephonyaccount/add/"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
SECRETS = ("exo-key-0001", "exo-token-secret-0002", "twilio-auth-secret-0003")


def change_url(account):
    return f"/admin/campaigns/telephonyaccount/{account.pk}/change/"


def make_exotel(business, caller_ids=("+918047112233",)):
    return telephony_account_create(
        business=business,
        provider="exotel",
        account_sid="acme1",
        credentials={"api_key": SECRETS[0], "api_token": SECRETS[1]},
        caller_ids=list(caller_ids),
    )


def assert_no_secret(response):
    html = response.content.decode()
    for secret in SECRETS:
        assert secret not in html


def test_add_exotel_account(client, operator, business):
    page = client.get(ADD)
    assert page.status_code == 200
    assert b'type="password"' in page.content and b"credentials_encrypted" not in page.content
    response = client.post(
        ADD,
        {
            "business": business.pk,
            "name": "Mumbai",
            "provider": "exotel",
            "account_sid": "acme1",
            "api_key": SECRETS[0],
            "api_token": SECRETS[1],
            "caller_ids": "+91 80 4711 2233\n+918047112244, +918047112233",
            "api_url": "https://api.in.exotel.com/",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = TelephonyAccount.objects.get()
    assert account.caller_ids == ["+918047112233", "+918047112244"]
    assert account.api_url == "https://api.in.exotel.com" and account.name == "Mumbai"
    assert account.credentials() == {"api_key": SECRETS[0], "api_token": SECRETS[1]}
    for secret in SECRETS[:2]:
        assert secret not in account.credentials_encrypted
    listing = client.get("/admin/campaigns/telephonyaccount/")
    assert listing.status_code == 200 and b"+918047112244" in listing.content
    assert_no_secret(listing)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"api_token": ""}, "api_token"),
        ({"auth_token": "x"}, None),  # exotel does not take it: a form-wide error
        ({"caller_ids": ""}, "caller_ids"),
        ({"caller_ids": "9876543210"}, "caller_ids"),
        ({"account_sid": "bad sid"}, "account_sid"),
        ({"api_url": "http://api.exotel.com"}, "api_url"),
        ({"provider": "twilio", "auth_token": "t", "api_key": "", "api_token": ""}, "account_sid"),
    ],
)
def test_add_refuses_what_the_services_refuse(client, operator, business, changes, field):
    data = {
        "business": business.pk,
        "provider": "exotel",
        "account_sid": "acme1",
        "api_key": SECRETS[0],
        "api_token": SECRETS[1],
        "caller_ids": "+918047112233",
        **changes,
    }
    response = client.post(ADD, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (field or "__all__") in errors, errors
    assert not TelephonyAccount.objects.exists()
    assert_no_secret(response)  # a refused form does not echo the typed secrets


def test_change_keeps_credentials_unless_typed_and_never_shows_them(client, operator, business):
    account = make_exotel(business)
    before = account.credentials_encrypted
    page = client.get(change_url(account))
    assert page.status_code == 200
    assert_no_secret(page)
    assert before.encode() not in page.content
    data = form_data(page)
    assert data["caller_ids"] == "+918047112233"
    response = client.post(change_url(account), {**data, "name": "Renamed"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.name == "Renamed" and account.credentials_encrypted == before
    response = client.post(change_url(account), {**data, "api_token": "rotated-token"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credentials() == {"api_key": SECRETS[0], "api_token": "rotated-token"}
    # The provider and business are fixed: posting others changes nothing.
    client.post(change_url(account), {**data, "provider": "twilio"})
    account.refresh_from_db()
    assert account.provider == "exotel"


def test_change_refuses_removing_a_caller_id_in_use(client, operator, business, campaign):
    account = make_exotel(business, caller_ids=("+918047112233", "+918047112244"))
    campaign_telephony_use(campaign=campaign, account=account)
    data = form_data(client.get(change_url(account)))
    response = client.post(change_url(account), {**data, "caller_ids": "+918047112244"})
    assert response.status_code == 200
    assert campaign.public_id in str(response.context["adminform"].form.errors["caller_ids"])
    account.refresh_from_db()
    assert account.caller_ids == ["+918047112233", "+918047112244"]
    # An account a campaign uses cannot be deleted.
    assert client.get(f"{change_url(account)[:-7]}delete/").status_code == 403


def test_twilio_add_and_list_counts(client, operator, business, campaign):
    response = client.post(
        ADD,
        {
            "business": business.pk,
            "provider": "twilio",
            "account_sid": TWILIO_SID,
            "auth_token": SECRETS[2],
            "caller_ids": "+14155550100",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = TelephonyAccount.objects.get()
    campaign_telephony_use(campaign=campaign, account=account)
    listing = client.get("/admin/campaigns/telephonyaccount/")
    row = listing.context["cl"].result_list[0]
    assert row.campaigns_count == 1
    assert_no_secret(listing)
    assert_no_secret(client.get(change_url(account)))


# --- the campaign's Telephony fieldset -------------------------------------------------------


def campaign_url(campaign):
    return f"/admin/campaigns/campaign/{campaign.pk}/change/"


def test_campaign_telephony_fieldset(client, operator, business, campaign, other_business):
    ours = make_exotel(business, caller_ids=("+918047112233", "+918047112244"))
    theirs = make_exotel(other_business)
    page = client.get(campaign_url(campaign))
    assert b"Telephony" in page.content
    offered = list(page.context["adminform"].form.fields["telephony_account"].queryset)
    assert offered == [ours]
    data = form_data(page)
    saved = client.post(
        campaign_url(campaign),
        {**data, "telephony_account": ours.pk, "caller_id": "", "max_ring_seconds": "25"},
    )
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.telephony_account == ours and campaign.caller_id == "+918047112233"
    assert campaign.max_ring_seconds == 25

    for changes, field in [
        ({"telephony_account": theirs.pk}, "telephony_account"),
        ({"telephony_account": ours.pk, "caller_id": "+14155550100"}, "caller_id"),
        ({"telephony_account": "", "caller_id": "+918047112233"}, "caller_id"),
        ({"max_ring_seconds": "61"}, "max_ring_seconds"),
        ({"max_call_seconds": "20000"}, "max_call_seconds"),
    ]:
        refused = client.post(campaign_url(campaign), {**data, **changes})
        assert refused.status_code == 200, changes
        assert field in refused.context["adminform"].form.errors, changes
    campaign.refresh_from_db()
    assert campaign.caller_id == "+918047112233" and campaign.max_ring_seconds == 25


def test_new_campaign_cannot_take_another_business_account(
    client, operator, business, other_business
):
    theirs = make_exotel(other_business)
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "business": business.pk,
            "name": "With foreign account",
            "status": "active",
            "max_attempts": 3,
            "retry_delays_minutes": "[30]",
            "lease_minutes": 10,
            "timezone": "Asia/Kolkata",
            "window_start": "09:00",
            "window_end": "21:00",
            "window_days": "[0]",
            "rep_visible_fields": "[]",
            "telephony_account": theirs.pk,
            "max_ring_seconds": 30,
            "max_call_seconds": 3600,
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "outcomes-TOTAL_FORMS": 0,
            "outcomes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "telephony_account" in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="With foreign account").exists()


def test_account_changelist_queries_do_not_grow_with_rows(client, operator, business, campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/campaigns/telephonyaccount/").status_code == 200
        return len(captured)

    for _ in range(3):
        campaign_telephony_use(campaign=campaign, account=make_exotel(business))
    few = queries()
    for _ in range(20):
        make_exotel(business)
    assert queries() == few
