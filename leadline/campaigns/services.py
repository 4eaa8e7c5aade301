"""Writes on campaigns."""

from django.db import IntegrityError, transaction

from leadline.accounts.models import Business

from .models import (
    DEFAULT_OUTCOMES,
    DEFAULT_QUESTIONS,
    Campaign,
    Outcome,
    ScriptQuestion,
    new_public_id,
)


def campaign_defaults_install(*, campaign: Campaign) -> None:
    """Give a campaign without outcomes or script the default taxonomy and a short script."""
    if not campaign.outcomes.exists():
        Outcome.objects.bulk_create(
            Outcome(campaign=campaign, position=i, label=label, connected=connected, effect=effect)
            for i, (label, connected, effect) in enumerate(DEFAULT_OUTCOMES)
        )
    if not campaign.questions.exists():
        ScriptQuestion.objects.bulk_create(
            ScriptQuestion(
                campaign=campaign,
                position=i,
                key=key,
                label=label,
                kind=kind,
                required=required,
                options=options,
            )
            for i, (key, label, kind, required, options) in enumerate(DEFAULT_QUESTIONS)
        )


def campaign_create(*, business: Business, name: str) -> Campaign:
    """A new active campaign with a fresh random public id and the default configuration."""
    for _ in range(10):
        try:
            with transaction.atomic():
                campaign = Campaign.objects.create(
                    business=business, name=name, public_id=new_public_id()
                )
                campaign_defaults_install(campaign=campaign)
                return campaign
        except IntegrityError:
            if Campaign.objects.filter(business=business, name=name).exists():
                raise
            # A public id collision: draw another.
    raise RuntimeError("could not allocate a campaign id")


def campaign_get_or_create(*, business: Business, name: str) -> Campaign:
    existing = Campaign.objects.filter(business=business, name=name).first()
    return existing or campaign_create(business=business, name=name)
