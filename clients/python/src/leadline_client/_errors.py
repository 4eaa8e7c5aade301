"""Exceptions: one base class, one class per HTTP status the server documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ._models import Problem

if TYPE_CHECKING:
    from ._models import CreateResult


class LeadlineError(Exception):
    """Base of every error this client raises."""


class APIConnectionError(LeadlineError):
    """No answer from the server (refused, reset, timed out), after the retries."""


class APITimeoutError(APIConnectionError):
    pass


class APIStatusError(LeadlineError):
    """The server answered with an error status.

    `detail` is the server's human message; `errors` the per-item problems of a 400 (empty
    otherwise); `body` the whole parsed JSON body.
    """

    status_code: int

    def __init__(self, response: httpx.Response, body: Any) -> None:
        self.response = response
        self.status_code = response.status_code
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        detail = self.body.get("detail")
        self.detail: str = str(detail) if detail is not None else response.reason_phrase
        raw = self.body.get("errors")
        self.errors: list[Problem] = [
            Problem.from_dict(p)
            for p in (raw if isinstance(raw, list) else [])
            if isinstance(p, dict)
        ]
        super().__init__(f"{self.status_code}: {self.detail}")


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: a missing, unknown or revoked token (the API answers 403, not 401)."""

    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class MethodNotAllowedError(APIStatusError):
    status_code = 405


class ConflictError(APIStatusError):
    """409: the same Idempotency-Key is still in flight, or the campaign changed meanwhile."""

    status_code = 409


class PayloadTooLargeError(APIStatusError):
    status_code = 413


class UnsupportedMediaTypeError(APIStatusError):
    status_code = 415


class UnprocessableEntityError(APIStatusError):
    """422: an Idempotency-Key reused with a different request."""

    status_code = 422


class RateLimitError(APIStatusError):
    """429 after the retries (or with a wait longer than the client will sleep)."""

    status_code = 429

    def __init__(self, response: httpx.Response, body: Any) -> None:
        super().__init__(response, body)
        self.retry_after: float | None = _retry_after(response)
        limit = self.body.get("limit")
        self.limit: int | None = limit if isinstance(limit, int) else None


class InternalServerError(APIStatusError):
    """5xx after the retries."""


class ChunkedCreateError(LeadlineError):
    """A chunk of a large create failed. `result` tells which chunks created what; pass it as
    `resume=` to `leads.create` with the same leads to send only the chunks not yet done."""

    def __init__(self, result: CreateResult, cause: Exception) -> None:
        self.result = result
        self.cause = cause
        # The failed chunk's problems; `index` is the position in the whole list you passed.
        self.errors: list[Problem] = list(cause.errors) if isinstance(cause, APIStatusError) else []
        done = sum(1 for c in result.chunks if c.done)
        super().__init__(f"{done} of {len(result.chunks)} chunks created; then: {cause}")


class WebhookVerificationError(LeadlineError):
    """A webhook's signature, secret or timestamp did not check out: do not trust its body."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: our server never sends one


def error_for(response: httpx.Response) -> APIStatusError:
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(response, body)
