"""Security headers every response carries (the Content-Security-Policy); the request id
and the HTTP metrics."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve

from . import metrics
from .logs import request_id_bound, request_id_clean


class ContentSecurityPolicyMiddleware:
    """Sets `Content-Security-Policy` on every response a view did not give its own.

    The policy comes from `LEADLINE_CSP`; `LEADLINE_CSP_PATHS` gives a path prefix a policy of
    its own (the API docs, whose Swagger UI needs `data:` images). First in the stack, so the
    API gateway's own answers (403/429) carry it too. Our pages need no inline script or style
    (htmx's injected indicator style is switched off in core/_htmx.html), so a script injected
    through a template bug does not run.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy: str = settings.LEADLINE_CSP
        # Longest prefix first, so a narrower path wins over a wider one.
        self.by_prefix: list[tuple[str, str]] = sorted(
            settings.LEADLINE_CSP_PATHS.items(), key=lambda item: len(item[0]), reverse=True
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy_for(request.path_info)
        return response

    def policy_for(self, path: str) -> str:
        for prefix, policy in self.by_prefix:
            if path.startswith(prefix):
                return policy
        return self.policy


class RequestContextMiddleware:
    """The request id (X-Request-ID in and out, bound to the log context) and the HTTP metrics.

    Outermost of all, so the id is bound for every log line of the request and the
    latency counts everything, including the API gateway's own 401/429 answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        # The admin lives at a path kept out of sight (LEADLINE_ADMIN_PATH): labels say admin/.
        self.admin_prefix: str = settings.LEADLINE_ADMIN_PATH
        self.static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_clean(request.headers.get("X-Request-ID"))
        started = time.perf_counter()
        with request_id_bound(request_id):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = self.route(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(route, method).observe(elapsed)
        response["X-Request-ID"] = request_id
        return response

    def route(self, request: HttpRequest) -> str:
        """The URL pattern that served the request (never the raw path: no ids in labels)."""
        match = getattr(request, "resolver_match", None)
        if match is None:
            if request.path_info.startswith(self.static_prefix):
                return "static"  # WhiteNoise answers these before any URL resolution
            # Answered before URL resolution (the API gateway's 401/429): resolve it here.
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return "unmatched"
        route = match.route or "unmatched"
        if route.startswith(self.admin_prefix):
            route = "admin/" + route[len(self.admin_prefix) :]
        return route


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
