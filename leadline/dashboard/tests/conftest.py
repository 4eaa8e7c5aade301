import pytest

from leadline.accounts.models import User

PASSWORD = "client-password-1"


@pytest.fixture
def staff(business):
    """A client-staff user of `business`."""
    return User.objects.create_user(
        username="priya", password=PASSWORD, role=User.Role.CLIENT, business=business
    )


@pytest.fixture
def other_staff(other_business):
    return User.objects.create_user(
        username="omar", password=PASSWORD, role=User.Role.CLIENT, business=other_business
    )


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def other_staff_client(other_staff):
    from django.test import Client

    other = Client()
    other.force_login(other_staff)
    return other
