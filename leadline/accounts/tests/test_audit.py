"""The audit trail's recording guarantees, the API's entries, the admin's and the purge."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from leadline.accounts import audit
from leadline.accounts.loops import purge_audit_entries
from leadline.accounts.models import ApiToken, AuditEntry, Business, User

SECRET_TOKEN = "ll_abcd1234_Zx9yQ-verysecretpart_0123456789abcdef"


def leads_path(action, campaign):
    return f"/api/v4/leads/{action}/{campaign.public_id}/"


def only_entry(**filters):
    [entry] = AuditEntry.objects.filter(**filters)
    return entry


# --- no phone number, no secret -------------------------------------------------------------


def test_numbers_and_secrets_never_stored(business):
    entry = audit.audit_record(
        action="test.action 9876543210",
        actor=audit.Actor(kind="user", id="1", label="asha 98765 43210"),
        business=business,
        target=f"call +91-98765-43210 with {SECRET_TOKEN}",
        lead_ids=["+919876543210", "L-1"],
        details={
            "note": "ring 022 2345 6789 or whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "password": "hunter2-hunter2",
            "webhook_secret": "anything",
            "api_token": SECRET_TOKEN,
            "phone_number": "9876543210",
            "nested": [{"Authorization": "Bearer " + SECRET_TOKEN}, "Bearer abc.def"],
            "count": 3,
        },
    )
    assert entry is not None
    stored = AuditEntry.objects.get(pk=entry.pk)
    text = " ".join(
        [stored.action, stored.actor_label, stored.target, stored.lead_ids, str(stored.details)]
    )
    for leaked in (
        "9876543210",
        "98765 43210",
        "98765-43210",
        "2345 6789",
        "verysecretpart",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "hunter2",
        "anything",
        "abc.def",
    ):
        assert leaked not in text
    assert "ll_abcd" in stored.target  # the start of the prefix identifies it
    assert stored.details["password"] == audit.WITHHELD
    assert stored.details["api_token"] == audit.WITHHELD
    assert stored.details["phone_number"] == audit.WITHHELD
    assert stored.details["count"] == 3
    assert "\nL-1\n" in stored.lead_ids


def test_a_failing_record_does_not_break_the_callers_transaction(business, monkeypatch):
    def broken_save(self, *args, **kwargs):
        # A real database error (on PostgreSQL it would abort the whole transaction without
        # the savepoint around the insert).
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_audit_table")

    monkeypatch.setattr(AuditEntry, "save", broken_save)
    with transaction.atomic():
        Business.objects.create(name="Made in the same transaction")
        assert audit.audit_record(action="x", actor=audit.SYSTEM, business=business) is None
        Business.objects.create(name="Still writable after")
    assert Business.objects.filter(name="Still writable after").exists()


def test_lead_ids_are_capped_and_counted(business):
    ids = [f"L{i}" for i in range(audit.LEAD_IDS_KEPT + 5)]
    entry = audit.audit_record(
        action="leads.create", actor=audit.SYSTEM, business=business, lead_ids=ids
    )
    assert entry.lead_count == len(ids)
    assert entry.lead_ids.count("\n") == audit.LEAD_IDS_KEPT + 1


# --- the API --------------------------------------------------------------------------------


def test_api_create_records_token_prefix_endpoint_counts_and_lead_ids(api, campaign, token):
    response = api.post(
        leads_path("create", campaign),
        [
            {"lead_id": "A1", "phone_number": "9876543210", "contact_name": "A"},
            {"lead_id": "A2", "phone_number": "9876543211", "contact_name": "A"},
        ],
    )
    assert response.status_code == 201
    entry = only_entry(action="leads.create")
    prefix = ApiToken.objects.get().prefix
    assert entry.business == campaign.business
    assert entry.actor_kind == "api_token"
    assert entry.actor_label == f"ll_{prefix[:4]}…"
    assert entry.target == campaign.public_id
    assert entry.lead_count == 2 and "\nA1\n" in entry.lead_ids
    assert entry.details["counts"] == {"created": 2}
    assert entry.details["endpoint"] == f"POST {leads_path('create', campaign)}"
    assert "9876543210" not in str(entry.details) + entry.lead_ids


def test_each_api_write_records_and_reads_and_failures_do_not(api, campaign, make_leads):
    make_leads(4)
    AuditEntry.objects.all().delete()
    assert api.post(leads_path("disable", campaign), [{"lead_id": "lead-0"}]).status_code == 201
    assert (
        api.patch(
            leads_path("update", campaign), {"lead_id": "lead-1", "contact_name": "B"}
        ).status_code
        == 200
    )
    assert (
        api.post(
            leads_path("convert", campaign), {"lead_id": "lead-2", "detail": "sold"}
        ).status_code
        == 200
    )
    assert api.post(leads_path("delete", campaign), {"lead_id": "lead-3"}).status_code == 202
    # Not recorded: reads, refusals.
    assert api.get(f"/api/v4/leads/responses/{campaign.public_id}/").status_code == 200
    assert api.post(leads_path("disable", campaign), [{"lead_id": "nope"}]).status_code == 400
    got = {e.action: e.lead_ids for e in AuditEntry.objects.all()}
    assert got == {
        "leads.disable": "\nlead-0\n",
        "leads.update": "\nlead-1\n",
        "leads.convert": "\nlead-2\n",
        "leads.delete": "\nlead-3\n",
    }
    assert audit.audit_entries_for_lead_count(business=campaign.business, lead_id="lead-3") == 1


def test_an_idempotent_replay_is_not_recorded_twice(api, campaign):
    body = [{"lead_id": "A1", "phone_number": "9876543210", "contact_name": "A"}]
    headers = {"Idempotency-Key": "k1"}
    assert api.post(leads_path("create", campaign), body, headers=headers).status_code == 201
    replay = api.post(leads_path("create", campaign), body, headers=headers)
    assert replay["Idempotent-Replayed"] == "true"
    assert AuditEntry.objects.filter(action="leads.create").count() == 1


def test_unauthenticated_calls_record_nothing(client, campaign):
    response = client.post(leads_path("create", campaign), "[]", content_type="application/json")
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


# --- the admin ------------------------------------------------------------------------------


def test_admin_change_is_recorded_with_the_business(operator, client, business):
    url = reverse("admin:accounts_business_change", args=[business.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(name=business.name, rate_limit_per_minute=77, is_active="on")
    data.pop("created_at", None)
    data.pop("updated_at", None)
    response = client.post(url, data)
    assert response.status_code == 302, (
        getattr(response, "context", None) and response.context["adminform"].form.errors
    )
    entry = only_entry(action="admin.change")
    assert entry.business == business
    assert entry.actor_kind == "operator" and entry.actor_label == "ops"
    assert "Business" in entry.target


def test_admin_delete_selected_on_several_rows_is_recorded_per_row(operator, client, business):
    # "delete selected" logs several rows with bulk_create (no signal); each must still land.
    reps = [
        User.objects.create_user(username=f"gone{i}", password="x", business=business)
        for i in range(3)
    ]
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [u.pk for u in reps], "post": "yes"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[u.pk for u in reps]).exists()
    entries = AuditEntry.objects.filter(action="admin.delete")
    assert sorted(e.target.rsplit(": ", 1)[1] for e in entries) == ["gone0", "gone1", "gone2"]
    assert {e.business_id for e in entries} == {business.pk}
    assert {e.actor_label for e in entries} == {"ops"}


def test_admin_single_row_delete_is_recorded_once(operator, client, business):
    rep = User.objects.create_user(username="alone", password="x", business=business)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [rep.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="admin.delete").count() == 1


def test_audit_admin_is_read_only_and_lists(operator, client, business):
    audit.audit_record(action="leads.create", actor=audit.SYSTEM, business=business)
    changelist = client.get(reverse("admin:accounts_auditentry_changelist"))
    assert changelist.status_code == 200
    assert b"leads.create" in changelist.content
    assert client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
    entry = AuditEntry.objects.get()
    assert (
        client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"action": "forged"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.get().action == "leads.create"


# --- retention ------------------------------------------------------------------------------


def test_purge_removes_entries_older_than_a_year_in_batches(business):
    now = timezone.now()
    for days in (366, 400, 364):
        audit.audit_record(
            action="old", actor=audit.SYSTEM, business=business, at=now - timedelta(days=days)
        )
    assert audit.audit_entries_purge(now=now, batch=1) == 1
    assert purge_audit_entries() == 1
    assert purge_audit_entries() == 0
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["old"]
    assert AuditEntry.objects.get().created_at > now - timedelta(days=365)


def test_the_loop_is_registered():
    from leadline.core.loops import registered

    assert "purge-audit-entries" in {loop.name for loop in registered()}


@pytest.mark.parametrize("lead_id", ["9876543210", "CRM-00012345678"])
def test_lead_ids_with_long_digit_runs_are_masked_yet_findable(business, lead_id):
    audit.audit_record(action="a", actor=audit.SYSTEM, business=business, lead_ids=[lead_id])
    assert lead_id not in AuditEntry.objects.get().lead_ids
    assert audit.audit_entries_for_lead_count(business=business, lead_id=lead_id) == 1


def test_a_streamed_create_records_its_ids_masked(api, campaign, monkeypatch):
    """The streamed create has its entry built while the server finishes the COPY; the
    entry is what the trail keeps for those ids anywhere else."""
    ids = ["9876500001", "B2", "B3"]
    from leadline.leads import services

    monkeypatch.setattr(services, "_STREAM_STEP", 2)
    body = [
        {"lead_id": lead_id, "phone_number": f"987654321{i}", "contact_name": "A"}
        for i, lead_id in enumerate(ids)
    ]
    assert api.post(leads_path("create", campaign), body).status_code == 201
    entry = only_entry(action="leads.create")
    assert entry.lead_count == 3
    assert entry.lead_ids == audit._lead_ids_text(["9876500001", "B2", "B3"])
    assert "9876500001" not in entry.lead_ids and "\nB2\n" in entry.lead_ids


@pytest.mark.parametrize("step", [2, 10_000])  # streamed (PostgreSQL), plain
def test_a_create_records_its_entry_inside_its_own_transaction_and_once(
    api, campaign, monkeypatch, step
):
    """The create writes the gateway's entry just before its commit (one commit for both):
    the entry is written inside the create's atomic block, and the gateway does not add a
    second one after the answer."""
    from leadline.leads import services

    monkeypatch.setattr(services, "_STREAM_STEP", step)
    save = audit._entry_save
    # The test itself runs in a transaction: the create's own is one atomic block deeper.
    outside = len(transaction.get_connection().atomic_blocks)
    in_transaction: list[bool] = []

    def spying(entry):
        in_transaction.append(len(transaction.get_connection().atomic_blocks) > outside)
        return save(entry)

    monkeypatch.setattr(audit, "_entry_save", spying)
    body = [
        {"lead_id": f"T{i}", "phone_number": f"987654321{i}", "contact_name": "A"} for i in range(3)
    ]
    response = api.post(leads_path("create", campaign), body)
    assert response.status_code == 201
    assert in_transaction == [True]
    entry = only_entry(action="leads.create")
    assert (entry.lead_count, entry.details["status"]) == (3, 201)
    assert entry.details["counts"] == {"created": 3}


def test_a_create_that_fails_records_nothing(api, campaign):
    """A 400 (a lead_id repeated in the request) rolls back; no entry says it created."""
    body = [{"lead_id": "T1", "phone_number": "9876543210", "contact_name": "A"}] * 2
    assert api.post(leads_path("create", campaign), body).status_code == 400
    assert not AuditEntry.objects.filter(action="leads.create").exists()
