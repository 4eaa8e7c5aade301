"""Reads for authentication, of a business's API tokens, and of retention settings."""

from datetime import datetime, timedelta

from django.db.models import F, QuerySet

from leadline.core.db import compiled_read
from leadline.core.errors import NotFound

from .models import ApiToken, Business
from .tokens import hash_token


def _live_token(token_hash: str) -> QuerySet[ApiToken]:
    return (
        ApiToken.objects.select_related("business")
        .filter(token_hash=token_hash, revoked_at__isnull=True, business__is_active=True)
        .order_by("pk")[:1]
    )


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The live token with this secret and its active business, or None."""
    if not secret or len(secret) > 200:
        return None
    # Every API request asks this: compiled once per process (`core.db.compiled_read`).
    read = compiled_read("live api token", _live_token, ["\x01token hash"])
    found = read.fetch(hash_token(secret))
    if not found:
        return None
    token: ApiToken = found[0][0]
    token.business = found[0][1]
    return token


TOKENS_SHOWN = 200


def api_tokens_for_business(*, business: Business) -> list[ApiToken]:
    """The business's tokens, live ones first, newest first within each (hash not loaded)."""
    return list(
        ApiToken.objects.filter(business=business)
        .defer("token_hash")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk")[:TOKENS_SHOWN]
    )


def api_token_get(*, business: Business, pk: int) -> ApiToken:
    """The business's token; another business's is reported missing, like an unknown one."""
    token = ApiToken.objects.filter(business=business, pk=pk).defer("token_hash").first()
    if token is None:
        raise NotFound("Token not found.")
    return token


def retention_cutoffs(*, field: str, now: datetime) -> list[tuple[datetime, list[int]]]:
    """(cutoff, business ids) for each distinct value of a `Business` retention field (days).

    Businesses sharing a setting (most keep the default) share one purge query, not one each;
    the webhooks' and the dialer's retention loops both group by it.
    """
    groups: dict[int, list[int]] = {}
    for pk, days in Business.objects.values_list("pk", field):
        groups.setdefault(days, []).append(pk)
    return [(now - timedelta(days=days), pks) for days, pks in sorted(groups.items())]
