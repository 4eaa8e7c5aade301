"""Ninja plumbing shared by every router: auth, error rendering, JSON output, OpenAPI."""

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.renderers import BaseRenderer
from ninja.schema import NinjaGenerateJsonSchema
from ninja.security import HttpBearer
from pydantic import BaseModel

from .errors import ApiError, AuthenticationFailed, BadRequest, NotFound
from .http import JSON_CONTENT_TYPE, error_response, json_response

logger = logging.getLogger(__name__)


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data)


class BusinessBearer(HttpBearer):
    """Bearer auth for OpenAPI; the gateway middleware has already checked the token."""

    def authenticate(self, request: HttpRequest, token: str) -> object | None:
        return getattr(request, "business", None)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc)

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(AuthenticationFailed())

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(BadRequest("Invalid request.", extra={"errors": exc.errors}))

    @api.exception_handler(Http404)
    def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(NotFound())

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return json_response({"detail": str(exc)}, status=exc.status_code)

    @api.exception_handler(Exception)
    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Never a traceback to the client; the log has the type and place, not the payload.
        logger.exception("unhandled error in %s %s", request.method, request.path_info)
        return json_response({"detail": "Internal server error."}, status=500)


# --- the OpenAPI document ---------------------------------------------------------------------


class DocumentedNinjaAPI(NinjaAPI):
    """A NinjaAPI whose OpenAPI document also holds models that only `openapi_extra` names.

    Request bodies are validated by hand, so no view parameter declares their models and Ninja
    would leave them out of `components`; `openapi_models` puts them (and their $defs) in.
    """

    def __init__(
        self, *args: Any, openapi_models: tuple[type[BaseModel], ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.openapi_models = openapi_models

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = document["components"]["schemas"]
        for model in self.openapi_models:
            schema = model.model_json_schema(
                ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema
            )
            for name, definition in schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, schema)
        return document


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def json_content(schema: dict[str, Any] | None, examples: dict[str, Any]) -> dict[str, Any]:
    """An `application/json` media type; `examples` maps a name to one example value."""
    media: dict[str, Any] = {} if schema is None else {"schema": schema}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {JSON_CONTENT_TYPE: media}


MAX_BODY_BYTES = settings.LEADLINE_MAX_BODY_BYTES
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first answer to a key is replayed for 24 hours to "
    "the same request (with `Idempotent-Replayed: true`); the key with another request gets "
    "422, and while the first is still running, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

# Answers that do not depend on the endpoint: the gateway's (403, 429), the body reader's (413,
# 415) and Idempotency-Key's (409, 422). The texts are the ones those places send.
COMMON_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    403: (
        "The bearer token is missing or wrong (answered by the API gateway).",
        {"not authenticated": AuthenticationFailed().body()},
    ),
    409: (
        "A request with the same Idempotency-Key is still running.",
        {"in progress": {"detail": "A request with this Idempotency-Key is still in progress."}},
    ),
    413: (
        "The body is larger than the server accepts, or has too many leads.",
        {"too large": {"detail": f"Request body is larger than {MAX_BODY_BYTES} bytes."}},
    ),
    415: (
        "The Content-Type is not JSON (UTF-8).",
        {"not json": {"detail": "Content-Type must be application/json (UTF-8)."}},
    ),
    422: (
        "The Idempotency-Key was already used with a different request.",
        {
            "key reused": {
                "detail": "This Idempotency-Key was already used with a different request."
            }
        },
    ),
    429: (
        "The business's requests per minute (or failed authentications from this address) "
        "are used up (answered by the API gateway).",
        {
            "rate limited": {
                "detail": "Rate limit of 100 requests per minute exceeded; retry in 42 seconds.",
                "limit": 100,
                "retry_after": 42,
            }
        },
    ),
}
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
    "RateLimit": {
        "description": 'Remaining budget, e.g. `"business";r=0;t=42`.',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The budget, e.g. `"business";q=100;w=60`.',
        "schema": {"type": "string"},
    },
}


def documented_responses(
    statuses: Iterable[int], examples: dict[int, tuple[str, dict[str, Any]]]
) -> dict[int, Any]:
    """Descriptions and examples of each status, to merge into what Ninja generates.

    `examples` gives an endpoint's own (description, {name: body}) per status and wins over
    COMMON_ERRORS; the schemas come from the operation's `response` models.
    """
    responses: dict[int, Any] = {}
    for status in statuses:
        description, named = examples.get(status) or COMMON_ERRORS.get(status) or ("", {})
        response: dict[str, Any] = {"content": json_content(None, named)}
        if description:
            response["description"] = description
        if status == 429:
            response["headers"] = RATE_LIMIT_HEADERS
        responses[status] = response
    return responses


def operation_docs(
    docs: dict[Any, Any], statuses: Iterable[int], *, idempotent: bool = False
) -> dict[str, Any]:
    """`openapi_extra` of an operation: its request body, status texts and examples.

    `docs` maps "body" to (model, description, {name: example}) and a status to (description,
    {name: body}); Ninja merges the result into the operation it generates.
    """
    own = {status: value for status, value in docs.items() if isinstance(status, int)}
    extra: dict[str, Any] = {"responses": documented_responses(statuses, own)}
    if "body" in docs:
        model, description, examples = docs["body"]
        extra["requestBody"] = {
            "required": True,
            "description": description,
            "content": json_content(schema_ref(model), examples),
        }
    if idempotent:
        extra["parameters"] = [IDEMPOTENCY_KEY_PARAMETER]
    return extra
