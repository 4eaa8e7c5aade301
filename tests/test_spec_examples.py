"""The reference's own code examples, run literally against a live gunicorn server.

The reference (`../shared/spec/leads-api-v4.md`) lives outside the repository, so its ```python
and ```shell blocks are vendored verbatim in `tests/fixtures/spec_examples.md`;
`test_vendored_examples_match_the_reference` fails when the two drift apart.

Placeholders are filled by plain text substitution and nothing else is changed:

- the hosts `https://app.squadiq.in` / `https://app.squadrun.co` -> the live server's URL,
- `test_token` -> a real access token, `{campaign_id}` -> a real campaign id,
- `{valid phone number}` / `{new_valid phone number}` -> valid Indian numbers,
- each `"{custom_field...}": "{..._value}"` pair -> a real key/value pair,
- `{conversion detail}` / `{conversion_detail}` -> a real conversion code.

Python blocks run with exec() (they use `requests`); the `response` they leave behind is
checked. Shell blocks run with bash and the real curl. To see the status of blocks without
`-i`, curl reads a `.curlrc` (through CURL_HOME) that only adds `--silent --show-error` and a
`--write-out` status line after the body; the command lines themselves stay as written.

Two shell blocks do not work as written, and run with their lines joined into one command
line (each newline, and a `\\` continuation mark before it, becomes one space):

- "Get Leads": `curl` stands alone on its first line and the next `-H` line has no `\\`, so
  bash runs `curl` without a URL and then tries to run `-H ...` as commands
  (`test_get_shell_example_does_not_run_as_written` pins that down).
- "Create Leads": the `\\` line continuations sit inside the `$'...'` body, where bash keeps
  them, so the body curl sends contains backslash-newline between JSON tokens: not JSON.
  `test_create_shell_example_as_written` records what the server does with that body.
"""

import re
import subprocess
from pathlib import Path

import orjson
import pytest
import requests

from tests.helpers import HTTP_TIMEOUT, create_leads, get_page
from tests.spec import REFERENCE, parse_examples

pytestmark = pytest.mark.live

VENDORED = Path(__file__).resolve().parent / "fixtures" / "spec_examples.md"

SECTIONS = {
    "create": "## Create Leads",
    "get": "## Get Leads",
    "disable": "## Disable one or more leads.",
    "delete": "## Delete a lead (Beta)",
    "update": "## Update a lead (Beta)",
    "convert": "## Mark a lead converted (Beta)",
}
FIXED_KEYS = {
    "phone_number",
    "lead_id",
    "latest_recording_url",
    "campaign_id",
    "latest_called_at",
    "lead_outcome",
    "processed_at",
    "contact_name",
    "created_at",
    "lead_responses",
}
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
E164_INDIA = re.compile(r"^\+91\d{10}$")

PHONE = "9876543210"
NEW_PHONE = "9123456789"
CONVERSION = "PAID_PLAN"
# The custom-field placeholders come in key/value pairs; each pair becomes a real one.
CUSTOM_PAIRS = {
    '"{custom_field_1}": "{custom_value}"': '"city": "Pune"',
    '"{custom_field_2}": "{custom_value}"': '"plan": "gold"',
    '"{custom_field_1}": "{new_custom_value}"': '"city": "Mumbai"',
    '"{custom_field}": "{custom_value}"': '"city": "Delhi"',
}
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_ ]*\}")


EXAMPLES = parse_examples(VENDORED.read_text(encoding="utf-8"))


def example(section: str, language: str) -> str:
    (code,) = [c for h, lang, c in EXAMPLES if h == SECTIONS[section] and lang == language]
    return code


def fill(code: str, *, base_url: str, token: str, campaign_id: str) -> str:
    for pair, real in CUSTOM_PAIRS.items():
        code = code.replace(pair, real)
    for placeholder, real in {
        "https://app.squadiq.in": base_url,
        "https://app.squadrun.co": base_url,
        "test_token": token,
        "{campaign_id}": campaign_id,
        "{valid phone number}": PHONE,
        "{new_valid phone number}": NEW_PHONE,
        "{conversion detail}": CONVERSION,
        "{conversion_detail}": CONVERSION,
    }.items():
        code = code.replace(placeholder, real)
    leftover = PLACEHOLDER.findall(code)
    assert not leftover, f"unfilled placeholders {leftover} in:\n{code}"
    return code


def join_lines(code: str) -> str:
    """One command line: each newline (and a `\\` continuation before it) becomes a space."""
    return re.sub(r"\\?\n", " ", code.strip())


def run_python(code: str) -> requests.Response:
    namespace: dict = {}
    exec(compile(code, "<spec example>", "exec"), namespace)
    response = namespace["response"]
    assert isinstance(response, requests.Response)
    return response


class Shell:
    """A curl run: status (from the .curlrc write-out), headers (with -i) and JSON body."""

    MARK = "@@HTTP "

    def __init__(self, script: str, curl_home: Path):
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "CURL_HOME": str(curl_home), "HOME": str(curl_home)},
        )
        self.returncode = result.returncode
        self.stdout = result.stdout
        self.stderr = result.stderr

    @property
    def status(self) -> int:
        match = re.search(r"@@HTTP (\d{3})@@\s*$", self.stdout)
        assert match, (self.stdout, self.stderr)
        return int(match.group(1))

    @property
    def body(self):
        text = self.stdout[: self.stdout.rindex(self.MARK)]
        if text.startswith("HTTP/"):  # `curl -i`: headers, a blank line, the body
            text = re.split(r"\r?\n\r?\n", text, maxsplit=1)[1]
        return orjson.loads(text)

    @property
    def status_line(self) -> str:
        return self.stdout.splitlines()[0].rstrip()


@pytest.fixture
def curl_home(tmp_path):
    (tmp_path / ".curlrc").write_text(
        'silent\nshow-error\nwrite-out = "\\n@@HTTP %{http_code}@@\\n"\n'
    )
    return tmp_path


@pytest.fixture
def target(live_server_proc, live_tenant):
    return {
        "base_url": live_server_proc.url,
        "token": live_tenant["access_token"],
        "campaign_id": live_tenant["campaign_id"],
    }


def lead_item(target, lead_id):
    body = get_page(target["base_url"], target["token"], target["campaign_id"], lead_id=lead_id)
    assert body["count"] in (0, 1)
    return body["results"][0] if body["results"] else None


def seed(target, *lead_ids):
    """Leads the examples refer to but do not create themselves (e.g. `test_lead_id`)."""
    create_leads(
        target["base_url"],
        target["token"],
        target["campaign_id"],
        [
            {"lead_id": lead_id, "phone_number": "9811122233", "contact_name": "John Doe"}
            for lead_id in lead_ids
        ],
    )


def check_get_example_body(body, target):
    """The documented shape: count/next/previous/results, one item with the fixed keys."""
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    (item,) = body["results"]
    assert set(item) == FIXED_KEYS
    assert item["lead_id"] == "test_lead_id"
    assert item["campaign_id"] == target["campaign_id"]
    assert item["contact_name"] == "John Doe"
    assert E164_INDIA.match(item["phone_number"])
    assert ISO_WITH_OFFSET.match(item["created_at"])
    # Not called yet: the result fields exist and are empty.
    assert item["lead_outcome"] is None
    assert item["processed_at"] is None
    assert item["latest_called_at"] is None
    assert item["latest_recording_url"] is None
    assert item["lead_responses"] == {}


# --- the vendored copy --------------------------------------------------------------------


def test_vendored_examples_cover_every_endpoint():
    assert [(h, lang) for h, lang, _ in EXAMPLES] == [
        (SECTIONS[s], lang)
        for s in ("create", "get", "disable", "delete", "update", "convert")
        for lang in ("python", "shell")
    ]


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"reference not found at {REFERENCE}")
def test_vendored_examples_match_the_reference():
    assert parse_examples(REFERENCE.read_text(encoding="utf-8")) == EXAMPLES


# --- Python examples ----------------------------------------------------------------------


def test_python_examples_in_order(target):
    seed(target, "test_lead_id")

    def run(section):
        return run_python(fill(example(section, "python"), **target))

    # Create: a list of two leads with string ids and two custom fields.
    response = run("create")
    assert response.status_code == 201, response.text
    assert response.json() == {
        "detail": "2 lead(s) created.",
        "created": 2,
        "lead_ids": ["uniqueleadid1", "uniqueleadid2"],
    }
    second = lead_item(target, "uniqueleadid2")
    assert second["contact_name"] == "John Smith"
    assert second["phone_number"] == "+91" + PHONE
    assert (second["city"], second["plan"]) == ("Pune", "gold")  # custom fields, top level

    # Get: ?page_size=1 in the URL plus params={"lead_id": ...}.
    response = run("get")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    check_get_example_body(response.json(), target)

    # Disable: a list of {lead_id}.
    response = run("disable")
    assert response.status_code == 201, response.text
    assert response.json()["lead_ids"] == ["uniqueleadid1", "uniqueleadid2"]

    # Update: the new phone number and custom value; the answer is the GET item.
    response = run("update")
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["lead_id"] == "uniqueleadid1"
    assert updated["phone_number"] == "+91" + NEW_PHONE
    assert (updated["city"], updated["plan"]) == ("Mumbai", "gold")
    assert updated["contact_name"] == "John Doe"
    assert lead_item(target, "uniqueleadid1") == updated

    # Convert.
    response = run("convert")
    assert response.status_code == 200, response.text
    converted = response.json()
    assert converted["lead_id"] == "uniqueleadid1"
    assert converted["conversion_detail"] == CONVERSION
    assert ISO_WITH_OFFSET.match(converted["converted_at"])

    # Delete: 202; the lead is gone; the same request again is the documented 404.
    response = run("delete")
    assert response.status_code == 202, response.text
    # The erased id is not echoed; the erasure's receipt is named instead.
    assert response.json()["detail"] == "Lead erased."
    assert set(response.json()) == {"detail", "receipt_id"}
    assert lead_item(target, "uniqueleadid1") is None
    response = run("delete")
    assert response.status_code == 404, response.text
    assert "detail" in response.json()
    assert lead_item(target, "uniqueleadid2") is not None


# --- shell examples -----------------------------------------------------------------------


def test_get_shell_example_does_not_run_as_written(target, curl_home):
    """Why the GET block is run with its lines joined: as written it is three commands."""
    seed(target, "test_lead_id")
    run = Shell(fill(example("get", "shell"), **target), curl_home)
    assert run.returncode != 0
    assert "@@HTTP" not in run.stdout  # curl never made a request
    assert "-H: command not found" in run.stderr


def test_create_shell_example_as_written(target, curl_home):
    run = Shell(fill(example("create", "shell"), **target), curl_home)
    assert run.returncode == 0, run.stderr
    assert run.status == 201, run.stdout


def test_shell_examples_in_order(target, curl_home):
    seed(target, "test_lead_id", "uniqueleadid1")

    def run(section, *, joined=False):
        code = fill(example(section, "shell"), **target)
        result = Shell(join_lines(code) if joined else code, curl_home)
        assert result.returncode == 0, result.stderr
        return result

    # Create: one lead, numeric lead_id (lines joined, see the module docstring).
    result = run("create", joined=True)
    assert result.status == 201, result.stdout
    assert result.body == {"detail": "1 lead(s) created.", "created": 1, "lead_ids": ["1"]}
    created = lead_item(target, "1")
    assert created["contact_name"] == "John Doe"
    assert (created["city"], created["plan"]) == ("Pune", "gold")

    # Get (lines joined, see the module docstring).
    result = run("get", joined=True)
    assert result.status == 200, result.stdout
    check_get_example_body(result.body, target)

    # Disable: a bare object with a numeric lead_id, the same lead as "1".
    result = run("disable")
    assert result.status == 201, result.stdout
    assert result.body["lead_ids"] == ["1"]

    # Update (`curl -i -X PATCH`).
    result = run("update")
    assert result.status == 200, result.stdout
    assert result.status_line == "HTTP/1.1 200 OK"
    assert result.body["lead_id"] == "uniqueleadid1"
    assert result.body["phone_number"] == "+91" + PHONE
    assert result.body["city"] == "Delhi"
    assert lead_item(target, "uniqueleadid1") == result.body

    # Convert (`curl -i`).
    result = run("convert")
    assert result.status == 200, result.stdout
    assert result.status_line == "HTTP/1.1 200 OK"
    assert result.body["lead_id"] == "uniqueleadid1"
    assert result.body["conversion_detail"] == CONVERSION

    # Delete: 202, then the lead is gone; again: 404.
    result = run("delete")
    assert result.status == 202, result.stdout
    # The erased id is not echoed; the erasure's receipt is named instead.
    assert result.body["detail"] == "Lead erased."
    assert set(result.body) == {"detail", "receipt_id"}
    assert lead_item(target, "uniqueleadid1") is None
    result = run("delete")
    assert result.status == 404, result.stdout
    assert lead_item(target, "1") is not None


def test_examples_without_the_token_get_the_documented_403(target, curl_home):
    """Every example, with a wrong token: 403 (the code the reference lists for each)."""
    wrong = {**target, "token": "not-a-real-token"}
    for section in SECTIONS:
        response = run_python(fill(example(section, "python"), **wrong))
        assert response.status_code == 403, (section, response.text)
        assert response.json()["detail"]
        code = fill(example(section, "shell"), **wrong)
        result = Shell(join_lines(code) if section in ("create", "get") else code, curl_home)
        assert result.status == 403, (section, result.stdout)
        assert result.body["detail"]
    assert (
        requests.get(
            f"{target['base_url']}/api/v4/leads/responses/{target['campaign_id']}/",
            headers={"Authorization": f"Bearer {target['token']}"},
            timeout=HTTP_TIMEOUT,
        ).json()["count"]
        == 0
    )
