"""The report pages' shared parts: the filter, the tables, the charts and the CSV files.

Three pages show the daily reports (dialer.reports): the console's for supervisors (their
campaigns), the admin's for operators (every campaign) and the client dashboard's for one
campaign of the business (campaign figures only: no rep is named there). Each view picks the
campaigns its user may see and renders `dialer/_report.html` with `report_context`; the CSV
files are built here too, so the three agree. Nothing here reads a lead's number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from leadline.campaigns.models import Campaign
from leadline.core import charts
from leadline.core.csvfile import LineWriter, safe_row

from . import reports

DEFAULT_DAYS = 7
MAX_DAYS = 92  # a quarter: the reads stay a few thousand rows


class ReportFilterForm(forms.Form):
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    campaign = forms.CharField(required=False, max_length=40)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The first day must not be after the last.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Pick at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    campaigns: list[Campaign]
    campaign_days: list[reports.CampaignDay]
    rep_days: list[reports.RepDay] | None  # None: a page that names no rep

    @property
    def outcome_labels(self) -> list[str]:
        rows: list[Any] = [*self.campaign_days, *(self.rep_days or [])]
        return sorted({label for row in rows for label in row.outcomes})

    @property
    def pause_codes(self) -> list[str]:
        return sorted({code for row in self.rep_days or [] for code in row.pause_seconds})


def report_build(*, campaigns: list[Campaign], start: date, end: date, with_reps: bool) -> Report:
    """The figures of `campaigns` over [start, end]; with `with_reps`, the figures of the reps
    who worked in them too (with their time outside any campaign on those days)."""
    days = reports.campaign_days(campaigns=campaigns, start=start, end=end)
    rep_rows = None
    if with_reps:
        rep_rows = reports.rep_days(
            campaign_ids=[c.pk for c in campaigns], start=start, end=end, with_no_campaign=True
        )
    return Report(start, end, campaigns, days, rep_rows)


def _day_label(day: date) -> str:
    return day.strftime("%d %b")


def report_charts(report: Report) -> dict[str, Any]:
    """The dashboard's SVG charts: calls per day (all campaigns shown) and calls per rep."""
    per_day: dict[date, int] = {}
    processed: dict[date, int] = {}
    for row in report.campaign_days:
        per_day[row.day] = per_day.get(row.day, 0) + row.attempts
        processed[row.day] = processed.get(row.day, 0) + row.processed
    span = (report.end - report.start).days + 1
    days = [report.start + timedelta(days=i) for i in range(span)]
    every = max(1, span // 10)
    out: dict[str, Any] = {
        "calls_chart": charts.column_chart(
            [
                charts.Bar(
                    _day_label(d), per_day.get(d, 0), f"{d:%a %d %b %Y}: {per_day.get(d, 0)} calls"
                )
                for d in days
            ],
            chart_id="chart-report-calls",
            title="Calls per day",
            x_label="Day (each campaign's time zone)",
            y_label="Calls",
            unit="calls",
            label_every=every,
        ),
        "processed_chart": charts.column_chart(
            [
                charts.Bar(
                    _day_label(d),
                    processed.get(d, 0),
                    f"{d:%a %d %b %Y}: {processed.get(d, 0)} processed",
                )
                for d in days
            ],
            chart_id="chart-report-processed",
            title="Leads processed per day",
            x_label="Day (each campaign's time zone)",
            y_label="Leads processed",
            unit="leads processed",
            label_every=every,
        ),
    }
    if report.rep_days is not None:
        per_rep: dict[str, int] = {}
        for rep_row in report.rep_days:
            per_rep[rep_row.name] = per_rep.get(rep_row.name, 0) + rep_row.calls
        out["rep_chart"] = charts.row_chart(
            [charts.Bar(name, n, f"{name}: {n} calls") for name, n in sorted(per_rep.items())],
            chart_id="chart-report-reps",
            title="Calls per rep",
            x_label="Calls",
            unit="calls",
        )
    return out


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _campaign_rows(report: Report) -> list[dict[str, Any]]:
    labels = report.outcome_labels
    return [
        {
            "public_id": row.public_id,
            "name": row.name,
            "day": row.day,
            "attempts": row.attempts,
            "connects": row.connects,
            "connect_rate": row.connect_rate,
            "conversions": row.conversions,
            "processed": row.processed,
            "attempts_per_processed": row.attempts_per_processed,
            "outcome_cells": [row.outcomes.get(label, 0) for label in labels],
        }
        for row in report.campaign_days
    ]


def _rep_rows(report: Report, limit: int) -> list[dict[str, Any]] | None:
    if report.rep_days is None:
        return None
    return [
        {
            "username": row.username,
            "name": row.name,
            "day": row.day,
            "calls": row.calls,
            "connects": row.connects,
            "talk": _duration(row.talk_seconds),
            "wrap_up": _duration(row.wrap_up_seconds),
            "paused": _duration(row.paused_seconds),
            "pauses": ", ".join(
                f"{code} {_duration(n)}" for code, n in sorted(row.pause_seconds.items())
            ),
            "available": _duration(row.state_seconds.get("available", 0)),
            "skips": row.skips,
            "outcomes": ", ".join(f"{label}: {n}" for label, n in sorted(row.outcomes.items())),
        }
        for row in report.rep_days[:limit]
    ]


# The rep table on a page stops here (200 reps x 30 days would be 6,000 rows): the CSV file
# has every row.
PAGE_ROWS = 1000


def _dash(value: Any) -> Any:
    return "—" if value is None else value


def _campaign_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    # Rows built with format_html rather than a template loop: a month of a big floor's
    # rows renders several times faster, and every value is escaped all the same.
    return format_html_join(
        "\n",
        '<tr data-campaign="{}" data-day="{}"><td>{}</td><td class="text">{}</td>'
        "<td data-attempts>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-processed>{}</td>"
        "<td>{}</td>{}</tr>",
        (
            (
                row["public_id"],
                row["day"].isoformat(),
                row["day"].strftime("%a %d %b"),
                row["name"],
                row["attempts"],
                row["connects"],
                _dash(row["connect_rate"]),
                row["conversions"],
                row["processed"],
                _dash(row["attempts_per_processed"]),
                format_html_join("", "<td>{}</td>", ((n,) for n in row["outcome_cells"])),
            )
            for row in rows
        ),
    )


def _rep_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    return format_html_join(
        "\n",
        '<tr data-rep="{}" data-day="{}"><td>{}</td><td class="text">{}</td><td data-calls>{}'
        '</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td><td>{}</td>'
        '<td>{}</td><td class="text">{}</td></tr>',
        (
            (
                row["username"],
                row["day"].isoformat(),
                row["day"].strftime("%a %d %b"),
                row["name"],
                row["calls"],
                row["connects"],
                row["talk"],
                row["wrap_up"],
                row["paused"],
                row["pauses"],
                row["available"],
                row["skips"],
                row["outcomes"],
            )
            for row in rows
        ),
    )


def report_context(report: Report) -> dict[str, Any]:
    campaign_rows = _campaign_rows(report)
    rep_rows = _rep_rows(report, PAGE_ROWS)
    context: dict[str, Any] = {
        "report": report,
        "campaign_rows": campaign_rows,
        "campaign_rows_html": _campaign_rows_html(campaign_rows),
        "rep_rows": rep_rows,
        **report_charts(report),
    }
    if rep_rows is not None:
        context["rep_rows_html"] = _rep_rows_html(rep_rows)
        total = len(report.rep_days or [])
        context["rep_rows_cut"] = total if total > PAGE_ROWS else 0
        context["page_rows"] = PAGE_ROWS
    return context


@dataclass
class ReportRequest:
    """A report page's query string, read: `status` 400 with `errors` for a bad one, 404 for
    a campaign the user may not see, else the report."""

    status: int
    errors: list[str]
    report: Report | None
    selected: str


def report_request(
    *, params: Any, campaigns: list[Campaign], with_reps: bool, choosable: bool = True
) -> ReportRequest:
    """Parse `params` (request.GET) for a report over `campaigns` (those the user may see);
    with `choosable`, `campaign=<public id>` narrows it to one of them."""
    form = ReportFilterForm(params)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return ReportRequest(400, errors, None, "")
    data = form.cleaned_data
    selected = (data.get("campaign") or "").strip() if choosable else ""
    chosen = campaigns
    if selected:
        chosen = [c for c in campaigns if c.public_id == selected]
        if not chosen:
            # Another business's campaign, or none: one answer for both.
            return ReportRequest(404, ["No such campaign."], None, selected)
    report = report_build(
        campaigns=chosen, start=data["start"], end=data["end"], with_reps=with_reps
    )
    return ReportRequest(200, [], report, selected)


def report_page_context(result: ReportRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"form_errors": result.errors, "selected_campaign": result.selected}
    if result.report is not None:
        context.update(report_context(result.report))
    return context


# --- CSV -------------------------------------------------------------------------------------


class _SafeWriter(LineWriter):
    """Every string cell spreadsheet-safe: campaign names, rep names and outcome labels are
    typed by people."""

    def writerow(self, cells: Iterable[Any]) -> str:
        return super().writerow(safe_row(cells))


def _csv(name: str, lines: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def campaigns_csv(report: Report, filename: str) -> StreamingHttpResponse:
    outcomes = report.outcome_labels

    def lines() -> Iterator[str]:
        out = _SafeWriter()
        yield out.writerow(
            [
                "day",
                "campaign_id",
                "campaign",
                "attempts",
                "connects",
                "connect_rate",
                "talk_seconds",
                "conversions",
                "leads_processed",
                "attempts_per_processed_lead",
                *(f"outcome: {label}" for label in outcomes),
            ]
        )
        for row in report.campaign_days:
            yield out.writerow(
                [
                    row.day.isoformat(),
                    row.public_id,
                    row.name,
                    row.attempts,
                    row.connects,
                    _rate(row.connect_rate),
                    row.talk_seconds,
                    row.conversions,
                    row.processed,
                    ""
                    if row.attempts_per_processed is None
                    else f"{row.attempts_per_processed:.2f}",
                    *(row.outcomes.get(label, 0) for label in outcomes),
                ]
            )

    return _csv(filename, lines())


STATES = ("available", "on_call", "wrap_up", "paused", "offline")


def reps_csv(report: Report, filename: str) -> StreamingHttpResponse:
    assert report.rep_days is not None
    outcomes, codes = report.outcome_labels, report.pause_codes

    def lines() -> Iterator[str]:
        out = _SafeWriter()
        yield out.writerow(
            [
                "day",
                "rep",
                "name",
                "calls",
                "connects",
                "connect_rate",
                "talk_seconds",
                "skips",
                *(f"{state}_seconds" for state in STATES),
                *(f"pause: {code}" for code in codes),
                *(f"outcome: {label}" for label in outcomes),
            ]
        )
        for row in report.rep_days or []:
            yield out.writerow(
                [
                    row.day.isoformat(),
                    row.username,
                    row.name,
                    row.calls,
                    row.connects,
                    _rate(row.connect_rate),
                    row.talk_seconds,
                    row.skips,
                    *(row.state_seconds.get(state, 0) for state in STATES),
                    *(row.pause_seconds.get(code, 0) for code in codes),
                    *(row.outcomes.get(label, 0) for label in outcomes),
                ]
            )

    return _csv(filename, lines())
