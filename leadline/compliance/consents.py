"""Consent to promotional calls: recorded by a business for a number (as a keyed hash), it
lifts DND for that business's promotional campaigns (`dnd.dnd_rule`)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .hashing import number_hash
from .models import Consent


def consent_given(*, campaign: Campaign, phone: str) -> bool:
    """Whether the person gave the campaign's business consent to promotional calls. Only
    promotional campaigns need it, so a service campaign costs no query."""
    if campaign.category != Campaign.Category.PROMOTIONAL:
        return False
    return Consent.objects.filter(
        business_id=campaign.business_id, number_hash=number_hash(phone)
    ).exists()


@dataclass(frozen=True)
class ConsentItem:
    """One consent to record: an E.164 number, when and how it was given, and the business's
    evidence (a form submission id, a recording reference; no number in it)."""

    phone: str
    given_at: datetime
    method: str
    reference: str = ""


def consents_record(*, business: Business, items: list[ConsentItem]) -> tuple[int, int]:
    """Record consents; a number already consented is updated (the latest given_at, method
    and reference win). Returns (created, updated)."""
    created = updated = 0
    with transaction.atomic():
        for item in items:
            _, was_created = Consent.objects.update_or_create(
                business=business,
                number_hash=number_hash(item.phone),
                defaults={
                    "given_at": item.given_at,
                    "method": item.method,
                    "reference": item.reference[:200],
                },
            )
            if was_created:
                created += 1
            else:
                updated += 1
    return created, updated


def consents_withdraw(*, business: Business, phones: list[str]) -> int:
    """Remove consents (the person withdrew it); unknown numbers are ignored. Returns how
    many were removed."""
    deleted, _ = Consent.objects.filter(
        business=business, number_hash__in=[number_hash(p) for p in phones]
    ).delete()
    return deleted
