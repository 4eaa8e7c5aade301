"""Health checks and JSON error pages."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from .http import json_response


def healthz(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "ok"})


def database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return False
    return True


# /readyz itself is leadline.worker.views.readyz: it also judges the worker loops' lag.


def _error_view(status: int, detail: str, page_view):
    """JSON for the API (and any client asking for JSON); Django's page for browsers."""

    def view(request, exception=None):
        wants_json = request.path_info.startswith("/api/") or "application/json" in (
            request.headers.get("Accept", "")
        )
        if wants_json:
            return json_response({"detail": detail}, status=status)
        if page_view is defaults.server_error:
            return page_view(request)
        return page_view(request, exception)

    return view


bad_request = _error_view(400, "Bad request.", defaults.bad_request)
permission_denied = _error_view(403, "Forbidden.", defaults.permission_denied)
not_found = _error_view(404, "Not found.", defaults.page_not_found)
server_error = _error_view(500, "Internal server error.", defaults.server_error)
