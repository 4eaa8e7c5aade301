from django.urls import path, register_converter

from . import views


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


register_converter(PkConverter, "console_pk")
register_converter(PublicIdConverter, "public_id")

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("campaigns/<public_id:public_id>/", views.campaign, name="campaign"),
    path("next/", views.next_lead, name="next"),
    path("leads/<console_pk:lead_pk>/", views.lead, name="lead"),
    path("leads/<console_pk:lead_pk>/call/", views.call, name="call"),
    path("calls/<uuid:attempt_uuid>/status/", views.call_status, name="call_status"),
    path("calls/<uuid:attempt_uuid>/disposition/", views.disposition, name="disposition"),
]
