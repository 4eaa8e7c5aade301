from datetime import UTC, datetime, timedelta

import pytest

from leadline.leads.models import Lead
from leadline.leads.results import FIXED_KEYS


def results_url(campaign):
    return f"/api/v4/leads/responses/{campaign.public_id}/"


def test_empty_campaign_page_one_is_200_with_zero_count(api, campaign):
    response = api.get(results_url(campaign))
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_page_past_the_end_is_404_invalid_page(api, campaign, make_leads):
    make_leads(3)
    response = api.get(results_url(campaign), {"page": 2})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
    assert api.get(results_url(campaign), {"page": 2}).status_code == 404
    assert api.get(results_url(campaign), {"page": 2, "page_size": 2}).status_code == 200


def test_item_has_exactly_the_fixed_keys_plus_custom_fields(api, campaign, make_leads):
    make_leads(1, city="Pune", lead_email="x@y.in")
    item = api.get(results_url(campaign)).json()["results"][0]
    assert list(item)[: len(FIXED_KEYS)] == list(FIXED_KEYS)
    assert set(item) == {*FIXED_KEYS, "city", "lead_email"}
    assert item["lead_responses"] == {}
    assert item["latest_called_at"] is None and item["processed_at"] is None
    assert item["phone_number"] == "+919876500000"
    created = datetime.fromisoformat(item["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert item["created_at"].endswith("+00:00")


def test_pagination_links_are_absolute_and_keep_parameters(api, campaign, make_leads):
    make_leads(5)
    page = api.get(results_url(campaign), {"page_size": 2, "page": 2}).json()
    assert page["count"] == 5
    assert page["next"] == (
        f"http://testserver/api/v4/leads/responses/{campaign.public_id}/?page=3&page_size=2"
    )
    assert page["previous"] == (
        f"http://testserver/api/v4/leads/responses/{campaign.public_id}/?page=1&page_size=2"
    )
    assert [r["lead_id"] for r in page["results"]] == ["lead-2", "lead-3"]


def test_order_is_creation_order_and_page_size_is_clamped(api, campaign, make_leads):
    make_leads(3, prefix="b")
    make_leads(2, prefix="a")
    page = api.get(results_url(campaign), {"page_size": 5000}).json()
    assert [r["lead_id"] for r in page["results"]] == ["b-0", "b-1", "b-2", "a-0", "a-1"]
    assert page["next"] is None


def test_page_size_over_1000_returns_1000(api, campaign, make_leads):
    make_leads(1001, prefix="m")
    page = api.get(results_url(campaign), {"page_size": 5000}).json()
    assert len(page["results"]) == 1000
    assert page["next"].endswith("?page=2&page_size=5000")


def test_lead_id_filter(api, campaign, make_leads):
    make_leads(3)
    page = api.get(results_url(campaign), {"lead_id": "lead-1", "page_size": 1}).json()
    assert page["count"] == 1
    assert page["results"][0]["lead_id"] == "lead-1"
    none = api.get(results_url(campaign), {"lead_id": "missing"}).json()
    assert none == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "1.5"},
        {"page_size": "0"},
        {"page_size": "x"},
        {"processed_after": "yesterday"},
        {"processed_after": "nan"},
        {"processed_before": "inf"},
        {"processed_before": "-5"},
        {"processed_after": "1e400"},
        {"processed_after": "99999999999999999999"},
    ],
)
def test_invalid_parameters_are_400(api, campaign, params):
    response = api.get(results_url(campaign), params)
    assert response.status_code == 400
    assert response.json()["detail"]


def _process(campaign, lead_id, when, outcome="Connected : Objective Met"):
    # Stands in for the dialer (a later issue) to give the window filter something to find.
    Lead.objects.filter(campaign=campaign, lead_id=lead_id).update(
        processed_at=when,
        latest_called_at=when,
        lead_outcome=outcome,
        lead_responses={"interested": "yes"},
        status=Lead.Status.PROCESSED,
    )


def test_processed_window_in_seconds_or_milliseconds(api, campaign, make_leads):
    make_leads(4)
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    _process(campaign, "lead-0", base)
    _process(campaign, "lead-1", base + timedelta(minutes=10))
    _process(campaign, "lead-2", base + timedelta(minutes=20))
    epoch = base.timestamp()
    window = {"processed_after": str(int(epoch)), "processed_before": str(epoch + 1200.0)}
    page = api.get(results_url(campaign), window).json()
    assert [r["lead_id"] for r in page["results"]] == ["lead-0", "lead-1"]
    assert page["count"] == 2
    assert page["results"][0]["processed_at"] == "2026-01-01T12:00:00+00:00"
    assert page["results"][0]["lead_outcome"] == "Connected : Objective Met"
    assert page["results"][0]["lead_responses"] == {"interested": "yes"}
    millis = {"processed_after": str(int(epoch * 1000) + 1)}
    page = api.get(results_url(campaign), millis).json()
    assert [r["lead_id"] for r in page["results"]] == ["lead-1", "lead-2"]


def test_erased_leads_never_appear(api, campaign, make_leads):
    make_leads(3)
    response = api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-1"})
    assert response.status_code == 202
    page = api.get(results_url(campaign)).json()
    assert page["count"] == 2
    assert [r["lead_id"] for r in page["results"]] == ["lead-0", "lead-2"]


def test_list_query_count_is_constant(api, campaign, make_leads, django_assert_max_num_queries):
    make_leads(50)
    # Token, rate limit, token use, campaign, page: no per-lead queries.
    with django_assert_max_num_queries(6):
        response = api.get(results_url(campaign), {"page_size": 50})
    assert len(response.json()["results"]) == 50


def test_nul_in_lead_id_parameter_is_400(api, campaign):
    assert api.get(results_url(campaign), {"lead_id": "a\x00b"}).status_code == 400


@pytest.mark.parametrize("campaign_id", ["a%00b", "x" * 40, "%E2%9C%93", "a.b"])
def test_impossible_campaign_ids_are_404(api, campaign_id):
    response = api.get(f"/api/v4/leads/responses/{campaign_id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Campaign not found."}
