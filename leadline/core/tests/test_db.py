"""The compiled-once lookups of `core.db` answer exactly what the ORM answers."""

import pytest
from django.db import connection

from leadline.accounts.models import ApiToken
from leadline.accounts.selectors import api_token_authenticate
from leadline.accounts.services import api_token_create, api_token_revoke
from leadline.campaigns.models import Campaign
from leadline.campaigns.selectors import campaign_get_for_business
from leadline.core import db as core_db
from leadline.core.errors import NotFound


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_precompiled_lookup_gives_the_orms_instance_and_its_related_one(
    business, other_business, django_assert_num_queries
):
    secret = api_token_create(business=business, name="t").secret
    api_token_create(business=other_business, name="other")
    with django_assert_num_queries(1):
        token = api_token_authenticate(secret=secret)
        assert token is not None
        # select_related's business came in the same statement.
        assert token.business.name == business.name
    orm = ApiToken.objects.select_related("business").get(pk=token.pk)
    assert _fields(token) == _fields(orm)
    assert _fields(token.business) == _fields(orm.business)
    assert token._state.adding is False and token._state.db == connection.alias
    # Bound again with other values: the statement is reused, never the old values.
    assert api_token_authenticate(secret=secret + "x") is None
    assert api_token_authenticate(secret=secret).pk == token.pk


def test_revoked_tokens_inactive_businesses_and_other_campaigns_are_not_found(
    business, other_business, campaign, other_campaign
):
    created = api_token_create(business=business, name="t")
    business.is_active = False
    business.save(update_fields=["is_active"])
    assert api_token_authenticate(secret=created.secret) is None
    business.is_active = True
    business.save(update_fields=["is_active"])
    assert api_token_authenticate(secret=created.secret) is not None
    api_token_revoke(business=business, prefix=created.token.prefix)
    assert api_token_authenticate(secret=created.secret) is None

    found = campaign_get_for_business(business=business, public_id=campaign.public_id)
    assert _fields(found) == _fields(Campaign.objects.get(pk=campaign.pk))
    with pytest.raises(NotFound):
        campaign_get_for_business(business=business, public_id=other_campaign.public_id)


def test_only_ints_and_strings_can_be_precompiled(db):
    with pytest.raises(TypeError):
        core_db.precompiled_first("bad", lambda flag: Campaign.objects.all(), flag=True)
    with pytest.raises(TypeError):
        core_db.precompiled_first("bad", lambda at: Campaign.objects.all(), at=1.5)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [1.5, "x", null, true], "c": {"d": "é"}}',
        '{"big": 12345678901234567890123, "neg": -9223372036854775809}',
        '{"float": 1e25, "tiny": 1.10, "exp": 1E2}',
        '{"lone": "\\ud800"}',
        "[]",
        '"text"',
    ],
)
def test_jsonb_decoding_matches_json_loads(text):
    import json

    assert core_db._json_utf8_loads(text.encode()) == json.loads(text)
    assert core_db._json_utf8_loads(text) == json.loads(text)
    big = core_db._json_utf8_loads(text.encode())
    if isinstance(big, dict) and "big" in big:
        assert isinstance(big["big"], int)
