"""Webhook secrets encrypted under a previous LEADLINE_ENCRYPTION_KEY (listed in
LEADLINE_ENCRYPTION_KEY_FALLBACKS) still decrypt, new ones use the current key, and
`leadline rotate_keys` moves every stored secret onto it."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from leadline.campaigns.models import TelephonyAccount
from leadline.core import crypto
from leadline.webhooks.models import WebhookEndpoint
from leadline.webhooks.services import endpoint_create


def test_a_secret_encrypted_under_a_previous_key_still_decrypts():
    with override_settings(LEADLINE_ENCRYPTION_KEY="key-one", LEADLINE_ENCRYPTION_KEY_FALLBACKS=[]):
        token = crypto.encrypt("whsec_abc")
    with override_settings(
        LEADLINE_ENCRYPTION_KEY="key-two", LEADLINE_ENCRYPTION_KEY_FALLBACKS=["key-one"]
    ):
        assert crypto.decrypt(token) == "whsec_abc"
        fresh = crypto.encrypt("whsec_def")
    # New encryptions use the current key only: they decrypt without any fallback.
    with override_settings(LEADLINE_ENCRYPTION_KEY="key-two", LEADLINE_ENCRYPTION_KEY_FALLBACKS=[]):
        assert crypto.decrypt(fresh) == "whsec_def"
        with pytest.raises(ValueError):
            crypto.decrypt(token)


def test_rotate_keys_moves_every_stored_secret_onto_the_current_key(business, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.LEADLINE_ENCRYPTION_KEY, settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = "key-one", []
    first = endpoint_create(business=business, url="http://127.0.0.1:9/a")
    second = endpoint_create(business=business, url="http://127.0.0.1:9/b")
    # An endpoint mid-rotation keeps its previous secret too; both must move.
    WebhookEndpoint.objects.filter(pk=second.endpoint.pk).update(
        previous_secret_encrypted=crypto.encrypt("whsec_previous")
    )
    settings.LEADLINE_ENCRYPTION_KEY, settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = (
        "key-two",
        ["key-one"],
    )
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "2 webhook endpoints" in out.getvalue()
    settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = []  # the old key is gone now
    rows = {e.pk: e for e in WebhookEndpoint.objects.all()}
    assert crypto.decrypt(rows[first.endpoint.pk].secret_encrypted) == first.secret
    assert crypto.decrypt(rows[second.endpoint.pk].secret_encrypted) == second.secret
    assert crypto.decrypt(rows[second.endpoint.pk].previous_secret_encrypted) == "whsec_previous"
    assert rows[first.endpoint.pk].previous_secret_encrypted == ""


def test_rotate_keys_refuses_a_secret_no_key_decrypts(business, settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    settings.LEADLINE_ENCRYPTION_KEY = "key-one"
    endpoint = endpoint_create(business=business, url="http://127.0.0.1:9/a").endpoint
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted
    settings.LEADLINE_ENCRYPTION_KEY, settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = "key-two", []
    with pytest.raises(CommandError, match="LEADLINE_ENCRYPTION_KEY_FALLBACKS"):
        call_command("rotate_keys", stdout=io.StringIO())
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted == stored


def test_rotate_keys_moves_telephony_credentials_too(business, settings):
    settings.LEADLINE_ENCRYPTION_KEY, settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = "key-one", []
    account = TelephonyAccount(
        business=business, provider="exotel", account_sid="acme1", caller_ids=["+918047100100"]
    )
    account.credentials_set({"api_key": "key-abc", "api_token": "token-xyz"})
    account.save()
    before = account.credentials_encrypted
    settings.LEADLINE_ENCRYPTION_KEY, settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = (
        "key-two",
        ["key-one"],
    )
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "1 telephony accounts" in out.getvalue()
    assert "token-xyz" not in out.getvalue()
    settings.LEADLINE_ENCRYPTION_KEY_FALLBACKS = []  # the old key is gone now
    account.refresh_from_db()
    assert account.credentials_encrypted != before
    assert account.credentials() == {"api_key": "key-abc", "api_token": "token-xyz"}
