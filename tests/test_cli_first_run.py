"""What a newcomer sees first from the command line: the command list and clean --json output."""

import subprocess

import orjson

from conftest import BIN, ROOT, leadline


def run(env, *args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "leadline"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


def test_help_lists_our_commands_first_each_with_a_line(live_db):
    for args in (["--help"], ["help"], [], ["-h"]):
        result = run(live_db, *args)
        assert result.returncode == 0, result.stderr
        text = result.stdout
        ours, _, theirs = text.partition("Django and library commands:")
        for command in ("demo", "serve", "worker", "simulate", "token", "webhook", "telephony"):
            line = next(line for line in ours.splitlines() if line.startswith(f"  {command} "))
            assert len(line.split()) > 2, f"{command} has no description"
        assert "axes_reset" in theirs and "migrate" in theirs
        assert "axes_reset" not in ours
        assert "AXES" not in text + result.stderr


def test_json_output_pipes_as_is_with_nothing_logged_before_it(live_db, live_tenant):
    result = run(live_db, "telephony", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {"accounts": []}
    # No startup chatter (django-axes announced itself at INFO on every start).
    assert result.stderr == ""


def test_a_command_s_own_help_still_comes_from_django(live_db):
    assert "--campaign" in leadline(live_db, "help", "simulate")
