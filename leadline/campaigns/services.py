"""Writes on campaigns and telephony accounts."""

from collections.abc import Callable
from datetime import time
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone

from leadline.accounts.models import Business, User

from . import validation
from .models import (
    DEFAULT_OUTCOMES,
    DEFAULT_QUESTIONS,
    Campaign,
    Outcome,
    ScriptQuestion,
    TelephonyAccount,
    new_public_id,
)


def campaign_defaults_install(*, campaign: Campaign) -> None:
    """Give a campaign without outcomes or script the default taxonomy and a short script."""
    if not campaign.outcomes.exists():
        Outcome.objects.bulk_create(
            Outcome(
                campaign=campaign,
                position=i,
                label=label,
                connected=connected,
                effect=effect,
                do_not_call=do_not_call,
            )
            for i, (label, connected, effect, do_not_call) in enumerate(DEFAULT_OUTCOMES)
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


# --- calling configuration ---------------------------------------------------------------------


# campaign_settings_update's arguments: the column each one writes and the admin's rule for it.
_SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "timezone": ("timezone", validation.timezone_clean),
    "days": ("window_days", validation.window_days_clean),
    "max_attempts": ("max_attempts", validation.max_attempts_clean),
    "ring_seconds": ("max_ring_seconds", validation.ring_seconds_clean),
    "max_call_seconds": ("max_call_seconds", validation.call_seconds_clean),
    "category": ("category", validation.category_clean),
    "dial_mode": ("dial_mode", validation.dial_mode_clean),
    "preview_seconds": ("preview_seconds", validation.preview_seconds_clean),
    "wrap_up_seconds": ("wrap_up_seconds", validation.wrap_up_seconds_clean),
    "callback_grace_minutes": ("callback_grace_minutes", validation.callback_grace_clean),
    # Times come parsed; the pair is checked together below.
    "window_start": ("window_start", lambda value: value),
    "window_end": ("window_end", lambda value: value),
}


def campaign_settings_update(
    *,
    campaign: Campaign,
    window_start: time | None = None,
    window_end: time | None = None,
    days: list[int] | None = None,
    timezone: str | None = None,
    max_attempts: int | None = None,
    ring_seconds: int | None = None,
    max_call_seconds: int | None = None,
    category: str | None = None,
    dial_mode: str | None = None,
    preview_seconds: int | None = None,
    wrap_up_seconds: int | None = None,
    callback_grace_minutes: int | None = None,
) -> Campaign:
    """Change the given calling settings (None: unchanged), validated by the admin's rules.

    All or nothing: every value is checked, against the others as they will be (a new start
    against the stored end), before anything is written. Writes only these columns, so a
    concurrent lead insert's `lead_count` or another setting's edit is not overwritten.
    """
    # Checked in this order (the first bad value is the error), the window pair last.
    given = {
        "timezone": timezone,
        "days": days,
        "max_attempts": max_attempts,
        "ring_seconds": ring_seconds,
        "max_call_seconds": max_call_seconds,
        "category": category,
        "dial_mode": dial_mode,
        "preview_seconds": preview_seconds,
        "wrap_up_seconds": wrap_up_seconds,
        "callback_grace_minutes": callback_grace_minutes,
        "window_start": window_start,
        "window_end": window_end,
    }
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        changes: dict[str, Any] = {}
        for argument, value in given.items():
            if value is not None:
                column, clean = _SETTINGS[argument]
                changes[column] = clean(value)
        validation.window_clean(
            changes.get("window_start", locked.window_start),
            changes.get("window_end", locked.window_end),
        )
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
    for name, value in changes.items():
        setattr(campaign, name, value)
    return locked


def campaign_telephony_use(
    *, campaign: Campaign, account: TelephonyAccount | None, caller_id: str | None = None
) -> Campaign:
    """Call the campaign's leads through `account` (of the campaign's business), showing
    `caller_id` (one of the account's numbers; by default its first). None: back to the
    default provider (LEADLINE_TELEPHONY_PROVIDER)."""
    with transaction.atomic():
        # The account first, as telephony_account_update does, so a caller ID cannot be
        # removed from it between this check and the write.
        if account is not None:
            account = TelephonyAccount.objects.select_for_update().get(pk=account.pk)
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        number = validation.campaign_caller_id_clean(
            business_id=locked.business_id, account=account, caller_id=caller_id
        )
        locked.telephony_account = account
        locked.caller_id = number
        locked.save(update_fields=["telephony_account", "caller_id", "updated_at"])
    campaign.telephony_account, campaign.caller_id = account, number
    return locked


# --- telephony accounts ----------------------------------------------------------------------


def telephony_account_create(
    *,
    business: Business,
    provider: str,
    account_sid: str,
    credentials: dict[str, str],
    caller_ids: list[str],
    api_url: str = "",
    name: str = "",
) -> TelephonyAccount:
    """A business's account with a provider; the credentials are stored encrypted.

    Raises BadRequest (validation.InvalidSetting) naming the first problem. Empty `api_url`:
    the provider's documented host (TelephonyAccount.DEFAULT_API_URLS).
    """
    cleaned = validation.telephony_account_clean(
        provider=provider,
        account_sid=account_sid,
        credentials=credentials,
        caller_ids=caller_ids,
        api_url=api_url,
        name=name,
    )
    account = TelephonyAccount(
        business=business,
        provider=cleaned.provider,
        account_sid=cleaned.account_sid,
        caller_ids=cleaned.caller_ids,
        api_url=cleaned.api_url,
        name=cleaned.name,
    )
    account.credentials_set(cleaned.credentials)
    with transaction.atomic():
        account.save()
    return account


def telephony_account_update(
    *,
    account: TelephonyAccount,
    account_sid: str | None = None,
    credentials: dict[str, str] | None = None,
    caller_ids: list[str] | None = None,
    api_url: str | None = None,
    name: str | None = None,
) -> TelephonyAccount:
    """Change an account (None: unchanged). `credentials` replaces only the names given, so
    an operator can rotate one token without retyping the others. The provider and business
    stay: another provider is another account. A caller ID that a campaign shows cannot be
    removed until the campaign is moved to another."""
    with transaction.atomic():
        locked = TelephonyAccount.objects.select_for_update().get(pk=account.pk)
        try:
            stored = locked.credentials()
        except ValueError:
            # Encrypted under a key no longer configured: only newly given ones count, and
            # the rules then ask for every one the provider needs.
            stored = {}
        merged = {**stored, **(credentials or {})}
        cleaned = validation.telephony_account_clean(
            provider=locked.provider,
            account_sid=locked.account_sid if account_sid is None else account_sid,
            credentials=merged,
            caller_ids=locked.caller_ids if caller_ids is None else caller_ids,
            api_url=locked.api_url if api_url is None else api_url,
            name=locked.name if name is None else name,
        )
        validation.caller_ids_in_use_check(account=locked, caller_ids=cleaned.caller_ids)
        locked.account_sid = cleaned.account_sid
        locked.caller_ids = cleaned.caller_ids
        locked.api_url = cleaned.api_url
        locked.name = cleaned.name
        if cleaned.credentials != stored:
            # Re-encrypted only when they changed: an untouched form keeps the stored token.
            locked.credentials_set(cleaned.credentials)
        locked.save()
    return locked


def telephony_account_check_record(*, account: TelephonyAccount, ok: bool, detail: str) -> None:
    """Remember the outcome of a `check` (one authenticated read at the provider)."""
    text = ("OK: " if ok else "Failed: ") + detail.strip()
    if len(text) > 300:
        text = text[:299] + "…"
    now = django_timezone.now()
    with transaction.atomic():
        TelephonyAccount.objects.filter(pk=account.pk).update(
            checked_at=now, check_result=text, updated_at=now
        )
    account.checked_at, account.check_result = now, text


def campaign_supervisors_set(*, supervisor: User, campaigns: list[Campaign]) -> None:
    """The campaigns a supervisor sees on the wallboard (none: every campaign)."""
    with transaction.atomic():
        supervisor.supervised_campaigns.set(campaigns)
