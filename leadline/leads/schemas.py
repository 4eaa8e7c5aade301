"""Shapes of the Leads API v4 bodies, for the OpenAPI document and for tests.

The endpoints never pass through these models: they validate input by hand (`validation.py`
reports every problem of a 10,000-lead batch at once) and render with `json_response`, which
Ninja returns untouched. So each model must describe what that code sends, key for key;
`tests/test_openapi.py` holds the document to the reference's examples and to real responses.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AnyUrl, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from .validation import CONTACT_NAME_MAX, LEAD_ID_MAX

LeadIdInput = Annotated[
    Annotated[str, Field(min_length=1, max_length=LEAD_ID_MAX)] | int,
    Field(
        description="The client's id of the lead in the campaign; a number is the same lead as "
        "its decimal string."
    ),
]
PhoneInput = Annotated[
    str | int,
    Field(
        description="An Indian phone number: ten digits, optionally behind +91, 91, 0 or 0091, "
        "with spaces, hyphens, dots or brackets."
    ),
]
ContactNameInput = Annotated[
    str, Field(min_length=1, max_length=CONTACT_NAME_MAX, description="Name of the lead.")
]
CUSTOM_FIELDS = (
    "Every other key is a custom field of the lead: any JSON value, returned as a top-level key "
    "of the lead's result item and webhook payload."
)


# --- requests -------------------------------------------------------------------------------


class NewLead(Schema):
    model_config = ConfigDict(extra="allow", json_schema_extra={"description": CUSTOM_FIELDS})

    lead_id: LeadIdInput
    phone_number: PhoneInput
    contact_name: ContactNameInput


class CreateLeadsRequest(RootModel[list[NewLead] | NewLead]):
    model_config = ConfigDict(
        json_schema_extra={"description": "A list of leads, or one lead object."}
    )


class LeadRef(Schema):
    lead_id: LeadIdInput


class DisableLeadsRequest(RootModel[list[LeadRef] | LeadRef]):
    model_config = ConfigDict(
        json_schema_extra={"description": "A list of {lead_id} objects, or one."}
    )


class LeadUpdate(Schema):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "description": CUSTOM_FIELDS + " A custom field sent as null is removed."
        },
    )

    lead_id: LeadIdInput
    # Optional but never null: the key is either absent (unchanged) or a new value.
    # None stands for an absent key here; SkipJsonSchema keeps null out of the document.
    phone_number: PhoneInput | SkipJsonSchema[None] = None
    contact_name: ContactNameInput | SkipJsonSchema[None] = None


class LeadConversion(Schema):
    lead_id: LeadIdInput
    detail: str = Field(
        min_length=1, max_length=32, description="Why the lead converted, as a short code."
    )


# --- successful responses -------------------------------------------------------------------


class LeadsCreated(Schema):
    detail: str
    created: int = Field(ge=1)
    lead_ids: list[str] = Field(description="The ids created, in request order.")


class LeadResult(Schema):
    """A lead and what calling it produced: the reference's fixed keys, then custom fields."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "description": "The fixed keys of the reference, then the lead's custom fields as "
            "further top-level keys (a fixed key wins a clash). Timestamps are ISO 8601 with "
            "an offset, to the second."
        },
    )

    phone_number: str = Field(description="E.164: +91 and ten digits.")
    lead_id: str
    latest_recording_url: AnyUrl | None = Field(
        description="Signed URL of the latest call's audio (supports HTTP Range); null until a "
        "call was recorded."
    )
    campaign_id: str
    latest_called_at: datetime | None
    lead_outcome: str | None
    processed_at: datetime | None
    contact_name: str
    created_at: datetime
    lead_responses: dict[str, Any] = Field(description="Answers captured on the calls.")


class LeadResultsPage(Schema):
    count: int = Field(ge=0)
    next: AnyUrl | None = Field(description="Absolute URL of the next page, or null.")
    previous: AnyUrl | None = Field(description="Absolute URL of the previous page, or null.")
    results: list[LeadResult]


class LeadsDisabled(Schema):
    detail: str
    disabled: int = Field(ge=1)
    lead_ids: list[str] = Field(description="The ids disabled, without repeats.")


class LeadErased(Schema):
    # Deliberately no lead_id: the answer to an erasure quotes nothing of the erased lead.
    detail: str
    receipt_id: str = Field(
        description="Id of the erasure's receipt: GET /api/v4/leads/erasures/{receipt_id}/."
    )


class ErasureCounts(Schema):
    attempt_answers: int = Field(ge=0, description="Call attempts whose answers were removed.")
    recordings: int = Field(ge=0, description="Recordings of ours, files deleted.")
    provider_recordings: int = Field(
        ge=0, description="Copies a telephony provider still held, deleted there by the worker."
    )
    webhook_payloads: int = Field(ge=0, description="Stored webhook event payloads scrubbed.")
    webhook_excerpts: int = Field(
        ge=0, description="Stored excerpts of receivers' responses scrubbed."
    )
    deliveries_cancelled: int = Field(ge=0, description="Webhook deliveries not yet sent.")
    import_report_rows: int = Field(
        ge=0, description="CSV import problem rows that named the lead, its id cleared."
    )
    stored_responses: int = Field(
        ge=0, description="Stored Idempotency-Key responses that quoted the lead, deleted."
    )
    audit_entries_kept: int = Field(
        ge=0, description="Audit entries naming the lead, kept with its lead_id only."
    )


class ErasureReceiptOut(Schema):
    receipt_id: str
    campaign_id: str
    lead_id: str = Field(description="The erased lead's id, as the client sent it.")
    status: Literal["pending", "complete"] = Field(
        description="pending until the recording files and the providers' copies are deleted."
    )
    requested_at: datetime
    completed_at: datetime | None
    lead_fields: list[str] = Field(description="The lead's own fields that held data, wiped.")
    erased: ErasureCounts
    suppressed: bool = Field(
        description="The number was put on the business's do-not-call list (?suppress=true)."
    )


class LeadConverted(Schema):
    detail: str
    lead_id: str
    converted_at: datetime = Field(description="The first conversion; a repeat keeps it.")
    conversion_detail: str


# --- the dry run of create (POST /check/{campaign_id}/) --------------------------------------


class LeadCheck(Schema):
    """One item of a create body: what create would say of it, and what the dialer would do
    with its number. Keys about the number are null when the number is not valid."""

    index: int = Field(ge=0, description="Position in the body (0 for a single object).")
    lead_id: str | int | None = Field(
        description="The lead's id (at most its first 255 characters), when it had one."
    )
    valid: bool = Field(description="Create would accept this item (no `errors`).")
    errors: list["Problem"] = Field(
        description="The problems create would report for this item, a lead_id already in "
        "the campaign included."
    )
    exists: bool | None = Field(
        description="A lead with this lead_id is already in the campaign (null: no valid id)."
    )
    suppressed: bool | None = Field(description="The number is on a do-not-call list.")
    suppressed_in: list[str] | None = Field(
        description='Where: "business" (the business-wide list) and/or the campaign id.'
    )
    dnd: Literal["yes", "no", "unknown"] | None = Field(
        description="Promotional campaigns: the number's DND (NCPR) status as last looked up "
        "(unknown until the worker has asked); null for service campaigns."
    )
    consent: bool | None = Field(
        description="Promotional campaigns: you recorded the person's consent (it lifts DND)."
    )
    dial: Literal["now", "later", "never", "unknown"] | None = Field(
        description="now: a rep may call it at once; later: from `dial_at`; never: it would "
        "be processed without a call (`outcome`); unknown: waiting for its DND status."
    )
    dial_at: datetime | None = Field(
        description="The earliest time it may be dialled (calling window, call caps, minimum "
        "gap), ISO 8601 in UTC; null when never or not known."
    )
    code: str | None = Field(
        description="What holds it back: ok, suppressed, dnd, dnd_unknown, cap_day, "
        "cap_week, gap, window."
    )
    reason: str | None = Field(description="The same, for people; empty when nothing does.")
    outcome: str | None = Field(
        description="When `dial` is never: the lead_outcome the lead would be processed with."
    )


class LeadsChecked(Schema):
    results: list[LeadCheck] = Field(description="One per item of the body, in its order.")


# --- errors ---------------------------------------------------------------------------------


class Problem(Schema):
    index: int | None = Field(ge=0, description="Position in a list body; null otherwise.")
    lead_id: str | int | None = Field(
        description="The lead's id as sent (at most its first 255 characters), when it had one."
    )
    field: str | None = Field(description="The key at fault; null for the whole item.")
    code: str = Field(description="required, invalid, too_long, too_large, duplicate, not_found.")
    message: str


class Error(Schema):
    detail: str


class BadRequestError(Schema):
    detail: str
    errors: list[Problem] = Field(
        default_factory=list,
        description="Every problem of the leads in the request; only for problems with leads.",
    )


class RateLimitedError(Schema):
    detail: str
    limit: int = Field(
        description="Requests allowed per minute; or, for a new Idempotency-Key, the most "
        "live keys a business may hold."
    )
    retry_after: int = Field(description="Seconds until the budget is refilled (or a key expires).")


LeadCheck.model_rebuild()

# What the server answers besides the success, per kind of endpoint. 403 and 429 come from the
# API gateway middleware, 413 and 415 from `core.http.read_json_body`.
READ_ERRORS = {400: BadRequestError, 403: Error, 404: Error, 429: RateLimitedError}
WRITE_ERRORS = {
    400: BadRequestError,
    403: Error,
    404: Error,
    409: Error,
    413: Error,
    415: Error,
    422: Error,
    429: RateLimitedError,
}
# The dry run stores nothing: no Idempotency-Key, so no 409 or 422.
CHECK_ERRORS = {
    400: BadRequestError,
    403: Error,
    404: Error,
    413: Error,
    415: Error,
    429: RateLimitedError,
}
REQUEST_MODELS = (CreateLeadsRequest, DisableLeadsRequest, LeadRef, LeadUpdate, LeadConversion)
