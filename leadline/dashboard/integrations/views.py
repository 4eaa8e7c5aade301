"""The integrations page: API tokens and webhook endpoints of the signed-in client's business.

Thin views: a form parses, one service or selector acts, and the page is rendered or the
browser redirected (POST, then redirect, for every change). Everything is looked up within
`request.business`, so another business's token, endpoint or delivery is a 404.

Secrets (a new API token, an endpoint's signing secrets) appear only in the response to the
POST that created or revealed them, marked `no-store`: never in a URL, a stored message, the
session or a log line.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadline.accounts import audit
from leadline.accounts import selectors as account_selectors
from leadline.accounts import services as account_services
from leadline.accounts.http import BusinessRequest
from leadline.core.errors import ApiError
from leadline.core.htmx import is_htmx
from leadline.dashboard.auth import client_required, permission_required
from leadline.dashboard.errors import found, service_messages
from leadline.webhooks import selectors, services
from leadline.webhooks.models import WebhookEndpoint

from .forms import DeliveriesFilterForm, EndpointForm, RedeliverFailedForm, TokenCreateForm

SECTION = "integrations"


def _render(request, template, context=None, *, status=200, secret=False) -> HttpResponse:
    response = render(request, template, {"section": SECTION, **(context or {})}, status=status)
    if secret:
        # Not in the browser's cache, nor any proxy's: back/forward must not show it again.
        add_never_cache_headers(response)
    return response


def _endpoint(request: BusinessRequest, pk: int) -> WebhookEndpoint:
    return found(selectors.endpoint_get, business=request.business, pk=pk)


def _to_endpoint(pk: int) -> HttpResponse:
    return redirect("dashboard:integrations_endpoint", pk=pk)


# --- the page -------------------------------------------------------------------------------


def _overview(request: BusinessRequest, *, token_form=None, status=200) -> HttpResponse:
    context = {
        "tokens": account_selectors.api_tokens_for_business(business=request.business),
        "token_form": token_form or TokenCreateForm(),
        "endpoints": selectors.endpoints_for_business(business=request.business),
    }
    return _render(request, "dashboard/integrations/index.html", context, status=status)


@client_required
@permission_required("dashboard.view")
@require_GET
def integrations(request: BusinessRequest) -> HttpResponse:
    return _overview(request)


# --- API tokens -----------------------------------------------------------------------------


@client_required
@permission_required("tokens.manage")
@require_POST
def token_create(request: BusinessRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _overview(request, token_form=form, status=400)
    issued = account_services.api_token_create(
        business=request.business, name=form.cleaned_data["name"]
    )
    audit.audit_request(request, "token.create", target=audit.token_label(issued.token))
    # Rendered in this response, not redirected to: the secret exists nowhere else.
    context = {"token": issued.token, "secret": issued.secret}
    return _render(
        request, "dashboard/integrations/token_created.html", context, status=201, secret=True
    )


@client_required
@permission_required("tokens.manage")
@require_http_methods(["GET", "POST"])
def token_revoke(request: BusinessRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST revokes."""
    token = found(account_selectors.api_token_get, business=request.business, pk=pk)
    if request.method == "GET":
        return _render(request, "dashboard/integrations/token_revoke.html", {"token": token})
    account_services.api_token_revoke(prefix=token.prefix, business=request.business)
    audit.audit_request(request, "token.revoke", target=audit.token_label(token))
    messages.success(
        request, f"Token {token.name or token.prefix} is revoked; calls with it get 403."
    )
    return redirect("dashboard:integrations")


# --- webhook endpoints ----------------------------------------------------------------------


@client_required
@permission_required("webhooks.manage")
@require_http_methods(["GET", "POST"])
def endpoint_create(request: BusinessRequest) -> HttpResponse:
    business = request.business
    if request.method == "GET":
        form = EndpointForm(business=business)
        return _render(request, "dashboard/integrations/endpoint_form.html", {"form": form})
    form = EndpointForm(request.POST, business=business)
    if not form.is_valid():
        return _render(
            request, "dashboard/integrations/endpoint_form.html", {"form": form}, status=400
        )
    try:
        created = services.endpoint_create(
            business=business,
            url=form.cleaned_data["url"],
            campaign=form.cleaned_data["campaign"],
            event_types=form.cleaned_data["event_types"],
        )
    except ApiError as exc:  # the URL's DNS answer changed since the form checked it, say
        form.add_error(None, exc.detail)
        return _render(
            request, "dashboard/integrations/endpoint_form.html", {"form": form}, status=400
        )
    audit.audit_request(request, "webhook.create", target=f"endpoint {created.endpoint.pk}")
    context = {"endpoint": created.endpoint, "secrets": [created.secret], "created": True}
    return _render(
        request, "dashboard/integrations/endpoint_secret.html", context, status=201, secret=True
    )


@client_required
@permission_required("dashboard.view")
@require_GET
def endpoint_detail(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    filters = DeliveriesFilterForm(request.GET)
    status = 200
    if filters.is_valid():
        page = selectors.endpoint_deliveries_page(
            endpoint=endpoint,
            before=filters.cleaned_data["before"],
            status=filters.cleaned_data["status"] or None,
        )
    else:
        page, status = None, 400
    context = {
        "endpoint": endpoint,
        "filters": filters,
        "page": page,
        "redeliver_form": RedeliverFailedForm(),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "deliveries":
        # "Refresh" and "Older" swap only the list.
        return _render(request, "dashboard/integrations/_deliveries.html", context, status=status)
    return _render(request, "dashboard/integrations/endpoint.html", context, status=status)


@client_required
@permission_required("webhooks.manage")
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    business = request.business
    if request.method == "GET":
        initial = {
            "url": endpoint.url,
            "campaign": endpoint.campaign.public_id if endpoint.campaign else "",
            "event_types": endpoint.event_types,
        }
        form = EndpointForm(initial=initial, business=business)
        context = {"form": form, "endpoint": endpoint}
        return _render(request, "dashboard/integrations/endpoint_form.html", context)
    form = EndpointForm(request.POST, business=business)
    context = {"form": form, "endpoint": endpoint}
    if form.is_valid():
        try:
            services.endpoint_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                campaign=form.cleaned_data["campaign"],
                event_types=form.cleaned_data["event_types"],
            )
        except ApiError as exc:
            form.add_error(None, exc.detail)
        else:
            audit.audit_request(request, "webhook.update", target=f"endpoint {endpoint.pk}")
            messages.success(request, "Endpoint saved.")
            return _to_endpoint(endpoint.pk)
    return _render(request, "dashboard/integrations/endpoint_form.html", context, status=400)


@client_required
@permission_required("webhooks.operate")
@require_POST
def endpoint_disable(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if endpoint.enabled:
        services.endpoint_disable(endpoint=endpoint, reason="Disabled on the dashboard.")
        audit.audit_request(request, "webhook.disable", target=f"endpoint {endpoint.pk}")
        messages.success(request, "Endpoint disabled: nothing is sent to it until re-enabled.")
    return _to_endpoint(endpoint.pk)


@client_required
@permission_required("webhooks.operate")
@require_POST
def endpoint_enable(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_enable(endpoint=endpoint)
    audit.audit_request(request, "webhook.enable", target=f"endpoint {endpoint.pk}")
    messages.success(request, "Endpoint enabled: pending deliveries go out again.")
    return _to_endpoint(endpoint.pk)


@client_required
@permission_required("webhooks.secret")
@require_POST
def endpoint_secret(request: BusinessRequest, pk: int) -> HttpResponse:
    """Reveal the signing secrets in use: a POST, so no link, prefetch or crawler shows them."""
    endpoint = _endpoint(request, pk)
    context = {"endpoint": endpoint, "secrets": services.endpoint_secrets(endpoint)}
    audit.audit_request(request, "webhook.secret_reveal", target=f"endpoint {endpoint.pk}")
    return _render(request, "dashboard/integrations/endpoint_secret.html", context, secret=True)


@client_required
@permission_required("webhooks.secret")
@require_POST
def endpoint_rotate(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.endpoint_rotate_secret(endpoint=endpoint)
    audit.audit_request(request, "webhook.secret_rotate", target=f"endpoint {endpoint.pk}")
    endpoint.refresh_from_db()
    context = {
        "endpoint": endpoint,
        "secrets": services.endpoint_secrets(endpoint),
        "rotated": True,
    }
    return _render(request, "dashboard/integrations/endpoint_secret.html", context, secret=True)


@client_required
@permission_required("webhooks.operate")
@require_POST
def endpoint_test(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    queued = "Test event queued (webhook.test); it appears below once the worker sends it."
    with service_messages(request, queued):
        services.endpoint_send_test(endpoint=endpoint)
    return _to_endpoint(endpoint.pk)


@client_required
@permission_required("webhooks.operate")
@require_POST
def delivery_redeliver(request: BusinessRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    delivery = found(selectors.delivery_get, endpoint=endpoint, pk=delivery_pk)
    with service_messages(request, f"Delivery {delivery.message_id} queued again."):
        services.delivery_redeliver(delivery=delivery)
    return _to_endpoint(endpoint.pk)


@client_required
@permission_required("webhooks.operate")
@require_POST
def deliveries_redeliver_failed(request: BusinessRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    form = RedeliverFailedForm(request.POST)
    if not form.is_valid():
        context = {
            "endpoint": endpoint,
            "filters": DeliveriesFilterForm(),
            "page": selectors.endpoint_deliveries_page(endpoint=endpoint),
            "redeliver_form": form,
        }
        return _render(request, "dashboard/integrations/endpoint.html", context, status=400)
    count = services.deliveries_redeliver_failed(
        since=form.cleaned_data["since"], business=request.business, endpoint=endpoint
    )
    messages.success(request, f"{count} failed deliveries queued again.")
    return _to_endpoint(endpoint.pk)
