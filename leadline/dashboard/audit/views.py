"""The business's audit trail: who did what, filtered, paged, exported as CSV."""

from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from leadline.accounts import audit
from leadline.accounts.http import BusinessRequest
from leadline.accounts.models import AuditEntry
from leadline.core.csvfile import LineWriter, safe_row
from leadline.dashboard.auth import client_required, permission_required

from .forms import AuditFilterForm

SECTION = "audit"
CSV_HEADER = [
    "time",
    "actor_kind",
    "actor",
    "action",
    "target",
    "lead_count",
    "lead_ids",
    "details",
]


def _query(form: AuditFilterForm, **extra) -> str:
    params = {k: v for k, v in form.data.items() if k != "before" and v}
    params.update({k: v for k, v in extra.items() if v})
    return urlencode(params)


@client_required
@permission_required("audit.view")
@require_GET
def audit_list(request: BusinessRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    context = {"section": SECTION, "form": form, "page": None}
    if not form.is_valid():
        return render(request, "dashboard/audit/list.html", context, status=400)
    page = audit.audit_entries_page(
        business=request.business, filters=form.filters(), before=form.cleaned_data["before"]
    )
    context.update(
        page=page,
        actions=audit.audit_actions(business=request.business),
        older_query=_query(form, before=page.next_before) if page.next_before else "",
        export_query=_query(form),
        paged=form.cleaned_data["before"] is not None,
        retention_days=audit.RETENTION_DAYS,
    )
    return render(request, "dashboard/audit/list.html", context)


def _csv_rows(entries: Iterator[AuditEntry]) -> Iterator[str]:
    writer = LineWriter()
    yield writer.writerow(CSV_HEADER)
    for e in entries:
        yield writer.writerow(
            safe_row(
                [
                    e.created_at.isoformat(timespec="seconds"),
                    e.actor_kind,
                    e.actor_label,
                    e.action,
                    e.target,
                    e.lead_count,
                    " ".join(e.lead_ids.split()),
                    "" if not e.details else str(e.details),
                ]
            )
        )


@client_required
@permission_required("audit.view")
@require_GET
def audit_export(request: BusinessRequest) -> HttpResponseBase:
    """The filtered trail as CSV, streamed (a year of entries can be large)."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        context = {"section": SECTION, "form": form, "page": None}
        return render(request, "dashboard/audit/list.html", context, status=400)
    entries = audit.audit_entries_iter(business=request.business, filters=form.filters())
    response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
    today = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="leadline-audit-{today}.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    audit.audit_request(request, "audit.export", target=_query(form))
    return response
