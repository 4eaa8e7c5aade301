from django.urls import path

from . import views

urlpatterns = [
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/tokens/", views.token_create, name="integrations_token_create"),
    path(
        "integrations/tokens/<row_id:pk>/revoke/",
        views.token_revoke,
        name="integrations_token_revoke",
    ),
    path(
        "integrations/webhooks/new/",
        views.endpoint_create,
        name="integrations_endpoint_create",
    ),
    path("integrations/webhooks/<row_id:pk>/", views.endpoint_detail, name="integrations_endpoint"),
    path(
        "integrations/webhooks/<row_id:pk>/edit/",
        views.endpoint_edit,
        name="integrations_endpoint_edit",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/disable/",
        views.endpoint_disable,
        name="integrations_endpoint_disable",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/enable/",
        views.endpoint_enable,
        name="integrations_endpoint_enable",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/secret/",
        views.endpoint_secret,
        name="integrations_endpoint_secret",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/rotate/",
        views.endpoint_rotate,
        name="integrations_endpoint_rotate",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/test/",
        views.endpoint_test,
        name="integrations_endpoint_test",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/redeliver-failed/",
        views.deliveries_redeliver_failed,
        name="integrations_redeliver_failed",
    ),
    path(
        "integrations/webhooks/<row_id:pk>/deliveries/<row_id:delivery_pk>/redeliver/",
        views.delivery_redeliver,
        name="integrations_delivery_redeliver",
    ),
]
