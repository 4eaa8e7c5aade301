"""Bar charts drawn on the server as inline SVG: no JavaScript, readable by screen readers.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` summing it up, and every
bar is a group with its own `<title>` ("label: value"), which browsers show on hover and
assistive technology reads. Bars carry `data-label` / `data-value` so tests (and anyone
scraping the page) read the numbers, not pixel heights. All text is escaped here: labels come
from clients (outcome names).
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_FILL = "#1f5fbf"  # dashboard.css --brand; campaigns.css may restyle .bar rect
GRID = "#e3e7ee"
AXIS = "#667085"


@dataclass(frozen=True)
class Bar:
    label: str  # axis label
    value: int
    title: str | None = None  # hover / screen-reader text; "label: value" when None


def nice_ticks(maximum: int, target: int = 4) -> list[int]:
    """0 and evenly spaced round values (1, 2 or 5 times a power of ten) reaching `maximum`."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** max(0, len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = -(-maximum // step) * step
    return list(range(0, top + 1, step))


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _svg_open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    chart_id = escape(chart_id)
    return [
        f'<svg class="chart" id="{chart_id}" data-chart="{chart_id}" viewBox="0 0 {width} '
        f'{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _summary(bars: list[Bar], unit: str) -> str:
    total = sum(bar.value for bar in bars)
    if not bars or total == 0:
        return f"No {unit} yet."
    best = max(bars, key=lambda bar: bar.value)
    return f"{total} {unit} in total; the most, {best.value}, for {best.label}."


def column_chart(
    bars: list[Bar],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    unit: str,
    label_every: int = 1,
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """Vertical bars (e.g. one per day) with a value axis on the left and labels below."""
    left, right, top, bottom = 48, 12, 12, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((bar.value for bar in bars), default=0))
    scale = plot_h / ticks[-1]
    out = _svg_open(chart_id, width, height, title, _summary(bars, unit))
    out.append('<g class="axis y">')
    for tick in ticks:
        y = top + plot_h - tick * scale
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_fmt(y)}" '
            f'y2="{_fmt(y)}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end">{tick}</text>'
        )
    out.append(
        f'<text class="axis-label" transform="translate(12 {top + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text></g>'
    )
    slot = plot_w / max(1, len(bars))
    bar_w = max(1.0, slot * 0.7)
    out.append('<g class="bars">')
    for i, bar in enumerate(bars):
        x = left + i * slot + (slot - bar_w) / 2
        h = bar.value * scale
        tip = bar.title or f"{bar.label}: {bar.value}"
        out.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-value="{bar.value}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{_fmt(x)}" y="{_fmt(top + plot_h - h)}" width="{_fmt(bar_w)}" '
            f'height="{_fmt(h)}" fill="{BAR_FILL}"/></g>'
        )
    out.append("</g>")
    out.append('<g class="axis x">')
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/>'
    )
    for i, bar in enumerate(bars):
        if i % label_every and i != len(bars) - 1:
            continue
        x = left + i * slot + slot / 2
        out.append(
            f'<text x="{_fmt(x)}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(bar.label)}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 8}" '
        f'text-anchor="middle">{escape(x_label)}</text></g>'
    )
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 (every piece of text above is escaped)


def row_chart(
    bars: list[Bar],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    unit: str,
    width: int = 720,
    label_width: int = 230,
    row_height: int = 26,
) -> SafeString:
    """Horizontal bars (e.g. one per outcome): room for long category labels on the left."""
    left, right, top, bottom = label_width, 40, 8, 44
    plot_w = width - left - right
    plot_h = row_height * max(1, len(bars))
    height = top + plot_h + bottom
    ticks = nice_ticks(max((bar.value for bar in bars), default=0))
    scale = plot_w / ticks[-1]
    out = _svg_open(chart_id, width, height, title, _summary(bars, unit))
    out.append('<g class="axis x">')
    for tick in ticks:
        x = left + tick * scale
        out.append(
            f'<line class="grid" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="{GRID}"/>'
            f'<text x="{_fmt(x)}" y="{top + plot_h + 16}" text-anchor="middle">{tick}</text>'
        )
    out.append(
        f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text></g>'
    )
    out.append('<g class="bars">')
    for i, bar in enumerate(bars):
        y = top + i * row_height
        w = bar.value * scale
        tip = bar.title or f"{bar.label}: {bar.value}"
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        out.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-value="{bar.value}">'
            f"<title>{escape(tip)}</title>"
            f'<text x="{left - 8}" y="{y + row_height / 2 + 4:.0f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 4}" width="{_fmt(w)}" height="{row_height - 8}" '
            f'fill="{BAR_FILL}"/>'
            f'<text class="value" x="{_fmt(left + w + 6)}" y="{y + row_height / 2 + 4:.0f}">'
            f"{bar.value}</text></g>"
        )
    out.append(
        f'</g><line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{AXIS}"/>'
    )
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 (every piece of text above is escaped)
