"""Leads in and results out, as CSV: the upload page, an import's progress and decision, its
problem report, and the streamed results export.

The work is in `leadline.leads.imports` (validated and imported by the worker through the
API's validation and insert service) and `leadline.leads.exports` (the API's GET items as CSV
rows). Another business's campaign or import is a 404. Whatever a client sends, a bad file
or bad parameters are form errors with a 4xx status, never a 500.
"""

from datetime import datetime

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadline.accounts import audit, ratelimit
from leadline.accounts.http import BusinessRequest
from leadline.accounts.models import User
from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import campaign_zone
from leadline.campaigns.selectors import campaign_get_for_business
from leadline.core.errors import ApiError
from leadline.core.htmx import is_htmx
from leadline.dashboard.auth import client_required, permission_required
from leadline.dashboard.errors import found, service_messages
from leadline.leads import export_runs, exports, imports
from leadline.leads.models import LeadImport
from leadline.leads.selectors import ResultsQuery

from .forms import ExportForm, UploadForm

WORKING = (LeadImport.Status.VALIDATING, LeadImport.Status.IMPORTING)


def _campaign(request: BusinessRequest, campaign_id: str) -> Campaign:
    return found(
        campaign_get_for_business,
        missing="No such campaign.",
        business=request.business,
        public_id=campaign_id,
    )


def _import(request: BusinessRequest, campaign: Campaign, import_id: int) -> LeadImport:
    return found(
        imports.import_get,
        missing="No such import.",
        business=request.business,
        campaign=campaign,
        pk=import_id,
    )


def _upload_page(
    request: BusinessRequest,
    campaign: Campaign,
    *,
    form: UploadForm | None = None,
    export_form: ExportForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "section": "campaigns",
        "campaign": campaign,
        "form": form or UploadForm(),
        "export_form": export_form or ExportForm(),
        "recent": imports.imports_recent(business=request.business, campaign=campaign),
        "max_mb": settings.LEADLINE_IMPORT_MAX_BYTES // (1024 * 1024),
        "max_rows": settings.LEADLINE_IMPORT_MAX_ROWS,
        "retention_hours": settings.LEADLINE_IMPORT_RETENTION_SECONDS // 3600,
        "zone": campaign.timezone,
    }
    with timezone.override(campaign_zone(campaign)):  # times shown in the campaign's zone
        return render(request, "dashboard/transfers/upload.html", context, status=status)


# Room for the multipart framing and the form's other fields (the CSRF token) beside the file.
_FORM_OVERHEAD_BYTES = 64 * 1024


class _SizeLimitHandler(FileUploadHandler):
    """First upload handler: stops storing uploads beyond the import limit, instead of
    spooling files of any size to temporary files before the view can say no. It counts
    every file of the request together: the limit is per request, not per file."""

    def __init__(self, request: HttpRequest, limit: int):
        super().__init__(request)
        self.limit = limit
        self.exceeded = False
        self._done = 0  # bytes of the request's earlier files

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if self._done + start + len(raw_data) > self.limit:
            self.exceeded = True
            # The rest of the body is read and dropped, so the browser still gets our answer.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        self._done += file_size
        return None


def _declared_too_large(request: HttpRequest) -> bool:
    # Checked before any of the body is read: a declared size over the limit is refused
    # at once (Django reads a missing or malformed Content-Length as 0).
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.LEADLINE_IMPORT_MAX_BYTES + _FORM_OVERHEAD_BYTES


def _form_error(message: str) -> UploadForm:
    """An upload form carrying only `message` (not "choose a file")."""
    form = UploadForm(data={})
    form.full_clean()
    form.errors.clear()
    form.add_error(None, message)
    return form


def _too_large(request: BusinessRequest, campaign: Campaign) -> HttpResponse:
    limit_mb = settings.LEADLINE_IMPORT_MAX_BYTES // (1024 * 1024)
    form = _form_error(f"The file is larger than {limit_mb} MB; split it.")
    return _upload_page(request, campaign, form=form, status=413)


@csrf_exempt  # checked by csrf_protect below, once our upload handler is in place
@client_required
@permission_required("leads.upload", read="dashboard.view")
@require_http_methods(["GET", "POST"])
def lead_upload(request: BusinessRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    if request.method != "POST":
        return _upload_page(request, campaign)
    if _declared_too_large(request):
        return _too_large(request, campaign)
    limiter = _SizeLimitHandler(request, settings.LEADLINE_IMPORT_MAX_BYTES)
    request.upload_handlers.insert(0, limiter)
    try:
        request.POST  # noqa: B018 - parse here, with the limiter, to answer a broken body
    except MultiPartParserError:
        form = _form_error("The upload was not a valid form submission; try again.")
        return _upload_page(request, campaign, form=form, status=400)
    return _upload_post(request, campaign, limiter)


@csrf_protect
def _upload_post(request: BusinessRequest, campaign: Campaign, limiter: _SizeLimitHandler):
    if limiter.exceeded:
        return _too_large(request, campaign)
    files = [upload for name in request.FILES for upload in request.FILES.getlist(name)]
    if len(files) > 1:
        # One import per request: the limits (size, rows, active imports) are per import.
        form = _form_error("Upload one CSV file at a time.")
        return _upload_page(request, campaign, form=form, status=400)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, campaign, form=form, status=400)
    user = request.user
    assert isinstance(user, User)  # client_required let only a signed-in client through
    try:
        lead_import = imports.import_start(
            business=request.business,
            campaign=campaign,
            user=user,
            upload=form.cleaned_data["file"],
        )
    except ApiError as exc:
        form.add_error("file", exc.detail)
        return _upload_page(request, campaign, form=form, status=exc.status)
    audit.audit_request(
        request, "leads.upload", target=f"{campaign.public_id} import {lead_import.pk}"
    )
    return redirect("dashboard:lead_import", campaign.public_id, lead_import.pk)


@client_required
@permission_required("dashboard.view")
@require_GET
def lead_import(request: BusinessRequest, campaign_id: str, import_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    lead_import = _import(request, campaign, import_id)
    context = {
        "section": "campaigns",
        "campaign": campaign,
        "lead_import": lead_import,
        "working": lead_import.status in WORKING,
        "problems": imports.problems_sample(lead_import=lead_import),
        "retention_hours": settings.LEADLINE_IMPORT_RETENTION_SECONDS // 3600,
    }
    # The status card alone for htmx's polls; times shown in the campaign's zone.
    template = "_import_status.html" if is_htmx(request) else "import.html"
    with timezone.override(campaign_zone(campaign)):
        return render(request, f"dashboard/transfers/{template}", context)


@client_required
@permission_required("leads.upload")
@require_POST
def lead_import_valid_rows(request: BusinessRequest, campaign_id: str, import_id: int):
    campaign = _campaign(request, campaign_id)
    lead_import = _import(request, campaign, import_id)
    with service_messages(request, f"Importing the {lead_import.valid_rows:,} valid rows."):
        imports.import_proceed_with_valid_rows(lead_import=lead_import)
        audit.audit_request(request, "import.proceed", target=f"import {lead_import.pk}")
    return redirect("dashboard:lead_import", campaign.public_id, lead_import.pk)


@client_required
@permission_required("leads.upload")
@require_POST
def lead_import_cancel(request: BusinessRequest, campaign_id: str, import_id: int):
    campaign = _campaign(request, campaign_id)
    lead_import = _import(request, campaign, import_id)
    cancelled = "Import cancelled; nothing was imported and the file is deleted."
    with service_messages(request, cancelled):
        imports.import_cancel(lead_import=lead_import, reason="Cancelled; nothing was imported.")
        audit.audit_request(request, "import.cancel", target=f"import {lead_import.pk}")
    return redirect("dashboard:lead_import", campaign.public_id, lead_import.pk)


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data: not for shared caches
    response["X-Content-Type-Options"] = "nosniff"
    return response


@client_required
@permission_required("dashboard.view")
@require_GET
def lead_import_problems(request: BusinessRequest, campaign_id: str, import_id: int):
    """The per-row problem report: row, lead_id, field, code, message (never a cell value)."""
    campaign = _campaign(request, campaign_id)
    lead_import = _import(request, campaign, import_id)

    return _csv_response(
        imports.problems_csv(lead_import=lead_import), f"import-{lead_import.pk}-problems.csv"
    )


def _export_refused(
    request: BusinessRequest, campaign: Campaign, form: ExportForm, message: str, status: int
) -> HttpResponse:
    if not form.is_bound:  # a form error needs a bound form: the defaults, as sent
        form = ExportForm(data={})
        form.full_clean()
    form.add_error(None, message)
    return _upload_page(request, campaign, export_form=form, status=status)


def _export_allowed(
    request: BusinessRequest, campaign: Campaign, form: ExportForm
) -> HttpResponse | None:
    """None when this business may start an export now, else the page saying why not.

    Every export holds a thread and a cursor while the client reads: exports started per
    minute are limited, and one runs at a time per business (across processes).
    """
    limit = ratelimit.hit(
        key=f"export:{request.business.pk}",
        limit=settings.LEADLINE_EXPORTS_PER_MINUTE,
        policy="exports",
    )
    if not limit.allowed:
        message = "Too many exports started in the last minute; try again in a minute."
        response = _export_refused(request, campaign, form, message, 429)
        response["Retry-After"] = str(limit.reset_seconds)
        return response
    return None


@client_required
@permission_required("leads.export")
@require_GET
def results_export(request: BusinessRequest, campaign_id: str):
    """The campaign's results as the API's GET items, streamed as CSV."""
    campaign = _campaign(request, campaign_id)
    zone = campaign_zone(campaign)
    form = ExportForm(request.GET or None)
    with timezone.override(zone):  # the form's times are the campaign's local times
        valid = form.is_valid() if form.is_bound else True
    if not valid:
        return _upload_page(request, campaign, export_form=form, status=400)
    refused = _export_allowed(request, campaign, form)
    if refused is not None:
        return refused
    run = export_runs.export_run_start(business=request.business, campaign=campaign)
    if run is None:
        message = (
            "An export is already running for your business; wait for its download to "
            "finish, then try again."
        )
        return _export_refused(request, campaign, form, message, 409)
    data = form.cleaned_data if form.is_bound else {}
    query = ResultsQuery(
        processed_after=data.get("processed_from"),
        processed_before=data.get("processed_to"),
    )
    try:
        layout = exports.export_layout(
            campaign=campaign, query=query, as_json=data.get("custom_fields") == "json"
        )
    except BaseException:
        export_runs.export_run_finish(run=run)
        raise
    today = datetime.now(zone).strftime("%Y%m%d")
    audit.audit_request(request, "leads.export", target=campaign.public_id)
    pieces = exports.results_csv(campaign=campaign, query=query, layout=layout)
    return _csv_response(
        export_runs.ExportStream(pieces, run),
        f"leadline-results-{campaign.public_id}-{today}.csv",
    )
