"""Banners every dashboard page shows: webhook endpoints the platform disabled by itself."""

from django.http import HttpRequest


def banners(request: HttpRequest) -> dict:
    # Imported here: context processors load before apps are ready in some commands.
    from leadline.accounts.models import User
    from leadline.webhooks.selectors import endpoints_auto_disabled

    user = getattr(request, "user", None)
    if (
        not isinstance(user, User)
        or not request.path.startswith("/voice/dashboard/")
        # Endpoint URLs belong to the business's own client staff: a rep, an operator or
        # staff of a suspended business reaching a dashboard page (its "forbidden" page is
        # one) sees no banner, as `dashboard.auth.client_required` lets none of them in.
        or user.role != User.Role.CLIENT
        or user.business is None
        or not user.business.is_active
    ):
        return {}
    return {"disabled_endpoints": endpoints_auto_disabled(business_id=user.business.pk)}
