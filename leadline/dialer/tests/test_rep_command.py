import io
import json

import pytest
from django.core.management import CommandError, call_command

from leadline.accounts.models import User


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_rep_add_creates_assigns_and_updates(campaign, other_campaign):
    out = json.loads(
        run(
            "rep", "add", "--campaign", campaign.public_id, "--username", "asha",
            "--password", "s3cret-console-pw", "--phone", "90000 00001", "--json",
        )
    )  # fmt: skip
    assert out["created"] is True and out["phone_number"] == "+919000000001"
    # A password the operator gave is not echoed back.
    assert out["campaign_id"] == campaign.public_id and "password" not in out
    rep = User.objects.get(username="asha")
    assert rep.role == User.Role.REP and rep.business == campaign.business
    assert rep.check_password("s3cret-console-pw")
    assert list(rep.rep_campaigns.all()) == [campaign]

    # Again without a password: same rep, new phone, password kept.
    again = json.loads(
        run(
            "rep", "add", "--campaign", campaign.public_id.lower(), "--username", "asha",
            "--phone", "+919000000009", "--json",
        )
    )  # fmt: skip
    assert again["created"] is False and "password" not in again
    rep.refresh_from_db()
    assert rep.phone_number == "+919000000009" and rep.check_password("s3cret-console-pw")

    listed = json.loads(run("rep", "list", "--campaign", campaign.public_id, "--json"))
    assert [r["username"] for r in listed["reps"]] == ["asha"]

    # A generated password is printed once and works.
    new = json.loads(
        run("rep", "add", "--campaign", campaign.public_id, "--username", "ravi",
            "--phone", "9000000002", "--json")
    )  # fmt: skip
    assert User.objects.get(username="ravi").check_password(new["password"])

    with pytest.raises(CommandError, match="not a rep of this business"):
        run("rep", "add", "--campaign", other_campaign.public_id, "--username", "asha",
            "--phone", "9000000001")  # fmt: skip
    with pytest.raises(CommandError, match="not a valid Indian phone"):
        run("rep", "add", "--campaign", campaign.public_id, "--username", "x", "--phone", "12")
    with pytest.raises(CommandError, match="No campaign"):
        run("rep", "add", "--campaign", "NOPE00", "--username", "x", "--phone", "9000000001")


# --- where the password comes from (never required on the command line) ---------------------

PASSWORD = "harbour-lantern-27"


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def add_rep(campaign, *extra, stdin=None) -> dict:
    out = io.StringIO()
    call_command(
        "rep", "add", "--campaign", campaign.public_id, "--username", "asha",
        "--phone", "9000000001", "--json", *extra,
        stdin=stdin or io.StringIO(), stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return json.loads(out.getvalue())


def test_password_from_stdin(campaign):
    out = add_rep(campaign, "--password-stdin", stdin=io.StringIO(PASSWORD + "\n"))
    assert out["created"] is True and "password" not in out
    assert User.objects.get(username="asha").check_password(PASSWORD)
    with pytest.raises(CommandError, match="no password"):
        add_rep(campaign, "--password-stdin", stdin=io.StringIO(""))


def test_password_from_the_environment(campaign, monkeypatch):
    monkeypatch.setenv("LEADLINE_REP_PASSWORD", PASSWORD)
    assert "password" not in add_rep(campaign)
    assert User.objects.get(username="asha").check_password(PASSWORD)
    with pytest.raises(CommandError, match="one way"):
        add_rep(campaign, "--password", "another-long-passphrase")


def test_password_prompted_twice_on_a_terminal(campaign, monkeypatch):
    from leadline.dialer.management.commands import rep

    prompts: list[str] = []
    typed = iter([PASSWORD, PASSWORD, PASSWORD, "a-typo-in-the-second"])

    def fake_getpass(prompt=""):
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr(rep.getpass, "getpass", fake_getpass)
    add_rep(campaign, stdin=FakeTTY())
    assert len(prompts) == 2
    assert User.objects.get(username="asha").check_password(PASSWORD)
    with pytest.raises(CommandError, match="differ"):
        add_rep(campaign, stdin=FakeTTY())


def test_empty_prompt_answer_generates_for_a_new_rep(campaign, monkeypatch):
    from leadline.dialer.management.commands import rep

    monkeypatch.setattr(rep.getpass, "getpass", lambda prompt="": "")
    out = add_rep(campaign, stdin=FakeTTY())
    assert User.objects.get(username="asha").check_password(out["password"])


def test_password_option_still_works_and_its_help_warns(campaign):
    add_rep(campaign, "--password", PASSWORD)
    assert User.objects.get(username="asha").check_password(PASSWORD)
    from leadline.dialer.management.commands.rep import Command

    parser = Command().create_parser("leadline", "rep")
    subparsers = next(a for a in parser._actions if a.dest == "action")
    add_help = " ".join(subparsers.choices["add"].format_help().split())
    assert "visible to other users of this machine" in add_help
    assert "--password-stdin" in add_help and "LEADLINE_REP_PASSWORD" in add_help
