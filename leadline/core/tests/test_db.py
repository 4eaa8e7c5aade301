import pytest

from leadline.accounts.models import ApiToken
from leadline.accounts.selectors import api_token_authenticate
from leadline.campaigns.models import Campaign
from leadline.campaigns.selectors import campaign_get_for_business
from leadline.core.errors import NotFound


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_compiled_reads_give_the_orm_s_instances(
    business, campaign, token, other_business, django_assert_num_queries
):
    """The token and campaign lookups run compiled once (`core.db.compiled_read`): every
    field as the ORM reads it (converters included: SQLite's datetimes, JSON fields)."""
    Campaign.objects.filter(pk=campaign.pk).update(lead_count=7)
    got = campaign_get_for_business(business=business, public_id=campaign.public_id)
    assert _fields(got) == _fields(Campaign.objects.get(pk=campaign.pk))
    assert got.created_at.tzinfo is not None and got.lead_count == 7
    assert not got._state.adding and got._state.db == "default"
    with pytest.raises(NotFound):
        campaign_get_for_business(business=other_business, public_id=campaign.public_id)

    found = api_token_authenticate(secret=token)
    expected = ApiToken.objects.select_related("business").get(business=business)
    assert _fields(found) == _fields(expected)
    assert _fields(found.business) == _fields(expected.business)
    with django_assert_num_queries(0):  # the business came with the token
        assert found.business.name == business.name
    assert api_token_authenticate(secret=token + "x") is None
    business.is_active = False
    business.save(update_fields=["is_active"])
    assert api_token_authenticate(secret=token) is None
