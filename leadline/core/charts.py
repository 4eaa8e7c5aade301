"""Bar charts drawn on the server as inline SVG: no JavaScript, readable by screen readers.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` summing it up, and every
bar is a group with its own `<title>` ("label: value"), which browsers show on hover and
assistive technology reads. Bars carry `data-label` / `data-value` so tests (and anyone
scraping the page) read the numbers, not pixel heights. All text is escaped here: labels come
from clients (outcome names).

In core so that every page that draws one (the client dashboard, the console's and the admin's
reports) draws it the same way.
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


def _bar_open(bar: Bar) -> str:
    """A bar's group with its data attributes and hover text; the caller draws and closes it."""
    tip = bar.title or f"{bar.label}: {bar.value}"
    return (
        f'<g class="bar" data-label="{escape(bar.label)}" data-value="{bar.value}">'
        f"<title>{escape(tip)}</title>"
    )


def _value_ticks(bars: list[Bar], length: float) -> tuple[list[int], float]:
    """The value axis's ticks, and the length (pixels) a unit of value takes along it."""
    ticks = nice_ticks(max((bar.value for bar in bars), default=0))
    return ticks, length / ticks[-1]


@dataclass(frozen=True)
class _Plot:
    """Where a column chart's plot area sits inside the SVG."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def _column_value_axis(plot: _Plot, ticks: list[int], scale: float, y_label: str) -> str:
    out = ['<g class="axis y">']
    for tick in ticks:
        y = plot.bottom - tick * scale
        out.append(
            f'<line class="grid" x1="{plot.left}" x2="{plot.right}" y1="{_fmt(y)}" '
            f'y2="{_fmt(y)}" stroke="{GRID}"/>'
            f'<text x="{plot.left - 6}" y="{_fmt(y + 4)}" text-anchor="end">{tick}</text>'
        )
    out.append(
        f'<text class="axis-label" transform="translate(12 {plot.top + plot.height / 2:.0f}) '
        f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text></g>'
    )
    return "".join(out)


def _columns(plot: _Plot, bars: list[Bar], scale: float) -> str:
    slot = plot.width / max(1, len(bars))
    bar_w = max(1.0, slot * 0.7)
    out = ['<g class="bars">']
    for i, bar in enumerate(bars):
        x = plot.left + i * slot + (slot - bar_w) / 2
        h = bar.value * scale
        out.append(
            f"{_bar_open(bar)}"
            f'<rect x="{_fmt(x)}" y="{_fmt(plot.bottom - h)}" width="{_fmt(bar_w)}" '
            f'height="{_fmt(h)}" fill="{BAR_FILL}"/></g>'
        )
    out.append("</g>")
    return "".join(out)


def _column_label_axis(
    plot: _Plot, bars: list[Bar], label_every: int, x_label: str, label_y: int
) -> str:
    """The baseline and the bars' labels: every `label_every`-th and always the last one."""
    slot = plot.width / max(1, len(bars))
    out = [
        '<g class="axis x">',
        f'<line x1="{plot.left}" x2="{plot.right}" y1="{plot.bottom}" y2="{plot.bottom}" '
        f'stroke="{AXIS}"/>',
    ]
    for i, bar in enumerate(bars):
        if i % label_every and i != len(bars) - 1:
            continue
        x = plot.left + i * slot + slot / 2
        out.append(
            f'<text x="{_fmt(x)}" y="{plot.bottom + 16}" text-anchor="middle">'
            f"{escape(bar.label)}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{plot.left + plot.width / 2:.0f}" y="{label_y}" '
        f'text-anchor="middle">{escape(x_label)}</text></g>'
    )
    return "".join(out)


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
    plot = _Plot(left, top, width - left - right, height - top - bottom)
    ticks, scale = _value_ticks(bars, plot.height)
    out = _svg_open(chart_id, width, height, title, _summary(bars, unit))
    out.append(_column_value_axis(plot, ticks, scale, y_label))
    out.append(_columns(plot, bars, scale))
    out.append(_column_label_axis(plot, bars, label_every, x_label, height - 8))
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
    ticks, scale = _value_ticks(bars, plot_w)
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
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        out.append(
            f"{_bar_open(bar)}"
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
