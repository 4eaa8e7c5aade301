"""/metrics and /readyz: what the operators' tools read (docs/operations.md)."""

import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from leadline.core import metrics
from leadline.core.http import json_response
from leadline.core.views import database_ready

from .heartbeats import loop_lags
from .metrics import DatabaseCollector
from .runner import load_loops

logger = logging.getLogger(__name__)


def _metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """None if the scrape may proceed. With LEADLINE_METRICS_TOKEN set, its bearer token
    from anywhere; without, only a direct request from loopback (a proxy in front of us
    adds X-Forwarded-For or Forwarded: the public may be behind it)."""
    token = settings.LEADLINE_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return None
        return json_response(
            {"detail": "A valid bearer token is required."},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    try:
        loopback = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        loopback = False
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if loopback and not proxied:
        return None
    return json_response(
        {"detail": "Metrics are served to loopback only, or set LEADLINE_METRICS_TOKEN."},
        status=403,
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    load_loops()  # the loops this code has: stamps of removed loops are left out
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseCollector())
    body = generate_latest(metrics.registry_for_scrape()) + generate_latest(scraped)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers and no worker loop is late; 503 naming what is not."""
    if not database_ready():
        return json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    names = {loop.name for loop in load_loops()}
    try:
        lags = loop_lags(names)
    except DatabaseError:
        # The database answers but has no heartbeat table yet (migrations not applied):
        # nothing was stamped, so nothing is late.
        logger.warning("readyz: loop heartbeats unreadable", exc_info=True)
        lags = []
    late = [lag.name for lag in lags if lag.late]
    body: dict[str, object] = {
        "status": "unavailable" if late else "ok",
        "database": "ok",
        "loops": {lag.name: lag.as_dict() for lag in lags},
    }
    if late:
        body["late_loops"] = late
        return json_response(body, status=503)
    return json_response(body)
