"""Types of the requests our code ties to a business, for views and middleware to annotate.

Django builds plain `HttpRequest`s; these subclasses only declare the attributes that code
adds to them, so mypy checks their use. Nothing is ever instantiated as one of these.
"""

from django.http import HttpRequest

from .models import ApiToken, Business, User
from .ratelimit import RateLimitStatus


class BusinessRequest(HttpRequest):
    """A request acting for one business: `business` is set before the view runs."""

    business: Business


class RepRequest(HttpRequest):
    """A request the console's `rep_required` let through: `user` is a signed-in rep."""

    user: User


class ApiRequest(BusinessRequest):
    """A request through the API gateway (accounts.middleware.ApiGatewayMiddleware).

    `ratelimit_status` is set on every /api/ request (None until a limit is counted);
    `api_token` and `business` once the bearer token is accepted, which every /api/v4/ path
    but the public OpenAPI ones requires.
    """

    api_token: ApiToken
    ratelimit_status: RateLimitStatus | None
    # Read by django.middleware.csrf.CsrfViewMiddleware (absent from django-stubs).
    _dont_enforce_csrf_checks: bool
