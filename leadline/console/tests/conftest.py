from datetime import time

import pytest

from leadline.accounts.models import User

PASSWORD = "rep-password"


@pytest.fixture
def open_campaign(campaign):
    """The campaign, calling every day at every hour: the console uses the real clock."""
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = time(0, 0)
    campaign.window_end = time.max
    campaign.rep_visible_fields = ["city", "policy_type"]
    campaign.save()
    return campaign


@pytest.fixture
def rep(open_campaign):
    user = User.objects.create_user(
        username="asha",
        password=PASSWORD,
        first_name="Asha",
        role=User.Role.REP,
        phone_number="+919000000001",
        business=open_campaign.business,
    )
    open_campaign.reps.add(user)
    return user


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def sim(answered_calls):
    """Simulated calls answered every time; `sim.LEADLINE_SIMULATOR["speed"]` sets the pace.

    Recordings go to a temporary directory.
    """
    return answered_calls


def sim_speed(settings, speed: float) -> None:
    settings.LEADLINE_SIMULATOR = {**settings.LEADLINE_SIMULATOR, "speed": speed}
