"""The gateway in front of the Leads API: path spelling, authentication, rate limits, JSON errors.

Doing this in one middleware (rather than per endpoint) means every API response, including an
unknown path or a wrong method, is authenticated, counted against the business's budget,
carries the RateLimit headers and is JSON.
"""

import io
import ipaddress
import logging
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from leadline.core import metrics
from leadline.core.errors import ApiError, AuthenticationFailed, PayloadTooLarge, RateLimited
from leadline.core.http import error_response, json_response

from . import ratelimit
from .audit import api_call_record
from .http import ApiRequest
from .selectors import api_token_authenticate
from .services import api_token_touch

logger = logging.getLogger(__name__)

API_ROOT = "/api/"
API_V4 = "/api/v4/"
PUBLIC_PATHS = frozenset({"/api/v4/openapi.json", "/api/v4/docs", "/api/v4/docs/"})
# Sections of the API whose paths are served with or without their trailing slash.
SLASH_OPTIONAL = ("leads", "suppressions")


def _slashless(path: str) -> bool:
    """A path of a SLASH_OPTIONAL section written without its trailing slash
    (`/api/v4/suppressions`, `/api/v4/leads/create/0PT711`)."""
    if not path.startswith(API_V4) or path.endswith("/"):
        return False
    return path[len(API_V4) :].split("/", 1)[0] in SLASH_OPTIONAL


def client_address(request: HttpRequest) -> str:
    hops = settings.LEADLINE_TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "unknown")


def login_client_ip(request: HttpRequest) -> str | None:
    """`client_address` for django-axes, which stores it in an IP column: None unless valid
    (a forged X-Forwarded-For hop or a request without REMOTE_ADDR must not crash a login)."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def bearer_secret(request: HttpRequest) -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def read_chunked_body(request: HttpRequest) -> None:
    """Make a chunked body (no Content-Length) visible to Django, which would read it as empty."""
    if (
        "CONTENT_LENGTH" in request.META
        or "chunked" not in request.headers.get("Transfer-Encoding", "").lower()
    ):
        return
    # Served by gunicorn's WSGI workers only (there is no ASGI entry point).
    assert isinstance(request, WSGIRequest)
    limit = settings.LEADLINE_MAX_BODY_BYTES
    # gunicorn de-chunks wsgi.input; read one byte past the limit to detect an oversize body.
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = io.BytesIO(body)
    # HttpRequest's own flag for a consumed stream, which django-stubs do not declare.
    request._read_started = False  # type: ignore[attr-defined]


class ApiGatewayMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    # Django passes a plain request; for /api/ paths this sets what ApiRequest declares.
    def __call__(self, request: ApiRequest) -> HttpResponseBase:
        path = request.path_info
        if not path.startswith(API_ROOT):
            return self.get_response(request)
        request.ratelimit_status = None
        # Bearer tokens, not cookies, authenticate the API: CSRF cannot apply to it.
        request._dont_enforce_csrf_checks = True
        if _slashless(path):
            # Both spellings of a documented path are served, without a redirect.
            request.path_info = path + "/"
        try:
            if path.startswith(API_V4) and path not in PUBLIC_PATHS:
                self._authenticate(request)
            read_chunked_body(request)
            response = self.get_response(request)
        except ApiError as exc:
            response = error_response(exc)
        # The audit trail's one point for the API: every authenticated call that changed data.
        api_call_record(request, response)
        response = self._as_json(response)
        if request.ratelimit_status is not None:
            for name, value in request.ratelimit_status.headers().items():
                response[name] = value
        return response

    def _authenticate(self, request: ApiRequest) -> None:
        token = api_token_authenticate(secret=bearer_secret(request))
        if token is None:
            _count(
                request,
                key=f"authfail:{client_address(request)}",
                limit=settings.LEADLINE_AUTH_FAILURES_PER_MINUTE,
                policy="auth-failures",
                refusal="Too many failed authentications from this address",
            )
            raise AuthenticationFailed()
        business = token.business
        _count(
            request,
            key=f"business:{business.pk}",
            limit=business.rate_limit_per_minute,
            policy="business",
            refusal=f"Rate limit of {business.rate_limit_per_minute} requests per minute exceeded",
        )
        api_token_touch(token=token)
        request.api_token = token
        request.business = business

    @staticmethod
    def _as_json(response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code < 400 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        status = response.status_code
        detail = {
            404: "Not found.",
            405: "Method not allowed.",
        }.get(status) or HTTPStatus(status).phrase + "."
        converted = json_response({"detail": detail}, status=status)
        if response.has_header("Allow"):
            converted["Allow"] = response["Allow"]
        return converted


def _count(request: ApiRequest, *, key: str, limit: int, policy: str, refusal: str) -> None:
    """Count the request against `key`'s budget (its headers go out either way); 429 past it."""
    status = ratelimit.hit(key=key, limit=limit, policy=policy)
    request.ratelimit_status = status
    if not status.allowed:
        metrics.RATE_LIMIT_REJECTIONS.labels(policy).inc()
        raise RateLimited(
            f"{refusal}; retry in {status.reset_seconds} seconds.",
            extra={"limit": status.limit, "retry_after": status.reset_seconds},
        )
