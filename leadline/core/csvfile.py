"""Writing CSV for people: lines handed back for streaming, and cells no spreadsheet runs.

Excel, LibreOffice and Google Sheets treat a cell starting with `=`, `+`, `-` or `@` (and,
in some versions, a tab or carriage return before one) as a formula, even in a CSV file, so
a lead named `=HYPERLINK(...)` would become a live link or worse in the client's spreadsheet.
Every CSV we produce passes its string cells through `spreadsheet_safe`, which prefixes
those with a `'` (OWASP's advice: spreadsheets show the text, hiding the quote). Only strings
are neutralised: a value the writer got as a number (a JSON number -5) is data, not a formula.
"""

import csv
from collections.abc import Iterable
from typing import Any

# The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = frozenset("=+-@\t\r")


def spreadsheet_safe(cell: str) -> str:
    """`cell` with a leading `'` when a spreadsheet would read it as a formula."""
    # A first-character test: the export runs this on every cell (benchmarked), a regex
    # per cell would cost several times as much.
    if cell and cell[0] in FORMULA_STARTS:
        return "'" + cell
    return cell


def safe_row(cells: Iterable[Any]) -> list[Any]:
    """A row with its string cells made spreadsheet-safe (other types as given)."""
    return [spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in cells]


class _ReturnWritten:
    """csv.writer's file: hands each formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


class LineWriter:
    """A csv.writer whose `writerow` returns the line, so CSV can be streamed piece by piece.

    It writes cells as given: callers pass cells through `spreadsheet_safe` (or `safe_row`),
    choosing where they know a value is not a formula (a validated phone number).
    """

    def __init__(self, *, newline: str = "\r\n") -> None:
        if newline not in ("\r\n", "\n"):
            raise ValueError(f"unsupported newline {newline!r}")
        # Always written with csv's "\r\n": Python 3.11's writer quotes only the characters
        # of its own line terminator, so with "\n" a cell holding a lone "\r" would go out
        # unquoted and split the row for every reader. A "\n" line is cut from that.
        self._writer = csv.writer(_ReturnWritten())
        self._cut = newline == "\n"

    def writerow(self, cells: Iterable[Any]) -> str:
        line = self._writer.writerow(cells)
        assert isinstance(line, str)  # _ReturnWritten.write returns what it was given
        if self._cut:
            return line[:-2] + "\n"
        return line
