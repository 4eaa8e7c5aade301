"""The OpenAPI document of the Leads API against the reference and against real responses.

The endpoints render their own JSON, so nothing at run time ties the schemas to the bodies;
these tests do. Every example of `leads-api-v4.md` is validated against the schema of the
operation and status it documents (response examples also without additionalProperties, so a
dropped or renamed key fails), and a walk through the API validates what the server sends.
"""

import ast
import copy
import re
from urllib.parse import parse_qsl, quote, urlsplit

import orjson
import pytest
from django.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.spec import REFERENCE, Section, parse_sections

OPENAPI_URL = "/api/v4/openapi.json"
DOCUMENT_URI = "urn:leadline:openapi"
# The reference's webhook section, by the name the document gives the webhook.
WEBHOOKS = {"## Lead Processed Webhook": "leadProcessed"}
# Keys such as "{custom_field_1}" stand for any custom field of a lead.
PLACEHOLDER_KEY = re.compile(r"^\{[^}]+\}$")


@pytest.fixture(scope="module")
def document():
    response = Client().get(OPENAPI_URL)
    assert response.status_code == 200
    return orjson.loads(response.content)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)


def _validator(document: dict, *parts: str) -> Draft202012Validator:
    """Validates against the schema at `parts` of the document, $refs resolved in it."""
    registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": DOCUMENT_URI + _pointer(*parts)}, registry=registry)


def _closed(document: dict) -> dict:
    """The document with every declared object closed to keys it does not declare."""
    closed = copy.deepcopy(document)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(closed["components"])
    return closed


def _errors(document: dict, instance, *parts: str) -> list[str]:
    validator = _validator(document, *parts)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


# --- the reference's examples ---------------------------------------------------------------


def _python_request(code: str) -> tuple[object, dict[str, str]]:
    """The body (`payload`) and query (`url` and `params`) of a ```python example."""
    names = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # `response = requests.post(...)`
    query = dict(parse_qsl(urlsplit(names["url"]).query))
    return names.get("payload"), {**query, **names.get("params", {})}


def _shell_request(code: str) -> tuple[object, dict[str, str]]:
    """The body (--data / --data-binary) and URL query of a ```shell example."""
    url = re.search(r"""['"](https?://[^'"]+)['"]""", code).group(1)
    data = re.search(r"--data(?:-binary)? \$?'(.*?)'", code, re.DOTALL)
    # Within $'...' bash keeps backslash-newline, which the server drops (core.http).
    body = orjson.loads(data.group(1).replace("\\\n", "")) if data else None
    return body, dict(parse_qsl(urlsplit(url).query))


def _spec_examples() -> list[tuple[str, Section, str, object]]:
    """(id, section, kind, value): kind is response, webhook, request or query."""
    if not REFERENCE.exists():
        return []
    examples = []
    for section in parse_sections(REFERENCE.read_text(encoding="utf-8")):
        for n, (language, code) in enumerate(section.blocks):
            name = f"{section.heading[3:]} #{n} {language}"
            if language == "json":
                kind = "response" if section.path.startswith("/api/") else "webhook"
                examples.append((name, section, kind, orjson.loads(code)))
                continue
            body, query = (_python_request if language == "python" else _shell_request)(code)
            if body is not None:
                examples.append((name + " body", section, "request", body))
            if query:
                examples.append((name + " query", section, "query", query))
    return examples


SPEC_EXAMPLES = _spec_examples()
ENDPOINTS = [
    s
    for s in (parse_sections(REFERENCE.read_text(encoding="utf-8")) if REFERENCE.exists() else [])
    if s.path.startswith("/api/")
]


def test_reference_found_with_its_examples():
    assert REFERENCE.exists(), f"the reference is expected at {REFERENCE}"
    kinds = [kind for _, _, kind, _ in SPEC_EXAMPLES]
    # 2 JSON bodies, 6 endpoints x (python + shell) request bodies but GET, 2 GET queries.
    assert (kinds.count("response"), kinds.count("webhook")) == (1, 1)
    assert (kinds.count("request"), kinds.count("query")) == (10, 2)
    assert len(ENDPOINTS) == 6


def _operation_parts(section: Section) -> tuple[str, ...]:
    if section.heading in WEBHOOKS:
        return ("webhooks", WEBHOOKS[section.heading], section.method.lower())
    return ("paths", section.path, section.method.lower())


def _media(*parts: str) -> tuple[str, ...]:
    return (*parts, "content", "application/json", "schema")


@pytest.mark.parametrize(
    ("section", "kind", "value"),
    [pytest.param(s, k, v, id=i) for i, s, k, v in SPEC_EXAMPLES],
)
def test_reference_example_matches_the_schema(document, section, kind, value):
    operation = _operation_parts(section)
    if kind == "query":
        declared = {
            p["name"]: i
            for i, p in enumerate(_resolve(document, *operation)["parameters"])
            if p["in"] == "query"
        }
        assert set(value) <= set(declared), f"undeclared query parameters in {value}"
        for name, text in value.items():
            path = (*operation, "parameters", str(declared[name]), "schema")
            assert not _errors(document, text, *path), name
        return
    if kind == "response":
        parts = _media(*operation, "responses", str(section.success))
    else:  # the body of a request to us, or of the webhook request we send
        parts = _media(*operation, "requestBody")
    assert not _errors(document, value, *parts)
    # Closed objects: each key the reference shows must be one the schema declares.
    if kind == "request":
        value = _without_placeholder_keys(value)
    assert not _errors(_closed(document), value, *parts)


def _without_placeholder_keys(value):
    if isinstance(value, list):
        return [_without_placeholder_keys(v) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not PLACEHOLDER_KEY.match(k)}
    return value


def _resolve(document: dict, *parts: str):
    node = document
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    while isinstance(node, dict) and "$ref" in node:
        node = _resolve(document, *node["$ref"].removeprefix("#/").split("/"))
    return node


@pytest.mark.parametrize("section", ENDPOINTS, ids=lambda s: s.heading[3:])
def test_every_status_of_the_reference_is_documented(document, section):
    responses = _resolve(document, *_operation_parts(section), "responses")
    assert {str(s) for s in section.statuses} <= set(responses)


# --- the document itself --------------------------------------------------------------------


def test_document_is_valid_openapi(document):
    validate_openapi(document)


def test_every_leads_route_has_a_response_schema_per_status(document):
    routes = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/v4/leads/")}
    # the reference's six, the erasure receipt and the dry run of create (check)
    assert len(routes) == 8
    for path, operations in routes.items():
        for method, operation in operations.items():
            assert operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                resolved = _resolve(document, *_media("paths", path, method, "responses", status))
                assert schema and resolved.get("properties"), (path, method, status)


def test_document_examples_match_their_schemas(document):
    checked = 0
    for root in ("paths", "webhooks"):
        for path, operations in document[root].items():
            for method, operation in operations.items():
                media = [("requestBody",)] if "requestBody" in operation else []
                media += [("responses", status) for status in operation["responses"]]
                for where in media:
                    content = _resolve(document, root, path, method, *where).get("content", {})
                    for name, example in (
                        content.get("application/json", {}).get("examples", {}).items()
                    ):
                        parts = _media(root, path, method, *where)
                        assert not _errors(document, example["value"], *parts), (path, name)
                        checked += 1
    assert checked > 40


# --- what the server really sends -----------------------------------------------------------


def _conforms(document, template: str, method: str, response) -> None:
    status = str(response.status_code)
    responses = document["paths"][template][method]["responses"]
    assert status in responses, f"{method} {template} answered undocumented {status}"
    body = orjson.loads(response.content)
    parts = _media("paths", template, method, "responses", status)
    assert not _errors(document, body, *parts), (template, status, body)


def test_real_responses_match_their_schemas(document, api, client, campaign, settings):
    path = "/api/v4/leads/{}/" + campaign.public_id + "/"
    lead = {"lead_id": "a", "phone_number": "9876543210", "contact_name": "A", "city": "Pune"}
    walk = [
        ("create", "post", api.post(path.format("create"), [lead, {**lead, "lead_id": 2}])),
        ("create", "post", api.post(path.format("create"), [lead, {"lead_id": 3}])),
        ("create", "post", api.post(path.format("create"), lead, content_type="text/plain")),
        ("create", "post", api.post(path.format("create"), raw=b"[1,")),
        ("responses", "get", api.get(path.format("responses"))),
        ("responses", "get", api.get(path.format("responses"), {"page_size": "x"})),
        ("responses", "get", api.get(path.format("responses"), {"page": "9"})),
        ("responses", "get", client.get(path.format("responses"))),
        ("disable", "post", api.post(path.format("disable"), [{"lead_id": 2}])),
        ("disable", "post", api.post(path.format("disable"), {"lead_id": "nope"})),
        ("update", "patch", api.patch(path.format("update"), {"lead_id": "a", "plan": "gold"})),
        ("update", "patch", api.patch(path.format("update"), {"lead_id": "a", "phone_number": 1})),
        ("convert", "post", api.post(path.format("convert"), {"lead_id": "a", "detail": "X"})),
        ("convert", "post", api.post(path.format("convert"), {"lead_id": "a"})),
        ("delete", "post", api.post(path.format("delete"), {"lead_id": "a"})),
        ("delete", "post", api.post(path.format("delete"), {"lead_id": "a"})),
        ("delete", "post", api.post(path.format("delete"), {})),
        ("delete", "post", api.post(path.format("delete") + "?suppress=yes", {"lead_id": "a"})),
    ]
    receipt_id = walk[-4][2].json()["receipt_id"]
    receipts = [
        api.get(f"/api/v4/leads/erasures/{receipt_id}/"),
        api.get("/api/v4/leads/erasures/not-a-receipt/"),
    ]
    key = {"Idempotency-Key": "k1"}
    api.post(path.format("delete"), {"lead_id": 2}, headers=key)
    walk.append(("delete", "post", api.post(path.format("delete"), {"lead_id": 3}, headers=key)))
    settings.LEADLINE_MAX_LEADS_PER_REQUEST = 1
    walk.append(("create", "post", api.post(path.format("create"), [lead, lead])))
    campaign.business.rate_limit_per_minute = 1
    campaign.business.save()
    walk.append(("convert", "post", api.post(path.format("convert"), {"lead_id": 2})))
    statuses = set()
    for action, method, response in walk:
        template = "/api/v4/leads/" + action + "/{campaign_id}/"
        _conforms(document, template, method, response)
        statuses.add(response.status_code)
    for response in receipts:
        _conforms(document, "/api/v4/leads/erasures/{receipt_id}/", "get", response)
    assert [r.status_code for r in receipts] == [200, 404]
    assert statuses == {200, 201, 202, 400, 403, 404, 413, 415, 422, 429}
