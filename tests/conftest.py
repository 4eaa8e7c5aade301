"""Fixtures for the tests under tests/ (the root conftest.py provides the rest)."""

import pytest


@pytest.fixture
def other_api(api, other_token):
    """The `api` client, but authenticated as the other business."""
    return type(api)(api.client, other_token)
