"""The rules for a campaign's calling configuration and a telephony account, in one place.

The admin forms, the services and the command line all validate through these functions, so
a value refused in one is refused in all, with the same words. Each raises `InvalidSetting`
(a `BadRequest`, so callers that render ApiErrors need nothing new) naming the field it is
about: the admin puts the message under that field, the command line prints it.
"""

import ipaddress
import re
import zoneinfo
from dataclasses import dataclass
from datetime import time
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from phonenumbers import NumberParseException, PhoneNumberFormat

from leadline.core.errors import BadRequest

from .models import TelephonyAccount

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The storage range of a PositiveSmallIntegerField on every engine: beyond it PostgreSQL
# refuses the write, so the rule says so first.
SMALL_INT_MAX = 32767
# The ranges the database's check constraints on Campaign enforce (see models.Campaign.Meta).
RING_SECONDS_RANGE = (5, 60)
CALL_SECONDS_RANGE = (60, 14400)
PREVIEW_SECONDS_RANGE = (0, 120)
WRAP_UP_SECONDS_RANGE = (5, 3600)
CALLBACK_GRACE_RANGE = (0, 1440)

# Twilio account SIDs are "AC" and 32 hex digits (the Console shows them; API keys start "SK").
_TWILIO_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Exotel's SID is the account's name in its URLs (/v1/Accounts/<sid>/...): letters, digits,
# hyphens and underscores; anything else would change the path it is put into.
_EXOTEL_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Letters would let phonenumbers read vanity numbers or extensions: a caller ID is digits.
_PHONE_CHARS = re.compile(r"\+[0-9 \-.()]+")
_CREDENTIAL_MAX = 256
_LOOPBACK_NAMES = ("localhost",)


class InvalidSetting(BadRequest):
    """A value the rules refuse; `field` names the setting (the model field) it is about."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


# --- the calling configuration ---------------------------------------------------------------


def _is_int(value: object) -> bool:
    # bool is an int in Python; `true` in a JSON list is not a weekday or a delay.
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: object, *, low: int, high: int | None = None) -> bool:
    return isinstance(value, list) and all(
        _is_int(v) and v >= low and (high is None or v <= high) for v in value
    )


def timezone_clean(name: object) -> str:
    # Only names from the IANA database: ZoneInfo would also open paths ("../../etc/passwd").
    if not isinstance(name, str) or name not in zoneinfo.available_timezones():
        raise InvalidSetting(
            "timezone", "Not a known time zone; use an IANA name such as Asia/Kolkata."
        )
    return name


def window_days_clean(days: object) -> list[int]:
    if not _int_list(days, low=0, high=6) or not days:
        raise InvalidSetting(
            "window_days", "A list of weekdays from 0 (Monday) to 6 (Sunday), e.g. [0, 1, 2]."
        )
    assert isinstance(days, list)  # _int_list said so
    return sorted(set(days))


def retry_delays_clean(delays: object) -> list[int]:
    # At least one: the dialer repeats the last delay for every further retry.
    if not _int_list(delays, low=1) or not delays:
        raise InvalidSetting(
            "retry_delays_minutes", "A list of minutes (1 or more each), e.g. [60, 240]."
        )
    assert isinstance(delays, list)
    return delays


def rep_visible_fields_clean(names: object) -> list[str]:
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise InvalidSetting("rep_visible_fields", 'A list of custom field names, e.g. ["city"].')
    return names


def int_in_range(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidSetting(field, f"Must be a whole number from {low} to {high}.")
    return value


def max_attempts_clean(value: object) -> int:
    return int_in_range("max_attempts", value, 1, SMALL_INT_MAX)


# Campaign.Category's values (models import nothing from here, nor this from models).
CATEGORIES = ("service", "promotional")


def category_clean(value: object) -> str:
    """A campaign category: `service` or `promotional`."""
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in CATEGORIES:
        raise InvalidSetting(
            "category", f"{value!r} is not a category; use service or promotional."
        )
    return str(text)


def lease_minutes_clean(value: object) -> int:
    return int_in_range("lease_minutes", value, 1, SMALL_INT_MAX)


def ring_seconds_clean(value: object) -> int:
    return int_in_range("max_ring_seconds", value, *RING_SECONDS_RANGE)


def call_seconds_clean(value: object) -> int:
    return int_in_range("max_call_seconds", value, *CALL_SECONDS_RANGE)


def preview_seconds_clean(value: object) -> int:
    return int_in_range("preview_seconds", value, *PREVIEW_SECONDS_RANGE)


def wrap_up_seconds_clean(value: object) -> int:
    return int_in_range("wrap_up_seconds", value, *WRAP_UP_SECONDS_RANGE)


def callback_grace_clean(value: object) -> int:
    return int_in_range("callback_grace_minutes", value, *CALLBACK_GRACE_RANGE)


def dial_mode_clean(value: object) -> str:
    text = str(value).strip().lower()
    if text not in ("preview", "progressive"):
        raise InvalidSetting("dial_mode", f"{value!r} is not preview or progressive.")
    return text


def window_clean(start: time, end: time) -> None:
    # window_open() tests start <= local time < end: a window past midnight would never open.
    if start >= end:
        raise InvalidSetting(
            "window_end", "The calling window must end after it starts, the same day."
        )


def clock_time_parse(field: str, text: str) -> time:
    """`HH:MM` (24-hour) as a time, for the command line."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidSetting(
            field, f"{text!r} is not a time of day as HH:MM (24-hour), e.g. 09:30."
        )
    return time(int(match[1]), int(match[2]))


def weekdays_parse(text: str) -> list[int]:
    """`mon,tue,...` (or full names) as weekday numbers (Monday = 0), for the command line."""
    days = []
    for part in text.split(","):
        day = _DAY_SPELLINGS.get(part.strip().lower())
        if day is None:
            raise InvalidSetting(
                "window_days",
                f"{part.strip()!r} is not a weekday; give names such as "
                "mon,tue,wed,thu,fri,sat,sun.",
            )
        days.append(day)
    return window_days_clean(days)


_DAY_SPELLINGS = {
    spelling: i
    for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for spelling in (full, full[:3])
}


def weekdays_format(days: list[int]) -> list[str]:
    return [WEEKDAY_NAMES[d] for d in days if 0 <= d <= 6]


def public_id_clean(text: str) -> str | None:
    """A campaign public id as stored (upper case), or None when `text` cannot be one (NUL
    bytes, which PostgreSQL refuses in a query, among others)."""
    text = text.strip().upper()
    if text.isascii() and text.isalnum() and 0 < len(text) <= 12:
        return text
    return None


# --- telephony accounts ----------------------------------------------------------------------


def caller_id_clean(value: object, *, field: str = "caller_ids") -> str:
    """A caller ID as E.164. Any country: ExoPhones are Indian, Twilio numbers often +1."""
    if not isinstance(value, str) or len(value) > 32 or not _PHONE_CHARS.fullmatch(value.strip()):
        raise InvalidSetting(
            field,
            "A caller ID must be a phone number in E.164 form, + and the country code, "
            "e.g. +918047112233 or +14155550100.",
        )
    try:
        number = phonenumbers.parse(value.strip(), None)
    except NumberParseException:
        number = None
    if number is None or number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidSetting(
            field,
            f"{value.strip()!r} is not a valid phone number of any country (E.164, "
            "e.g. +918047112233 or +14155550100).",
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def caller_ids_clean(values: object) -> list[str]:
    if not isinstance(values, list):
        raise InvalidSetting("caller_ids", 'A list of phone numbers, e.g. ["+918047112233"].')
    cleaned: list[str] = []
    for value in values:
        number = caller_id_clean(value)
        if number not in cleaned:
            cleaned.append(number)
    return cleaned


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url_clean(value: str, *, provider: str) -> str:
    """The provider's API base URL; empty means the documented default of the provider."""
    value = value.strip()
    if not value:
        return ""
    if provider == TelephonyAccount.Provider.SIMULATOR:
        raise InvalidSetting("api_url", "The simulator has no API URL; leave it empty.")
    problem = "The API URL must be an https:// URL such as https://api.in.exotel.com."
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise InvalidSetting("api_url", problem) from None
    parts = urlsplit(value)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidSetting(
            "api_url",
            "The API URL is a base such as https://api.in.exotel.com: no "
            "credentials, query or fragment in it (credentials go in their own fields).",
        )
    # Every request carries the account's credentials (HTTP Basic): over plain http they
    # would cross the network readable. Only a server on this machine (the test fakes) may
    # be spoken to without TLS.
    if parts.scheme == "http" and not _loopback(parts.hostname or ""):
        raise InvalidSetting("api_url", problem + " Plain http is only for a loopback host.")
    if len(value) > 200:
        raise InvalidSetting("api_url", "The API URL is too long (200 characters at most).")
    return value.rstrip("/")


def provider_clean(value: object) -> str:
    if value not in TelephonyAccount.Provider.values:
        names = ", ".join(TelephonyAccount.Provider.values)
        raise InvalidSetting("provider", f"Unknown provider {value!r}; one of {names}.")
    assert isinstance(value, str)
    return value


def account_sid_clean(value: str, *, provider: str) -> str:
    value = value.strip()
    if provider == TelephonyAccount.Provider.TWILIO:
        if not _TWILIO_SID.fullmatch(value):
            raise InvalidSetting(
                "account_sid",
                "A Twilio Account SID is AC followed by 32 hexadecimal digits (the Twilio "
                "Console shows it on the account's dashboard).",
            )
    elif provider == TelephonyAccount.Provider.EXOTEL:
        if not _EXOTEL_SID.fullmatch(value):
            raise InvalidSetting(
                "account_sid",
                "An Exotel Account SID is letters, digits, - and _ (Exotel's dashboard shows "
                "it under API settings).",
            )
    elif value and not _EXOTEL_SID.fullmatch(value):
        raise InvalidSetting("account_sid", "An account SID is letters, digits, - and _.")
    return value


def credentials_clean(credentials: dict[str, Any], *, provider: str) -> dict[str, str]:
    """Exactly the credentials the provider takes, each a non-empty token."""
    names: tuple[str, ...] = TelephonyAccount.CREDENTIAL_NAMES[TelephonyAccount.Provider(provider)]
    unknown = sorted(set(credentials) - set(names))
    if unknown:
        takes = ", ".join(names) if names else "no credentials"
        raise InvalidSetting(
            "credentials",
            f"{provider} takes {takes}, not {', '.join(unknown)}.",
        )
    cleaned: dict[str, str] = {}
    for name in names:
        value = credentials.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            raise InvalidSetting(name, f"{provider} needs its {name.replace('_', ' ')}.")
        # A token is one printable word; a space or a line break is a paste gone wrong. The
        # message never repeats the value.
        if (
            len(value) > _CREDENTIAL_MAX
            or not value.isprintable()
            or any(c.isspace() for c in value)
        ):
            raise InvalidSetting(
                name,
                f"The {name.replace('_', ' ')} must be one word of printable characters "
                f"(at most {_CREDENTIAL_MAX}).",
            )
        cleaned[name] = value
    return cleaned


@dataclass(frozen=True)
class AccountSettings:
    provider: str
    account_sid: str
    credentials: dict[str, str]
    caller_ids: list[str]
    api_url: str
    name: str


def telephony_account_clean(
    *,
    provider: object,
    account_sid: str,
    credentials: dict[str, Any],
    caller_ids: object,
    api_url: str,
    name: str,
) -> AccountSettings:
    """Every rule for an account, in the order an operator would fix them."""
    provider = provider_clean(provider)
    name = name.strip()
    if len(name) > 100:
        raise InvalidSetting("name", "The name is too long (100 characters at most).")
    sid = account_sid_clean(account_sid, provider=provider)
    cleaned_credentials = credentials_clean(credentials, provider=provider)
    numbers = caller_ids_clean(caller_ids)
    if provider != TelephonyAccount.Provider.SIMULATOR and not numbers:
        raise InvalidSetting(
            "caller_ids",
            f"A {provider} account needs at least one caller ID: a number it owns "
            "(an ExoPhone, a Twilio number) that leads see.",
        )
    url = api_url_clean(api_url, provider=provider)
    return AccountSettings(provider, sid, cleaned_credentials, numbers, url, name)


def campaign_caller_id_clean(
    *, business_id: int | None, account: TelephonyAccount | None, caller_id: str | None
) -> str:
    """The caller ID a campaign of `business_id` shows through `account`: one of the account's
    numbers (by default its first); empty without an account."""
    if account is None:
        if caller_id:
            raise InvalidSetting(
                "caller_id", "A caller ID needs a telephony account (it is one of its numbers)."
            )
        return ""
    if account.business_id != business_id:
        raise InvalidSetting(
            "telephony_account", "The telephony account belongs to another business."
        )
    if not caller_id:
        if account.caller_ids:
            return str(account.caller_ids[0])
        if account.provider == TelephonyAccount.Provider.SIMULATOR:
            return ""
        raise InvalidSetting("caller_id", "The telephony account has no caller IDs.")
    number = caller_id_clean(caller_id, field="caller_id")
    if number not in account.caller_ids:
        owned = ", ".join(account.caller_ids) or "none"
        raise InvalidSetting(
            "caller_id", f"{number} is not one of the account's caller IDs ({owned})."
        )
    return number


def caller_ids_in_use_check(*, account: TelephonyAccount, caller_ids: list[str]) -> None:
    """Refuse an account's new list of numbers when it drops one a campaign shows: the
    campaign would go on presenting a number the account no longer owns."""
    if account.pk is None:
        return
    in_use = sorted(
        account.campaigns.exclude(caller_id__in=caller_ids)
        .exclude(caller_id="")
        .values_list("public_id", flat=True)
    )
    if in_use:
        raise InvalidSetting(
            "caller_ids",
            "Campaign(s) "
            + ", ".join(in_use)
            + " show a caller ID this change removes; move them to another number first "
            "(leadline telephony use, or the campaign's page).",
        )
