"""`leadline campaign show|set`: the calling configuration from the command line."""

import io
import json
from datetime import time

import pytest
from django.core.management import CommandError, call_command

from leadline.campaigns.models import Campaign
from leadline.campaigns.services import campaign_telephony_use, telephony_account_create


def run(*args):
    out = io.StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue()


def test_show_json(campaign, business):
    shown = json.loads(run("show", campaign.public_id, "--json"))
    assert shown == {
        "campaign_id": campaign.public_id,
        "name": "Renewals",
        "business_id": business.pk,
        "business": business.name,
        "status": "active",
        "category": "service",
        "window_start": "09:00",
        "window_end": "21:00",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "timezone": "Asia/Kolkata",
        "max_attempts": 3,
        "retry_delays_minutes": [60, 240],
        "lease_minutes": 10,
        "telephony_account_id": None,
        "provider": "default: simulator",
        "caller_id": "",
        "ring_seconds": 30,
        "max_call_seconds": 3600,
        "dial_mode": "preview",
        "preview_seconds": 5,
        "wrap_up_seconds": 60,
        "callback_grace_minutes": 15,
        "lead_count": 0,
    }


def test_show_names_the_account_and_caller_id(campaign, business):
    account = telephony_account_create(
        business=business,
        provider="exotel",
        account_sid="acme1",
        credentials={"api_key": "k", "api_token": "secret-token"},
        caller_ids=["+918047112233"],
    )
    campaign_telephony_use(campaign=campaign, account=account)
    shown = json.loads(run("show", campaign.public_id.lower(), "--json"))  # any case
    assert shown["telephony_account_id"] == account.pk and shown["provider"] == "exotel"
    assert shown["caller_id"] == "+918047112233"
    text = run("show", campaign.public_id)
    assert "caller_id: +918047112233" in text and "days: mon,tue,wed,thu,fri,sat" in text
    assert "secret-token" not in text


def test_set_changes_and_prints_the_result(campaign):
    shown = json.loads(
        run(
            "set",
            campaign.public_id,
            "--window-start",
            "8:30",
            "--window-end",
            "20:00",
            "--days",
            "mon,Tuesday,fri",
            "--timezone",
            "Europe/London",
            "--max-attempts",
            "5",
            "--ring-seconds",
            "40",
            "--max-call-seconds",
            "1200",
            "--json",
        )
    )
    assert shown["window_start"] == "08:30" and shown["days"] == ["mon", "tue", "fri"]
    campaign.refresh_from_db()
    assert campaign.window_start == time(8, 30) and campaign.window_end == time(20, 0)
    assert campaign.window_days == [0, 1, 4] and campaign.timezone == "Europe/London"
    assert (campaign.max_attempts, campaign.max_ring_seconds, campaign.max_call_seconds) == (
        5,
        40,
        1200,
    )
    assert "max_attempts: 2" in run("set", campaign.public_id, "--max-attempts", "2")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--window-start", "25:00"], "--window-start: '25:00' is not a time of day"),
        (["--window-start", "9am"], "HH:MM"),
        (["--window-start", "22:00"], "--window-end: The calling window must end after"),
        (["--days", "mon,funday"], "--days: 'funday' is not a weekday"),
        (["--days", ""], "is not a weekday"),
        (["--timezone", "Mars/Base"], "--timezone: Not a known time zone"),
        (["--max-attempts", "0"], "--max-attempts: Must be a whole number from 1"),
        (["--max-attempts", "three"], "'three' is not a whole number"),
        (["--ring-seconds", "90"], "--ring-seconds: Must be a whole number from 5 to 60"),
        (["--max-call-seconds", "30"], "--max-call-seconds: Must be a whole number from 60"),
        (["--max-attempts", "4", "--timezone", "Nope/Nope"], "Not a known time zone"),
        ([], "Nothing to set"),
    ],
)
def test_set_refuses_bad_input_and_changes_nothing(campaign, args, words):
    with pytest.raises(CommandError) as caught:
        run("set", campaign.public_id, *args)
    assert words in str(caught.value)
    stored = Campaign.objects.get(pk=campaign.pk)
    assert stored.max_attempts == 3 and stored.timezone == "Asia/Kolkata"
    assert stored.window_start == time(9, 0) and stored.window_days == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("public_id", ["NOPE99", "bad\x00id", "../x", ""])
@pytest.mark.parametrize("args", [["show"], ["set", "--max-attempts", "2"]])
def test_unknown_campaign(db, public_id, args):
    action, *options = args
    with pytest.raises(CommandError, match="No campaign with id"):
        run(action, public_id, *options)


def test_set_category(campaign):
    assert "category: promotional" in run("set", campaign.public_id, "--category", "Promotional")
    campaign.refresh_from_db()
    assert campaign.category == "promotional"
    with pytest.raises(CommandError, match="--category: 'marketing' is not a category"):
        run("set", campaign.public_id, "--category", "marketing")
    campaign.refresh_from_db()
    assert campaign.category == "promotional"


def test_set_dial_mode_and_show(campaign):
    run(
        "set",
        campaign.public_id,
        "--dial-mode",
        "progressive",
        "--preview-seconds",
        "3",
        "--wrap-up-seconds",
        "45",
    )
    shown = json.loads(run("show", campaign.public_id, "--json"))
    assert (shown["dial_mode"], shown["preview_seconds"], shown["wrap_up_seconds"]) == (
        "progressive",
        3,
        45,
    )
    with pytest.raises(CommandError, match="--dial-mode"):
        run("set", campaign.public_id, "--dial-mode", "predictive")
    with pytest.raises(CommandError, match="--preview-seconds"):
        run("set", campaign.public_id, "--preview-seconds", "500")
    campaign.refresh_from_db()
    assert campaign.dial_mode == "progressive" and campaign.preview_seconds == 3
