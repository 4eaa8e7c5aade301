"""The do-not-call list, Leads API v4: add, remove, check and list entries (compliance).

A business keeps numbers it must never call, business-wide or for one campaign. Numbers are
stored as keyed hashes only (`compliance.hashing`): the list answers "is this number on it"
for a number the caller already has, and never gives a number back. Adding an entry also
withdraws the business's queued leads with that number (`suppression_effects`), and a lead
created later with it is processed at once without a call (`services.lead_create_batch`).

It lives in the leads layer, like the consents API, because adding an entry changes leads.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import AnyUrl, ConfigDict, Field, RootModel

from leadline.accounts.http import ApiRequest
from leadline.accounts.idempotency import idempotent
from leadline.campaigns.models import Campaign
from leadline.campaigns.selectors import campaign_get_for_business
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.compliance.services import (
    REASON_CONTROL_CHARS,
    REASON_MAX,
    SuppressionItem,
    suppressions_remove,
)
from leadline.compliance.suppressions import (
    BUSINESS,
    suppressions_numbered_page,
    suppressions_of_hashes,
)
from leadline.core.api import operation_docs
from leadline.core.errors import BadRequest, NotFound, PayloadTooLarge
from leadline.core.http import json_response, read_json_body

from .api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, _page_url, _positive_int
from .api_docs import CAMPAIGN_NOT_FOUND, NOT_JSON
from .schemas import READ_ERRORS, WRITE_ERRORS, PhoneInput
from .services import LeadProblems
from .suppression_effects import suppressions_add_and_withdraw
from .validation import FieldProblem, as_list, clean_phone, problem

router = Router(tags=["Do-not-call list"])

SOURCES = tuple(Suppression.Source.values)
NOTHING_CHANGED = "{} problem(s) found; the do-not-call list was not changed."


# --- request and response shapes (the endpoints validate by hand, as the leads ones do) ------


class SuppressionIn(Schema):
    phone_number: PhoneInput
    campaign_id: str | None = Field(
        default=None,
        description="A campaign of yours: the entry applies to it only. Absent or null: "
        "business-wide (every campaign).",
    )
    reason: str = Field(
        default="",
        max_length=REASON_MAX,
        description="Why, in one line (no control characters). Never put the number in it.",
    )


class SuppressionsRequest(RootModel[list[SuppressionIn] | SuppressionIn]):
    model_config = ConfigDict(
        json_schema_extra={"description": "A list of do-not-call entries, or one entry object."}
    )


class CheckRequest(Schema):
    phone_numbers: list[PhoneInput] = Field(
        min_length=1, description="The numbers to look up, as you store them."
    )


class SuppressionsCreated(Schema):
    detail: str
    created: int = Field(ge=0, description="New entries; ones already listed are not counted.")
    withdrawn: int = Field(
        ge=0, description="Queued leads with these numbers that will now not be called."
    )


class SuppressionsDeleted(Schema):
    detail: str
    deleted: int = Field(ge=0, description="Entries removed (unknown ones are ignored).")


class NumberCheck(Schema):
    phone_number: PhoneInput = Field(description="The number as you sent it.")
    suppressed: bool
    where: list[str] = Field(
        description='"business" for the business-wide list, then the ids of the campaigns '
        "whose lists hold the number; empty when it is not listed."
    )
    reasons: dict[str, str] = Field(
        description="The reason of each listing, keyed like `where` (empty text when none "
        "was given)."
    )


class CheckResults(Schema):
    results: list[NumberCheck] = Field(description="One per number sent, in request order.")


class SuppressionEntry(Schema):
    id: int
    scope: Literal["business", "campaign"]
    campaign_id: str | None = Field(description="The campaign's id for a campaign entry.")
    reason: str
    source: Annotated[str, Field(json_schema_extra={"enum": list(SOURCES)})] = Field(
        description="How it was added: api, dashboard, rep (a call's do-not-call outcome) or "
        "erasure (an erased lead's number)."
    )
    created_at: datetime


class SuppressionsPage(Schema):
    count: int = Field(ge=0)
    next: AnyUrl | None = Field(description="Absolute URL of the next page, or null.")
    previous: AnyUrl | None = Field(description="Absolute URL of the previous page, or null.")
    results: list[SuppressionEntry]


REQUEST_MODELS = (SuppressionsRequest, CheckRequest)


# --- OpenAPI descriptions and examples -------------------------------------------------------

_ITEM = {"phone_number": "9876543210", "reason": "Asked not to be called"}
_CAMPAIGN_ITEM = {"phone_number": "+91 91234 56789", "campaign_id": "0PT711"}
_BAD = (
    "The request is wrong; `errors` lists every problem with the items (their `lead_id` is "
    "always null here). Nothing was changed.",
    {
        "problems": {
            "detail": NOTHING_CHANGED.format(2),
            "errors": [
                {
                    "index": 0,
                    "lead_id": None,
                    "field": "phone_number",
                    "code": "invalid",
                    "message": "phone_number is not a valid Indian phone number.",
                },
                {
                    "index": 1,
                    "lead_id": None,
                    "field": "campaign_id",
                    "code": "not_found",
                    "message": "No campaign of yours has this campaign_id.",
                },
            ],
        },
        "empty": {"detail": "No entries in the request."},
        "not json": NOT_JSON,
    },
)
CREATE_DOCS = {
    "body": (
        SuppressionsRequest,
        "A list of entries, or one. Without campaign_id an entry is business-wide.",
        {"one": _ITEM, "list": [_ITEM, _CAMPAIGN_ITEM]},
    ),
    201: (
        "Listed. A number already on that list is not an error (it keeps its first reason); "
        "queued leads with these numbers are processed without a call.",
        {
            "created": {
                "detail": "2 do-not-call entr(y/ies) created.",
                "created": 2,
                "withdrawn": 1,
            }
        },
    ),
    400: _BAD,
}
DELETE_DOCS = {
    "body": (
        SuppressionsRequest,
        "The entries to remove, as they were added (reasons are ignored).",
        {"one": {"phone_number": "9876543210"}, "list": [_ITEM, _CAMPAIGN_ITEM]},
    ),
    200: (
        "Removed; numbers not on that list are ignored.",
        {"deleted": {"detail": "1 do-not-call entr(y/ies) deleted.", "deleted": 1}},
    ),
    400: _BAD,
}
CHECK_DOCS = {
    "body": (
        CheckRequest,
        "The numbers to look up.",
        {"two": {"phone_numbers": ["9876543210", "+91 91234 56789"]}},
    ),
    200: (
        "Per number, in request order: whether it is listed, where, and why.",
        {
            "checked": {
                "results": [
                    {
                        "phone_number": "9876543210",
                        "suppressed": True,
                        "where": ["business", "0PT711"],
                        "reasons": {"business": "Asked not to be called", "0PT711": ""},
                    },
                    {
                        "phone_number": "+91 91234 56789",
                        "suppressed": False,
                        "where": [],
                        "reasons": {},
                    },
                ]
            }
        },
    ),
    400: (
        "The request is wrong; `errors` lists every number that is not a valid Indian phone "
        "number (by position; the number itself is never echoed in an error).",
        {
            "bad number": {
                "detail": "1 problem(s) found.",
                "errors": [
                    {
                        "index": 1,
                        "lead_id": None,
                        "field": "phone_numbers",
                        "code": "invalid",
                        "message": "phone_number is not a valid Indian phone number.",
                    }
                ],
            },
            "not json": NOT_JSON,
        },
    ),
}
LIST_DOCS = {
    200: (
        "One page of the entries, oldest first (an entry added during a walk lands on a "
        "later page). Never a number: only where and why.",
        {
            "one entry": {
                "count": 1,
                "next": None,
                "previous": None,
                "results": [
                    {
                        "id": 17,
                        "scope": "campaign",
                        "campaign_id": "0PT711",
                        "reason": "Asked not to be called",
                        "source": "api",
                        "created_at": "2025-01-15T05:00:00+00:00",
                    }
                ],
            }
        },
    ),
    400: (
        "A paging parameter is wrong.",
        {"page_size": {"detail": "page_size must be a positive integer."}},
    ),
    404: (
        "No such campaign for this business (campaign_id), or a page past the last.",
        {"no campaign": CAMPAIGN_NOT_FOUND, "no page": {"detail": "Invalid page."}},
    ),
}


def _write(success: int, model: type[Schema], docs: dict[Any, Any]) -> dict[str, Any]:
    # No 404: a campaign that is not the caller's is a problem of its item (400).
    schemas = {success: model, **{k: v for k, v in WRITE_ERRORS.items() if k != 404}}
    return {"response": schemas, "openapi_extra": operation_docs(docs, schemas, idempotent=True)}


# --- parsing ---------------------------------------------------------------------------------


def _bounded(items: list[Any], *, empty: str) -> list[Any]:
    """Not empty and within the leads create's per-request limit."""
    if not items:
        raise BadRequest(empty)
    limit = settings.LEADLINE_MAX_LEADS_PER_REQUEST
    if len(items) > limit:
        raise PayloadTooLarge(f"At most {limit} numbers per request; split the batch.")
    return items


def _entries(request: HttpRequest) -> list[Any]:
    """A create or delete body: a list of entries, or one entry object."""
    try:
        items = as_list(read_json_body(request), what="do-not-call entry")
    except FieldProblem as p:
        raise BadRequest(p.message) from None
    return _bounded(items, empty="No entries in the request.")


def _numbers(request: HttpRequest) -> list[Any]:
    """A check body: {"phone_numbers": [...]}."""
    payload = read_json_body(request)
    numbers = payload.get("phone_numbers") if isinstance(payload, dict) else None
    if not isinstance(numbers, list):
        raise BadRequest('The body must be {"phone_numbers": [...]}.')
    return _bounded(numbers, empty="No numbers in the request.")


@dataclass
class _Campaigns:
    """The caller's campaigns named in one request, each looked up once."""

    request: ApiRequest
    found: dict[str, Campaign | None]

    def get(self, value: Any) -> Campaign | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise FieldProblem("campaign_id", "invalid", "campaign_id must be a campaign's id.")
        if value not in self.found:
            try:
                self.found[value] = campaign_get_for_business(
                    business=self.request.business, public_id=value
                )
            except NotFound:  # another business's campaign is as unknown as a missing one
                self.found[value] = None
        campaign = self.found[value]
        if campaign is None:
            raise FieldProblem(
                "campaign_id", "not_found", "No campaign of yours has this campaign_id."
            )
        return campaign


def _clean_reason(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > REASON_MAX:
        raise FieldProblem(
            "reason", "invalid", f"reason must be text of at most {REASON_MAX} characters."
        )
    if REASON_CONTROL_CHARS.search(value):
        raise FieldProblem("reason", "invalid", "reason must be one line of text.")
    return value.strip()


def _clean_items(request: ApiRequest, *, with_reason: bool) -> list[SuppressionItem]:
    """Every item of a create or delete body, or 400 listing every problem (nothing changed)."""
    campaigns = _Campaigns(request, {})
    cleaned: list[SuppressionItem] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(_entries(request)):
        try:
            if not isinstance(item, dict):
                raise FieldProblem(None, "invalid", "Each item must be a JSON object.")
            phone = clean_phone(item.get("phone_number"))
            campaign = campaigns.get(item.get("campaign_id"))
            reason = _clean_reason(item.get("reason")) if with_reason else ""
            cleaned.append(SuppressionItem(phone=phone, campaign=campaign, reason=reason))
        except FieldProblem as p:
            problems.append(problem(index, None, p))
    if problems:
        raise LeadProblems(problems, NOTHING_CHANGED.format(len(problems)))
    return cleaned


def _entries_text(count: int, verb: str) -> str:
    return f"{count} do-not-call entr(y/ies) {verb}."


# --- endpoints -------------------------------------------------------------------------------


@router.post(
    "/create/",
    summary="Add numbers to the do-not-call list",
    **_write(201, SuppressionsCreated, CREATE_DOCS),
)
def create_suppressions(request: ApiRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        items = _clean_items(request, with_reason=True)
        created, withdrawn = suppressions_add_and_withdraw(
            business=request.business, items=items, source=Suppression.Source.API
        )
        return json_response(
            {
                "detail": _entries_text(created, "created"),
                "created": created,
                "withdrawn": withdrawn,
            },
            status=201,
        )

    return idempotent(request, request.business, handle)


@router.post(
    "/delete/",
    summary="Remove numbers from the do-not-call list",
    **_write(200, SuppressionsDeleted, DELETE_DOCS),
)
def delete_suppressions(request: ApiRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        items = _clean_items(request, with_reason=False)
        deleted = suppressions_remove(business=request.business, items=items)
        return json_response(
            {"detail": _entries_text(deleted, "deleted"), "deleted": deleted}, status=200
        )

    return idempotent(request, request.business, handle)


_CHECK_ERRORS = {k: v for k, v in WRITE_ERRORS.items() if k not in (404, 409, 422)}


# Not idempotent-keyed: it changes nothing, and a stored answer would keep the caller's
# numbers (it echoes them) for a day.
@router.post(
    "/check/",
    summary="Look numbers up on the do-not-call list",
    response={200: CheckResults, **_CHECK_ERRORS},
    openapi_extra=operation_docs(CHECK_DOCS, [200, *_CHECK_ERRORS]),
)
def check_suppressions(request: ApiRequest) -> HttpResponse:
    sent = _numbers(request)
    hashes: list[str] = []
    problems: list[dict[str, Any]] = []
    for index, raw in enumerate(sent):
        try:
            hashes.append(number_hash(clean_phone(raw)))
        except FieldProblem as p:
            problems.append(problem(index, None, FieldProblem("phone_numbers", p.code, p.message)))
    if problems:
        raise LeadProblems(problems, f"{len(problems)} problem(s) found.")
    listings = suppressions_of_hashes(business=request.business, number_hashes=set(hashes))
    results = []
    for raw, hashed in zip(sent, hashes, strict=True):
        found = listings.get(hashed, [])
        results.append(
            {
                # The caller's own spelling: they know the number, we only hold its hash.
                "phone_number": raw,
                "suppressed": bool(found),
                "where": [listing.where for listing in found],
                "reasons": {listing.where: listing.reason for listing in found},
            }
        )
    return json_response({"results": results})


def _entry(row: Suppression) -> dict[str, Any]:
    return {
        "id": row.pk,
        "scope": "campaign" if row.campaign_id else BUSINESS,
        "campaign_id": row.campaign.public_id if row.campaign is not None else None,
        "reason": row.reason,
        "source": row.source,
        "created_at": row.created_at.isoformat(timespec="seconds"),
    }


@router.get(
    "/",
    summary="List the do-not-call entries",
    response={200: SuppressionsPage, **READ_ERRORS},
    openapi_extra=operation_docs(LIST_DOCS, [200, *READ_ERRORS]),
)
def list_suppressions(
    request: ApiRequest,
    campaign_id: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
) -> HttpResponse:
    """Paged like the leads responses endpoint: `page` from 1, `page_size` defaults to 100
    and is clamped to 1000. `campaign_id` keeps one campaign's entries."""
    params = request.GET
    campaign = (
        campaign_get_for_business(business=request.business, public_id=campaign_id)
        if campaign_id
        else None
    )
    number = _positive_int(params, "page", 1)
    size = min(_positive_int(params, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    result = suppressions_numbered_page(
        business=request.business, campaign=campaign, page=number, page_size=size
    )
    return json_response(
        {
            "count": result.count,
            "next": _page_url(request, number + 1) if result.has_next else None,
            "previous": _page_url(request, number - 1) if result.has_previous else None,
            "results": [_entry(row) for row in result.rows],
        }
    )
