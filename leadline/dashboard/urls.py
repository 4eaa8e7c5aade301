"""The client dashboard under /voice/dashboard/ (the spec's "Dashboard's integrations page").

Each area keeps its own URL list, prefixed there, and every name lives in the one
`dashboard` namespace, so templates say `{% url 'dashboard:integrations' %}`.
"""

from django.urls import path

# Registers the path converters (row_id, public_id) the area URL lists below use.
from leadline.core import converters  # noqa: F401

from . import auth, views
from .audit.urls import urlpatterns as audit_urls
from .campaigns.urls import urlpatterns as campaign_urls
from .donotcall.urls import urlpatterns as do_not_call_urls
from .erasures.urls import urlpatterns as erasure_urls
from .integrations.urls import urlpatterns as integration_urls
from .transfers.urls import urlpatterns as transfer_urls

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth.PasswordChangeDoneView.as_view(), name="password_change_done"),
    *integration_urls,
    *campaign_urls,
    *transfer_urls,
    *do_not_call_urls,
    *audit_urls,
    *erasure_urls,
]
