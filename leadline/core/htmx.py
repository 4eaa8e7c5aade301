"""Requests made by htmx, and the answers it understands.

htmx swaps a response into part of the page, so a plain 302 to another page would land
inside that part; `HX-Redirect` makes htmx load the whole page instead.
"""

from django.http import HttpRequest, HttpResponse


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_redirect(url: str) -> HttpResponse:
    return HttpResponse(headers={"HX-Redirect": url})
