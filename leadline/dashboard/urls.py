"""The client dashboard under /voice/dashboard/ (the spec's "Dashboard's integrations page").

Each area keeps its own URL list, prefixed there, and every name lives in the one
`dashboard` namespace, so templates say `{% url 'dashboard:integrations' %}`.
"""

from django.urls import path, register_converter

from . import auth, views
from .campaigns.urls import urlpatterns as campaign_urls
from .integrations.urls import urlpatterns as integration_urls
from .transfers.urls import urlpatterns as transfer_urls


class PkConverter:
    # At most 18 digits: always inside a 64-bit integer column, so a silly id is a 404,
    # never a database overflow.
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class PublicIdConverter:
    regex = "[0-9A-Za-z]{1,12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PkConverter, "dash_pk")
register_converter(PublicIdConverter, "dash_campaign")

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
]
