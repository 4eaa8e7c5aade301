"""The business's do-not-call list: the entries (never a number: only hashes are stored), a
look-up by number, adding one number, a CSV upload, and removing an entry.

Adding (one number or a file) also withdraws the business's queued leads with those numbers,
as the API does. A typed number is hashed at once (`compliance.hashing`) and only echoed back
on the page answering the client who typed it; searches are POSTs so no number is in a URL.
Another business's entry is a 404, like a missing one.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadline.accounts.http import BusinessRequest
from leadline.campaigns.selectors import campaigns_for_business
from leadline.compliance import services as compliance_services
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem
from leadline.compliance.suppressions import (
    suppression_get,
    suppressions_of_number,
    suppressions_page,
)
from leadline.core.errors import ApiError
from leadline.dashboard.auth import client_required, permission_required
from leadline.dashboard.errors import found
from leadline.leads.suppression_effects import suppressions_add_and_withdraw

from ..transfers.forms import UploadForm

# The leads upload's guard against large bodies, used with this page's own limit.
from ..transfers.views import _FORM_OVERHEAD_BYTES, _SizeLimitHandler
from . import csvrows
from .forms import AddForm, ListForm, SearchForm

PAGE_SIZE = 50
SHOWN_PROBLEMS = 100
SOURCE = Suppression.Source.DASHBOARD


def _page(
    request: BusinessRequest,
    *,
    add_form: AddForm | None = None,
    search_form: SearchForm | None = None,
    upload_form: UploadForm | None = None,
    found_entries: list[Suppression] | None = None,
    problems: list[csvrows.RowProblem] | None = None,
    before: int | None = None,
    status: int = 200,
) -> HttpResponse:
    campaigns = campaigns_for_business(business=request.business)
    page = suppressions_page(business=request.business, before=before, size=PAGE_SIZE)
    context = {
        "section": "do_not_call",
        "page": page,
        "paged": before is not None,
        "add_form": add_form or AddForm(campaigns=campaigns),
        "search_form": search_form or SearchForm(),
        "upload_form": upload_form or UploadForm(),
        "found_entries": found_entries,
        "problems": (problems or [])[:SHOWN_PROBLEMS],
        "problems_total": len(problems or []),
        "max_kb": settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES // 1024,
        "max_rows": settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_ROWS,
    }
    return render(request, "dashboard/donotcall/list.html", context, status=status)


def _add(request: BusinessRequest, items: list[SuppressionItem]) -> tuple[int, int]:
    """Add the entries, then withdraw the queued leads they cover: (new entries, withdrawn)."""
    return suppressions_add_and_withdraw(business=request.business, items=items, source=SOURCE)


def _added_message(created: int, total: int, withdrawn: int) -> str:
    already = total - created
    text = f"Added {created} do-not-call entr{'y' if created == 1 else 'ies'}"
    if already:
        text += f" ({already} already listed)"
    text += "."
    if withdrawn:
        text += (
            f" {withdrawn} queued lead{'' if withdrawn == 1 else 's'} with "
            f"{'this number' if total == 1 else 'these numbers'} will not be called."
        )
    return text


@client_required
@permission_required("dashboard.view")
@require_GET
def dnc_list(request: BusinessRequest) -> HttpResponse:
    form = ListForm(request.GET)
    if not form.is_valid():
        messages.error(request, "That page of the list does not exist.")
        return _page(request, status=400)
    return _page(request, before=form.cleaned_data.get("before"))


@client_required
@permission_required("dashboard.view")
@require_POST
def dnc_search(request: BusinessRequest) -> HttpResponse:
    form = SearchForm(request.POST)
    if not form.is_valid():
        return _page(request, search_form=form, status=400)
    entries = suppressions_of_number(
        business=request.business, number_hash=number_hash(form.cleaned_data["phone_number"])
    )
    return _page(request, search_form=form, found_entries=entries)


@client_required
@permission_required("suppressions.add")
@require_POST
def dnc_add(request: BusinessRequest) -> HttpResponse:
    form = AddForm(request.POST, campaigns=campaigns_for_business(business=request.business))
    if not form.is_valid():
        return _page(request, add_form=form, status=400)
    item = SuppressionItem(
        phone=form.cleaned_data["phone_number"],
        campaign=form.campaign(),
        reason=form.cleaned_data["reason"],
    )
    created, withdrawn = _add(request, [item])
    if created:
        messages.success(request, _added_message(created, 1, withdrawn))
    else:
        messages.info(request, "This number was already on that list; nothing changed.")
    return redirect("dashboard:do_not_call")


def _upload_refused(request: BusinessRequest, message: str, status: int) -> HttpResponse:
    form = UploadForm(data={})
    form.full_clean()
    form.errors.clear()
    form.add_error(None, message)
    return _page(request, upload_form=form, status=status)


def _too_large(request: BusinessRequest) -> HttpResponse:
    limit_kb = settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES // 1024
    return _upload_refused(request, f"The file is larger than {limit_kb:,} KB; split it.", 413)


@csrf_exempt  # checked by csrf_protect below, once the size limiter is in place
@client_required
@permission_required("suppressions.add")
@require_POST
def dnc_upload(request: BusinessRequest) -> HttpResponse:
    limit = settings.LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + _FORM_OVERHEAD_BYTES:
        return _too_large(request)
    limiter = _SizeLimitHandler(request, limit)
    request.upload_handlers.insert(0, limiter)
    try:
        request.POST  # noqa: B018 - parse here, with the limiter, to answer a broken body
    except MultiPartParserError:
        return _upload_refused(request, "The upload was not a valid form submission.", 400)
    return _upload_post(request, limiter)


@csrf_protect
def _upload_post(request: BusinessRequest, limiter: _SizeLimitHandler) -> HttpResponse:
    if limiter.exceeded:
        return _too_large(request)
    if sum(len(request.FILES.getlist(name)) for name in request.FILES) > 1:
        return _upload_refused(request, "Upload one CSV file at a time.", 400)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, upload_form=form, status=400)
    campaigns = {c.public_id: c for c in campaigns_for_business(business=request.business)}
    upload = form.cleaned_data["file"]
    try:
        checked = csvrows.check_file(upload, campaigns=campaigns)
    except ApiError as exc:
        form.add_error("file", exc.detail)
        return _page(request, upload_form=form, status=exc.status)
    if checked.problems:
        rows = len({p.row for p in checked.problems})
        form.add_error(
            "file",
            f"{rows} of the file's {checked.rows} rows have problems; nothing was added. "
            "Fix them and upload the file again.",
        )
        return _page(request, upload_form=form, problems=checked.problems, status=400)
    created, withdrawn = _add(request, checked.items)
    messages.success(request, _added_message(created, len(checked.items), withdrawn))
    return redirect("dashboard:do_not_call")


@client_required
@permission_required("suppressions.remove", read="dashboard.view")
@require_http_methods(["GET", "POST"])
def dnc_remove(request: BusinessRequest, suppression_id: int) -> HttpResponse:
    """GET: the confirmation step; POST: remove the entry."""
    entry = found(
        suppression_get,
        missing="No such do-not-call entry.",
        business=request.business,
        pk=suppression_id,
    )
    if request.method == "POST":
        compliance_services.suppression_delete(business=request.business, pk=entry.pk)
        messages.success(
            request,
            f"Entry #{entry.pk} removed: the number may be called again where no other "
            "entry lists it. Leads already withdrawn stay processed.",
        )
        return redirect("dashboard:do_not_call")
    return render(
        request,
        "dashboard/donotcall/remove.html",
        {"section": "do_not_call", "entry": entry},
    )
