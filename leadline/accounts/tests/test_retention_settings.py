"""A business's retention settings: defaults, the operator console, the database's range."""

import pytest
from django.db import IntegrityError, transaction

from leadline.accounts.models import Business

FIELDS = (
    "event_payload_retention_days",
    "response_excerpt_retention_days",
    "recording_retention_days",
)


def change_url(business):
    return f"/admin/accounts/business/{business.pk}/change/"


def form_data(business, **changes):
    data = {
        "name": business.name,
        "is_active": "on",
        "rate_limit_per_minute": business.rate_limit_per_minute,
        "event_payload_retention_days": business.event_payload_retention_days,
        "response_excerpt_retention_days": business.response_excerpt_retention_days,
        "recording_retention_days": business.recording_retention_days,
        "calls_per_number_day": business.calls_per_number_day,
        "calls_per_number_week": business.calls_per_number_week,
        "min_gap_minutes": business.min_gap_minutes,
        "timezone": business.timezone,
    }
    return {**data, **changes}


def test_defaults(business):
    assert (
        business.event_payload_retention_days,
        business.response_excerpt_retention_days,
        business.recording_retention_days,
    ) == (30, 30, 365)


def test_admin_shows_and_saves_the_settings(client, operator, business):
    page = client.get(change_url(business))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert {name: form[name].value() for name in FIELDS} == dict(zip(FIELDS, (30, 30, 365)))
    response = client.post(
        change_url(business),
        form_data(
            business,
            event_payload_retention_days=7,
            response_excerpt_retention_days=1,
            recording_retention_days=3650,
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    business.refresh_from_db()
    assert [getattr(business, name) for name in FIELDS] == [7, 1, 3650]


@pytest.mark.parametrize("days", ["0", "3651", "-1", "soon"])
@pytest.mark.parametrize("field", FIELDS)
def test_admin_refuses_out_of_range_days(client, operator, business, field, days):
    response = client.post(change_url(business), form_data(business, **{field: days}))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    business.refresh_from_db()
    assert getattr(business, field) == Business._meta.get_field(field).default


@pytest.mark.parametrize("field", FIELDS)
def test_database_refuses_zero_days(business, field):
    with pytest.raises(IntegrityError), transaction.atomic():
        Business.objects.filter(pk=business.pk).update(**{field: 0})
