"""`leadline-client`: push a CSV of leads into a campaign, or stream its results as CSV.

    leadline-client push leads.csv --campaign 0PT711
    leadline-client results --campaign 0PT711 --since 2026-01-01T00:00:00+00:00 > out.csv

Credentials come from LEADLINE_API_KEY and LEADLINE_BASE_URL (or --api-key, --base-url).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ._base import new_key
from ._client import Leadline
from ._errors import BadRequestError, LeadlineError
from ._models import LeadResult

FIXED = ("lead_id", "phone_number", "contact_name")
RESULT_COLUMNS = (*LeadResult.FIELDS, "custom_fields")


def _progress(done: int, total: int, rejected: int, out: TextIO) -> None:
    width = 30
    filled = width * done // max(total, 1)
    out.write(
        f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} rows, {rejected} rejected"
    )
    out.flush()


def _row_to_lead(row: dict[str, str]) -> dict[str, Any]:
    # Empty cells are left out: an empty custom field is "not given", not "".
    return {k: v for k, v in row.items() if k and v not in (None, "")}


def push(client: Leadline, path: Path, campaign: str, batch: int, err: TextIO) -> int:
    """Send the CSV in batches; rows the server refuses go to <file>.rejected.csv with why,
    and the rest of their batch is sent again. Progress is kept in <file>.leadline-state.json
    after every batch, so an interrupted push resumes where it stopped (a batch in flight is
    resent with its own Idempotency-Key: created once)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    state_path = path.with_name(path.name + ".leadline-state.json")
    rejected_path = path.with_name(path.stem + ".rejected.csv")
    state: dict[str, Any] = {"campaign": campaign, "done": 0, "key": None, "rejected": 0}
    if state_path.exists():
        saved = json.loads(state_path.read_text())
        if saved.get("campaign") == campaign:
            state = saved
    rejected_file = rejected_path.open("a" if state["done"] else "w", newline="", encoding="utf-8")
    writer = csv.writer(rejected_file)
    if not state["done"]:
        writer.writerow(["row", "lead_id", "field", "code", "message"])
    try:
        while state["done"] < len(rows):
            start = state["done"]
            part = rows[start : start + batch]
            numbered = list(enumerate(part, start=2 + start))  # CSV line numbers (header = 1)
            if state["key"] is None:
                state["key"] = new_key()
                state_path.write_text(json.dumps(state))
            while numbered:
                try:
                    client.leads.create(
                        campaign,
                        [_row_to_lead(r) for _, r in numbered],
                        idempotency_key=state["key"],
                    )
                    break
                except BadRequestError as exc:
                    bad = {p.index for p in exc.errors if p.index is not None}
                    if not bad:
                        raise
                    for p in exc.errors:
                        if p.index is not None:
                            line = numbered[p.index][0]
                            writer.writerow(
                                [line, p.lead_id or "", p.field or "", p.code, p.message]
                            )
                    state["rejected"] += len(bad)
                    numbered = [n for i, n in enumerate(numbered) if i not in bad]
                    state["key"] = new_key()  # a different body needs a new key
            state["done"] = start + len(part)
            state["key"] = None
            state_path.write_text(json.dumps(state))
            _progress(state["done"], len(rows), state["rejected"], err)
    finally:
        rejected_file.close()
    err.write("\n")
    state_path.unlink()
    if state["rejected"]:
        err.write(f"{state['rejected']} rejected row(s): see {rejected_path}\n")
    else:
        rejected_path.unlink()
    return 0


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()


def results(client: Leadline, campaign: str, since: str | None, out: TextIO) -> int:
    """Stream every result (processed since `since`, if given) as CSV, page by page."""
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    for lead in client.leads.responses(campaign, processed_after=_since(since)):
        row: list[Any] = []
        for name in LeadResult.FIELDS:
            value = getattr(lead, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False)
            row.append("" if value is None else value)
        row.append(json.dumps(lead.custom_fields, ensure_ascii=False))
        writer.writerow(row)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="leadline-client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api-key")
    parser.add_argument("--base-url")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("push", help="create the leads of a CSV file")
    p.add_argument("file", type=Path)
    p.add_argument("--campaign", required=True)
    p.add_argument("--batch", type=int, default=1000, help="rows per request (at most 10000)")
    r = sub.add_parser("results", help="write the campaign's results as CSV to stdout")
    r.add_argument("--campaign", required=True)
    r.add_argument("--since", help="processed at or after: ISO 8601 or epoch seconds")
    args = parser.parse_args(argv)
    try:
        with Leadline(args.api_key, args.base_url) as client:
            if args.command == "push":
                return push(client, args.file, args.campaign, args.batch, sys.stderr)
            return results(client, args.campaign, args.since, sys.stdout)
    except LeadlineError as exc:
        sys.stderr.write(f"\nleadline-client: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
