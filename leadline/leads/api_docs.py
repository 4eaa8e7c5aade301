"""What the OpenAPI document says of each Leads API v4 operation beyond its schemas.

Descriptions and examples per status, the request bodies and the lead-processed webhook. The
examples are the reference's own (`leads-api-v4.md`) with its placeholders filled in, or bodies
the server really sends; `tests/test_openapi.py` validates every one against its schema.
"""

from typing import Any

from leadline.core.api import json_content, schema_ref

from .schemas import (
    CreateLeadsRequest,
    DisableLeadsRequest,
    LeadConversion,
    LeadRef,
    LeadResult,
    LeadUpdate,
)

# --- examples -------------------------------------------------------------------------------
# The reference's own examples, with its placeholders filled in with real-looking values.

SPEC_RESULT = {
    "phone_number": "+919876543210",
    "lead_id": "test_lead_id",
    "latest_recording_url": "https://leadline.example.com/recordings/"
    "1b4e28ba-2fa1-11d2-883f-0016d3cca427/?expires=1543851398&signature=3f1c",
    "campaign_id": "0PT711",
    "latest_called_at": "2018-12-03T14:36:38+00:00",
    "lead_outcome": "Connected : Objective Met",
    "processed_at": "2018-12-03T14:37:54+00:00",
    "contact_name": "John Doe",
    "created_at": "2018-12-03T14:36:01+00:00",
    "lead_responses": {
        "response_key_1": "response_value_1",
        "response_key_2": "response_value_2",
        "response_key_3": "response_value_3",
    },
    "city": "Pune",
}
NOT_CALLED_YET = {
    **SPEC_RESULT,
    "lead_id": "uniqueleadid1",
    "latest_recording_url": None,
    "latest_called_at": None,
    "lead_outcome": None,
    "processed_at": None,
    "lead_responses": {},
}
NEW_LEADS = [
    {
        "lead_id": "uniqueleadid1",
        "phone_number": "9876543210",
        "contact_name": "John Doe",
        "city": "Pune",
        "plan": "gold",
    },
    {
        "lead_id": "uniqueleadid2",
        "phone_number": "9123456789",
        "contact_name": "John Smith",
        "city": "Pune",
        "plan": "gold",
    },
]
CAMPAIGN_NOT_FOUND = {"detail": "Campaign not found."}
RECEIPT_ID = "1b0e7f3c-5d0a-4c55-9a43-6f0c2d8e9b21"
RECEIPT_NOT_FOUND = {"detail": "No such erasure receipt."}
LEAD_NOT_FOUND = {"detail": "No lead with this lead_id in this campaign."}
NO_LEAD_ID = {
    "detail": "lead_id is required.",
    "errors": [
        {
            "index": None,
            "lead_id": None,
            "field": "lead_id",
            "code": "required",
            "message": "lead_id is required.",
        }
    ],
}
NOT_JSON = {
    "detail": "Request body is not valid JSON: unexpected character, expected a JSON value."
}


def _problems(detail: str, *problems: tuple[int | None, Any, str, str, str]) -> dict[str, Any]:
    keys = ("index", "lead_id", "field", "code", "message")
    return {"detail": detail, "errors": [dict(zip(keys, p, strict=True)) for p in problems]}


def _bad_request(**examples: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "The request is wrong; `errors` lists every problem with the leads, when there are any.",
        {name.replace("_", " "): body for name, body in examples.items()},
    )


def _lead_missing(**extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "No such campaign for this business, or no live lead with this lead_id.",
        {"no campaign": CAMPAIGN_NOT_FOUND, "no lead": LEAD_NOT_FOUND, **extra},
    )


# Per endpoint: the request body's (model, description, examples), then (description,
# {name: body}) of the statuses whose bodies depend on the endpoint.
CREATE_DOCS = {
    "body": (
        CreateLeadsRequest,
        "A list of leads, or one lead object. Every key besides lead_id, phone_number and "
        "contact_name is a custom field.",
        {"list": NEW_LEADS, "one object, numeric id": {**NEW_LEADS[0], "lead_id": 1}},
    ),
    201: (
        "Every lead was created.",
        {
            "created": {
                "detail": "2 lead(s) created.",
                "created": 2,
                "lead_ids": ["uniqueleadid1", "uniqueleadid2"],
            }
        },
    ),
    400: _bad_request(
        problems=_problems(
            "2 problem(s) found; no lead was changed.",
            (
                0,
                "uniqueleadid1",
                "lead_id",
                "duplicate",
                "A lead with this lead_id already exists.",
            ),
            (1, 7, "phone_number", "invalid", "phone_number is not a valid Indian phone number."),
        ),
        empty={"detail": "No leads in the request."},
        not_json=NOT_JSON,
    ),
    404: ("No such campaign for this business.", {"no campaign": CAMPAIGN_NOT_FOUND}),
}
CHECK_DOCS = {
    "body": (
        CreateLeadsRequest,
        "Exactly the body of create: a list of leads, or one lead object. Nothing is stored.",
        {"list": NEW_LEADS},
    ),
    200: (
        "One result per item, in the body's order. Nothing was created.",
        {
            "checked": {
                "results": [
                    {
                        "index": 0,
                        "lead_id": "uniqueleadid1",
                        "valid": True,
                        "errors": [],
                        "exists": False,
                        "suppressed": False,
                        "suppressed_in": [],
                        "dnd": None,
                        "consent": None,
                        "dial": "later",
                        "dial_at": "2026-12-08T03:30:00+00:00",
                        "code": "cap_day",
                        "reason": "Called 3 time(s) today: the business's daily cap per "
                        "number. Not before 2026-12-08 09:00 IST.",
                        "outcome": None,
                    },
                    {
                        "index": 1,
                        "lead_id": "uniqueleadid2",
                        "valid": False,
                        "errors": [
                            {
                                "index": 1,
                                "lead_id": "uniqueleadid2",
                                "field": "lead_id",
                                "code": "duplicate",
                                "message": "A lead with this lead_id already exists.",
                            }
                        ],
                        "exists": True,
                        "suppressed": True,
                        "suppressed_in": ["business"],
                        "dnd": None,
                        "consent": None,
                        "dial": "never",
                        "dial_at": None,
                        "code": "suppressed",
                        "reason": "The number is on the do-not-call list.",
                        "outcome": "Not Called : Do Not Call",
                    },
                ]
            }
        },
    ),
    400: _bad_request(empty={"detail": "No leads in the request."}, not_json=NOT_JSON),
    404: ("No such campaign for this business.", {"no campaign": CAMPAIGN_NOT_FOUND}),
}
GET_DOCS = {
    200: (
        "One page of the campaign's leads, oldest first.",
        {"one lead": {"count": 1, "next": None, "previous": None, "results": [SPEC_RESULT]}},
    ),
    400: _bad_request(page_size={"detail": "page_size must be a positive integer."}),
    404: (
        "No such campaign for this business, or a page past the last.",
        {"no campaign": CAMPAIGN_NOT_FOUND, "no page": {"detail": "Invalid page."}},
    ),
}
DISABLE_DOCS = {
    "body": (
        DisableLeadsRequest,
        "A list of {lead_id} objects, or one.",
        {
            "list": [{"lead_id": "uniqueleadid1"}, {"lead_id": "uniqueleadid2"}],
            "one": {"lead_id": 1},
        },
    ),
    201: (
        "The leads are disabled (disabling twice is fine).",
        {
            "disabled": {
                "detail": "2 lead(s) disabled.",
                "disabled": 2,
                "lead_ids": ["uniqueleadid1", "uniqueleadid2"],
            }
        },
    ),
    400: _bad_request(
        unknown_ids=_problems(
            "1 lead_id(s) not found; no lead was disabled.",
            (None, "nope", "lead_id", "not_found", "No lead with this lead_id."),
        ),
        not_json=NOT_JSON,
    ),
    404: ("No such campaign for this business.", {"no campaign": CAMPAIGN_NOT_FOUND}),
}
DELETE_DOCS = {
    "body": (LeadRef, "The lead to erase.", {"lead": {"lead_id": "uniqueleadid1"}}),
    202: (
        "The lead's personal data is erased; the receipt says what went, and when the files "
        "and the providers' copies are gone too.",
        {"erased": {"detail": "Lead erased.", "receipt_id": RECEIPT_ID}},
    ),
    400: _bad_request(
        no_lead_id=NO_LEAD_ID,
        not_json=NOT_JSON,
        suppress={"detail": "suppress must be true or false."},
    ),
    404: _lead_missing(),
}
RECEIPT_DOCS = {
    200: (
        "The erasure's receipt.",
        {
            "complete": {
                "receipt_id": RECEIPT_ID,
                "campaign_id": "0PT711",
                "lead_id": "uniqueleadid1",
                "status": "complete",
                "requested_at": "2018-12-03T14:36:38+00:00",
                "completed_at": "2018-12-03T14:37:05+00:00",
                "lead_fields": ["phone_number", "contact_name", "lead_responses"],
                "erased": {
                    "attempt_answers": 1,
                    "recordings": 1,
                    "provider_recordings": 0,
                    "webhook_payloads": 1,
                    "webhook_excerpts": 1,
                    "deliveries_cancelled": 0,
                    "import_report_rows": 0,
                    "stored_responses": 0,
                    "audit_entries_kept": 2,
                },
                "suppressed": True,
            }
        },
    ),
    404: ("No such receipt for this business.", {"no receipt": RECEIPT_NOT_FOUND}),
}
UPDATE_DOCS = {
    "body": (
        LeadUpdate,
        "lead_id plus the fields to change; a custom field sent as null is removed.",
        {"lead": {"lead_id": "uniqueleadid1", "phone_number": "9123456789", "city": "Mumbai"}},
    ),
    200: (
        "The lead's result item, as GET returns it.",
        {"updated": {**NOT_CALLED_YET, "phone_number": "+919123456789", "city": "Mumbai"}},
    ),
    400: _bad_request(
        problems=_problems(
            "1 problem(s) found; no lead was changed.",
            (
                None,
                "uniqueleadid1",
                "phone_number",
                "invalid",
                "phone_number is not a valid Indian phone number.",
            ),
        ),
        no_lead_id=NO_LEAD_ID,
    ),
    404: _lead_missing(),
}
CONVERT_DOCS = {
    "body": (
        LeadConversion,
        "The lead and a 1 to 32 character conversion code.",
        {"lead": {"lead_id": "uniqueleadid1", "detail": "PAID_PLAN"}},
    ),
    200: (
        "The lead is marked converted.",
        {
            "converted": {
                "detail": "Lead marked converted.",
                "lead_id": "uniqueleadid1",
                "converted_at": "2018-12-04T10:15:00+00:00",
                "conversion_detail": "PAID_PLAN",
            }
        },
    ),
    400: _bad_request(
        bad_detail=_problems(
            "1 problem(s) found; no lead was changed.",
            (
                None,
                "uniqueleadid1",
                "detail",
                "invalid",
                "detail must be a string of 1 to 32 characters.",
            ),
        ),
        no_lead_id=NO_LEAD_ID,
    ),
    404: _lead_missing(),
}
# OpenAPI 3.1 `webhooks`: what the platform POSTs to the client when a lead is processed.
WEBHOOKS = {
    "leadProcessed": {
        "post": {
            "summary": "Lead processed",
            "description": "The lead's result item, as GET returns it, once the lead is "
            "processed. Any 2xx answer counts as delivered.",
            "requestBody": {
                "required": True,
                "content": json_content(schema_ref(LeadResult), {"processed lead": SPEC_RESULT}),
            },
            "responses": {"2XX": {"description": "Delivered."}},
        }
    }
}
