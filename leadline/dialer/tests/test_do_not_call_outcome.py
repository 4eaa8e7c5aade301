"""The rep's "Do Not Call" outcome: the number goes on the business-wide list (source rep,
hash only), the lead is processed with that outcome, and the business's other queued leads
with the number are withdrawn without a call."""

import logging
from datetime import timedelta

import pytest

from leadline.campaigns.models import DO_NOT_CALL_OUTCOME, Outcome
from leadline.campaigns.services import campaign_create
from leadline.compliance.decisions import NOT_CALLED_DNC
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import Suppression
from leadline.dialer import services
from leadline.dialer.services.dispositions import DO_NOT_CALL_REASON
from leadline.leads.models import Lead
from leadline.webhooks.models import Event

from .test_dialer_flow import call

pytestmark = pytest.mark.django_db
NUMBER = "9876500000"  # make_leads' lead-0


def create(api, campaign, lead_id, phone=NUMBER):
    body = [{"lead_id": lead_id, "phone_number": phone, "contact_name": "Asha"}]
    assert api.post(f"/api/v4/leads/create/{campaign.public_id}/", body).status_code == 201


def test_new_campaigns_have_the_outcome(campaign):
    outcome = campaign.outcomes.get(label=DO_NOT_CALL_OUTCOME)
    assert outcome.do_not_call and outcome.connected and outcome.effect == Outcome.Effect.FINAL
    assert campaign.outcomes.filter(do_not_call=True).count() == 1


def test_do_not_call_lists_the_number_and_withdraws_other_leads(
    api, business, campaign, make_leads, rep, now, answered_calls, caplog
):
    other = campaign_create(business=business, name="Other campaign")
    make_leads(2)  # lead-0 (+919876500000) is called first, lead-1 is another number
    create(api, campaign, "same-number-here", NUMBER)
    create(api, other, "same-number-there", NUMBER)
    caplog.set_level(logging.DEBUG)
    # No script answers: someone asking not to be called answers none.
    result = call(rep, now, DO_NOT_CALL_OUTCOME)
    assert result.state == "processed"
    lead = Lead.objects.get(campaign=campaign, lead_id="lead-0")
    assert (lead.status, lead.lead_outcome) == ("processed", DO_NOT_CALL_OUTCOME)
    assert lead.processed_at is not None and lead.latest_called_at is not None
    entry = Suppression.objects.get()
    assert (entry.business, entry.campaign, entry.source) == (business, None, "rep")
    assert entry.reason == DO_NOT_CALL_REASON
    assert entry.number_hash == number_hash("+91" + NUMBER)
    for target, lead_id in ((campaign, "same-number-here"), (other, "same-number-there")):
        withdrawn = Lead.objects.get(campaign=target, lead_id=lead_id)
        assert (withdrawn.status, withdrawn.lead_outcome) == ("processed", NOT_CALLED_DNC)
        assert withdrawn.latest_called_at is None and not withdrawn.attempts.exists()
    assert Lead.objects.get(lead_id="lead-1").status == "queued"
    # lead.processed for the called lead and each withdrawn one.
    assert Event.objects.filter(type="lead.processed").count() == 3
    # Only the hash is kept, and no log line names the number.
    for row in Suppression.objects.values():
        assert NUMBER not in str(row)
    assert NUMBER not in caplog.text


def test_do_not_call_of_another_business_leaves_theirs_alone(
    api, campaign, other_campaign, make_leads, rep, now, answered_calls, other_token
):
    from django.test import Client

    from conftest import ApiClient

    make_leads(1)
    theirs = ApiClient(Client(), other_token)
    body = [{"lead_id": "t", "phone_number": NUMBER, "contact_name": "B"}]
    assert theirs.post(f"/api/v4/leads/create/{other_campaign.public_id}/", body).status_code == 201
    call(rep, now, DO_NOT_CALL_OUTCOME)
    assert Lead.objects.get(campaign=other_campaign).status == "queued"
    assert not Suppression.objects.filter(business=other_campaign.business).exists()


def test_a_do_not_call_outcome_is_final_whatever_its_effect(
    campaign, make_leads, rep, now, answered_calls
):
    campaign.outcomes.filter(label=DO_NOT_CALL_OUTCOME).update(effect=Outcome.Effect.RETRY)
    make_leads(1)
    result = call(rep, now, DO_NOT_CALL_OUTCOME)
    assert result.state == "processed"
    assert Lead.objects.get().lead_outcome == DO_NOT_CALL_OUTCOME


def test_the_list_holds_the_request_even_if_the_lead_was_disabled_mid_call(
    campaign, make_leads, rep, now, answered_calls
):
    from leadline.leads.services import lead_disable_batch

    make_leads(1)
    lead = services.lead_claim(rep=rep, now=now)
    attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=now)
    lead_disable_batch(campaign=campaign, lead_ids=["lead-0"])
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=DO_NOT_CALL_OUTCOME,
        answers={},
        now=now + timedelta(seconds=2),
    )
    assert result.state == "stopped"
    assert Suppression.objects.get().source == "rep"


def test_the_data_migration_adds_the_outcome_where_missing(business):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("leadline.campaigns.migrations.0006_default_do_not_call_outcome")
    lacking = campaign_create(business=business, name="Old")
    lacking.outcomes.filter(do_not_call=True).delete()
    own = campaign_create(business=business, name="Own label")
    own.outcomes.filter(do_not_call=True).delete()
    own.outcomes.create(label="Do Not Call", position=50, effect=Outcome.Effect.RETRY)
    empty = campaign_create(business=business, name="Empty")
    empty.outcomes.all().delete()
    migration.add_outcome(apps, None)
    added = lacking.outcomes.get(label=DO_NOT_CALL_OUTCOME)
    assert added.do_not_call and added.connected and added.effect == "final"
    assert added.position == max(o.position for o in lacking.outcomes.all())
    assert not own.outcomes.get(label="Do Not Call").do_not_call  # the operator's, untouched
    assert not empty.outcomes.exists()
    migration.add_outcome(apps, None)  # idempotent
    assert lacking.outcomes.filter(label=DO_NOT_CALL_OUTCOME).count() == 1
