"""Hostile input to every dashboard and console page: never a 500.

The URLs come from the URLconf (the `dashboard` and `console` namespaces), so a new page or
form is covered without touching this file; path parameters are filled from real objects
(a campaign, a lead, a webhook endpoint and its delivery, a lead import, a call attempt).
Each page is fetched as its role (client staff for the dashboard, a rep for the console) with
CSRF checks on; every form on it is then posted back, with the page's CSRF token, once per
kind of hostile value in every field at once, and once per field and kind with the other
fields as the page filled them:

- oversize (100 KB), Unicode (RTL override, emoji, combining marks, a lone BOM), control
  characters (NUL, ESC, CR LF), wrong types (text where a number, date or choice goes, huge
  numbers), the field left out, the field sent twice with different values;
- a file field gets an oversize, a binary (NUL) and a Unicode file.

Every answer must be under 500 (a form error, a redirect, a 4xx, or the page of a post
that a view took: hostile but valid text, such as a token's name in Unicode, is accepted).
Each URL is also posted to directly, and walked anonymously and as the other role.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from leadline.accounts.models import User
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.leads.models import ErasureReceipt, Lead, LeadImport

BIG = "A" * 100_000
HOSTILE = {
    "oversize": BIG,
    "unicode": (
        "\u202eevil\u202c \U0001f600\U0001f469\u200d\U0001f467 e\u0301\u0301\u0301"
        " \ufeff \ufdfd \U0001d54f"
    ),
    "control": "a\x00b\x1b[31m\r\nc\x7f",
    "wrong-type": "not-a-number-or-date",
    "huge-number": "9" * 40,
    "negative": "-1e309",
    "bad-date": "2024-13-45T25:61",
    "whitespace": " \t ",
}
HOSTILE_FILES = {
    "oversize-file": b"lead_id,phone_number,contact_name\n" + b"x," * 60_000 + b"\n",
    "binary-file": b"\x00\xff\xfe\x00PK\x03\x04" * 100,
    "unicode-file": "lead_id,phone_number,contact_name\n\u202e1,९८७६५४३२१०,😀\n".encode(),
}
NAMESPACES = {"dashboard": "staff", "console": "rep"}


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, value) as the page has it
    files: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None
        self.select_value: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self.current = Form(action=urlsplit(action).path, method=a.get("method", "get").lower())
            self.forms.append(self.current)
            return
        if self.current is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                self.current.files.append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.current.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                self.current.fields.append((name, a.get("value", "")))
        elif tag == "select":
            self.select, self.select_value = name, None
        elif tag == "option" and self.select is not None:
            if self.select_value is None or "selected" in a:
                self.select_value = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.current.fields.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select" and self.current is not None and self.select is not None:
            self.current.fields.append((self.select, self.select_value or ""))
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea and self.current is not None:
            name, value = self.current.fields[-1]
            self.current.fields[-1] = (name, value + data)


def url_patterns(namespace: str) -> list[URLPattern]:
    resolver = get_resolver()
    (inner,) = [
        p for p in resolver.url_patterns if isinstance(p, URLResolver) and p.namespace == namespace
    ]
    return [p for p in inner.url_patterns if isinstance(p, URLPattern)]


@pytest.fixture
def world(business, campaign, make_leads, answered_calls):
    from leadline.dialer.services.calls import call_place
    from leadline.dialer.services.claims import lead_claim
    from leadline.webhooks import services as webhook_services
    from leadline.webhooks.models import Delivery, Event

    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = time(0, 0)
    campaign.window_end = time.max
    campaign.save()
    staff = User.objects.create_user(
        username="hostile-staff", password="pw-1", role=User.Role.CLIENT, business=business
    )
    rep = User.objects.create_user(
        username="hostile-rep",
        password="pw-2",
        role=User.Role.REP,
        phone_number="+919000000001",
        business=business,
    )
    campaign.reps.add(rep)
    make_leads(4)
    claimed = lead_claim(rep=rep, ignore_window=True)
    attempt = call_place(rep=rep, lead_pk=claimed.pk)
    endpoint = webhook_services.endpoint_create(
        business=business, url="https://93.184.216.34/hooks/in", campaign=campaign
    ).endpoint
    event = Event.objects.create(
        business=business, campaign=campaign, type="lead.processed", payload={}
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        next_attempt_at=timezone.now(),
        status=Delivery.Status.FAILED,
        attempts_count=1,
    )
    lead_import = LeadImport.objects.create(
        business=business, campaign=campaign, uploaded_by=staff, original_name="x.csv"
    )
    suppressions_add(
        business=business, items=[SuppressionItem(phone="+919876500001")], source="dashboard"
    )
    return {
        "staff": staff,
        "rep": rep,
        # The wallboard's "force a rep" address (a rep gets its 403 page).
        "rep_id": rep.pk,
        "campaign_id": campaign.public_id,
        "public_id": campaign.public_id,
        # The console's lead (the rep's claimed one) and the dashboard's (another).
        "lead_pk": claimed.pk,
        "lead": Lead.objects.filter(campaign=campaign).exclude(pk=claimed.pk).first().pk,
        "lead_id": Lead.objects.filter(campaign=campaign).exclude(pk=claimed.pk).first().lead_id,
        "endpoint": endpoint.pk,
        "delivery_pk": delivery.pk,
        "import_id": lead_import.pk,
        "attempt_uuid": attempt.uuid,
        "suppression_id": Suppression.objects.get(business=business).pk,
        "receipt_id": ErasureReceipt.objects.create(
            business=business, campaign=campaign, lead_id="gone-1", requested_at=timezone.now()
        ).public_id,
    }


def reverse_all(namespace: str, world) -> list[str]:
    urls = []
    for pattern in url_patterns(namespace):
        params = pattern.pattern.converters.keys()
        kwargs = {}
        for name in params:
            if name == "pk":
                kwargs[name] = (
                    world["endpoint"] if "integrations" in pattern.name else world["lead"]
                )
            else:
                assert name in world, f"no object for <{name}> in {namespace}:{pattern.name}"
                kwargs[name] = world[name]
        urls.append(reverse(f"{namespace}:{pattern.name}", kwargs=kwargs))
    return urls


def client_as(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def csrf_of(client: Client, fields) -> str:
    for name, value in fields:
        if name == "csrfmiddlewaretoken":
            return value
    return client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""


def variants(form: Form):
    """(label, data, files) posts for one form."""
    names = [n for n, _ in form.fields if n != "csrfmiddlewaretoken"]
    base = [(n, v) for n, v in form.fields if n != "csrfmiddlewaretoken"]

    def data(pairs):
        out: dict[str, list[str]] = {}
        for name, value in pairs:
            out.setdefault(name, []).append(value)
        return out

    yield "as-filled", data(base), {}
    for kind, value in HOSTILE.items():
        yield f"all-{kind}", data([(n, value) for n in names]), {}
    yield "all-missing", {}, {}
    for target in dict.fromkeys(names):
        others = [(n, v) for n, v in base if n != target]
        for kind, value in HOSTILE.items():
            yield f"{target}-{kind}", data([*others, (target, value)]), {}
        yield f"{target}-missing", data(others), {}
        yield f"{target}-twice", data([*others, (target, "1"), (target, "\x00two")]), {}
    for name in form.files:
        for kind, content in HOSTILE_FILES.items():
            upload = SimpleUploadedFile(f"\u202e{kind}.csv", content, content_type="text/csv")
            yield f"{name}-{kind}", data(base), {name: upload}


def post(client: Client, url: str, data: dict, files: dict) -> int:
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    payload = {**data, **files, "csrfmiddlewaretoken": token}
    return client.post(url, payload).status_code


def sign_in(client: Client, user) -> None:
    """As `user` again: a post may have signed them out (logout, a password change)."""
    if user is not None:
        client.force_login(user)


@pytest.mark.parametrize("who", ["role", "anonymous"])
@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_hostile_form_posts_never_500(namespace, who, world, settings):
    settings.AXES_ENABLED = False  # the login forms are posted to many times
    user = world[NAMESPACES[namespace]] if who == "role" else None
    client = client_as(None)
    client.get(reverse("dashboard:login"))  # a CSRF cookie
    problems: list[str] = []
    forms_posted = posts = 0
    statuses: Counter = Counter()
    for url in reverse_all(namespace, world):
        sign_in(client, user)
        page = client.get(url)
        if page.status_code >= 500:
            problems.append(f"GET {url}: {page.status_code}")
            continue
        forms: list[Form] = []
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            parser = FormParser(url)
            parser.feed(page.content.decode())
            forms = [f for f in parser.forms if f.method == "post"]
        if not any(f.action == url for f in forms):
            forms.append(Form(action=url, method="post"))  # the URL itself, posted to directly
        for form in forms:
            forms_posted += 1
            if os.environ.get("HOSTILE_DEBUG"):
                print("FORM", url, form)
            for label, data, files in variants(form):
                sign_in(client, user)
                status = post(client, form.action, data, files)
                posts += 1
                statuses[status] += 1
                if status >= 500:
                    problems.append(f"POST {form.action} [{label}] from {url}: {status}")
    print(f"\n{namespace} as {who}: {forms_posted} forms, {posts} hostile posts: {dict(statuses)}")
    assert forms_posted >= len(url_patterns(namespace))
    # The posts reached the views: not all turned away by the CSRF check.
    assert statuses[403] < posts / 2, statuses
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_every_page_as_the_wrong_role_never_500(namespace, world):
    other = "rep" if NAMESPACES[namespace] == "staff" else "staff"
    problems = []
    for user in (world[other],):
        client = client_as(user)
        client.get(reverse("dashboard:login"))  # a CSRF cookie
        for url in reverse_all(namespace, world):
            for method in ("get", "post"):
                if method == "get":
                    status = client.get(url).status_code
                else:
                    status = post(client, url, {"x": [HOSTILE["control"]]}, {})
                if status >= 500:
                    problems.append(f"{method.upper()} {url} as {user}: {status}")
    assert not problems, "\n".join(problems)
