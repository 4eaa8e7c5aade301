from datetime import UTC, datetime, timedelta

import pytest

from leadline.accounts.models import User


def next_monday_morning() -> datetime:
    """A moment inside the default calling window (10:30 in Kolkata on a Monday), in the future."""
    today = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
    days = (7 - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


@pytest.fixture
def now():
    return next_monday_morning()


@pytest.fixture
def rep(campaign):
    user = User.objects.create_user(
        username="rep1",
        password="pw",
        role=User.Role.REP,
        phone_number="+919000000001",
        business=campaign.business,
    )
    campaign.reps.add(user)
    return user


@pytest.fixture
def rep2(campaign):
    user = User.objects.create_user(
        username="rep2",
        password="pw",
        role=User.Role.REP,
        phone_number="+919000000002",
        business=campaign.business,
    )
    campaign.reps.add(user)
    return user


@pytest.fixture
def answered_calls(settings, tmp_path):
    """Every simulated call is answered and finishes at once; recordings go to a temp dir."""
    settings.LEADLINE_SIMULATOR = {"answer": 1.0, "busy": 0.0, "speed": 1e6}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return settings
