"""Reads for authentication."""

from .models import ApiToken
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
