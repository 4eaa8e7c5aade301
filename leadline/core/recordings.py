"""Recordings: stored through Django's storage API, handed out as signed, expiring URLs.

A URL names only the attempt's random UUID, an expiry and an HMAC of both, so it reveals
nothing about the lead. The expiry is derived from the lead's latest call time in steps of
the TTL (the first step ending at least TTL/2 from now): the same lead state gives the same
URL for a while, which keeps a webhook payload identical to the GET item that follows it,
and every URL handed out stays valid for at least half the TTL.
"""

import base64
import contextlib
import functools
import hashlib
import math
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signing import BadSignature, Signer
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from leadline.core.hmacs import keyed_sha256, sha256_pads

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
def _signing_key(secret: str) -> bytes:
    """The HMAC key `Signer(key=secret, salt=_SALT)` signs with (salted_hmac's derivation),
    derived once: Signer derives it and sets up the HMAC on every call, a results page signs
    up to a hundred URLs, and an export one per row."""
    return hashlib.sha256(f"{_SALT}signer{secret}".encode()).digest()


def _signature(reference: str, expires: int) -> str:
    """What `_signer().signature(f"{reference}:{expires}")` gives (a test holds them equal)."""
    mac = keyed_sha256(_signing_key(settings.SECRET_KEY))
    digest = mac.digest(f"{reference}:{expires}".encode())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _expiry(now: float, anchor: float | None) -> int:
    """The URL's expiry: the first TTL step after the anchor (or `now`) that ends at least
    TTL/2 from `now`. `recording_url_sql` computes the same in SQL, in float8 as here."""
    ttl = settings.LEADLINE_RECORDING_URL_TTL_SECONDS
    start = anchor if anchor is not None else now
    steps = max(1, math.ceil((now + ttl / 2 - start) / ttl))
    return int(start + steps * ttl)


def _url_prefix() -> str:
    return f"{settings.LEADLINE_PUBLIC_URL}/recordings/"


def recording_url(
    reference: str | None, *, anchor: datetime | None, now: float | None = None
) -> str | None:
    """The absolute signed URL of a recording (by attempt UUID), or None."""
    if not reference:
        return None
    now = time.time() if now is None else now
    expires = _expiry(now, anchor.timestamp() if anchor is not None else None)
    signature = _signature(reference, expires)
    return f"{_url_prefix()}{reference}/?expires={expires}&signature={signature}"


# The session setting that holds the two padded keys while an export's statement signs URLs.
_SQL_KEYS_SETTING = "leadline.recording_keys"


def _padded_keys() -> tuple[bytes, bytes]:
    """`_signature`'s key XOR-ed with the outer and inner pads (the SQL's order)."""
    inner, outer = sha256_pads(_signing_key(settings.SECRET_KEY))
    return outer, inner


@contextlib.contextmanager
def recording_sql_keys(conn: Any = None) -> Iterator[None]:
    """PostgreSQL: while inside, `recording_url_sql` expressions on the connection `conn` (a
    psycopg connection; default Django's) can sign.

    The two padded keys go into a session setting by a statement of their own, and are wiped
    on the way out. They never appear in the text of the statement that signs: an export's
    statement runs for seconds, so a server that logs slow statements
    (log_min_duration_statement) logs its text, while this setting's statement is quick.
    (A server logging every statement, log_statement = 'all', logs the keys too, along with
    every lead it is sent.) They are derived, salt-bound keys that sign recording URLs only,
    never SECRET_KEY itself.
    """
    outer, inner = _padded_keys()
    with _cursor(conn) as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, false)", [_SQL_KEYS_SETTING, f"{outer.hex()},{inner.hex()}"]
        )
    try:
        yield
    finally:
        # A connection that closed under us took its session settings with it.
        if conn is None or not conn.closed:
            with _cursor(conn) as cursor:
                cursor.execute("SELECT set_config(%s, '', false)", [_SQL_KEYS_SETTING])


def _cursor(conn: Any) -> Any:
    return conn.cursor() if conn is not None else connection.cursor()


def recording_url_sql(
    reference: str, anchor: str, *, now: float, prefix_guard: str = ""
) -> tuple[str, list[str | float]]:
    """PostgreSQL: an SQL expression for `recording_url(<reference>, anchor=<anchor>, now=now)`
    of the columns `reference` (text) and `anchor` (timestamptz), NULL where it gives None,
    and its parameters (in order). `prefix_guard` is put before the URL (the export's `'`
    when the public URL starts like a spreadsheet formula). Run it inside
    `recording_sql_keys()`, which hands the statement its keys.

    The signature is Django's Signer's, built from PostgreSQL's own sha256 (11+, no
    extension): base64url, unpadded, of HMAC-SHA256(K, "<reference>:<expires>") with
    K = sha256(salt + "signer" + SECRET_KEY) (django.utils.crypto.salted_hmac), as
    H((K ^ opad) || H((K ^ ipad) || message)). The padded keys are read from the session
    setting once per statement (an uncorrelated sub-select), not per row. The expiry is
    `_expiry`'s float8 arithmetic (IEEE doubles on both sides, the anchor's epoch from the
    same microseconds), so each URL equals the Python one for the same `now`.
    """
    ttl = float(settings.LEADLINE_RECORDING_URL_TTL_SECONDS)
    # date_part's epoch is float8 (micros / 1e6, correctly rounded, as Python's timestamp());
    # EXTRACT's numeric costs several times as much per row.
    start = f"COALESCE(date_part('epoch', {anchor}), %s::float8)"
    steps = f"GREATEST(1::float8, CEIL((%s::float8 + %s::float8 - {start}) / %s::float8))"
    expires = f"TRUNC({start} + {steps} * %s::float8)::bigint::text"
    expires_params = [now, now, ttl / 2, now, ttl, ttl]
    message = f"convert_to({reference} || ':' || {expires}, 'UTF8')"
    keys = f"current_setting('{_SQL_KEYS_SETTING}')"
    outer = f"(SELECT decode(split_part({keys}, ',', 1), 'hex'))"
    inner = f"(SELECT decode(split_part({keys}, ',', 2), 'hex'))"
    digest = f"sha256({outer} || sha256({inner} || {message}))"
    signature = f"translate(rtrim(encode({digest}, 'base64'), '='), '+/', '-_')"
    sql = (
        f"CASE WHEN {reference} IS NULL OR {reference} = '' THEN NULL ELSE "
        f"%s || {reference} || '/?expires=' || {expires} || '&signature=' || {signature} END"
    )
    params: list[str | float] = [prefix_guard + _url_prefix(), *expires_params, *expires_params]
    return sql, params


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
