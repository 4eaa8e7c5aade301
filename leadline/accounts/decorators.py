"""One sign-in gate for the browser areas (the dashboard for client staff, the console for reps).

Each area names the role it serves, its own login page and its own "not for you" page; the
API authenticates with tokens instead and never goes through here.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render, resolve_url

from leadline.core.htmx import htmx_redirect, is_htmx

from .models import User

# The decorated view keeps its own signature (its request type says what `admit` attached).
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def role_required(
    role: User.Role,
    *,
    login_url: str,
    forbidden_template: str,
    admit: Callable[[HttpRequest], bool] | None = None,
) -> Callable[[View], View]:
    """Let through signed-in users of `role`; others go to `login_url` or get a 403 page.

    `login_url` is a URL or a URL name, resolved per request (URLconfs load after this).
    `admit`, when given, is asked last about a user of the right role: it may refuse (False,
    the 403 page) or attach what the views need to the request.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                url = resolve_url(login_url)
                if is_htmx(request):
                    # A poll or boosted click after the session ended: reload into the login.
                    return htmx_redirect(url)
                return redirect_to_login(request.get_full_path(), url)
            if user.role != role or (admit is not None and not admit(request)):
                return render(request, forbidden_template, status=403)
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorator
