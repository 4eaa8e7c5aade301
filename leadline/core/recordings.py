"""Recordings: stored through Django's storage API, handed out as signed, expiring URLs.

A URL names only the attempt's random UUID, an expiry and an HMAC of both, so it reveals
nothing about the lead. The expiry is derived from the lead's latest call time in steps of
the TTL (the first step ending at least TTL/2 from now): the same lead state gives the same
URL for a while, which keeps a webhook payload identical to the GET item that follows it,
and every URL handed out stays valid for at least half the TTL.
"""

import base64
import functools
import hashlib
import hmac
import math
import re
import time
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signing import BadSignature, Signer
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

_SALT = "leadline.recording"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


# The formats providers deliver (the simulator and Twilio's .wav, Exotel's and Twilio's .mp3),
# served back with their own content type: the stored file is the provider's, byte for byte.
CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def recording_store(
    *, attempt_uuid: str, campaign_public_id: str, audio: bytes, extension: str = "wav"
) -> str:
    """Save the audio and return its storage path (the extension says its format)."""
    if extension not in CONTENT_TYPES:
        raise ValueError(f"unsupported recording format {extension!r}")
    return default_storage.save(
        f"recordings/{campaign_public_id}/{attempt_uuid}.{extension}", ContentFile(audio)
    )


def _content_type(path: str) -> str:
    return CONTENT_TYPES.get(path.rsplit(".", 1)[-1], "application/octet-stream")


def recording_delete(path: str) -> None:
    if path:
        default_storage.delete(path)


@functools.lru_cache(maxsize=4)
def _signer_for(key: str, fallback_keys: tuple[str, ...]) -> Signer:
    return Signer(key=key, fallback_keys=list(fallback_keys), salt=_SALT)


def _signer() -> Signer:
    """Signs with SECRET_KEY and accepts SECRET_KEY_FALLBACKS too, so links handed out before
    a key rotation keep working until they expire (read per call: settings may change)."""
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=4)
def _mac_for(secret: str) -> hmac.HMAC:
    """`Signer(key=secret, salt=_SALT).signature`'s HMAC with its key derived once: Signer
    derives it (a SHA-256) and sets up the HMAC on every call, a results page signs up to a
    hundred URLs, and an export one per row."""
    key = hashlib.sha256(f"{_SALT}signer{secret}".encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _signature(reference: str, expires: int) -> str:
    """What `_signer().signature(f"{reference}:{expires}")` gives (a test holds them equal)."""
    mac = _mac_for(settings.SECRET_KEY).copy()
    mac.update(f"{reference}:{expires}".encode())
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def recording_url(
    reference: str | None, *, anchor: datetime | None, now: float | None = None
) -> str | None:
    """The absolute signed URL of a recording (by attempt UUID), or None."""
    if not reference:
        return None
    ttl = settings.LEADLINE_RECORDING_URL_TTL_SECONDS
    now = time.time() if now is None else now
    start = anchor.timestamp() if anchor is not None else now
    steps = max(1, math.ceil((now + ttl / 2 - start) / ttl))
    expires = int(start + steps * ttl)
    return (
        f"{settings.LEADLINE_PUBLIC_URL}/recordings/{reference}/"
        f"?expires={expires}&signature={_signature(reference, expires)}"
    )


def recording_url_valid(reference: str, expires: str, signature: str) -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    try:
        # Signer.unsign checks the current key, then each fallback, in constant time.
        _signer().unsign(f"{reference}:{int(expires)}:{signature}")
    except BadSignature:
        return False
    return True


def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """The audio, honouring a single HTTP Range (206) so players and clients can seek."""
    if not default_storage.exists(path):
        raise Http404
    size = default_storage.size(path)
    # Never cached, not even by the browser: once a lead is erased its audio must be gone.
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    match = _RANGE.match(request.headers.get("Range", "").strip())
    response: HttpResponseBase
    if not match or match.groups() == ("", ""):
        response = FileResponse(default_storage.open(path, "rb"), content_type=_content_type(path))
        for name, value in headers.items():
            response[name] = value
        response["Content-Length"] = str(size)
        return response
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = default_storage.open(path, "rb")
    handle.seek(start)
    length = end - start + 1

    def chunks(remaining=length):
        try:
            while remaining > 0:
                block = handle.read(min(64 * 1024, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
        finally:
            handle.close()

    response = StreamingHttpResponse(chunks(), status=206, content_type=_content_type(path))
    for name, value in headers.items():
        response[name] = value
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    return response
