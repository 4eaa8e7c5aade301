import pytest

from leadline.accounts.models import User

PAGES = [
    "/admin/accounts/business/",
    "/admin/accounts/user/",
    "/admin/accounts/apitoken/",
    "/admin/campaigns/campaign/",
    "/admin/leads/lead/",
    "/admin/dialer/callattempt/",
]


@pytest.fixture
def operator(client, db):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw", role=User.Role.OPERATOR)
    client.force_login(user)
    return user


@pytest.mark.parametrize("page", PAGES)
def test_operator_list_pages_render_without_phone_numbers(
    client, operator, make_leads, token, page
):
    make_leads(3)
    response = client.get(page)
    assert response.status_code == 200
    assert b"98765" not in response.content


def test_campaign_page_shows_configuration_and_new_campaigns_get_defaults(
    client, operator, campaign, business
):
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert b"Calling window" in page.content and b"Objective Met" in page.content
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "business": business.pk,
            "name": "From admin",
            "status": "active",
            "max_attempts": 3,
            "retry_delays_minutes": "[30]",
            "lease_minutes": 10,
            "timezone": "Asia/Kolkata",
            "window_start": "09:00",
            "window_end": "21:00",
            "window_days": "[0, 1, 2, 3, 4, 5]",
            "rep_visible_fields": "[]",
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "outcomes-TOTAL_FORMS": 0,
            "outcomes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    from leadline.campaigns.models import Campaign

    created = Campaign.objects.get(name="From admin")
    assert len(created.public_id) == 6
    assert created.outcomes.count() == 6


def test_lead_list_has_no_n_plus_one(client, operator, make_leads, django_assert_max_num_queries):
    make_leads(40)
    with django_assert_max_num_queries(12):
        assert client.get("/admin/leads/lead/").status_code == 200
