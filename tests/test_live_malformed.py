"""Malformed requests against a live server: never a 5xx, always a JSON error, no side effects.

One module-scoped tenant with three baseline leads; each case is one request (bounded: a few
hundred requests, a few seconds). `test_bad_requests_changed_nothing` then checks, through
GET and in the database, that the bad requests created, erased, renamed, disabled or
converted nothing.

Requests that never reach Django (rejected by gunicorn's HTTP parser: control characters in a
header, a request line over 4094 bytes, a header over 8190 bytes) are kept apart, in
`test_requests_gunicorn_rejects_still_get_json`: our gunicorn worker class answers them in JSON.
"""

import itertools
import json
from dataclasses import dataclass, field

import pytest
import requests

from leadline.campaigns.models import Campaign
from leadline.leads.models import Lead
from tests.helpers import HTTP_TIMEOUT, all_results, bootstrap, create_leads, query_live_db

pytestmark = pytest.mark.live

ENDPOINTS = {
    "create": "POST",
    "responses": "GET",
    "disable": "POST",
    "delete": "POST",
    "update": "PATCH",
    "convert": "POST",
}
WRITES = [e for e in ENDPOINTS if e != "responses"]
VALID_PHONE = "9876543210"
BASELINE = ["base-0", "base-1", "base-2"]

# A request each endpoint would accept (and that would show in GET: a new lead, an erased or
# renamed baseline lead) if the thing wrong with the case did not stop it.
VALID_BODY = {
    "create": [{"lead_id": "evil-1", "phone_number": VALID_PHONE, "contact_name": "Eve"}],
    "disable": [{"lead_id": "base-0"}],
    "delete": {"lead_id": "base-1"},
    "update": {"lead_id": "base-0", "contact_name": "Eve"},
    "convert": {"lead_id": "base-0", "detail": "EVIL"},
}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str  # "{cid}" is replaced by the campaign id
    body: bytes | None = None
    content_type: str | None = "application/json"
    authorization: str | bytes | None = "Bearer {token}"
    headers: dict = field(default_factory=dict)
    expect: tuple[int, ...] = (400,)


def path(endpoint, query=""):
    return f"/api/v4/leads/{endpoint}/{{cid}}/" + (f"?{query}" if query else "")


def dumps(value) -> bytes:
    # The standard library, not orjson: it also writes integers beyond 64 bits.
    return json.dumps(value, ensure_ascii=False).encode()


_LEAD_IDS = itertools.count()


def lead(**overrides):
    """A lead that is valid except for `overrides`; a key set to ... is left out.

    Each gets its own lead_id, so a case that wrongly creates its lead cannot turn the next
    cases into (passing) duplicate-id 400s.
    """
    item = {
        "lead_id": f"evil-{next(_LEAD_IDS)}",
        "phone_number": VALID_PHONE,
        "contact_name": "Eve",
    }
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not ...}


def cases():
    out = []

    def add(*args, marks=(), **kwargs):
        case = Case(*args, **kwargs)
        out.append(pytest.param(case, id=case.id, marks=marks))

    # --- authentication ---------------------------------------------------------------
    bad_auth = {
        "none": None,
        "bearer-only": "Bearer",
        "bearer-space": "Bearer ",
        "wrong-token": "Bearer not-a-token",
        "token-plus-x": "Bearer {token}x",
        "token-then-junk": "Bearer {token} junk",
        "token-scheme": "Token {token}",
        "basic": "Basic dXNlcjpwYXNz",
        "no-scheme": "{token}",
        "double-bearer": "Bearer Bearer {token}",
        "utf8-token": "Bearer tökén✓".encode(),
        "long-token": "Bearer " + "a" * 5000,
    }
    for endpoint, method in ENDPOINTS.items():
        for name, value in bad_auth.items():
            body = None if method == "GET" else dumps(VALID_BODY[endpoint])
            add(
                f"auth-{name}-{endpoint}",
                method,
                path(endpoint),
                body,
                authorization=value,
                expect=(403,),
            )

    # --- methods ----------------------------------------------------------------------
    for endpoint, allowed in ENDPOINTS.items():
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"):
            if method == allowed:
                continue
            body = None if endpoint == "responses" else dumps(VALID_BODY[endpoint])
            add(f"method-{method}-{endpoint}", method, path(endpoint), body, expect=(405,))
            add(
                f"method-{method}-{endpoint}-noslash",
                method,
                path(endpoint).rstrip("/"),
                body,
                expect=(405,),
            )

    # --- content types ----------------------------------------------------------------
    content_types = {
        "missing": None,
        "empty": "",
        "text": "text/plain",
        "form": "application/x-www-form-urlencoded",
        "multipart": "multipart/form-data; boundary=xyz",
        "xml": "application/xml",
        "jsonx": "application/jsonx",
        "json-no-slash": "json",
        "javascript": "application/javascript",
        "star": "*/*",
    }
    for endpoint in WRITES:
        for name, value in content_types.items():
            add(
                f"ctype-{name}-{endpoint}",
                ENDPOINTS[endpoint],
                path(endpoint),
                dumps(VALID_BODY[endpoint]),
                content_type=value,
                expect=(415,),
            )
    add(
        "ctype-form-body",
        "POST",
        path("create"),
        b"lead_id=x&phone_number=9876543210&contact_name=Eve",
        content_type="application/x-www-form-urlencoded",
        expect=(415,),
    )

    # --- broken JSON ------------------------------------------------------------------
    broken = {
        "empty": b"",
        "whitespace": b" \n\t ",
        "open-brace": b"{",
        "open-bracket": b"[",
        "unclosed-object": b'[{"lead_id": "x"',
        "missing-value": b'{"lead_id": }',
        "trailing-comma": b'[{"lead_id": "x",}]',
        "single-quotes": b"[{'lead_id': 'x'}]",
        "comment": b"/* leads */ []",
        "trailing-garbage": b"[]x",
        "two-documents": b"[] []",
        "nan": b"NaN",
        "infinity-in-list": b"[Infinity]",
        "nul-byte": b"\x00",
        "raw-nul-in-string": b'[{"lead_id": "a\x00b", "phone_number": "9876543210", '
        b'"contact_name": "x"}]',
        "raw-newline-in-string": b'[{"lead_id": "a\nb"}]',
        "invalid-utf8": b"\xff\xfe\xfd",
        "latin1-name": b'[{"lead_id": "x", "phone_number": "9876543210", '
        b'"contact_name": "Jos\xe9"}]',
        "bom": b"\xef\xbb\xbf[]",
        "utf16": "[]".encode("utf-16"),
        "lone-high-surrogate": b'[{"lead_id": "\\ud800", "phone_number": "9876543210", '
        b'"contact_name": "x"}]',
        "lone-low-surrogate-name": b'[{"lead_id": "x", "phone_number": "9876543210", '
        b'"contact_name": "\\udc00"}]',
        "surrogate-key": b'[{"lead_id": "x", "phone_number": "9876543210", '
        b'"contact_name": "x", "\\udfff": 1}]',
        "bad-escape": b'[{"lead_id": "\\x41"}]',
        "number-overflow": b"1e400",
        "number-overflow-in-lead": b'[{"lead_id": 1e400, "phone_number": "9876543210", '
        b'"contact_name": "x"}]',
        "deep-lists": b"[" * 5000 + b"]" * 5000,
        "deep-objects": b'{"a":' * 3000 + b"1" + b"}" * 3000,
        "deep-custom-field": b'[{"lead_id": "x", "phone_number": "9876543210", '
        b'"contact_name": "x", "deep": ' + b"[" * 2000 + b"]" * 2000 + b"}]",
    }
    for name, body in broken.items():
        add(f"json-{name}-create", "POST", path("create"), body)
    for endpoint in ("disable", "delete", "update", "convert"):
        for name in (
            "empty",
            "open-brace",
            "invalid-utf8",
            "lone-high-surrogate",
            "deep-lists",
            "number-overflow",
            "nul-byte",
            "trailing-garbage",
        ):
            add(f"json-{name}-{endpoint}", ENDPOINTS[endpoint], path(endpoint), broken[name])

    # --- valid JSON of the wrong shape --------------------------------------------------
    shapes = {
        "null": None,
        "true": True,
        "zero": 0,
        "string": "leads",
        "empty-list": [],
        "list-of-null": [None],
        "list-of-numbers": [1, 2],
        "list-of-strings": ["base-0"],
        "list-of-lists": [["base-0"]],
        "empty-object": {},
    }
    for endpoint in WRITES:
        for name, value in shapes.items():
            add(f"shape-{name}-{endpoint}", ENDPOINTS[endpoint], path(endpoint), dumps(value))

    # --- wrong types and values, field by field ----------------------------------------
    wrong = {
        "null": None,
        "true": True,
        "false": False,
        "float": 1.5,
        "huge-float": 1e308,
        "big-int-as-float": 123456789012345678901234567890,  # orjson reads it as a float
        "list": ["x"],
        "object": {"x": 1},
        "empty": "",
        "blank": "   ",
    }
    for field_name in ("lead_id", "phone_number", "contact_name"):
        add(
            f"create-{field_name}-missing",
            "POST",
            path("create"),
            dumps([lead(**{field_name: ...})]),
        )
        for name, value in wrong.items():
            add(
                f"create-{field_name}-{name}",
                "POST",
                path("create"),
                dumps([lead(**{field_name: value})]),
            )
    more = {
        "lead_id-too-long": {"lead_id": "x" * 256},
        "lead_id-nul": {"lead_id": "a\u0000b"},
        "lead_id-newline": {"lead_id": "a\nb"},
        "lead_id-del": {"lead_id": "a\x7fb"},
        "phone-letters": {"phone_number": "98765ABCDE"},
        "phone-short": {"phone_number": "12345"},
        "phone-us": {"phone_number": "+1 202 555 0123"},
        "phone-long-digits": {"phone_number": "9" * 40},
        "phone-huge-int": {"phone_number": 98765432109876543210},
        "phone-rtl-override": {"phone_number": "\u202e0123456789"},
        "phone-nul": {"phone_number": "98765\u000043210"},
        "name-too-long": {"contact_name": "x" * 256},
        "name-nul": {"contact_name": "Eve\u0000"},
        "custom-empty-key": {"": "x"},
        "custom-blank-key": {"   ": "x"},
        "custom-long-key": {"k" * 256: "x"},
        "custom-nul-value": {"city": "Pu\u0000ne"},
        "custom-nul-key": {"ci\u0000ty": "Pune"},
        "custom-nul-nested": {"plan": {"tier": ["a\u0000"]}},
        "custom-too-large": {"blob": "x" * 20_000},
    }
    for name, overrides in more.items():
        add(f"create-{name}", "POST", path("create"), dumps([lead(**overrides)]))
    # Weird but valid unicode in one lead of a batch whose other lead is invalid: all or none.
    for name, text in {
        "emoji": "😀👍🏽",
        "zwj": "👨‍👩‍👧",
        "rtl": "مرحبا",
        "combining": "e\u0301\u0301\u0301",
        "line-separator": "a\u2028b",
        "bom-char": "\ufeffname",
        "noncharacter": "\uffff",
        "private-use": "\ue000",
    }.items():
        body = [lead(lead_id=f"u-{name}", contact_name=text), lead(phone_number="12")]
        add(f"create-unicode-{name}-batch", "POST", path("create"), dumps(body))
    add("create-duplicate-of-baseline", "POST", path("create"), dumps([lead(lead_id="base-0")]))
    add(
        "create-duplicate-in-batch",
        "POST",
        path("create"),
        dumps([lead(lead_id="d"), lead(lead_id="d")]),
    )
    add(
        "create-int-and-string-same-id",
        "POST",
        path("create"),
        dumps([lead(lead_id=5), lead(lead_id="5")]),
    )
    add(
        "create-valid-then-invalid",
        "POST",
        path("create"),
        dumps([lead(lead_id="ok-1"), lead(lead_id="ok-2", phone_number="1")]),
    )

    lead_id_values = {**wrong, "too-long": "x" * 256, "nul": "a\u0000b", "tab": "a\tb"}
    for name, value in lead_id_values.items():
        add(f"disable-lead_id-{name}", "POST", path("disable"), dumps([{"lead_id": value}]))
        add(f"delete-lead_id-{name}", "POST", path("delete"), dumps({"lead_id": value}))
        add(
            f"update-lead_id-{name}",
            "PATCH",
            path("update"),
            dumps({"lead_id": value, "contact_name": "Eve"}),
        )
        add(
            f"convert-lead_id-{name}",
            "POST",
            path("convert"),
            dumps({"lead_id": value, "detail": "EVIL"}),
        )
    for endpoint in ("delete", "update", "convert"):
        add(
            f"{endpoint}-lead_id-missing",
            ENDPOINTS[endpoint],
            path(endpoint),
            dumps({"detail": "x", "contact_name": "Eve"}),
        )
        add(
            f"{endpoint}-unknown-lead",
            ENDPOINTS[endpoint],
            path(endpoint),
            dumps({"lead_id": "nobody", "detail": "X", "contact_name": "Eve"}),
            expect=(404,),
        )
        add(
            f"{endpoint}-unicode-unknown-lead",
            ENDPOINTS[endpoint],
            path(endpoint),
            dumps({"lead_id": "😀\u202e\ufeff", "detail": "X", "contact_name": "Eve"}),
            expect=(404,),
        )
    add("disable-unknown-lead", "POST", path("disable"), dumps([{"lead_id": "nobody"}]))
    add(
        "disable-known-and-unknown",
        "POST",
        path("disable"),
        dumps([{"lead_id": "base-0"}, {"lead_id": "nobody"}]),
    )
    add("disable-missing-lead_id", "POST", path("disable"), dumps([{"id": "base-0"}]))
    add("delete-list", "POST", path("delete"), dumps([{"lead_id": "base-1"}]))
    add("update-list", "PATCH", path("update"), dumps([{"lead_id": "base-0"}]))
    add("convert-list", "POST", path("convert"), dumps([{"lead_id": "base-0", "detail": "X"}]))
    for name, value in {**wrong, "too-long": "x" * 33, "nul": "a\u0000b", "missing": ...}.items():
        if name in ("blank",):
            continue  # "   " is 1 to 32 characters: a valid (if odd) code
        body = {"lead_id": "base-0", "detail": value}
        add(
            f"convert-detail-{name}",
            "POST",
            path("convert"),
            dumps({k: v for k, v in body.items() if v is not ...}),
        )
    for name, overrides in {
        "phone-null": {"phone_number": None},
        "phone-invalid": {"phone_number": "12345"},
        "phone-list": {"phone_number": [VALID_PHONE]},
        "name-null": {"contact_name": None},
        "name-empty": {"contact_name": ""},
        "name-int": {"contact_name": 7},
        "name-too-long": {"contact_name": "x" * 256},
        "custom-empty-key": {"": "x"},
        "custom-nul": {"city": "a\u0000"},
        "custom-too-large": {"blob": "x" * 20_000},
    }.items():
        add(f"update-{name}", "PATCH", path("update"), dumps({"lead_id": "base-0", **overrides}))

    # --- size limits --------------------------------------------------------------------
    add(
        "create-body-over-10mb",
        "POST",
        path("create"),
        b"[" + b" " * (10 * 1024 * 1024) + b"]",
        expect=(413,),
    )
    add(
        "create-10001-leads",
        "POST",
        path("create"),
        dumps([lead(lead_id=f"many-{i}") for i in range(10_001)]),
        expect=(413,),
    )
    add(
        "disable-10001-leads",
        "POST",
        path("disable"),
        dumps([{"lead_id": f"many-{i}"} for i in range(10_001)]),
        expect=(413,),
    )
    add("create-5mb-name", "POST", path("create"), dumps([lead(contact_name="x" * 5_000_000)]))

    # --- Idempotency-Key ----------------------------------------------------------------
    for name, key in {"empty": "", "too-long": "k" * 256, "tab": "a\tb"}.items():
        add(
            f"idempotency-{name}",
            "POST",
            path("create"),
            dumps(VALID_BODY["create"]),
            headers={"Idempotency-Key": key},
        )

    # --- query parameters of GET --------------------------------------------------------
    for name in ("page", "page_size"):
        for value in (
            "0",
            "-1",
            "abc",
            "1e3",
            "1.5",
            "99999999999999999999",
            "0x10",
            "%EF%BC%91",
            "%00",
            "+1",
            "1%20",
            "%E2%80%8B1",
        ):
            add(f"query-{name}={value}", "GET", path("responses", f"{name}={value}"))
        add(f"query-{name}-repeated-last-bad", "GET", path("responses", f"{name}=1&{name}=x"))
    for name in ("processed_after", "processed_before"):
        for value in (
            "abc",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "-1",
            "1e400",
            "1e18",
            "0x10",
            "%00",
            "1,5",
            "2024-01-01",
            "%E2%88%9E",
        ):
            add(f"query-{name}={value}", "GET", path("responses", f"{name}={value}"))
    add("query-page-past-end", "GET", path("responses", "page=2"), expect=(404,))
    add("query-page-far-past-end", "GET", path("responses", "page=999999999999"), expect=(404,))
    # Odd but valid: answered with a page (nothing matches, or the clamp applies).
    for name, query in {
        "lead_id-emoji": "lead_id=%F0%9F%98%80",
        "lead_id-lone-surrogate-bytes": "lead_id=%ED%A0%80",
        "lead_id-invalid-utf8": "lead_id=%FF%FE",
        "lead_id-rtl": "lead_id=%E2%80%AEbase-0",
        "page_size-huge-clamped": "page_size=999999999999",
        "unknown-param": "foo=bar&%00=%00",
        "empty-values": "page=&page_size=&processed_after=&lead_id=",
        "processed-window-empty": "processed_after=2000000000&processed_before=1",
        "processed-ms": "processed_after=99999999999999",
    }.items():
        add(f"query-ok-{name}", "GET", path("responses", query), expect=(200,))
    # A lead_id the API would never accept is a 400 here too (NUL bytes used to be a 500 on
    # PostgreSQL).
    for name, query in {
        "nul": "lead_id=%00",
        "nul-inside": "lead_id=base-0%00",
        "newline": "lead_id=base-0%0A",
        "too-long": "lead_id=" + "x" * 3000,
    }.items():
        add(f"query-lead_id-{name}", "GET", path("responses", query))

    # --- paths --------------------------------------------------------------------------
    odd_paths = {
        "no-campaign": "/api/v4/leads/create/",
        "empty-campaign": "/api/v4/leads/create//",
        "extra-segment": "/api/v4/leads/create/{cid}/extra/",
        "upper-endpoint": "/api/v4/leads/CREATE/{cid}/",
        "unknown-endpoint": "/api/v4/leads/import/{cid}/",
        "double-slash": "/api/v4//leads/create/{cid}/",
        "leads-root": "/api/v4/leads/",
        "v3": "/api/v3/leads/create/{cid}/",
        "dotdot-encoded": "/api/v4/leads/create/..%2F..%2F/",
        "dotdot-after": "/api/v4/leads/create/{cid}/%2E%2E/",
        "campaign-slash-encoded": "/api/v4/leads/create/{cid}%2F/",
        "campaign-space": "/api/v4/leads/create/{cid}%20/",
        "campaign-semicolon": "/api/v4/leads/create/{cid};x=1/",
        "campaign-backslash": "/api/v4/leads/create/{cid}%5C/",
        "campaign-emoji": "/api/v4/leads/create/%F0%9F%98%80/",
        "campaign-invalid-utf8": "/api/v4/leads/create/%FF%FE/",
        "campaign-lone-surrogate": "/api/v4/leads/create/%ED%A0%80/",
        "campaign-long": "/api/v4/leads/create/" + "A" * 1000 + "/",
        "campaign-star": "/api/v4/leads/create/*/",
    }
    for name, odd in odd_paths.items():
        add(f"path-{name}", "POST", odd, dumps(VALID_BODY["create"]), expect=(404, 405))
    for method in ("GET", "HEAD", "OPTIONS"):
        add(f"path-api-root-{method}", method, "/api/v4/", expect=(404, 405))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        add(
            f"path-api-root-{method}",
            method,
            "/api/v4/",
            dumps(VALID_BODY["create"]),
            expect=(404, 405),
        )
    for endpoint, method in ENDPOINTS.items():
        body = None if method == "GET" else dumps(VALID_BODY.get(endpoint))
        add(
            f"path-campaign-nul-{endpoint}",
            method,
            f"/api/v4/leads/{endpoint}/%00/",
            body,
            expect=(404,),
        )
        add(
            f"path-campaign-nul-inside-{endpoint}",
            method,
            f"/api/v4/leads/{endpoint}/{{cid}}%00/",
            body,
            expect=(404,),
        )
        add(
            f"path-campaign-other-{endpoint}",
            method,
            f"/api/v4/leads/{endpoint}/0PT711/",
            body,
            expect=(404,),
        )
    return out


CASES = cases()


@pytest.fixture(scope="module")
def tenant(live_server_proc, live_db):
    tenant = bootstrap(live_db, name="Malformed")
    base = live_server_proc.url
    create_leads(
        base,
        tenant["access_token"],
        tenant["campaign_id"],
        [
            {"lead_id": lead_id, "phone_number": VALID_PHONE, "contact_name": f"Base {i}"}
            for i, lead_id in enumerate(BASELINE)
        ],
    )
    tenant["baseline"] = all_results(base, tenant["access_token"], tenant["campaign_id"])
    assert [item["lead_id"] for item in tenant["baseline"]] == BASELINE
    tenant["session"] = requests.Session()
    yield tenant
    tenant["session"].close()


def send(session, base_url, tenant, case: Case) -> requests.Response:
    headers = dict(case.headers)
    if case.authorization is not None:
        value = case.authorization
        if isinstance(value, str):
            value = value.replace("{token}", tenant["access_token"])
        headers["Authorization"] = value
    if case.content_type is not None and case.body is not None:
        headers["Content-Type"] = case.content_type
    request = requests.Request(
        case.method,
        base_url + case.path.replace("{cid}", tenant["campaign_id"]),
        data=case.body,
        headers=headers,
    )
    prepared = session.prepare_request(request)
    return session.send(prepared, timeout=HTTP_TIMEOUT, allow_redirects=False)


def check_response(case: Case, response: requests.Response) -> None:
    status = response.status_code
    assert status < 500, f"{case.id}: {status} {response.text[:300]}"
    assert status in case.expect, f"{case.id}: {status} {response.text[:300]}"
    assert response.headers.get("Content-Type") == "application/json", response.headers
    if case.path.startswith("/api/v4/"):
        assert "RateLimit-Policy" in response.headers
        assert "RateLimit" in response.headers
    if case.method == "HEAD":
        assert response.content == b""
        return
    body = response.json()
    assert isinstance(body, dict)
    if status >= 400:
        assert isinstance(body.get("detail"), str)
        assert body["detail"]
    else:
        assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize("case", CASES)
def test_malformed_request(live_server_proc, tenant, case):
    response = send(tenant["session"], live_server_proc.url, tenant, case)
    check_response(case, response)


def test_cases_are_bounded():
    assert 300 <= len(CASES) <= 900
    assert len({p.id for p in CASES}) == len(CASES)


def test_bad_requests_changed_nothing(live_server_proc, live_db, tenant):
    """Runs after the cases (file order): the campaign is exactly as it was."""
    rows = query_live_db(
        live_db,
        f"SELECT l.lead_id, l.status, l.disabled_at, l.converted_at, l.conversion_detail, "
        f"l.erased_at FROM {Lead._meta.db_table} l JOIN {Campaign._meta.db_table} c "
        "ON c.id = l.campaign_id WHERE c.public_id = %s ORDER BY l.id",
        (tenant["campaign_id"],),
    )
    assert rows == [(lead_id, "queued", None, None, None, None) for lead_id in BASELINE]
    base = live_server_proc.url
    results = all_results(base, tenant["access_token"], tenant["campaign_id"])
    assert results == tenant["baseline"]
    page = requests.get(
        f"{base}/api/v4/leads/responses/{tenant['campaign_id']}/",
        headers={"Authorization": f"Bearer {tenant['access_token']}"},
        timeout=HTTP_TIMEOUT,
    ).json()
    assert page["count"] == len(BASELINE)


# --- outside the main loop ----------------------------------------------------------------


def test_chunked_request_body(live_server_proc, tenant):
    body = dumps([lead(lead_id="chunked-1")])
    response = requests.post(
        f"{live_server_proc.url}/api/v4/leads/create/{tenant['campaign_id']}/",
        data=iter([body[:10], body[10:]]),  # a generator body: requests sends it chunked
        headers={
            "Authorization": f"Bearer {tenant['access_token']}",
            "Content-Type": "application/json",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 201, response.text
    if response.status_code == 201:
        # Leave the baseline as it was for test_bad_requests_changed_nothing.
        erase = requests.post(
            f"{live_server_proc.url}/api/v4/leads/delete/{tenant['campaign_id']}/",
            json={"lead_id": "chunked-1"},
            headers={"Authorization": f"Bearer {tenant['access_token']}"},
            timeout=HTTP_TIMEOUT,
        )
        assert erase.status_code == 202


def test_negative_integer_phone_number_is_rejected(live_server_proc, tenant):
    base = f"{live_server_proc.url}/api/v4/leads/{{}}/{tenant['campaign_id']}/"
    headers = {"Authorization": f"Bearer {tenant['access_token']}"}
    body = [lead(lead_id="negative-phone", phone_number=-9876543210)]
    response = requests.post(
        base.format("create"), json=body, headers=headers, timeout=HTTP_TIMEOUT
    )
    if response.status_code == 201:
        # Leave the baseline as it was for test_bad_requests_changed_nothing.
        erase = requests.post(
            base.format("delete"),
            json={"lead_id": "negative-phone"},
            headers=headers,
            timeout=HTTP_TIMEOUT,
        )
        assert erase.status_code == 202
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "phone_number"


GUNICORN_REJECTS = {
    "nul-in-header": {"Authorization": b"Bearer a\x00b"},
    "control-char-in-header": {"X-Forwarded-For": b"\x01x"},
    "header-over-8190-bytes": {"Authorization": "Bearer " + "a" * 9000},
    "request-line-over-4094-bytes": {"X-Query": "lead_id=" + "x" * 5000},
}


@pytest.mark.parametrize("name", list(GUNICORN_REJECTS))
def test_requests_gunicorn_rejects_still_get_json(live_server_proc, tenant, name):
    headers = {"Authorization": f"Bearer {tenant['access_token']}"}
    extra = dict(GUNICORN_REJECTS[name])
    query = extra.pop("X-Query", "")
    headers.update(extra)
    response = requests.get(
        f"{live_server_proc.url}/api/v4/leads/responses/{tenant['campaign_id']}/?{query}",
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    assert 400 <= response.status_code < 500
    assert response.headers.get("Content-Type") == "application/json", response.text[:200]
    assert json.loads(response.text)["detail"]
