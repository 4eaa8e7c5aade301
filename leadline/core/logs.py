"""Request ids and JSON log lines.

A request id names one request and the work it causes: taken from the client's
`X-Request-ID` when it is safe to echo (RequestContextMiddleware), otherwise generated,
returned in the response, stored with the outbox events the request records, and bound again
when the worker delivers them. It lives in a context variable, so every log line of the
thread (or asyncio task) that holds it carries it without being passed around.

`LEADLINE_LOG_FORMAT=json` makes every line one JSON object (JsonFormatter): timestamp,
level, logger, message, request_id, the `extra` fields of the call, and the traceback if
any. Messages are written by our code, which never formats a phone number, a token or a
secret into one (tests/test_observability_live.py scans a full run's lines for them).
"""

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

_request_id: ContextVar[str] = ContextVar("leadline_request_id", default="")

# What we accept from a client: short, and characters that cannot break a log line, a header
# or a JSON document (UUIDs, ULIDs, trace ids, `abc-123.def`).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
REQUEST_ID_MAX = 128


def request_id_clean(value: str | None) -> str:
    """The client's id if it is safe to keep, else a new one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str:
    return _request_id.get()


@contextlib.contextmanager
def request_id_bound(value: str) -> Iterator[None]:
    """Log lines inside carry `value` as their request_id (empty: none)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)


_PLAIN = (str, int, float, bool, type(None))


class RequestIdFilter(logging.Filter):
    """Puts the bound request id on each record (also for the plain format's handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _request_id.get(),
        }
        if not entry["request_id"] and record.name == "gunicorn.access":
            # gunicorn logs the access line after the response, outside the request's
            # context: the id is the one the response carries.
            with contextlib.suppress(KeyError, TypeError):
                # gunicorn's atoms mapping, which typeshed types as a tuple or a dict of str.
                entry["request_id"] = record.args["{x-request-id}o"]  # type: ignore[call-overload,index]
        for key, value in vars(record).items():
            # Plain values only: an object's repr may hold more than its logger meant to say
            # (django.request's `request` extra prints the path with its query string).
            if key not in _STANDARD and key not in entry and isinstance(value, _PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()
