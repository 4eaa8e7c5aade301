"""Writing outbox events; delivery arrives with the webhooks issue."""

from typing import Any

from leadline.leads.models import Lead

from .models import Event


def event_record(*, lead: Lead, type: str, payload: dict[str, Any]) -> Event:
    """Record an event; call it inside the transaction that made the change it announces."""
    return Event.objects.create(
        business_id=lead.campaign.business_id,
        campaign_id=lead.campaign_id,
        lead=lead,
        type=type,
        payload=payload,
    )


def events_scrub_for_lead(*, lead: Lead) -> int:
    """Erasure: stored payloads of the lead's events keep no personal data."""
    return Event.objects.filter(lead=lead).update(payload={"erased": True}, lead=None)
