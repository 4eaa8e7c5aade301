from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from leadline.core import views
from leadline.dialer import views as dialer_views
from leadline.worker import views as worker_views

from .api import api

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", worker_views.readyz),
    # Prometheus; off the API (no rate limit), protected as docs/operations.md says.
    path("metrics", worker_views.metrics_view),
    # LEADLINE_ADMIN_PATH (default admin/); link to it with reverse("admin:index").
    path(settings.LEADLINE_ADMIN_PATH, admin.site.urls),
    path("api/v4/", api.urls),
    path("recordings/<uuid:reference>/", dialer_views.recording, name="recording"),
    path(
        "telephony/callbacks/<str:token>/",
        dialer_views.telephony_callback,
        name="telephony-callback",
    ),
    path("console/", include("leadline.console.urls")),
    path("voice/dashboard/", include("leadline.dashboard.urls")),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
