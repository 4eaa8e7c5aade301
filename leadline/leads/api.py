"""Leads API v4 endpoints: parse, call one service or selector, render."""

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from ninja import Router, Schema
from ninja.params.functions import Query

from leadline.accounts.audit import api_call_record_with_change
from leadline.accounts.http import ApiRequest
from leadline.accounts.idempotency import idempotent
from leadline.campaigns.models import Campaign
from leadline.campaigns.selectors import campaign_get_for_business
from leadline.core.api import operation_docs
from leadline.core.errors import BadRequest, NotFound, PayloadTooLarge
from leadline.core.http import json_response, read_json_body

from . import api_docs, services
from .checks import leads_create_check
from .results import lead_result
from .schemas import (
    CHECK_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    ErasureReceiptOut,
    LeadConverted,
    LeadErased,
    LeadResult,
    LeadResultsPage,
    LeadsChecked,
    LeadsCreated,
    LeadsDisabled,
)
from .selectors import (
    PageOutOfRange,
    ResultsQuery,
    erasure_receipt_get,
    erasure_receipt_item,
    lead_results_page,
)
from .validation import FieldProblem, as_list, clean_lead_id, problem

router = Router(tags=["Leads"])

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Epoch values this large can only be milliseconds (10^11 s is the year 5138).
MILLISECONDS_FROM = 10**11


def _write(success: int, model: type[Schema], docs: dict[Any, Any]) -> dict[str, Any]:
    """Ninja `response` and `openapi_extra` of an endpoint that reads a JSON body."""
    schemas = {success: model, **WRITE_ERRORS}
    return {"response": schemas, "openapi_extra": operation_docs(docs, schemas, idempotent=True)}


def _campaign(request: ApiRequest, campaign_id: str) -> Campaign:
    return campaign_get_for_business(business=request.business, public_id=campaign_id)


def _object_body(request: HttpRequest) -> dict[str, Any]:
    payload = read_json_body(request)
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object.")
    return payload


def _body_items(request: HttpRequest, *, what: str, too_many: str) -> list[Any]:
    """The body as a list (one object counts as a list of one): not empty, not over the limit.

    `too_many` is the 413's detail; `{limit}` in it becomes the per-request limit.
    """
    try:
        items = as_list(read_json_body(request), what=what)
    except FieldProblem as p:
        raise BadRequest(p.message) from None
    if not items:
        raise BadRequest("No leads in the request.")
    limit = settings.LEADLINE_MAX_LEADS_PER_REQUEST
    if len(items) > limit:
        raise PayloadTooLarge(too_many.format(limit=limit))
    return items


def _single_lead_id(payload: dict[str, Any]) -> str:
    try:
        return clean_lead_id(payload.get("lead_id"))
    except FieldProblem as p:
        raise BadRequest(p.message, extra={"errors": [problem(None, None, p)]}) from None


@router.post(
    "/create/{campaign_id}/",
    summary="Create leads",
    **_write(201, LeadsCreated, api_docs.CREATE_DOCS),
)
def create_leads(request: ApiRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)

    def answer(created: list[str]) -> HttpResponse:
        return json_response(
            {
                "detail": f"{len(created)} lead(s) created.",
                "created": len(created),
                "lead_ids": created,
            },
            status=201,
        )

    def handle() -> HttpResponse:
        items = _body_items(
            request, what="lead", too_many="At most {limit} leads per request; split the batch."
        )
        answered: list[HttpResponse] = []

        def record(created: list[str]) -> Callable[[], None]:
            # The call's audit entry commits with the leads: one commit per create, not two.
            answered[:] = [answer(created)]
            return api_call_record_with_change(request, answered[0])

        created = services.lead_create_items(campaign=campaign, items=items, before_commit=record)
        return answered[0] if answered else answer(created)

    return idempotent(request, request.business, handle)


@router.post(
    "/check/{campaign_id}/",
    summary="Check leads without creating them",
    response={200: LeadsChecked, **CHECK_ERRORS},
    openapi_extra=operation_docs(api_docs.CHECK_DOCS, [200, *CHECK_ERRORS]),
)
def check_leads(request: ApiRequest, campaign_id: str) -> HttpResponse:
    """The dry run of create: per item, its problems, whether its id exists, and whether and
    when its number would be dialled. Stores nothing, so no Idempotency-Key is needed."""
    campaign = _campaign(request, campaign_id)
    items = _body_items(
        request, what="lead", too_many="At most {limit} leads per request; split the batch."
    )
    results = leads_create_check(campaign=campaign, items=items, now=timezone.now())
    return json_response({"results": results})


def _positive_int(params: QueryDict, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise BadRequest(f"{name} must be a positive integer.")
    value = int(raw)
    if value < 1:
        raise BadRequest(f"{name} must be a positive integer.")
    return value


def _epoch(params: QueryDict, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an epoch timestamp in seconds.") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be an epoch timestamp in seconds.")
    if value >= MILLISECONDS_FROM:
        value /= 1000
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRequest(f"{name} is out of range.") from None


def _lead_id_param(params: QueryDict) -> str | None:
    raw = params.get("lead_id")
    if not raw:
        return None
    try:
        return clean_lead_id(raw)
    except FieldProblem as p:
        raise BadRequest(p.message) from None


def _page_url(request: HttpRequest, page: int) -> str:
    # `page` first, as in the reference (`?page=2&page_size=1`), then the caller's other params.
    params = [("page", str(page))]
    params += [(k, v) for k, values in request.GET.lists() if k != "page" for v in values]
    path = request.path if request.path.endswith("/") else request.path + "/"
    return request.build_absolute_uri(path + "?" + urlencode(params))


@router.get(
    "/responses/{campaign_id}/",
    summary="Get leads and their results",
    response={200: LeadResultsPage, **READ_ERRORS},
    openapi_extra=operation_docs(api_docs.GET_DOCS, [200, *READ_ERRORS]),
)
def get_leads(
    request: ApiRequest,
    campaign_id: str,
    lead_id: str | None = None,
    processed_after: str | None = None,
    processed_before: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
) -> HttpResponse:
    """Paginated results, oldest lead first (with a processed window: by processing time).

    `page_size` defaults to 100 and is clamped to 1000. `processed_after`/`processed_before`
    are epoch seconds (decimals allowed; values of 10^11 or more are milliseconds) and select
    processed leads with processed_after <= processed_at < processed_before.
    """
    campaign = _campaign(request, campaign_id)
    params = request.GET
    query = ResultsQuery(
        lead_id=_lead_id_param(params),
        processed_after=_epoch(params, "processed_after"),
        processed_before=_epoch(params, "processed_before"),
        page=_positive_int(params, "page", 1),
        page_size=min(_positive_int(params, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE),
    )
    try:
        result = lead_results_page(campaign=campaign, query=query)
    except PageOutOfRange:
        raise NotFound("Invalid page.") from None
    return json_response(
        {
            "count": result.count,
            "next": _page_url(request, query.page + 1) if result.has_next else None,
            "previous": _page_url(request, query.page - 1) if result.has_previous else None,
            "results": result.items,
        }
    )


@router.post(
    "/disable/{campaign_id}/",
    summary="Disable leads",
    **_write(201, LeadsDisabled, api_docs.DISABLE_DOCS),
)
def disable_leads(request: ApiRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)

    def handle() -> HttpResponse:
        items = _body_items(request, what="{lead_id}", too_many="Too many leads in one request.")
        lead_ids, problems = [], []
        for index, item in enumerate(items):
            raw = item.get("lead_id") if isinstance(item, dict) else None
            try:
                if not isinstance(item, dict):
                    raise FieldProblem(None, "invalid", "Each item must be a JSON object.")
                lead_ids.append(clean_lead_id(raw))
            except FieldProblem as p:
                problems.append(problem(index, raw, p))
        if problems:
            raise services.LeadProblems(problems)
        disabled = services.lead_disable_batch(campaign=campaign, lead_ids=lead_ids)
        return json_response(
            {
                "detail": f"{len(disabled)} lead(s) disabled.",
                "disabled": len(disabled),
                "lead_ids": disabled,
            },
            status=201,
        )

    return idempotent(request, request.business, handle)


def _suppress_param(params: QueryDict) -> bool:
    raw = params.get("suppress", "")
    if raw not in ("", "true", "false"):
        raise BadRequest("suppress must be true or false.")
    return raw == "true"


@router.post(
    "/delete/{campaign_id}/",
    summary="Erase a lead's personal data",
    **_write(202, LeadErased, api_docs.DELETE_DOCS),
)
def delete_lead(
    request: ApiRequest,
    campaign_id: str,
    suppress: str | None = Query(
        None,
        description="true: also put the lead's number on the business's do-not-call list "
        "(source erasure) before it is wiped. A different request from the one without it.",
    ),
) -> HttpResponse:
    campaign = _campaign(request, campaign_id)

    def handle() -> HttpResponse:
        lead_id = _single_lead_id(_object_body(request))
        receipt = services.lead_erase(
            campaign=campaign, lead_id=lead_id, suppress=_suppress_param(request.GET)
        )
        # No lead_id in the answer: an echo would put the erased id back into logs and into
        # the stored Idempotency-Key response (whose replay gives the same receipt_id).
        return json_response(
            {"detail": "Lead erased.", "receipt_id": str(receipt.public_id)}, status=202
        )

    return idempotent(request, request.business, handle)


# A fixed first segment, like every other route here: no campaign id is "erasures".
@router.get(
    "/erasures/{receipt_id}/",
    summary="Get an erasure's receipt",
    response={200: ErasureReceiptOut, **READ_ERRORS},
    openapi_extra=operation_docs(api_docs.RECEIPT_DOCS, [200, *READ_ERRORS]),
)
def get_erasure_receipt(request: ApiRequest, receipt_id: str) -> HttpResponse:
    """What an erasure removed and when; `pending` until its files and the telephony
    providers' copies are deleted too, then `complete` with `completed_at`."""
    receipt = erasure_receipt_get(business=request.business, receipt_id=receipt_id)
    return json_response(erasure_receipt_item(receipt))


@router.patch(
    "/update/{campaign_id}/",
    summary="Update a lead",
    **_write(200, LeadResult, api_docs.UPDATE_DOCS),
)
def update_lead(request: ApiRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)

    def handle() -> HttpResponse:
        payload = _object_body(request)
        lead_id = _single_lead_id(payload)
        try:
            changes = services.clean_lead_changes(payload)
        except FieldProblem as p:
            raise services.LeadProblems([problem(None, lead_id, p)]) from None
        lead = services.lead_update(campaign=campaign, lead_id=lead_id, changes=changes)
        return json_response(lead_result(lead=lead, campaign=campaign))

    return idempotent(request, request.business, handle)


@router.post(
    "/convert/{campaign_id}/",
    summary="Mark a lead converted",
    **_write(200, LeadConverted, api_docs.CONVERT_DOCS),
)
def convert_lead(request: ApiRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)

    def handle() -> HttpResponse:
        payload = _object_body(request)
        lead_id = _single_lead_id(payload)
        detail = payload.get("detail")
        if not isinstance(detail, str) or not 1 <= len(detail) <= 32 or "\x00" in detail:
            p = FieldProblem("detail", "invalid", "detail must be a string of 1 to 32 characters.")
            raise services.LeadProblems([problem(None, lead_id, p)])
        lead = services.lead_convert(campaign=campaign, lead_id=lead_id, detail=detail)
        assert lead.converted_at is not None  # lead_convert sets it
        return json_response(
            {
                "detail": "Lead marked converted.",
                "lead_id": lead_id,
                "converted_at": lead.converted_at.isoformat(timespec="seconds"),
                "conversion_detail": lead.conversion_detail,
            }
        )

    return idempotent(request, request.business, handle)
