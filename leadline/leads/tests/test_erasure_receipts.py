"""Erasure receipts: what the delete endpoint's receipt_id leads to, end to end."""

import pytest

from leadline.accounts.models import AuditEntry, IdempotencyRecord
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.compliance.suppressions import suppressed_in
from leadline.dialer.models import CallAttempt
from leadline.dialer.tests.conftest import now, rep  # noqa: F401  (shared fixtures)
from leadline.dialer.tests.test_dialer_flow import OBJECTIVE, call
from leadline.leads import services
from leadline.leads.loops import CompleteErasureReceipts
from leadline.leads.models import ErasureReceipt, Lead
from leadline.webhooks import delivery as engine
from leadline.webhooks import services as webhook_services
from leadline.webhooks.models import Delivery, DeliveryAttempt, Event
from leadline.webhooks.tests.conftest import Receiver

PHONE = "+919876500000"  # make_leads' first number


def delete_path(campaign, query=""):
    return f"/api/v4/leads/delete/{campaign.public_id}/{query}"


def receipt_path(receipt_id):
    return f"/api/v4/leads/erasures/{receipt_id}/"


@pytest.fixture
def receiver(settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def sweep():
    runner = CompleteErasureReceipts()
    yield runner
    runner.close()


def test_receipt_of_a_called_lead_completes_once_the_worker_has_run(
    api,
    campaign,
    make_leads,
    rep,  # noqa: F811
    now,  # noqa: F811
    answered_calls,
    media,
    receiver,
    sweep,
    django_capture_on_commit_callbacks,
):
    webhook_services.endpoint_create(
        business=campaign.business,
        url=receiver.url,
        campaign=campaign,
        event_types=["lead.processed", "lead.converted"],
    )
    make_leads(1)
    # A real (simulated) call: answers captured, the recording stored, lead.processed queued.
    call(rep, now, OBJECTIVE, {"interested": "yes", "notes": "call after 6"})
    assert list(media.rglob("*.wav"))
    delivery_loop = engine.DeliveryLoop()
    try:
        assert delivery_loop.run_once() == 1  # lead.processed delivered
    finally:
        delivery_loop.close()
    convert = {"lead_id": "lead-0", "detail": "PAID"}
    assert api.post(f"/api/v4/leads/convert/{campaign.public_id}/", convert).status_code == 200
    assert Delivery.objects.filter(status="pending").count() == 1  # lead.converted, unsent

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(delete_path(campaign), {"lead_id": "lead-0"})
    assert response.status_code == 202
    receipt_id = response.json()["receipt_id"]
    assert not list(media.rglob("*.wav")), "our file goes as the erasure commits"

    pending = api.get(receipt_path(receipt_id)).json()
    assert pending["status"] == "pending"
    assert pending["completed_at"] is None

    assert sweep.run_once() == 1
    done = api.get(receipt_path(receipt_id))
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "complete"
    assert body["completed_at"] is not None
    assert (body["receipt_id"], body["campaign_id"], body["lead_id"]) == (
        receipt_id,
        campaign.public_id,
        "lead-0",
    )
    assert body["erased"] == {
        "attempt_answers": 1,
        "recordings": 1,
        "provider_recordings": 0,  # the simulator keeps no copy
        "webhook_payloads": 2,  # lead.processed and lead.converted
        "webhook_excerpts": 1,  # the receiver's answer to the delivered one
        "deliveries_cancelled": 1,  # lead.converted, never sent
        "import_report_rows": 0,
        "stored_responses": 0,
        "audit_entries_kept": 4,  # see below
    }
    # The entries that named the lead before its erasure, kept with its lead_id only (the
    # erasure's own entry is written after the commit, so not counted).
    named = AuditEntry.objects.filter(lead_ids__contains="\nlead-0\n").order_by("id")
    assert [e.action for e in named] == [
        "leads.create",
        "lead.held",
        "call.placed",
        "leads.convert",
        "leads.delete",
    ]
    assert set(body["lead_fields"]) >= {"phone_number", "contact_name", "lead_responses"}
    assert "custom_fields" not in body["lead_fields"]  # it held nothing
    assert body["suppressed"] is False
    # What the counts say is really gone.
    assert CallAttempt.objects.get().answers == {}
    assert set(Event.objects.values_list("lead", flat=True)) == {None}
    assert not DeliveryAttempt.objects.exclude(response_excerpt="").exists()
    assert Delivery.objects.filter(status="cancelled").count() == 1
    assert ErasureReceipt.objects.get().files_pending == []
    assert sweep.run_once() == 0  # nothing left to complete


def test_the_worker_deletes_files_the_commit_left_behind(
    api,
    campaign,
    make_leads,
    rep,  # noqa: F811
    now,  # noqa: F811
    answered_calls,
    media,
    sweep,
):
    make_leads(1)
    call(rep, now, OBJECTIVE, {"interested": "yes"})
    # Without the on-commit callbacks (a process killed right after the commit).
    response = api.post(delete_path(campaign), {"lead_id": "lead-0"})
    assert list(media.rglob("*.wav"))
    receipt = ErasureReceipt.objects.get(public_id=response.json()["receipt_id"])
    assert receipt.status == "pending" and len(receipt.files_pending) == 1
    assert sweep.run_once() == 1
    assert not list(media.rglob("*.wav"))
    receipt.refresh_from_db()
    assert (receipt.status, receipt.files_pending) == ("complete", [])


def test_a_live_call_keeps_the_receipt_pending(campaign, make_leads, rep, now, settings):  # noqa: F811
    settings.LEADLINE_SIMULATOR = {
        "answer": 1.0,
        "busy": 0.0,
        "speed": 1.0,
        "ring_seconds": (1, 1),
        "talk_seconds": (3600, 3600),
    }
    from leadline.dialer import services as dialer

    make_leads(1)
    lead = dialer.lead_claim(rep=rep, now=now)
    dialer.call_place(rep=rep, lead_pk=lead.pk, now=now)
    receipt = services.lead_erase(campaign=campaign, lead_id="lead-0")
    sweep = services.erasure_receipts_complete()
    assert (sweep.checked, sweep.completed) == (1, 0)
    receipt.refresh_from_db()
    assert receipt.status == "pending"


def test_suppress_lists_the_number_and_withdraws_its_other_leads(api, campaign, make_leads):
    make_leads(1)
    # The same number again, in the same campaign under another id.
    make_leads(1, prefix="again")
    response = api.post(delete_path(campaign, "?suppress=true"), {"lead_id": "lead-0"})
    assert response.status_code == 202
    body = api.get(receipt_path(response.json()["receipt_id"])).json()
    assert body["suppressed"] is True
    assert suppressed_in(campaign=campaign, number_hash=number_hash(PHONE)) == ["business"]
    entry = Suppression.objects.get()
    assert (entry.source, entry.campaign_id) == (Suppression.Source.ERASURE, None)
    other = Lead.objects.get(lead_id="again-0")
    assert other.status == Lead.Status.PROCESSED
    # Neither table holds the number, in any form.
    digits = PHONE.removeprefix("+91")
    for row in (
        *Suppression.objects.values_list(),
        *ErasureReceipt.objects.values_list(),
    ):
        assert not any(digits in str(value) for value in row), row
    assert digits not in str(body)


def test_suppress_false_or_absent_lists_nothing_and_bad_values_are_400(api, campaign, make_leads):
    make_leads(3)
    assert api.post(delete_path(campaign, "?suppress=false"), {"lead_id": "lead-0"}).json()
    assert api.post(delete_path(campaign), {"lead_id": "lead-1"}).status_code == 202
    bad = api.post(delete_path(campaign, "?suppress=yes"), {"lead_id": "lead-2"})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "suppress must be true or false."
    assert not Suppression.objects.exists()
    assert Lead.objects.get(lead_id="lead-2").erased_at is None
    assert not ErasureReceipt.objects.filter(suppressed=True).exists()


def test_a_failed_erasure_leaves_no_receipt_and_no_entry(api, campaign, make_leads):
    make_leads(1)
    missing = api.post(delete_path(campaign, "?suppress=true"), {"lead_id": "nope"})
    assert missing.status_code == 404
    assert not ErasureReceipt.objects.exists()
    assert not Suppression.objects.exists()


def test_a_replay_gives_the_same_receipt_and_the_query_string_counts(api, campaign, make_leads):
    make_leads(2)
    key = {"Idempotency-Key": "erase-1"}
    first = api.post(delete_path(campaign), {"lead_id": "lead-0"}, headers=key)
    replay = api.post(delete_path(campaign), {"lead_id": "lead-0"}, headers=key)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["receipt_id"] == first.json()["receipt_id"]
    assert ErasureReceipt.objects.count() == 1
    # The same key and body with ?suppress=true is another request: 422, nothing run.
    other = api.post(delete_path(campaign, "?suppress=true"), {"lead_id": "lead-0"}, headers=key)
    assert other.status_code == 422
    assert not Suppression.objects.exists()
    # A key used first with the query string replays only to the same query string.
    key2 = {"Idempotency-Key": "erase-2"}
    with_query = api.post(
        delete_path(campaign, "?suppress=true"), {"lead_id": "lead-1"}, headers=key2
    )
    again = api.post(delete_path(campaign, "?suppress=true"), {"lead_id": "lead-1"}, headers=key2)
    assert again.json()["receipt_id"] == with_query.json()["receipt_id"]
    assert api.post(delete_path(campaign), {"lead_id": "lead-1"}, headers=key2).status_code == 422
    assert IdempotencyRecord.objects.count() == 2


def test_another_business_receipt_is_404(api, campaign, make_leads, client, other_token):
    make_leads(1)
    receipt_id = api.post(delete_path(campaign), {"lead_id": "lead-0"}).json()["receipt_id"]
    foreign = client.get(
        receipt_path(receipt_id), headers={"Authorization": f"Bearer {other_token}"}
    )
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": "No such erasure receipt."}
    for unknown in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert api.get(receipt_path(unknown)).status_code == 404
    assert api.get(receipt_path(receipt_id)).status_code == 200


def test_the_receipt_route_does_not_shadow_campaign_routes(api, campaign, make_leads):
    # A campaign whose public id is "erasures" still has its own routes.
    campaign.public_id = "erasures"
    campaign.save(update_fields=["public_id"])
    make_leads(1)
    assert api.get("/api/v4/leads/responses/erasures/").json()["count"] == 1
    response = api.post("/api/v4/leads/delete/erasures/", {"lead_id": "lead-0"})
    assert response.status_code == 202
    assert api.get(receipt_path(response.json()["receipt_id"])).status_code == 200


def test_the_worker_runs_the_receipt_loop(api, campaign, make_leads):
    from leadline.worker.runner import load_loops

    [loop] = [loop for loop in load_loops() if loop.name == "complete-erasure-receipts"]
    make_leads(1)
    receipt_id = api.post(delete_path(campaign), {"lead_id": "lead-0"}).json()["receipt_id"]
    runner = loop.factory()
    assert runner.run_once() == 1
    assert ErasureReceipt.objects.get(public_id=receipt_id).status == "complete"


def test_the_sweep_goes_on_past_receipts_still_waiting(campaign, make_leads, monkeypatch):
    from leadline.leads import hooks

    make_leads(3)
    receipts = [services.lead_erase(campaign=campaign, lead_id=f"lead-{i}") for i in range(3)]
    waiting = {receipts[0].tombstone_id}
    # The first receipt's lead still has work at some provider.
    monkeypatch.setattr(hooks, "_erasure_pending_checks", [lambda pks: waiting & set(pks)])
    runner = CompleteErasureReceipts(limit=1)
    # One receipt a run: the waiting one, then the two after it, then the end (rest).
    assert [runner.run_once() for _ in range(4)] == [1, 1, 1, 0]
    statuses = [ErasureReceipt.objects.get(pk=r.pk).status for r in receipts]
    assert statuses == ["pending", "complete", "complete"]
    # Round again from the start: once the provider is done, so is the receipt.
    waiting.clear()
    assert runner.run_once() == 1
    assert ErasureReceipt.objects.get(pk=receipts[0].pk).status == "complete"
