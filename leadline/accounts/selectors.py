"""Reads for authentication and of a business's API tokens."""

from django.db.models import F

from leadline.core.errors import NotFound

from .models import ApiToken, Business
from .tokens import hash_token


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The live token with this secret and its active business, or None."""
    if not secret or len(secret) > 200:
        return None
    return (
        ApiToken.objects.select_related("business")
        .filter(token_hash=hash_token(secret), revoked_at__isnull=True, business__is_active=True)
        .first()
    )


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
