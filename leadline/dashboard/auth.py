"""Who may see the client dashboard, and the sign-in pages.

Client staff belong to exactly one business; every dashboard view takes that business from
`request.user` and passes it to business-scoped selectors, so an object of another business is
simply not found (404), never forbidden: its existence is not revealed. Repeated failed logins
are throttled by django-axes (settings: AXES_*), which sees these forms through its
authentication backend.

Inside a business, what a client may do depends on their business role (owner, manager,
viewer): every view also carries `permission_required(action)` from the one table in
`leadline.accounts.permissions`; a refusal is the forbidden page with a 403, before the view
runs, so nothing is changed.
"""

from collections.abc import Callable
from typing import cast

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.urls import reverse_lazy

from leadline.accounts.decorators import role_required
from leadline.accounts.http import BusinessRequest
from leadline.accounts.models import User
from leadline.accounts.permissions import View
from leadline.accounts.permissions import permission_required as _permission_required

FORBIDDEN_TEMPLATE = "dashboard/forbidden.html"


def _attach_business(request: HttpRequest) -> bool:
    """Every view scopes its lookups to `request.business`; staff of a suspended business, or
    of none, have nothing to look at."""
    user = request.user
    assert isinstance(user, User)  # role_required asks only about a signed-in client
    business = user.business
    if business is None or not business.is_active:
        return False
    cast(BusinessRequest, request).business = business  # from here on, it is one
    return True


client_required = role_required(
    User.Role.CLIENT,
    login_url="dashboard:login",
    forbidden_template=FORBIDDEN_TEMPLATE,
    admit=_attach_business,
)


def permission_required(action: str, *, read: str | None = None) -> Callable[[View], View]:
    """Under `@client_required`: only a business role allowed `action` gets through (for
    GET/HEAD, `read` when given); others get the dashboard's 403 page and nothing is done.

        @client_required
        @permission_required("suppressions.add")
        @require_POST
        def suppression_add(request): ...
    """
    return _permission_required(action, forbidden_template=FORBIDDEN_TEMPLATE, read=read)


class ClientAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.role != User.Role.CLIENT or user.business_id is None:
            raise forms.ValidationError(
                "The dashboard is for client staff; this account is not.", code="not_client"
            )


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = ClientAuthenticationForm
    next_page = "dashboard:home"  # a URL name: resolve_url() reverses it per request
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard:login"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "dashboard/password_change.html"
    success_url = reverse_lazy("dashboard:password_change_done")

    def dispatch(self, request, *args, **kwargs):
        view = permission_required("account.password")(super().dispatch)
        return client_required(view)(request, *args, **kwargs)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "dashboard/password_change_done.html"

    def dispatch(self, request, *args, **kwargs):
        view = permission_required("account.password")(super().dispatch)
        return client_required(view)(request, *args, **kwargs)
