"""Health checks and JSON error pages."""

from django.db import connection
from django.http import HttpRequest, HttpResponse

from .http import json_response


def healthz(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})


def _error_view(status: int, detail: str):
    def view(request, exception=None):
        return json_response({"detail": detail}, status=status)

    return view


bad_request = _error_view(400, "Bad request.")
permission_denied = _error_view(403, "Forbidden.")
not_found = _error_view(404, "Not found.")
server_error = _error_view(500, "Internal server error.")
