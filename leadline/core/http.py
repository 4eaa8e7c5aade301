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
    media_type, _, params = value.partition(";")
    media_type = media_type.strip().lower()
    if not (
        media_type == JSON_CONTENT_TYPE
        or (media_type.startswith("application/") and media_type.endswith("+json"))
    ):
        return False
    # JSON is UTF-8 (RFC 8259); a declared charset may only say so.
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip(' "').lower() not in {
            "utf-8",
            "utf8",
        }:
            return False
    return True


def read_json_body(request: HttpRequest) -> Any:
    """The request's JSON body, or a 415/413/400 ApiError saying what is wrong with it."""
    if not is_json_content_type(request.headers.get("Content-Type", "")):
        raise UnsupportedMediaType("Content-Type must be application/json (UTF-8).")
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
        error = exc
    # The reference's own curl example for create continues lines with a backslash inside
    # $'...', so bash sends backslash-newline pairs between JSON tokens. That pair can never
    # occur in valid JSON (not even inside a string), so dropping it changes no valid document.
    if b"\\\n" in raw:
        try:
            return orjson.loads(raw.replace(b"\\\r\n", b"").replace(b"\\\n", b""))
        except orjson.JSONDecodeError:
            pass
    raise BadRequest(f"Request body is not valid JSON: {error.msg}.") from None
