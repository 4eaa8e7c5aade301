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


def business_permissions(request: HttpRequest) -> dict:
    """`can`: what the signed-in client's business role allows, for templates to hide the
    buttons it does not (`{% if can.leads.erase %}`), from the same table the views enforce.

    Lazy: the table is read only by a template that asks, and never for a page off the
    dashboard. Anyone but client staff of a business gets an empty `can`: every test false.
    """
    if not request.path.startswith("/voice/dashboard/"):
        return {}
    from django.utils.functional import SimpleLazyObject

    from leadline.accounts.permissions import allowed_actions, nested

    user = getattr(request, "user", None)
    return {"can": SimpleLazyObject(lambda: nested(allowed_actions(user)))}
