"""`leadline telephony add|use|list|check` and the account -> Line mapping."""

import io
import json
import os
import subprocess

import pytest
from django.core.management import CommandError, call_command

from conftest import BIN, ROOT
from leadline.campaigns.models import TelephonyAccount
from leadline.campaigns.services import campaign_telephony_use, telephony_account_create
from leadline.dialer.telephony import Line, ProviderError
from leadline.dialer.telephony.accounts import line_for_account, line_for_campaign

TWILIO_SID = "AC" + "0123456789abcdef" * 2
SECRETS = ("exo-key-0001", "exo-token-secret-0002", "twilio-auth-secret-0003")
ENV_NAMES = (
    "LEADLINE_TELEPHONY_API_KEY",
    "LEADLINE_TELEPHONY_API_TOKEN",
    "LEADLINE_TELEPHONY_AUTH_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("telephony", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def add_exotel(business, *extra):
    return run(
        "add",
        "--business",
        str(business.pk),
        "--provider",
        "exotel",
        "--account-sid",
        "acme1",
        "--api-key",
        SECRETS[0],
        "--api-token",
        SECRETS[1],
        "--caller-id",
        "+918047112233",
        *extra,
    )


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text


# --- add ---------------------------------------------------------------------------------------


def test_add_exotel_json(business):
    output = add_exotel(business, "--caller-id", "+91 80 4711 2244", "--name", "Main", "--json")
    assert_no_secret(output)
    result = json.loads(output)
    assert list(result) == ["account_id"]
    account = TelephonyAccount.objects.get(pk=result["account_id"])
    assert account.business == business and account.provider == "exotel"
    assert account.caller_ids == ["+918047112233", "+918047112244"] and account.name == "Main"
    assert_no_secret(account.credentials_encrypted)
    assert account.credentials() == {"api_key": SECRETS[0], "api_token": SECRETS[1]}


def test_add_twilio_with_api_url_and_human_line(business):
    output = run(
        "add",
        "--business",
        str(business.pk),
        "--provider",
        "twilio",
        "--account-sid",
        TWILIO_SID,
        "--auth-token",
        SECRETS[2],
        "--caller-id",
        "+14155550100",
        "--api-url",
        "http://127.0.0.1:8765",
    )
    assert_no_secret(output)
    account = TelephonyAccount.objects.get()
    assert output.startswith(f"account {account.pk}: Twilio {TWILIO_SID} for Acme Insurance")
    assert "http://127.0.0.1:8765" in output
    assert account.credentials() == {"auth_token": SECRETS[2]}


def test_add_simulator(business):
    result = json.loads(
        run("add", "--business", str(business.pk), "--provider", "simulator", "--json")
    )
    account = TelephonyAccount.objects.get(pk=result["account_id"])
    assert account.provider == "simulator" and account.credentials() == {}


def test_secrets_from_the_environment(business, monkeypatch):
    monkeypatch.setenv("LEADLINE_TELEPHONY_API_KEY", SECRETS[0])
    monkeypatch.setenv("LEADLINE_TELEPHONY_API_TOKEN", SECRETS[1])
    # Another provider's variable in the same shell is not in the way.
    monkeypatch.setenv("LEADLINE_TELEPHONY_AUTH_TOKEN", SECRETS[2])
    output = run(
        "add",
        "--business",
        str(business.pk),
        "--provider",
        "exotel",
        "--account-sid",
        "acme1",
        "--caller-id",
        "+918047112233",
        "--json",
    )
    assert_no_secret(output)
    account = TelephonyAccount.objects.get(pk=json.loads(output)["account_id"])
    assert account.credentials() == {"api_key": SECRETS[0], "api_token": SECRETS[1]}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--provider", "exotel", "--account-sid", "a", "--api-key", "k"], "needs --api-token"),
        (
            ["--provider", "twilio", "--account-sid", TWILIO_SID, "--api-key", "k"],
            "--api-key is not a twilio credential; twilio takes --auth-token",
        ),
        (
            ["--provider", "twilio", "--account-sid", "ACnothex", "--auth-token", "t"],
            "AC followed by 32 hexadecimal digits",
        ),
        (
            ["--provider", "twilio", "--account-sid", TWILIO_SID, "--auth-token", "t"],
            "needs at least one caller ID",
        ),
        (
            [
                "--provider",
                "twilio",
                "--account-sid",
                TWILIO_SID,
                "--auth-token",
                "t",
                "--caller-id",
                "4155550100",
            ],
            "E.164",
        ),
        (
            [
                "--provider",
                "exotel",
                "--account-sid",
                "a",
                "--api-key",
                "k",
                "--api-token",
                "t",
                "--caller-id",
                "+918047112233",
                "--api-url",
                "http://api.exotel.com",
            ],
            "only for a loopback host",
        ),
    ],
)
def test_add_refuses_bad_input(business, args, words):
    with pytest.raises(CommandError) as caught:
        run("add", "--business", str(business.pk), *args)
    assert words in str(caught.value)
    assert not TelephonyAccount.objects.exists()


def test_add_refuses_a_secret_given_twice_and_an_unknown_business(business, monkeypatch):
    monkeypatch.setenv("LEADLINE_TELEPHONY_API_TOKEN", "from-env")
    with pytest.raises(CommandError, match="one way"):
        add_exotel(business)
    monkeypatch.delenv("LEADLINE_TELEPHONY_API_TOKEN")
    with pytest.raises(CommandError, match="No business 999999"):
        run("add", "--business", "999999", "--provider", "simulator")
    with pytest.raises(CommandError) as caught:
        run(
            "add",
            "--business",
            str(business.pk),
            "--provider",
            "exotel",
            "--account-sid",
            "a",
            "--api-key",
            "k",
            "--api-token",
            "has space",
            "--caller-id",
            "+918047112233",
        )
    assert "has space" not in str(caught.value)


# --- use -------------------------------------------------------------------------------------


def test_use_points_a_campaign_at_an_account(business, campaign):
    account_id = json.loads(add_exotel(business, "--caller-id", "+918047112244", "--json"))[
        "account_id"
    ]
    result = json.loads(
        run("use", "--campaign", campaign.public_id, "--account", str(account_id), "--json")
    )
    assert result == {
        "campaign_id": campaign.public_id,
        "account_id": account_id,
        "provider": "exotel",
        "caller_id": "+918047112233",
    }
    line = run(
        "use",
        "--campaign",
        campaign.public_id.lower(),
        "--account",
        str(account_id),
        "--caller-id",
        "+918047112244",
    )
    assert "caller ID +918047112244" in line
    campaign.refresh_from_db()
    assert campaign.telephony_account_id == account_id and campaign.caller_id == "+918047112244"


def test_use_refuses(business, campaign, other_business):
    theirs = json.loads(
        run("add", "--business", str(other_business.pk), "--provider", "simulator", "--json")
    )["account_id"]
    with pytest.raises(CommandError, match="belongs to another business"):
        run("use", "--campaign", campaign.public_id, "--account", str(theirs))
    ours = json.loads(add_exotel(business, "--json"))["account_id"]
    with pytest.raises(CommandError, match="not one of the account's caller IDs"):
        run(
            "use",
            "--campaign",
            campaign.public_id,
            "--account",
            str(ours),
            "--caller-id",
            "+14155550100",
        )
    with pytest.raises(CommandError, match="No campaign with id"):
        run("use", "--campaign", "NOPE\x00", "--account", str(ours))
    with pytest.raises(CommandError, match="No telephony account 999999"):
        run("use", "--campaign", campaign.public_id, "--account", "999999")
    campaign.refresh_from_db()
    assert campaign.telephony_account is None


# --- list ------------------------------------------------------------------------------------


def test_list_shows_everything_but_credentials(business, campaign, other_business):
    exo = json.loads(add_exotel(business, "--json"))["account_id"]
    run(
        "add",
        "--business",
        str(other_business.pk),
        "--provider",
        "twilio",
        "--account-sid",
        TWILIO_SID,
        "--auth-token",
        SECRETS[2],
        "--caller-id",
        "+14155550100",
    )
    run("use", "--campaign", campaign.public_id, "--account", str(exo))
    output = run("list", "--json")
    assert_no_secret(output)
    assert "credentials" not in output
    rows = json.loads(output)["accounts"]
    assert [r["provider"] for r in rows] == ["exotel", "twilio"]
    assert rows[0] == {
        "account_id": exo,
        "business_id": business.pk,
        "business": business.name,
        "name": "",
        "provider": "exotel",
        "account_sid": "acme1",
        "caller_ids": ["+918047112233"],
        "api_url": "https://api.exotel.com",
        "campaigns": [campaign.public_id],
        "checked_at": None,
        "check_result": "",
    }
    assert rows[1]["api_url"] == "https://api.twilio.com" and rows[1]["campaigns"] == []
    text = run("list")
    assert_no_secret(text)
    assert campaign.public_id in text and "never checked" in text


# --- check -----------------------------------------------------------------------------------


def test_check_simulator_records_the_result(business):
    account_id = json.loads(
        run("add", "--business", str(business.pk), "--provider", "simulator", "--json")
    )["account_id"]
    result = json.loads(run("check", str(account_id), "--json"))
    assert result["ok"] is True and result["result"].startswith("Simulator")
    account = TelephonyAccount.objects.get(pk=account_id)
    assert account.checked_at is not None and account.check_result.startswith("OK: Simulator")
    assert "OK: Simulator" in run("check", str(account_id))
    listed = json.loads(run("list", "--json"))["accounts"][0]
    assert listed["checked_at"] and listed["check_result"].startswith("OK: ")


class RefusingProvider:
    name = "exotel"
    seen: list[Line] = []

    def __init__(self, line):
        RefusingProvider.seen.append(line)

    def check(self):
        raise ProviderError(ProviderError.AUTH, "Exotel refused the API key and token (401).")


def test_check_failure_is_recorded_and_exits_non_zero(business, monkeypatch):
    from leadline.dialer import telephony

    account_id = json.loads(add_exotel(business, "--json"))["account_id"]
    classes = {**telephony._provider_classes(), "exotel": f"{__name__}.RefusingProvider"}
    monkeypatch.setattr(telephony, "_provider_classes", lambda: classes)
    RefusingProvider.seen.clear()
    with pytest.raises(CommandError) as caught:
        run("check", str(account_id))
    message = str(caught.value)
    assert message == "Check failed (auth): Exotel refused the API key and token (401)."
    assert_no_secret(message)
    # The provider got the decrypted credentials and the documented host.
    (line,) = RefusingProvider.seen
    assert line.credentials == {"api_key": SECRETS[0], "api_token": SECRETS[1]}
    assert line.api_url == "https://api.exotel.com" and line.caller_id == "+918047112233"
    account = TelephonyAccount.objects.get(pk=account_id)
    assert account.check_result == "Failed: Exotel refused the API key and token (401)."
    assert account.checked_at is not None


def test_check_unknown_account_and_undecryptable_credentials(business, settings):
    with pytest.raises(CommandError, match="No telephony account 999999"):
        run("check", "999999")
    account_id = json.loads(add_exotel(business, "--json"))["account_id"]
    settings.LEADLINE_ENCRYPTION_KEY = "another-key-entirely"
    with pytest.raises(CommandError, match="cannot be decrypted"):
        run("check", str(account_id))


def test_failure_through_the_real_command_line_has_no_traceback(tmp_path):
    # A CommandError reaches the operator as one line on stderr and exit status 1. The id is
    # refused before any query, so the fresh (empty) database of the subprocess is enough.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LEADLINE_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [str(BIN / "leadline"), "campaign", "show", "../x"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "CommandError: No campaign with id '../x'."
    assert "Traceback" not in result.stderr


# --- accounts -> Line ------------------------------------------------------------------------


def test_line_for_campaign(business, campaign):
    assert line_for_campaign(campaign) is None
    account = telephony_account_create(
        business=business,
        provider="exotel",
        account_sid="acme1",
        credentials={"api_key": "k", "api_token": "t"},
        caller_ids=["+918047112233", "+918047112244"],
        api_url="https://api.in.exotel.com",
    )
    campaign_telephony_use(campaign=campaign, account=account, caller_id="+918047112244")
    campaign.refresh_from_db()
    line = line_for_campaign(campaign)
    assert line == Line(
        provider="exotel",
        account_sid="acme1",
        credentials={"api_key": "k", "api_token": "t"},
        api_url="https://api.in.exotel.com",
        caller_id="+918047112244",
    )
    assert "'t'" not in repr(line)  # credentials stay out of reprs and tracebacks
    assert line_for_account(account).caller_id == "+918047112233"


def test_line_for_undecryptable_account_is_a_provider_error(business, settings):
    account = telephony_account_create(
        business=business,
        provider="twilio",
        account_sid=TWILIO_SID,
        credentials={"auth_token": "t"},
        caller_ids=["+14155550100"],
    )
    settings.LEADLINE_ENCRYPTION_KEY = "rotated-without-fallback"
    with pytest.raises(ProviderError) as caught:
        line_for_account(account)
    assert caught.value.kind == ProviderError.AUTH
