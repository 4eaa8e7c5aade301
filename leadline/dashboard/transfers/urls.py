"""CSV upload of leads and CSV export of results, under a campaign's dashboard pages."""

from django.urls import path

from . import views

_campaign = "campaigns/<public_id:campaign_id>/"
_import = f"{_campaign}imports/<row_id:import_id>/"

urlpatterns = [
    path(f"{_campaign}upload/", views.lead_upload, name="lead_upload"),
    path(_import, views.lead_import, name="lead_import"),
    path(f"{_import}import-valid/", views.lead_import_valid_rows, name="lead_import_valid_rows"),
    path(f"{_import}cancel/", views.lead_import_cancel, name="lead_import_cancel"),
    path(f"{_import}problems.csv", views.lead_import_problems, name="lead_import_problems"),
    path(f"{_campaign}export.csv", views.results_export, name="results_export"),
]
