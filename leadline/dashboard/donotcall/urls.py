"""The business's do-not-call list."""

from django.urls import path

from . import views

_base = "do-not-call/"

urlpatterns = [
    path(_base, views.dnc_list, name="do_not_call"),
    path(f"{_base}search/", views.dnc_search, name="do_not_call_search"),
    path(f"{_base}add/", views.dnc_add, name="do_not_call_add"),
    path(f"{_base}upload/", views.dnc_upload, name="do_not_call_upload"),
    path(f"{_base}<row_id:suppression_id>/remove/", views.dnc_remove, name="do_not_call_remove"),
]
