from django.urls import path

from leadline.core import converters  # noqa: F401  (registers row_id, public_id)

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("campaigns/<public_id:public_id>/", views.campaign, name="campaign"),
    path("next/", views.next_lead, name="next"),
    path("state/", views.state, name="state"),
    path("floor/", views.floor_page, name="floor"),
    path("floor/board/", views.floor_board, name="floor_board"),
    path("floor.json", views.floor_json, name="floor_json"),
    path("floor/reps/<row_id:rep_id>/force/", views.floor_force, name="floor_force"),
    path(
        "floor/callbacks/<row_id:lead_pk>/reassign/",
        views.floor_reassign,
        name="floor_reassign",
    ),
    path("reports/", views.reports_page, name="reports"),
    path("reports/reps.csv", views.reports_reps_csv, name="reports_reps_csv"),
    path("reports/campaigns.csv", views.reports_campaigns_csv, name="reports_campaigns_csv"),
    path("heartbeat/", views.heartbeat, name="heartbeat"),
    path("leads/<row_id:lead_pk>/skip/", views.skip, name="skip"),
    path("leads/<row_id:lead_pk>/", views.lead, name="lead"),
    path("leads/<row_id:lead_pk>/call/", views.call, name="call"),
    path("calls/<uuid:attempt_uuid>/status/", views.call_status, name="call_status"),
    path("calls/<uuid:attempt_uuid>/disposition/", views.disposition, name="disposition"),
]
