"""Consent to promotional calls, Leads API v4: record and withdraw (compliance.consents).

A business records that a person agreed to its promotional calls (when, how, and its own
evidence reference); DND (NCPR) then no longer keeps that number out of the business's
promotional campaigns. Numbers are stored as keyed hashes only and never echoed back.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema
from pydantic import ConfigDict, Field, RootModel

from leadline.accounts.http import ApiRequest
from leadline.accounts.idempotency import idempotent
from leadline.compliance.consents import ConsentItem, consents_record, consents_withdraw
from leadline.compliance.models import Consent
from leadline.core.api import operation_docs
from leadline.core.errors import BadRequest, PayloadTooLarge
from leadline.core.http import json_response, read_json_body

from .api_docs import NOT_JSON
from .schemas import WRITE_ERRORS, PhoneInput
from .services import LeadProblems
from .validation import FieldProblem, as_list, clean_phone, problem

router = Router(tags=["Consents"])

REFERENCE_MAX = 200
# A clock a little ahead of ours is not an error; a consent given in the future is.
CLOCK_SKEW = timedelta(minutes=5)
METHODS = tuple(Consent.Method.values)


class ConsentIn(Schema):
    phone_number: PhoneInput
    given_at: datetime = Field(
        description="When the person gave consent: ISO 8601 with an offset, not in the future."
    )
    method: Annotated[str, Field(json_schema_extra={"enum": list(METHODS)})] = Field(
        description="How consent was given."
    )
    reference: str = Field(
        default="",
        max_length=REFERENCE_MAX,
        description="Your evidence: a form submission id, a recording or message reference. "
        "Never put the phone number in it.",
    )


class RecordConsentsRequest(RootModel[list[ConsentIn] | ConsentIn]):
    model_config = ConfigDict(
        json_schema_extra={"description": "A list of consents, or one consent object."}
    )


class ConsentRef(Schema):
    phone_number: PhoneInput


class WithdrawConsentsRequest(RootModel[list[ConsentRef] | ConsentRef]):
    model_config = ConfigDict(
        json_schema_extra={"description": "A list of {phone_number} objects, or one."}
    )


class ConsentsRecorded(Schema):
    detail: str
    created: int = Field(ge=0, description="Numbers that had no consent before.")
    updated: int = Field(ge=0, description="Numbers whose consent was replaced by this one.")


class ConsentsWithdrawn(Schema):
    detail: str
    withdrawn: int = Field(ge=0, description="Consents removed (unknown numbers are ignored).")


REQUEST_MODELS = (RecordConsentsRequest, WithdrawConsentsRequest)

_ITEM = {
    "phone_number": "9876543210",
    "given_at": "2025-01-15T10:30:00+05:30",
    "method": "web_form",
    "reference": "signup-form-8812",
}
_BAD = (
    "The request is wrong; `errors` lists every problem with the items (their `lead_id` is "
    "always null here).",
    {
        "bad method": {
            "detail": "1 problem(s) found; no consent was changed.",
            "errors": [
                {
                    "index": 0,
                    "lead_id": None,
                    "field": "method",
                    "code": "invalid",
                    "message": "method must be one of: " + ", ".join(METHODS) + ".",
                }
            ],
        },
        "not json": NOT_JSON,
    },
)
RECORD_DOCS = {
    "body": (
        RecordConsentsRequest,
        "A list of consents, or one.",
        {"one": _ITEM, "list": [_ITEM, {**_ITEM, "phone_number": "+91 91234 56789"}]},
    ),
    201: (
        "Recorded; a number with a consent already gets the new one.",
        {"recorded": {"detail": "2 consent(s) recorded.", "created": 1, "updated": 1}},
    ),
    400: _BAD,
}
WITHDRAW_DOCS = {
    "body": (
        WithdrawConsentsRequest,
        "A list of {phone_number} objects, or one.",
        {"one": {"phone_number": "9876543210"}},
    ),
    200: (
        "The consents are removed: DND applies again to your promotional campaigns.",
        {"withdrawn": {"detail": "1 consent(s) withdrawn.", "withdrawn": 1}},
    ),
    400: _BAD,
}


def _write(success: int, model: type[Schema], docs: dict[Any, Any]) -> dict[str, Any]:
    schemas = {success: model, **{k: v for k, v in WRITE_ERRORS.items() if k != 404}}
    return {"response": schemas, "openapi_extra": operation_docs(docs, schemas, idempotent=True)}


def _items(request: HttpRequest, what: str) -> list[Any]:
    try:
        items = as_list(read_json_body(request), what=what)
    except FieldProblem as p:
        raise BadRequest(p.message) from None
    if not items:
        raise BadRequest("No consents in the request.")
    limit = settings.LEADLINE_MAX_LEADS_PER_REQUEST
    if len(items) > limit:
        raise PayloadTooLarge(f"At most {limit} consents per request; split the batch.")
    return items


def _clean_given_at(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise FieldProblem("given_at", "invalid", "given_at must be an ISO 8601 date-time.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldProblem(
            "given_at", "invalid", "given_at must be an ISO 8601 date-time."
        ) from None
    if moment.tzinfo is None:
        raise FieldProblem("given_at", "invalid", "given_at needs an offset, e.g. +05:30.")
    if moment.year < 2000 or moment > now + CLOCK_SKEW:
        raise FieldProblem("given_at", "invalid", "given_at is not a plausible past time.")
    return moment.astimezone(UTC)


def _clean_consent(item: Any, now: datetime) -> ConsentItem:
    if not isinstance(item, dict):
        raise FieldProblem(None, "invalid", "Each item must be a JSON object.")
    phone = clean_phone(item.get("phone_number"))
    given_at = _clean_given_at(item.get("given_at"), now)
    method = item.get("method")
    if method not in METHODS:
        raise FieldProblem(
            "method", "invalid", "method must be one of: " + ", ".join(METHODS) + "."
        )
    reference = item.get("reference", "")
    if not isinstance(reference, str) or len(reference) > REFERENCE_MAX:
        raise FieldProblem(
            "reference", "invalid", f"reference must be text of at most {REFERENCE_MAX} characters."
        )
    return ConsentItem(phone=phone, given_at=given_at, method=method, reference=reference)


def _problems(items: list[Any], clean: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    cleaned, problems = [], []
    for index, item in enumerate(items):
        try:
            cleaned.append(clean(item))
        except FieldProblem as p:
            problems.append(problem(index, None, p))
    return cleaned, problems


@router.post(
    "/", summary="Record consent to promotional calls", **_write(201, ConsentsRecorded, RECORD_DOCS)
)
def record_consents(request: ApiRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        now = timezone.now()
        items, problems = _problems(_items(request, "consent"), lambda i: _clean_consent(i, now))
        if problems:
            raise LeadProblems(
                problems, f"{len(problems)} problem(s) found; no consent was changed."
            )
        created, updated = consents_record(business=request.business, items=items)
        return json_response(
            {
                "detail": f"{created + updated} consent(s) recorded.",
                "created": created,
                "updated": updated,
            },
            status=201,
        )

    return idempotent(request, request.business, handle)


def _clean_ref(item: Any) -> str:
    if not isinstance(item, dict):
        raise FieldProblem(None, "invalid", "Each item must be a JSON object.")
    return clean_phone(item.get("phone_number"))


@router.post(
    "/delete/",
    summary="Withdraw consent to promotional calls",
    **_write(200, ConsentsWithdrawn, WITHDRAW_DOCS),
)
def withdraw_consents(request: ApiRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        phones, problems = _problems(_items(request, "{phone_number}"), _clean_ref)
        if problems:
            raise LeadProblems(
                problems, f"{len(problems)} problem(s) found; no consent was changed."
            )
        withdrawn = consents_withdraw(business=request.business, phones=phones)
        return json_response(
            {"detail": f"{withdrawn} consent(s) withdrawn.", "withdrawn": withdrawn}, status=200
        )

    return idempotent(request, request.business, handle)
