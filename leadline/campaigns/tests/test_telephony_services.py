"""Telephony accounts and a campaign's calling settings: the services and their rules."""

from datetime import time

import pytest

from leadline.campaigns.models import Campaign, TelephonyAccount
from leadline.campaigns.services import (
    campaign_settings_update,
    campaign_telephony_use,
    telephony_account_check_record,
    telephony_account_create,
    telephony_account_update,
)
from leadline.campaigns.validation import InvalidSetting
from leadline.core.errors import BadRequest

TWILIO_SID = "AC" + "0123456789abcdef" * 2
EXOPHONE = "+918047112233"
TWILIO_NUMBER = "+14155550100"


def exotel(business, **overrides):
    values = {
        "business": business,
        "provider": "exotel",
        "account_sid": "acme1",
        "credentials": {"api_key": "key-123", "api_token": "token-secret-456"},
        "caller_ids": [EXOPHONE],
    }
    return telephony_account_create(**{**values, **overrides})


def twilio(business, **overrides):
    values = {
        "business": business,
        "provider": "twilio",
        "account_sid": TWILIO_SID,
        "credentials": {"auth_token": "auth-secret-789"},
        "caller_ids": [TWILIO_NUMBER],
    }
    return telephony_account_create(**{**values, **overrides})


# --- telephony_account_create --------------------------------------------------------------


def test_exotel_account_stores_credentials_encrypted(business):
    account = exotel(business, caller_ids=["+91 80 4711 2233", "+918047112244", EXOPHONE])
    account.refresh_from_db()
    assert account.provider == "exotel" and account.account_sid == "acme1"
    # Normalised to E.164, duplicates dropped, order kept (the first is the default).
    assert account.caller_ids == [EXOPHONE, "+918047112244"]
    assert "token-secret-456" not in account.credentials_encrypted
    assert "key-123" not in account.credentials_encrypted
    assert account.credentials() == {"api_key": "key-123", "api_token": "token-secret-456"}
    assert account.api_url == "" and account.effective_api_url == "https://api.exotel.com"


def test_twilio_account_with_a_us_number_and_own_api_url(business):
    account = twilio(business, api_url="https://api.twilio.com/", name="US line")
    assert account.caller_ids == [TWILIO_NUMBER]
    assert account.api_url == "https://api.twilio.com"  # no trailing slash
    assert account.credentials() == {"auth_token": "auth-secret-789"}
    assert account.name == "US line"


def test_simulator_account_needs_nothing(business):
    account = telephony_account_create(
        business=business, provider="simulator", account_sid="", credentials={}, caller_ids=[]
    )
    assert account.credentials_encrypted == "" and account.credentials() == {}
    assert account.effective_api_url == ""


def test_loopback_http_api_url_is_allowed_for_test_servers(business):
    assert exotel(business, api_url="http://127.0.0.1:8123").api_url == "http://127.0.0.1:8123"
    assert exotel(business, api_url="http://localhost:9/").api_url == "http://localhost:9"


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"provider": "plivo"}, "provider", "Unknown provider"),
        ({"provider": "twilio"}, "account_sid", "AC followed by 32"),
        ({"account_sid": ""}, "account_sid", "Exotel Account SID"),
        ({"account_sid": "acme/../x"}, "account_sid", "Exotel Account SID"),
        ({"credentials": {"api_key": "k"}}, "api_token", "needs its api token"),
        ({"credentials": {"api_key": "k", "api_token": " "}}, "api_token", "needs its"),
        ({"credentials": {"api_key": "k", "api_token": "a b"}}, "api_token", "one word"),
        ({"credentials": {"api_key": "k", "api_token": "t\n"}}, "api_key", None),  # stripped ok
        (
            {"credentials": {"api_key": "k", "api_token": "t", "auth_token": "x"}},
            "credentials",
            "exotel takes api_key, api_token, not auth_token",
        ),
        ({"caller_ids": []}, "caller_ids", "at least one caller ID"),
        ({"caller_ids": ["9876543210"]}, "caller_ids", "E.164"),
        ({"caller_ids": ["+1800FLOWERS"]}, "caller_ids", "E.164"),
        ({"caller_ids": ["+9180"]}, "caller_ids", "not a valid phone number"),
        ({"caller_ids": "+918047112233"}, "caller_ids", "A list of phone numbers"),
        ({"api_url": "ftp://api.exotel.com"}, "api_url", "https://"),
        ({"api_url": "http://api.exotel.com"}, "api_url", "loopback"),
        ({"api_url": "https://user:pw@api.exotel.com"}, "api_url", "no credentials"),
        ({"api_url": "https://api.exotel.com/?x=1"}, "api_url", "query"),
        ({"api_url": "not a url"}, "api_url", "https://"),
        ({"name": "x" * 101}, "name", "too long"),
    ],
)
def test_each_account_rule(business, overrides, field, words):
    if words is None:  # a control case: this one is accepted
        exotel(business, **overrides)
        return
    with pytest.raises(BadRequest) as caught:
        exotel(business, **overrides)
    assert isinstance(caught.value, InvalidSetting) and caught.value.field == field
    assert words in caught.value.detail
    assert not TelephonyAccount.objects.exists()


def test_error_messages_never_repeat_a_credential(business):
    with pytest.raises(BadRequest) as caught:
        exotel(business, credentials={"api_key": "k", "api_token": "secret with space"})
    assert "secret" not in caught.value.detail


def test_twilio_takes_only_the_auth_token(business):
    with pytest.raises(InvalidSetting) as caught:
        twilio(business, credentials={"auth_token": "t", "api_key": "k"})
    assert caught.value.detail == "twilio takes auth_token, not api_key."
    with pytest.raises(InvalidSetting, match="simulator has no API URL"):
        telephony_account_create(
            business=business,
            provider="simulator",
            account_sid="",
            credentials={},
            caller_ids=[],
            api_url="https://x.example",
        )


# --- telephony_account_update / check --------------------------------------------------------


def test_update_replaces_only_the_credentials_given(business):
    account = exotel(business)
    before = account.credentials_encrypted
    telephony_account_update(account=account, name="renamed")
    account.refresh_from_db()
    assert account.credentials_encrypted == before  # untouched: not re-encrypted
    telephony_account_update(account=account, credentials={"api_token": "rotated"})
    account.refresh_from_db()
    assert account.credentials() == {"api_key": "key-123", "api_token": "rotated"}


def test_update_refuses_removing_a_caller_id_a_campaign_shows(business, campaign):
    account = exotel(business, caller_ids=[EXOPHONE, "+918047112244"])
    campaign_telephony_use(campaign=campaign, account=account, caller_id="+918047112244")
    with pytest.raises(InvalidSetting, match=campaign.public_id):
        telephony_account_update(account=account, caller_ids=[EXOPHONE])
    account.refresh_from_db()
    assert account.caller_ids == [EXOPHONE, "+918047112244"]
    telephony_account_update(account=account, caller_ids=["+918047112244"])  # the used one stays


def test_check_result_is_recorded(business):
    account = exotel(business)
    telephony_account_check_record(account=account, ok=False, detail="Bad credentials. " * 40)
    account.refresh_from_db()
    assert account.checked_at is not None
    assert account.check_result.startswith("Failed: Bad credentials.")
    assert len(account.check_result) <= 300


# --- campaign_telephony_use ------------------------------------------------------------------


def test_campaign_uses_the_first_caller_id_by_default(business, campaign):
    account = exotel(business, caller_ids=[EXOPHONE, "+918047112244"])
    campaign_telephony_use(campaign=campaign, account=account)
    campaign.refresh_from_db()
    assert campaign.telephony_account == account and campaign.caller_id == EXOPHONE
    campaign_telephony_use(campaign=campaign, account=account, caller_id="+91 80471 12244")
    campaign.refresh_from_db()
    assert campaign.caller_id == "+918047112244"
    campaign_telephony_use(campaign=campaign, account=None)
    campaign.refresh_from_db()
    assert campaign.telephony_account is None and campaign.caller_id == ""


def test_campaign_cannot_use_another_business_account_or_number(business, campaign, other_business):
    theirs = exotel(other_business)
    with pytest.raises(InvalidSetting, match="another business"):
        campaign_telephony_use(campaign=campaign, account=theirs)
    ours = exotel(business)
    with pytest.raises(InvalidSetting, match="not one of the account's caller IDs"):
        campaign_telephony_use(campaign=campaign, account=ours, caller_id="+918047112299")
    with pytest.raises(InvalidSetting, match=r"E\.164"):
        campaign_telephony_use(campaign=campaign, account=ours, caller_id="junk")
    campaign.refresh_from_db()
    assert campaign.telephony_account is None and campaign.caller_id == ""


# --- campaign_settings_update ----------------------------------------------------------------


def test_settings_update_changes_what_is_given(campaign):
    campaign_settings_update(
        campaign=campaign,
        window_start=time(10, 0),
        window_end=time(18, 30),
        days=[4, 0, 0],
        timezone="America/New_York",
        max_attempts=5,
        ring_seconds=45,
        max_call_seconds=600,
    )
    assert campaign.window_days == [0, 4]  # the caller's object follows
    stored = Campaign.objects.get(pk=campaign.pk)
    assert (stored.window_start, stored.window_end) == (time(10, 0), time(18, 30))
    assert stored.window_days == [0, 4] and stored.timezone == "America/New_York"
    assert (stored.max_attempts, stored.max_ring_seconds, stored.max_call_seconds) == (5, 45, 600)
    campaign_settings_update(campaign=campaign, max_attempts=2)
    stored.refresh_from_db()
    assert stored.max_attempts == 2 and stored.timezone == "America/New_York"


def test_settings_update_keeps_lead_count(campaign):
    # A stale object's lead_count must not be written back over the services' increments.
    Campaign.objects.filter(pk=campaign.pk).update(lead_count=7)
    campaign_settings_update(campaign=campaign, max_attempts=4)
    assert Campaign.objects.get(pk=campaign.pk).lead_count == 7


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"window_start": time(22, 0)}, "window_end"),  # against the stored end (21:00)
        ({"window_start": time(10, 0), "window_end": time(10, 0)}, "window_end"),
        ({"days": []}, "window_days"),
        ({"days": [0, 7]}, "window_days"),
        ({"days": [True]}, "window_days"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 40000}, "max_attempts"),
        ({"ring_seconds": 4}, "max_ring_seconds"),
        ({"ring_seconds": 61}, "max_ring_seconds"),
        ({"max_call_seconds": 59}, "max_call_seconds"),
        ({"max_call_seconds": 14401}, "max_call_seconds"),
        # All or nothing: a good value beside a bad one is not written either.
        ({"max_attempts": 9, "timezone": "Nowhere/Else"}, "timezone"),
    ],
)
def test_settings_update_rules_and_nothing_changes(campaign, changes, field):
    with pytest.raises(InvalidSetting) as caught:
        campaign_settings_update(campaign=campaign, **changes)
    assert caught.value.field == field
    stored = Campaign.objects.get(pk=campaign.pk)
    assert stored.max_attempts == 3 and stored.timezone == "Asia/Kolkata"
    assert stored.window_start == time(9, 0) and stored.max_ring_seconds == 30
