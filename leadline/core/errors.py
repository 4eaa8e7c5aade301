"""Domain errors that carry their HTTP status; one handler renders them as JSON."""

from typing import Any


class ApiError(Exception):
    """An error a client caused (or may retry); rendered as {"detail": ..., **extra}."""

    status = 400
    default_detail = "Bad request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, **self.extra}


class BadRequest(ApiError):
    status = 400


class AuthenticationFailed(ApiError):
    # The Leads API v4 answers 403 (not 401) when the bearer token is missing or wrong.
    status = 403
    default_detail = "Authentication credentials were not provided or are not valid."


class NotFound(ApiError):
    status = 404
    default_detail = "Not found."


class Conflict(ApiError):
    status = 409
    default_detail = "Conflict."


class PayloadTooLarge(ApiError):
    status = 413
    default_detail = "Request body is too large."


class UnsupportedMediaType(ApiError):
    status = 415
    default_detail = "Content-Type must be application/json."


class Unprocessable(ApiError):
    status = 422
    default_detail = "Unprocessable request."


class RateLimited(ApiError):
    status = 429
    default_detail = "Rate limit exceeded."


class ServiceUnavailable(ApiError):
    # An outside service we depend on (a telephony provider) failed; the client may retry.
    status = 503
    default_detail = "A service Leadline depends on is unavailable; try again shortly."
