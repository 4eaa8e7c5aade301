from django.urls import path

from . import views

# A lead's page is addressed by the client's own lead_id, so a CRM can link to it: any
# characters, slashes included (`path`), URL-escaped in links. Pages of our own (a tombstone,
# which has no lead_id left) and the actions use the row id, under another prefix so that no
# lead_id, whatever it is, can collide with them.
_row = "campaigns/<public_id:campaign_id>/lead-rows/<row_id:pk>/"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<public_id:campaign_id>/", views.campaign_detail, name="campaign"),
    path(
        "campaigns/<public_id:campaign_id>/report/", views.campaign_report, name="campaign_report"
    ),
    path(
        "campaigns/<public_id:campaign_id>/report.csv",
        views.campaign_report_csv,
        name="campaign_report_csv",
    ),
    path("campaigns/<public_id:campaign_id>/leads/", views.lead_list, name="campaign_leads"),
    path(
        "campaigns/<public_id:campaign_id>/leads/<path:lead_id>/",
        views.lead_detail,
        name="campaign_lead",
    ),
    path(_row, views.lead_row, name="campaign_lead_row"),
    path(f"{_row}disable/", views.lead_disable, name="campaign_lead_disable"),
    path(f"{_row}convert/", views.lead_convert, name="campaign_lead_convert"),
    path(f"{_row}erase/", views.lead_erase, name="campaign_lead_erase"),
]
