from django.urls import path

from . import views

_lead = "campaigns/<public_id:campaign_id>/leads/<row_id:pk>/"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<public_id:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<public_id:campaign_id>/leads/", views.lead_list, name="campaign_leads"),
    path(_lead, views.lead_detail, name="campaign_lead"),
    path(f"{_lead}disable/", views.lead_disable, name="campaign_lead_disable"),
    path(f"{_lead}convert/", views.lead_convert, name="campaign_lead_convert"),
    path(f"{_lead}erase/", views.lead_erase, name="campaign_lead_erase"),
]
