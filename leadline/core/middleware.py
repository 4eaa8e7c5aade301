"""Security headers every response carries (the Content-Security-Policy)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


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
