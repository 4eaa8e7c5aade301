"""The dashboard's mapping of service errors: lookups to 404 pages, refusals to messages."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import Http404
from django.test import RequestFactory

from leadline.core.errors import BadRequest, NotFound
from leadline.dashboard.errors import found, service_messages


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _said(request) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(request)]


def _missing(**kwargs):
    raise NotFound("No such row of yours.")


def test_found_returns_what_the_lookup_finds():
    assert found(lambda **kwargs: kwargs, pk=3) == {"pk": 3}


def test_found_turns_not_found_into_a_404_saying_what_is_missing():
    with pytest.raises(Http404) as raised:
        found(_missing, missing="No such lead.", pk=3)
    assert raised.value.args == ("No such lead.",)
    with pytest.raises(Http404) as raised:
        found(_missing, pk=3)
    assert raised.value.args == ()


def test_service_messages_says_success_when_the_block_completes():
    request = _request()
    with service_messages(request, "Done."):
        pass
    assert _said(request) == [("success", "Done.")]


def test_service_messages_shows_a_refusal_instead_and_carries_on():
    request = _request()
    with service_messages(request, "Done."):
        raise BadRequest("Not now.")
    assert _said(request) == [("error", "Not now.")]


def test_service_messages_lets_other_errors_through():
    request = _request()
    with pytest.raises(KeyError), service_messages(request, "Done."):
        raise KeyError("a bug, not a refusal")
    assert _said(request) == []
