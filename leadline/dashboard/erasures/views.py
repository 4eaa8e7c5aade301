"""Erasure receipts: what each erasure (API or dashboard) removed and when, as the API's
`GET /api/v4/leads/erasures/<id>/` says it. Owners only, like erasure itself. A receipt holds
no personal data; another business's receipt is a 404, like a missing one."""

import uuid

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadline.accounts.http import BusinessRequest
from leadline.dashboard.auth import client_required, permission_required
from leadline.dashboard.errors import found
from leadline.leads.selectors import (
    erasure_receipt_get,
    erasure_receipt_item,
    erasure_receipts_page,
)

SECTION = "erasures"
PAGE_SIZE = 50
# How the detail page names each count (the API's keys, in its order).
COUNT_LABELS = {
    "attempt_answers": "Call attempts' captured answers",
    "recordings": "Recordings (our files)",
    "provider_recordings": "Recordings (telephony provider's copies)",
    "webhook_payloads": "Stored webhook payloads scrubbed",
    "webhook_excerpts": "Stored receiver response excerpts scrubbed",
    "deliveries_cancelled": "Pending webhook deliveries cancelled",
    "import_report_rows": "CSV import report rows cleared",
    "stored_responses": "Stored API responses (Idempotency-Key) deleted",
    "audit_entries_kept": "Audit entries kept with the lead_id only",
}


class ListForm(forms.Form):
    """The list's cursor: receipts older than `before` (a receipt row id)."""

    before = forms.IntegerField(required=False, min_value=1, max_value=10**18)


@client_required
@permission_required("erasures.view")
@require_GET
def erasure_list(request: BusinessRequest) -> HttpResponse:
    form = ListForm(request.GET)
    status, before = 200, None
    if form.is_valid():
        before = form.cleaned_data.get("before")
    else:
        messages.error(request, "That page of the list does not exist.")
        status = 400
    page = erasure_receipts_page(business=request.business, before=before, size=PAGE_SIZE)
    context = {"section": SECTION, "page": page, "paged": before is not None}
    return render(request, "dashboard/erasures/list.html", context, status=status)


@client_required
@permission_required("erasures.view")
@require_GET
def erasure_detail(request: BusinessRequest, receipt_id: uuid.UUID) -> HttpResponse:
    receipt = found(erasure_receipt_get, business=request.business, receipt_id=str(receipt_id))
    item = erasure_receipt_item(receipt)
    counts = [(COUNT_LABELS[key], value) for key, value in item["erased"].items()]
    context = {"section": SECTION, "receipt": receipt, "item": item, "counts": counts}
    return render(request, "dashboard/erasures/detail.html", context)
