"""`leadline-client push` and `results` against a live server, as a user runs them."""

import csv
import io
import json
import subprocess
import sys

import pytest
from client_support import new_tenant

pytestmark = pytest.mark.live


def cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "leadline_client.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_push_reports_rejected_rows_and_results_streams_csv(live_db, live_server_proc, tmp_path):
    tenant = new_tenant(live_db)
    env = {
        **live_db,
        "LEADLINE_API_KEY": tenant["access_token"],
        "LEADLINE_BASE_URL": live_server_proc.url,
    }
    source = tmp_path / "leads.csv"
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["lead_id", "phone_number", "contact_name", "city"])
        for i in range(250):
            phone = "12345" if i == 120 else f"98{i:08d}"  # one bad number
            writer.writerow([f"c-{i}", phone, f"Person {i}", "Pune" if i % 2 else ""])

    pushed = cli(env, "push", str(source), "--campaign", tenant["campaign_id"], "--batch", "100")
    assert pushed.returncode == 0, pushed.stderr
    assert "250/250 rows, 1 rejected" in pushed.stderr  # the progress bar's last state
    rejected = list(csv.DictReader((tmp_path / "leads.rejected.csv").open()))
    assert [(r["row"], r["lead_id"], r["field"]) for r in rejected] == [
        ("122", "c-120", "phone_number")
    ]
    assert not (tmp_path / "leads.csv.leadline-state.json").exists()

    out = cli(env, "results", "--campaign", tenant["campaign_id"])
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 249
    assert rows[1]["lead_id"] == "c-1" and rows[1]["custom_fields"] == '{"city": "Pune"}'
    assert rows[0]["custom_fields"] == "{}"

    # Nothing processed yet: a --since filter finds nothing.
    since = cli(
        env, "results", "--campaign", tenant["campaign_id"], "--since", "2020-01-01T00:00:00Z"
    )
    assert since.returncode == 0 and since.stdout.strip().splitlines() == [
        ",".join(
            [
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
                "custom_fields",
            ]
        )
    ]


def test_push_resumes_from_its_state_file(live_db, live_server_proc, tmp_path):
    tenant = new_tenant(live_db)
    env = {
        **live_db,
        "LEADLINE_API_KEY": tenant["access_token"],
        "LEADLINE_BASE_URL": live_server_proc.url,
    }
    source = tmp_path / "more.csv"
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["lead_id", "phone_number", "contact_name"])
        for i in range(30):
            writer.writerow([f"m-{i}", f"97{i:08d}", f"P {i}"])
    # As if a first run had sent 20 rows and then stopped.
    (tmp_path / "more.csv.leadline-state.json").write_text(
        json.dumps({"campaign": tenant["campaign_id"], "done": 20, "key": None, "rejected": 0})
    )
    pushed = cli(env, "push", str(source), "--campaign", tenant["campaign_id"], "--batch", "10")
    assert pushed.returncode == 0, pushed.stderr
    out = cli(env, "results", "--campaign", tenant["campaign_id"])
    ids = [r["lead_id"] for r in csv.DictReader(io.StringIO(out.stdout))]
    assert ids == [f"m-{i}" for i in range(20, 30)]  # only the rows after the saved point
