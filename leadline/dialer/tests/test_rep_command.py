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
    assert out["campaign_id"] == campaign.public_id and out["password"] == "s3cret-console-pw"
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
