"""`leadline dnd import FILE`: load the DND (NCPR) registry file into compliance, hashed."""

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from leadline.compliance.dnd import registry_import

# Header names taken as the phone column of a CSV (case-insensitive).
PHONE_COLUMNS = ("phone", "phone_number", "number", "mobile", "msisdn")


def registry_numbers(stream: TextIO) -> Iterator[str]:
    """The numbers of a registry file: one per line, or a CSV whose header names a phone
    column (without such a header, the first column)."""
    rows = csv.reader(stream)
    column = 0
    for index, row in enumerate(rows):
        if not row or not any(cell.strip() for cell in row):
            continue
        if index == 0:
            names = [cell.strip().lower() for cell in row]
            found = [i for i, name in enumerate(names) if name in PHONE_COLUMNS]
            if found:
                column = found[0]
                continue
            if len(row) > 1 and not any(ch.isdigit() for ch in row[0]):
                raise CommandError(
                    "The CSV header names no phone column; name it one of "
                    + ", ".join(PHONE_COLUMNS)
                    + "."
                )
        yield row[column].strip() if column < len(row) else ""


class Command(BaseCommand):
    help = "Import the DND (NCPR) registry file: numbers are hashed, never stored in clear."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "import",
            help="import a registry file: one number per line, or a CSV with a phone column",
        )
        load.add_argument("file", help="path of the file (UTF-8)")
        load.add_argument(
            "--replace",
            action="store_true",
            help="the file is the whole registry: numbers of earlier imports it lacks are removed",
        )

    def handle(self, *args: Any, action: str, file: str, replace: bool, **options: Any) -> None:
        try:
            with open(file, encoding="utf-8-sig", newline="") as stream:
                counts = registry_import(numbers=registry_numbers(stream), replace=replace)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text; nothing was imported.") from None
        self.stdout.write(
            f"{counts.lines} line(s) read, {counts.added} number(s) added, "
            f"{counts.invalid} invalid line(s) skipped; "
            f"{counts.total} number(s) in the DND registry"
            + (" (replaced the previous import)." if replace else ".")
        )
