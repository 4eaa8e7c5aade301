"""How the services' errors reach a client on the dashboard.

A lookup that finds nothing is a 404 page, whether the object does not exist or belongs to
another business, so no page reveals which. A change a service refuses is not an error page:
its `ApiError` detail is shown as a message on the page the browser is sent back to.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.contrib import messages
from django.http import Http404, HttpRequest

from leadline.core.errors import ApiError, NotFound

T = TypeVar("T")


def found(lookup: Callable[..., T], /, *, missing: str | None = None, **kwargs) -> T:
    """`lookup(**kwargs)`, or a 404 (saying `missing`, when given) if it finds nothing."""
    try:
        return lookup(**kwargs)
    except NotFound:
        raise (Http404() if missing is None else Http404(missing)) from None


@contextmanager
def service_messages(request: HttpRequest, success: str) -> Iterator[None]:
    """Say `success` if the block completes; if a service in it refuses, say why instead."""
    try:
        yield
    except ApiError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, success)
