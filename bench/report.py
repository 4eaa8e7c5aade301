"""Plain-text output: headings, notes and aligned tables, flushed as they come (a long run
shows progress, and a failure late in the run keeps the figures already measured)."""

import math


def out(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    out()
    out(f"== {text} ==")


def note(text: str) -> None:
    out(f"   {text}")


def table(columns: list[str], rows: list[list[str]]) -> None:
    """First column left-aligned (labels), the others right-aligned (figures)."""
    widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "   " + "  ".join(parts).rstrip()

    out(line(columns))
    out(("   " + "  ".join("-" * w for w in widths)).rstrip())
    for row in rows:
        out(line(row))


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value < 1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ratio(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return "-"
    return f"{value:.2f}x"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
