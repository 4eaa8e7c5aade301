"""The do-not-call list over the API (/api/v4/suppressions/): create, delete, check and list;
its effect on leads (created already processed, queued ones withdrawn, never dialled); and
that no number is ever stored, answered back in a list, logged or audited."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import ApiClient
from leadline.accounts.models import AuditEntry, IdempotencyRecord
from leadline.campaigns.services import campaign_create
from leadline.compliance.decisions import NOT_CALLED_DNC
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.dialer import services as dialer
from leadline.dialer.models import CallAttempt
from leadline.dialer.telephony.simulator import SimulatorProvider
from leadline.dialer.tests.conftest import make_rep
from leadline.leads.counts import counts_verify
from leadline.leads.models import Lead
from leadline.webhooks.models import Event
from leadline.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

BASE = "/api/v4/suppressions/"
CREATE = BASE + "create/"
DELETE = BASE + "delete/"
CHECK = BASE + "check/"
# One number in the spellings a client may use; the digits are what must never be stored.
DIGITS = "9876543210"
E164 = "+91" + DIGITS


def leads_url(campaign):
    return f"/api/v4/leads/create/{campaign.public_id}/"


def new_lead(lead_id, phone):
    return {"lead_id": lead_id, "phone_number": phone, "contact_name": "Person"}


# --- create ----------------------------------------------------------------------------------


def test_create_lists_hashes_and_adding_again_is_not_an_error(api, business, campaign):
    body = [
        {"phone_number": "98765 43210", "reason": "Asked not to be called"},
        {"phone_number": 9123456789, "campaign_id": campaign.public_id},
    ]
    response = api.post(CREATE, body)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "detail": "2 do-not-call entr(y/ies) created.",
        "created": 2,
        "withdrawn": 0,
    }
    wide = Suppression.objects.get(campaign__isnull=True)
    assert (wide.business_id, wide.number_hash, wide.reason, wide.source) == (
        business.pk,
        number_hash(E164),
        "Asked not to be called",
        "api",
    )
    scoped = Suppression.objects.get(campaign=campaign)
    assert scoped.number_hash == number_hash("+919123456789")

    # The same entries again, one in another spelling, and one new: only the new one counts.
    again = api.post(
        CREATE,
        [
            {"phone_number": "+91-98765-43210", "reason": "changed"},
            {"phone_number": "9123456789", "campaign_id": campaign.public_id},
            {"phone_number": "9123456789"},  # business-wide is another list
        ],
    )
    assert again.status_code == 201
    assert again.json()["created"] == 1
    assert Suppression.objects.count() == 3
    wide.refresh_from_db()
    assert wide.reason == "Asked not to be called"  # the first reason stays


def test_one_object_body_and_repeats_within_a_request(api):
    response = api.post(CREATE, {"phone_number": DIGITS})
    assert response.status_code == 201 and response.json()["created"] == 1
    twice = api.post(CREATE, [{"phone_number": "9000000001"}, {"phone_number": "09000000001"}])
    assert twice.status_code == 201 and twice.json()["created"] == 1


def test_posts_without_the_trailing_slash_are_served(api):
    created = api.post("/api/v4/suppressions/create", {"phone_number": DIGITS, "reason": "a"})
    assert created.status_code == 201 and created.json()["created"] == 1
    checked = api.post("/api/v4/suppressions/check", {"phone_numbers": [DIGITS]})
    assert checked.json()["results"][0]["reasons"] == {"business": "a"}
    deleted = api.post("/api/v4/suppressions/delete", {"phone_number": DIGITS})
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1


def test_a_number_repeated_in_a_request_keeps_its_first_reason(api):
    response = api.post(
        CREATE, [{"phone_number": DIGITS, "reason": "first"}, {"phone_number": E164, "reason": "2"}]
    )
    assert response.json()["created"] == 1
    assert Suppression.objects.get().reason == "first"


def test_idempotency_key_replays_the_first_answer(api):
    headers = {"Idempotency-Key": "dnc-1"}
    first = api.post(CREATE, {"phone_number": DIGITS}, headers=headers)
    replay = api.post(CREATE, {"phone_number": DIGITS}, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json() == {**first.json(), "created": 1}
    # Another body under the same key is refused, as for the leads endpoints.
    other = api.post(CREATE, {"phone_number": "9000000001"}, headers=headers)
    assert other.status_code == 422
    assert Suppression.objects.count() == 1
    stored = IdempotencyRecord.objects.get(key="dnc-1").response_body or ""
    assert DIGITS not in stored


@pytest.mark.parametrize(
    "item, field, code",
    [
        ({"phone_number": "12345"}, "phone_number", "invalid"),
        ({}, "phone_number", "required"),
        ({"phone_number": DIGITS, "campaign_id": "NOPE42"}, "campaign_id", "not_found"),
        ({"phone_number": DIGITS, "campaign_id": 5}, "campaign_id", "invalid"),
        ({"phone_number": DIGITS, "reason": "x" * 201}, "reason", "invalid"),
        ({"phone_number": DIGITS, "reason": "two\nlines"}, "reason", "invalid"),
        ({"phone_number": DIGITS, "reason": 7}, "reason", "invalid"),
        ("9876543210", None, "invalid"),
    ],
)
def test_bad_items_are_400_in_the_leads_shape_and_change_nothing(api, item, field, code):
    response = api.post(CREATE, [{"phone_number": "9000000001"}, item])
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "1 problem(s) found; the do-not-call list was not changed."
    assert body["errors"] == [
        {
            "index": 1,
            "lead_id": None,
            "field": field,
            "code": code,
            "message": body["errors"][0]["message"],
        }
    ]
    assert "12345" not in body["errors"][0]["message"]  # a number is never echoed
    assert not Suppression.objects.exists()


def test_a_campaign_of_another_business_is_unknown(api, other_campaign, campaign):
    response = api.post(
        CREATE,
        [
            {"phone_number": DIGITS, "campaign_id": campaign.public_id},
            {"phone_number": DIGITS, "campaign_id": other_campaign.public_id},
        ],
    )
    assert response.status_code == 400
    [err] = response.json()["errors"]
    assert (err["index"], err["field"], err["code"]) == (1, "campaign_id", "not_found")
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    "raw, detail",
    [
        (b"{", "Request body is not valid JSON"),
        (b"[]", "No entries in the request."),
        (b"3", "The body must be a do-not-call entry object or a list of them."),
    ],
)
def test_malformed_bodies_are_400(api, raw, detail):
    response = api.post(CREATE, raw=raw)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_item_count_is_limited_like_the_leads_create(api, settings):
    settings.LEADLINE_MAX_LEADS_PER_REQUEST = 2
    response = api.post(CREATE, [{"phone_number": f"900000000{i}"} for i in range(3)])
    assert response.status_code == 413
    assert response.json() == {"detail": "At most 2 numbers per request; split the batch."}
    assert not Suppression.objects.exists()
    check = api.post(CHECK, {"phone_numbers": [DIGITS] * 3})
    assert check.status_code == 413


@pytest.mark.parametrize("path", [CREATE, DELETE, CHECK, BASE, "/api/v4/suppressions"])
def test_without_a_valid_token_every_endpoint_is_refused(client, path):
    bad = ApiClient(client, "ll_nope_nope")
    response = bad.get(path) if path.rstrip("/").endswith("suppressions") else bad.post(path, {})
    # The Leads API v4 answers a missing or wrong token with 403 (not 401).
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Authentication credentials were not provided or are not valid."
    }


def test_rate_limit_is_the_business_budget(client, business, token):
    business.rate_limit_per_minute = 2
    business.save()
    api = ApiClient(client, token)
    statuses = [
        api.post(CREATE, {"phone_number": DIGITS}).status_code,
        api.post(CHECK, {"phone_numbers": [DIGITS]}).status_code,
        api.get(BASE).status_code,
    ]
    assert statuses == [201, 200, 429]
    limited = api.post(DELETE, {"phone_number": DIGITS})
    assert limited.status_code == 429 and limited.json()["limit"] == 2
    assert Suppression.objects.count() == 1  # the refused delete did nothing


# --- delete ----------------------------------------------------------------------------------


def test_delete_removes_only_the_named_scope_and_ignores_unknown(api, campaign):
    api.post(
        CREATE,
        [{"phone_number": DIGITS}, {"phone_number": DIGITS, "campaign_id": campaign.public_id}],
    )
    response = api.post(
        DELETE,
        [
            {"phone_number": "+91 98765 43210", "campaign_id": campaign.public_id},
            {"phone_number": "9000000001"},  # never listed
        ],
    )
    assert response.status_code == 200
    assert response.json() == {"detail": "1 do-not-call entr(y/ies) deleted.", "deleted": 1}
    assert list(Suppression.objects.values_list("campaign", flat=True)) == [None]
    bad = api.post(DELETE, [{"phone_number": DIGITS}, {"phone_number": "1"}])
    assert bad.status_code == 400 and bad.json()["errors"][0]["index"] == 1
    assert Suppression.objects.count() == 1


def test_another_business_cannot_delete_or_see_the_entries(api, other_token, client):
    api.post(CREATE, {"phone_number": DIGITS})
    other = ApiClient(client, other_token)
    assert other.post(DELETE, {"phone_number": DIGITS}).json()["deleted"] == 0
    assert (
        other.post(CHECK, {"phone_numbers": [DIGITS]}).json()["results"][0]["suppressed"] is False
    )
    assert other.get(BASE).json()["count"] == 0
    assert Suppression.objects.count() == 1


# --- check -----------------------------------------------------------------------------------


def test_check_says_where_and_why_echoing_the_number_sent(api, business, campaign):
    second = campaign_create(business=business, name="Upsell")
    api.post(
        CREATE,
        [
            {"phone_number": DIGITS, "reason": "Asked"},
            {"phone_number": DIGITS, "campaign_id": second.public_id},
            {"phone_number": "9123456789", "campaign_id": campaign.public_id, "reason": "Rude"},
        ],
    )
    response = api.post(CHECK, {"phone_numbers": ["098765 43210", 9123456789, "9000000001"]})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "phone_number": "098765 43210",
                "suppressed": True,
                "where": ["business", second.public_id],
                "reasons": {"business": "Asked", second.public_id: ""},
            },
            {
                "phone_number": 9123456789,
                "suppressed": True,
                "where": [campaign.public_id],
                "reasons": {campaign.public_id: "Rude"},
            },
            {"phone_number": "9000000001", "suppressed": False, "where": [], "reasons": {}},
        ]
    }
    # A read: not recorded in the audit trail.
    assert not AuditEntry.objects.filter(action="suppressions.check").exists()


@pytest.mark.parametrize(
    "body", [{"phone_numbers": []}, {"phone_numbers": "9876543210"}, {}, [DIGITS]]
)
def test_check_bad_bodies_are_400(api, body):
    assert api.post(CHECK, body).status_code == 400


def test_check_bad_numbers_are_listed_by_position(api):
    response = api.post(CHECK, {"phone_numbers": [DIGITS, "12345", None]})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"], e["code"]) for e in errors] == [
        (1, "phone_numbers", "invalid"),
        (2, "phone_numbers", "required"),
    ]
    assert "12345" not in response.content.decode()


# --- list ------------------------------------------------------------------------------------


def test_list_pages_like_the_leads_responses(api, campaign):
    api.post(CREATE, [{"phone_number": f"90000000{i:02d}", "reason": f"r{i}"} for i in range(3)])
    api.post(CREATE, {"phone_number": DIGITS, "campaign_id": campaign.public_id})
    first = api.get(BASE, {"page_size": 3})
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 4 and body["previous"] is None
    assert body["next"] == "http://testserver/api/v4/suppressions/?page=2&page_size=3"
    assert [r["reason"] for r in body["results"]] == ["r0", "r1", "r2"]  # oldest first
    entry = body["results"][0]
    assert set(entry) == {"id", "scope", "campaign_id", "reason", "source", "created_at"}
    assert (entry["scope"], entry["campaign_id"], entry["source"]) == ("business", None, "api")
    assert entry["created_at"].endswith("+00:00")

    # The path without its trailing slash is served too, and keeps the caller's params.
    last = api.get("/api/v4/suppressions", {"page": 2, "page_size": 3}).json()
    assert last["next"] is None
    assert last["previous"] == "http://testserver/api/v4/suppressions/?page=1&page_size=3"
    [scoped] = last["results"]
    assert (scoped["scope"], scoped["campaign_id"]) == ("campaign", campaign.public_id)

    only = api.get(BASE, {"campaign_id": campaign.public_id}).json()
    assert only["count"] == 1 and only["results"][0]["id"] == scoped["id"]
    for response in (first, api.get(BASE)):
        text = response.content.decode()
        assert "90000000" not in text and DIGITS not in text
        assert not any(row.number_hash in text for row in Suppression.objects.all())


def test_list_errors(api, other_campaign):
    assert api.get(BASE).json() == {"count": 0, "next": None, "previous": None, "results": []}
    past = api.get(BASE, {"page": 2})
    assert past.status_code == 404 and past.json() == {"detail": "Invalid page."}
    foreign = api.get(BASE, {"campaign_id": other_campaign.public_id})
    assert foreign.status_code == 404 and foreign.json() == {"detail": "Campaign not found."}
    bad = api.get(BASE, {"page_size": "0"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "page_size must be a positive integer."}
    unknown = api.get(BASE + "nope/")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not found."}


# --- effects on leads ------------------------------------------------------------------------


def test_a_lead_created_with_a_listed_number_is_processed_at_once(
    api, business, campaign, settings
):
    other = campaign_create(business=business, name="Upsell")
    api.post(
        CREATE,
        [
            {"phone_number": "9000000001"},  # business-wide
            {"phone_number": "9000000002", "campaign_id": campaign.public_id},
            {"phone_number": "9000000003", "campaign_id": other.public_id},  # not this one
        ],
    )
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True  # nothing is sent: the outbox is read
    hook = endpoint_create(business=business, url="http://127.0.0.1:9/hook").endpoint
    leads = [new_lead(f"n{i}", f"900000000{i}") for i in range(1, 5)]
    with CaptureQueriesContext(connection) as queries:
        response = api.post(leads_url(campaign), leads)
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 4
    # The whole batch is looked up in one query, not one per lead, and the listed leads are
    # processed together: one UPDATE of leads, one insert of events, not one of each per lead.
    table = Suppression._meta.db_table
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sum(table in sql for sql in sqls) == 1
    assert sum(sql.startswith('UPDATE "leads_lead"') for sql in sqls) == 1
    assert sum(sql.startswith('INSERT INTO "webhooks_event"') for sql in sqls) == 1

    by_id = {lead.lead_id: lead for lead in Lead.objects.filter(campaign=campaign)}
    for lead_id in ("n1", "n2"):
        lead = by_id[lead_id]
        assert (lead.status, lead.lead_outcome) == ("processed", NOT_CALLED_DNC)
        assert lead.processed_at is not None
        event = Event.objects.get(lead=lead, type="lead.processed")
        assert event.payload["lead_outcome"] == NOT_CALLED_DNC
    for lead_id in ("n3", "n4"):
        assert (by_id[lead_id].status, by_id[lead_id].lead_outcome) == ("queued", None)
        assert not Event.objects.filter(lead=by_id[lead_id]).exists()
    # What the client reads back says so too, and the webhook carries exactly that item.
    results = api.get(f"/api/v4/leads/responses/{campaign.public_id}/").json()["results"]
    outcomes = {r["lead_id"]: r["lead_outcome"] for r in results}
    assert outcomes == {"n1": NOT_CALLED_DNC, "n2": NOT_CALLED_DNC, "n3": None, "n4": None}
    for item in results[:2]:
        event = Event.objects.get(lead=by_id[item["lead_id"]], type="lead.processed")
        assert event.payload == item
        assert event.deliveries.get().endpoint == hook
        assert event.request_id == response["X-Request-ID"]  # the create's, for the logs
    # The campaign's counts moved with them (queued -> processed, by outcome and per day).
    assert counts_verify(campaign=campaign).differences == []


def test_a_listed_number_is_never_dialled(api, campaign, monkeypatch):
    dialled = []
    place_call = SimulatorProvider.place_call

    def recording(self, call):
        dialled.append(call.lead_phone)
        return place_call(self, call)

    monkeypatch.setattr(SimulatorProvider, "place_call", recording)
    api.post(CREATE, {"phone_number": "9000000001"})
    api.post(leads_url(campaign), [new_lead("dnc", "9000000001"), new_lead("ok", "9000000002")])
    rep = make_rep(campaign, "rep-a", "+919000000101")
    claimed = dialer.lead_claim(rep=rep, ignore_window=True)
    assert claimed is not None and claimed.lead_id == "ok"
    dialer.call_place(rep=rep, lead_pk=claimed.pk)
    # Nothing else is left to call: the listed lead was processed when it was created.
    other_rep = make_rep(campaign, "rep-b", "+919000000102")
    assert dialer.lead_claim(rep=other_rep, ignore_window=True) is None
    assert dialled == ["+919000000002"]
    assert not CallAttempt.objects.filter(lead__lead_id="dnc").exists()


def test_listing_a_number_later_withdraws_its_queued_leads(api, business, campaign):
    other = campaign_create(business=business, name="Upsell")
    api.post(leads_url(campaign), [new_lead("a", DIGITS), new_lead("b", "9000000001")])
    api.post(leads_url(other), [new_lead("c", DIGITS)])
    scoped = api.post(CREATE, {"phone_number": DIGITS, "campaign_id": campaign.public_id})
    assert scoped.json()["withdrawn"] == 1
    states = dict(Lead.objects.values_list("lead_id", "lead_outcome"))
    assert states == {"a": NOT_CALLED_DNC, "b": None, "c": None}

    wide = api.post(CREATE, {"phone_number": "+91 98765 43210"})
    assert wide.status_code == 201
    assert wide.json() == {
        "detail": "1 do-not-call entr(y/ies) created.",
        "created": 1,
        "withdrawn": 1,
    }
    c = Lead.objects.get(lead_id="c")
    assert (c.status, c.lead_outcome) == ("processed", NOT_CALLED_DNC)
    assert Event.objects.filter(lead=c, type="lead.processed").count() == 1
    assert Lead.objects.get(lead_id="b").status == "queued"


# --- nothing stored, logged or audited that names a number -------------------------------------


def test_no_number_in_the_tables_logs_or_audit_trail(api, campaign, caplog):
    caplog.set_level(logging.DEBUG)
    api.post(leads_url(campaign), [new_lead("x", DIGITS)])
    api.post(
        CREATE,
        [
            {"phone_number": "98765-43210", "reason": "Asked on a call"},
            {"phone_number": DIGITS, "campaign_id": campaign.public_id},
        ],
    )
    api.post(CHECK, {"phone_numbers": [DIGITS]})
    api.get(BASE)
    api.post(DELETE, {"phone_number": DIGITS, "campaign_id": campaign.public_id})

    rows = list(Suppression.objects.values())
    assert rows
    for row in rows:
        for value in row.values():
            assert DIGITS not in str(value) and "43210" not in str(value)
    assert DIGITS not in caplog.text and "98765-43210" not in caplog.text

    created = AuditEntry.objects.get(action="suppressions.create")
    assert created.details["counts"] == {"created": 2, "withdrawn": 1}
    deleted = AuditEntry.objects.get(action="suppressions.delete")
    assert deleted.details["counts"] == {"deleted": 1}
    for entry in (created, deleted):
        stored = " ".join(
            str(v) for v in AuditEntry.objects.filter(pk=entry.pk).values().get().values()
        )
        assert DIGITS not in stored and "43210" not in stored
    assert not AuditEntry.objects.filter(action__in=["suppressions.check", "suppressions"]).exists()


@pytest.mark.parametrize(
    "scope, looked_up",
    [("none", False), ("other campaign", False), ("business", True), ("campaign", True)],
)
def test_a_streamed_create_looks_numbers_up_only_when_an_entry_could_list_them(
    api, business, campaign, monkeypatch, scope, looked_up
):
    """The streamed create asks, with its reservation, whether the business has any entry
    for the campaign (business-wide or the campaign's own); only then does it hash the
    batch's numbers and look them up, and a listed lead is processed at once as ever."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL streams")
    from leadline.leads import services

    monkeypatch.setattr(services, "_STREAM_STEP", 2)
    other = campaign_create(business=business, name="Upsell")
    entry = {
        "none": None,
        "other campaign": {"phone_number": "9000000001", "campaign_id": other.public_id},
        "business": {"phone_number": "9000000001"},
        "campaign": {"phone_number": "9000000001", "campaign_id": campaign.public_id},
    }[scope]
    if entry is not None:
        assert api.post(CREATE, entry).status_code == 201
    leads = [new_lead(f"s{i}", f"900000000{i}") for i in range(1, 5)]
    with CaptureQueriesContext(connection) as queries:
        response = api.post(leads_url(campaign), leads)
    assert response.status_code == 201, response.content
    lookups = [q["sql"] for q in queries.captured_queries if "number_hash = ANY" in q["sql"]]
    assert len(lookups) == (1 if looked_up else 0)
    outcomes = dict(Lead.objects.filter(campaign=campaign).values_list("lead_id", "lead_outcome"))
    listed = NOT_CALLED_DNC if looked_up else None
    assert outcomes == {"s1": listed, "s2": None, "s3": None, "s4": None}
    assert counts_verify(campaign=campaign).differences == []
