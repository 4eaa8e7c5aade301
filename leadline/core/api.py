"""Ninja plumbing shared by every router: auth, error rendering, JSON output."""

import logging
from typing import Any

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import BaseRenderer
from ninja.security import HttpBearer

from .errors import ApiError, AuthenticationFailed, BadRequest, NotFound
from .http import error_response, json_response

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
