import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from leadline.core import recordings
from leadline.dialer.tests.test_dialer_flow import OBJECTIVE, call


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def processed_url(api, campaign, make_leads, rep, now):
    make_leads(1)
    call(rep, now, OBJECTIVE, {"interested": "yes"})
    item = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"][0]
    return item["latest_recording_url"]


def test_signed_url_serves_wav_with_ranges(
    client, api, campaign, make_leads, rep, now, answered_calls
):
    url = processed_url(api, campaign, make_leads, rep, now)
    full = client.get(local(url))
    assert full.status_code == 200
    body = b"".join(full.streaming_content)
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert full["Accept-Ranges"] == "bytes"
    part = client.get(local(url), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == body[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(body)}"
    tail = client.get(local(url), headers={"Range": "bytes=-4"})
    assert b"".join(tail.streaming_content) == body[-4:]
    beyond = client.get(local(url), headers={"Range": f"bytes={len(body) + 5}-"})
    assert beyond.status_code == 416


def test_tampered_expired_or_erased_urls_are_404(
    client, api, campaign, make_leads, rep, now, answered_calls
):
    url = processed_url(api, campaign, make_leads, rep, now)
    tampered = local(url).replace("signature=", "signature=x")
    assert client.get(tampered).status_code == 404
    reference = urlsplit(url).path.split("/")[2]
    expired = recordings.recording_url(reference, anchor=None, now=time.time() - 30 * 86400)
    assert client.get(local(expired)).status_code == 404
    api.post(f"/api/v4/leads/delete/{campaign.public_id}/", {"lead_id": "lead-0"})
    assert client.get(local(url)).status_code == 404


def test_url_is_stable_then_renewed_and_always_valid_for_half_the_ttl(settings):
    ttl = settings.LEADLINE_RECORDING_URL_TTL_SECONDS
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    start = anchor.timestamp()
    first = recordings.recording_url("abc", anchor=anchor, now=start + 10)
    assert first == recordings.recording_url("abc", anchor=anchor, now=start + ttl / 2 - 1)
    later = recordings.recording_url("abc", anchor=anchor, now=start + ttl)
    assert later != first
    expires = int(later.split("expires=")[1].split("&")[0])
    assert expires - (start + ttl) >= ttl / 2
    assert recordings.recording_url(None, anchor=anchor) is None
    assert anchor + timedelta(seconds=ttl) > anchor


def test_the_signature_is_djangos_signer_signature_under_each_key(settings):
    """`_signature` derives the HMAC key once per secret; it must sign exactly as Signer does,
    and follow a change of SECRET_KEY (the old key stays a fallback for verifying)."""
    for secret in ["first-secret-" + "x" * 40, "second-secret-ü-" + "y" * 40]:
        settings.SECRET_KEY = secret
        for value in ["3f2a7b2e-0000-4000-8000-000000000001:1700000000", "a:1", ""]:
            reference, _, expires = value.partition(":")
            mine = recordings._signature(reference, int(expires or 0))
            assert mine == recordings._signer().signature(f"{reference}:{int(expires or 0)}")
        url = recordings.recording_url("3f2a7b2e-0000-4000-8000-000000000001", anchor=None)
        query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
        assert recordings.recording_url_valid(
            "3f2a7b2e-0000-4000-8000-000000000001", query["expires"], query["signature"]
        )
