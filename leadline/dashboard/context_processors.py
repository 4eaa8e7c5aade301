"""Banners every dashboard page shows: webhook endpoints the platform disabled by itself."""

from django.http import HttpRequest


def banners(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not request.path.startswith("/voice/dashboard/")
        or user.business_id is None
    ):
        return {}
    # Imported here: context processors load before apps are ready in some commands.
    from leadline.webhooks.selectors import endpoints_auto_disabled

    return {"disabled_endpoints": endpoints_auto_disabled(business_id=user.business_id)}
