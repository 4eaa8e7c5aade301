"""Moving stored secrets (webhook signing secrets, telephony credentials) onto the current
encryption key after a key rotation. It lives with the webhooks, the highest layer holding
such secrets; the telephony accounts below it are reached directly."""

from leadline.campaigns.models import TelephonyAccount
from leadline.core import crypto
from leadline.webhooks.models import WebhookEndpoint


def endpoint_secrets_reencrypt() -> int:
    """Re-encrypt every endpoint's secret (and previous secret) under the current key and
    return how many endpoints were rewritten.

    Raises ValueError if a secret decrypts with no configured key (nothing of that endpoint is
    written). Each row is a compare-and-swap on the ciphertexts it read, retried on a fresh
    read when a dashboard rotation changed them meanwhile (a rotation may move an old-key
    ciphertext into the previous secret), so no transaction spans the table and running it
    twice is harmless.
    """
    rewritten = 0
    pks = list(WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True))
    for pk in pks:
        while True:
            row = (
                WebhookEndpoint.objects.filter(pk=pk)
                .values_list("secret_encrypted", "previous_secret_encrypted")
                .first()
            )
            if row is None:  # deleted meanwhile
                break
            secret, previous = row
            updated = WebhookEndpoint.objects.filter(
                pk=pk, secret_encrypted=secret, previous_secret_encrypted=previous
            ).update(
                secret_encrypted=crypto.reencrypt(secret),
                previous_secret_encrypted=crypto.reencrypt(previous) if previous else "",
            )
            if updated:
                rewritten += 1
                break
    return rewritten


def telephony_credentials_reencrypt() -> int:
    """Re-encrypt every telephony account's credentials under the current key; returns how
    many were rewritten. Raises ValueError as `endpoint_secrets_reencrypt` does; each row is
    a compare-and-swap on the ciphertext it read, so an edit meanwhile is never overwritten."""
    rewritten = 0
    rows = TelephonyAccount.objects.exclude(credentials_encrypted="").order_by("pk")
    for pk, ciphertext in rows.values_list("pk", "credentials_encrypted"):
        rewritten += TelephonyAccount.objects.filter(
            pk=pk, credentials_encrypted=ciphertext
        ).update(credentials_encrypted=crypto.reencrypt(ciphertext))
    return rewritten
