"""The business's erasure receipts."""

from django.urls import path

from . import views

urlpatterns = [
    path("erasures/", views.erasure_list, name="erasures"),
    path("erasures/<uuid:receipt_id>/", views.erasure_detail, name="erasure"),
]
