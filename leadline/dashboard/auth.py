"""Who may see the client dashboard, and the sign-in pages.

Client staff belong to exactly one business; every dashboard view takes that business from
`request.user` and passes it to business-scoped selectors, so an object of another business is
simply not found (404), never forbidden: its existence is not revealed. Repeated failed logins
are throttled by django-axes (settings: AXES_*), which sees these forms through its
authentication backend.
"""

from functools import wraps

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy

from leadline.accounts.models import User


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def client_required(view):
    """Signed-in client staff of an active business; `request.business` is set for the view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            login_url = reverse("dashboard:login")
            if is_htmx(request):
                # A poll or boosted click after the session ended: reload into the login form.
                return HttpResponse(headers={"HX-Redirect": login_url})
            return redirect_to_login(request.get_full_path(), login_url)
        business = user.business if user.role == User.Role.CLIENT else None
        if business is None or not business.is_active:
            return render(request, "dashboard/forbidden.html", status=403)
        request.business = business
        return view(request, *args, **kwargs)

    return wrapper


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
    next_page = reverse_lazy("dashboard:home")
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboard:login")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "dashboard/password_change.html"
    success_url = reverse_lazy("dashboard:password_change_done")

    def dispatch(self, request, *args, **kwargs):
        return client_required(super().dispatch)(request, *args, **kwargs)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "dashboard/password_change_done.html"

    def dispatch(self, request, *args, **kwargs):
        return client_required(super().dispatch)(request, *args, **kwargs)
