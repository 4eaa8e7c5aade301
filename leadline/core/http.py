"""JSON in and out of the API, fast (orjson) and strict about what a client sends."""

from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from .errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON_CONTENT_TYPE = "application/json"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        orjson.dumps(data), status=status, content_type=JSON_CONTENT_TYPE, headers=headers
    )
    return response


def error_response(error: ApiError) -> HttpResponse:
    return json_response(error.body(), status=error.status, headers=error.headers)


def is_json_content_type(value: str) -> bool:
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == JSON_CONTENT_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def read_json_body(request: HttpRequest) -> Any:
    """The request's JSON body, or a 415/413/400 ApiError saying what is wrong with it."""
    if not is_json_content_type(request.headers.get("Content-Type", "")):
        raise UnsupportedMediaType()
    limit = settings.LEADLINE_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number.") from None
    if declared > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.") from None
    if not raw.strip():
        raise BadRequest("Request body is empty; a JSON document is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc.msg}.") from None
