"""Recording links signed with a previous SECRET_KEY (SECRET_KEY_FALLBACKS) keep working
until they expire; new links use the current key; recordings are never cached."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.signing import Signer
from django.test import override_settings
from django.utils import timezone

from leadline.accounts.models import User
from leadline.core import recordings
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead

OLD, NEW = "old-secret-key-" + "o" * 40, "new-secret-key-" + "n" * 40


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.split("/")[2], query["expires"][0], query["signature"][0]


def _signed_under(key: str, reference: str = "0b6f7a9e-3c1d-4b0e-9a51-5e2f0c1d2e3f") -> str:
    with override_settings(SECRET_KEY=key, SECRET_KEY_FALLBACKS=[]):
        url = recordings.recording_url(reference, anchor=None)
    assert url
    return url


def test_a_recording_link_signed_with_a_fallback_key_still_validates():
    reference, expires, signature = _parts(_signed_under(OLD))
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert recordings.recording_url_valid(reference, expires, signature)
    # Once the old key is dropped, its links stop working.
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert not recordings.recording_url_valid(reference, expires, signature)
    # A forged signature or a wrong reference is refused whatever the fallbacks.
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert not recordings.recording_url_valid(reference, expires, signature[:-2] + "AA")
        assert not recordings.recording_url_valid(reference[:-1] + "0", expires, signature)
        assert not recordings.recording_url_valid(reference, str(int(expires) + 1), signature)


def test_new_recording_links_are_signed_with_the_current_key():
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        url = recordings.recording_url("0b6f7a9e-3c1d-4b0e-9a51-5e2f0c1d2e3f", anchor=None)
    reference, expires, signature = _parts(url)
    expected = Signer(key=NEW, salt="leadline.recording").signature(f"{reference}:{expires}")
    assert signature == expected
    assert int(expires) > time.time()


@pytest.fixture
def recorded_attempt(campaign, make_leads, tmp_path, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    make_leads(1)
    lead = Lead.objects.get(campaign=campaign)
    rep = User.objects.create_user(
        username="asha", password="pw", role=User.Role.REP, business=campaign.business
    )
    attempt = CallAttempt.objects.create(
        lead=lead, campaign=campaign, rep=rep, provider="test", started_at=timezone.now()
    )
    attempt.recording = recordings.recording_store(
        attempt_uuid=str(attempt.uuid), campaign_public_id=campaign.public_id, audio=b"RIFF" * 64
    )
    attempt.save(update_fields=["recording"])
    yield attempt
    default_storage.delete(attempt.recording)


def _fetch(client, url: str, **headers):
    split = urlsplit(url)
    return client.get(f"{split.path}?{split.query}", **headers)


def test_the_recording_view_accepts_a_fallback_key_and_is_never_cached(
    client, settings, recorded_attempt
):
    url = _signed_under(OLD, str(recorded_attempt.uuid))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    whole = _fetch(client, url)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == b"RIFF" * 64
    part = _fetch(client, url, HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206
    for response in (whole, part):
        assert response["Cache-Control"] == "private, no-store"
    settings.SECRET_KEY_FALLBACKS = []
    assert _fetch(client, url).status_code == 404
