"""The client's models against the server's OpenAPI document (/api/v4/openapi.json), so the
two cannot drift: every model's fields are exactly its schema's properties, the timestamps the
client parses are the document's date-time fields, and every call the client makes is a
documented operation with the success status the client expects."""

import dataclasses
import typing
from datetime import datetime

import orjson
import pytest
from django.test import Client
from openapi_spec_validator import validate as validate_openapi

import leadline_client as lc
from leadline_client import _errors

MODELS = {
    "LeadResult": lc.LeadResult,
    "LeadResultsPage": lc.ResultsPage,
    "LeadsCreated": lc.LeadsCreated,
    "LeadsDisabled": lc.LeadsDisabled,
    "LeadErased": lc.LeadErased,
    "LeadConverted": lc.LeadConverted,
    "ConsentsRecorded": lc.ConsentsRecorded,
    "ConsentsWithdrawn": lc.ConsentsWithdrawn,
    "Problem": lc.Problem,
    "LeadCheck": lc.LeadCheck,
    "ErasureReceiptOut": lc.ErasureReceipt,
    "SuppressionsCreated": lc.SuppressionsCreated,
    "SuppressionsDeleted": lc.SuppressionsDeleted,
    "NumberCheck": lc.NumberCheck,
    "SuppressionEntry": lc.Suppression,
    "SuppressionsPage": lc.SuppressionsPage,
}
# Answers the client unwraps to a plain list of the item model: `{"results": [item, ...]}`.
WRAPPERS = {"LeadsChecked": "LeadCheck", "CheckResults": "NumberCheck"}
# (method, path, success status, response schema) of every call the client makes.
CALLS = [
    ("post", "/api/v4/leads/create/{campaign_id}/", "201", "LeadsCreated"),
    ("get", "/api/v4/leads/responses/{campaign_id}/", "200", "LeadResultsPage"),
    ("post", "/api/v4/leads/disable/{campaign_id}/", "201", "LeadsDisabled"),
    ("post", "/api/v4/leads/delete/{campaign_id}/", "202", "LeadErased"),
    ("patch", "/api/v4/leads/update/{campaign_id}/", "200", "LeadResult"),
    ("post", "/api/v4/leads/convert/{campaign_id}/", "200", "LeadConverted"),
    ("post", "/api/v4/consents/", "201", "ConsentsRecorded"),
    ("post", "/api/v4/consents/delete/", "200", "ConsentsWithdrawn"),
    ("post", "/api/v4/leads/check/{campaign_id}/", "200", "LeadsChecked"),
    ("get", "/api/v4/leads/erasures/{receipt_id}/", "200", "ErasureReceiptOut"),
    ("post", "/api/v4/suppressions/create/", "201", "SuppressionsCreated"),
    ("post", "/api/v4/suppressions/delete/", "200", "SuppressionsDeleted"),
    ("post", "/api/v4/suppressions/check/", "200", "CheckResults"),
    ("get", "/api/v4/suppressions/", "200", "SuppressionsPage"),
]


@pytest.fixture(scope="module")
def document():
    response = Client().get("/api/v4/openapi.json")
    assert response.status_code == 200
    return orjson.loads(response.content)


def _schema(document, name):
    return document["components"]["schemas"][name]


def _is_datetime(prop) -> bool:
    options = prop.get("anyOf", [prop])
    return any(o.get("format") == "date-time" for o in options)


def test_document_is_valid_openapi(document):
    validate_openapi(document)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_fields_are_the_schema_properties(document, name):
    model = MODELS[name]
    schema = _schema(document, name)
    assert set(model.FIELDS) == set(schema["properties"]), name
    declared = {f.name for f in dataclasses.fields(model)}
    assert set(model.FIELDS) <= declared
    assert set(schema.get("required", [])) <= set(model.FIELDS)
    hints = typing.get_type_hints(model)
    parsed = {
        f for f in model.FIELDS if datetime in typing.get_args(hints[f]) or hints[f] is datetime
    }
    documented = {f for f, prop in schema["properties"].items() if _is_datetime(prop)}
    assert parsed == documented, name


def test_every_client_call_is_documented(document):
    for method, path, status, schema in CALLS:
        operation = document["paths"][path][method]
        content = operation["responses"][status]["content"]["application/json"]["schema"]
        assert content["$ref"].endswith("/" + schema), (method, path)


def test_every_documented_operation_is_a_client_call(document):
    """A new endpoint on the server fails here until the client covers it."""
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v4/") and path != "/api/v4/openapi.json"
    }
    assert documented == {(method, path) for method, path, _, _ in CALLS}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_unwrapped_answers_hold_only_their_items(document, name):
    schema = _schema(document, name)
    assert set(schema["properties"]) == {"results"}
    assert schema["properties"]["results"]["items"]["$ref"].endswith("/" + WRAPPERS[name])


def test_every_documented_error_status_has_an_exception_class(document):
    statuses = {
        int(status)
        for path in document["paths"].values()
        for operation in path.values()
        for status in operation["responses"]
        if int(status) >= 400
    }
    for status in statuses:
        assert status in _errors._BY_STATUS, status
    # What RateLimitError reads is what the 429 schema carries.
    assert {"limit", "retry_after", "detail"} <= set(
        _schema(document, "RateLimitedError")["properties"]
    )
