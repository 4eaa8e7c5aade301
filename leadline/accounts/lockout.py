"""Sign-in lockout: django-axes's username+address lock, plus a limit per address and one per
username, each with its own threshold (settings: AXES_*, LEADLINE_LOGIN_*_FAILURE_LIMIT).

django-axes records every failed sign-in (username, address, user agent) and can lock on
several parameter combinations, but compares them all with one AXES_FAILURE_LIMIT: 5 would
lock a whole office behind one NAT address after five typos by anyone, and 20 would give each
account 20 guesses. Its AXES_RESET_ON_SUCCESS would also wipe every combination that matches a
success, so an attacker holding one working login could clear their address's count by
signing in between guesses. So axes keeps locking the username+address pair
(AXES_LOCKOUT_PARAMETERS, reset by a success), and this handler adds the two wider limits,
counted over the same recorded attempts within the cool-off window and never reset by a
success. The reset commands (axes_reset, axes_reset_ip, axes_reset_username) delete those
records, so they lift these locks too.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

# What the lockout page says for each limit; none says whether the username exists (every
# limit counts usernames whether or not they have an account).
PAIR = "pair"
ADDRESS = "address"
USERNAME = "username"


@dataclass(frozen=True)
class Lock:
    scope: str  # PAIR, ADDRESS or USERNAME
    limit: int
    lifts_at: datetime


def _limits() -> list[tuple[str, int, list[str]]]:
    """(scope, failure limit, attempt fields matched) for each limit; the pair's fields are
    AXES_LOCKOUT_PARAMETERS' one combination, which axes resets on a success."""
    return [
        (PAIR, settings.AXES_FAILURE_LIMIT, ["username", "ip_address"]),
        (USERNAME, settings.LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT, ["username"]),
        (ADDRESS, settings.LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT, ["ip_address"]),
    ]


def _lifts_at(request: HttpRequest, filters: dict[str, object], limit: int) -> datetime | None:
    """When the failures matching `filters` within the cool-off drop below `limit` (None: they
    are below it now). An attempt row holds its failures and the time of the latest, so the
    lock lifts when the row that brought the newest rows' sum to the limit ages out."""
    rows = (
        AccessAttempt.objects.filter(**filters, attempt_time__gte=get_cool_off_threshold(request))
        .order_by("-attempt_time")
        .values_list("failures_since_start", "attempt_time")
    )
    total = 0
    for failures, attempt_time in rows:
        total += failures
        if total >= limit:
            cool_off = get_cool_off(request)
            assert cool_off is not None  # AXES_COOLOFF_TIME is set: locks are never permanent
            return attempt_time + cool_off
    return None


def current_lock(request: HttpRequest, credentials: dict | None = None) -> Lock | None:
    """The lock holding this request back, if any: of several, the one that lifts last."""
    values = {
        "username": get_client_username(request, credentials),
        "ip_address": getattr(request, "axes_ip_address", None),
    }
    locks = []
    for scope, limit, fields in _limits():
        lifts_at = _lifts_at(request, {field: values[field] for field in fields}, limit)
        if lifts_at is not None:
            locks.append(Lock(scope=scope, limit=limit, lifts_at=lifts_at))
    return max(locks, key=lambda lock: lock.lifts_at, default=None)


class LoginLimitsHandler(AxesDatabaseHandler):
    """axes's database handler, also locking on the per-address and per-username limits."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        # current_lock counts the pair as axes's get_failures does, with the two wider limits.
        # axes.conf sets AXES_LOCK_OUT_AT_FAILURE's default at run time, unseen by mypy.
        if not getattr(settings, "AXES_LOCK_OUT_AT_FAILURE", True):
            return False
        return current_lock(request, credentials) is not None

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        # Records the failure, and marks the request locked when the pair reached its limit.
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_locked_out or self.is_whitelisted(request, credentials):
            return
        if self.is_locked(request, credentials):
            # This failure reached a wider limit: answer it with the lockout page, as axes
            # does for the pair, rather than only refusing the next attempt.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The lockout page (AXES_LOCKOUT_CALLABLE): which limit applies and when to retry."""
    lock = current_lock(request, credentials)
    context: dict[str, object] = {"scope": lock.scope if lock else PAIR}
    if lock is not None:
        seconds = (lock.lifts_at - timezone.now()).total_seconds()
        context.update(
            failure_limit=lock.limit,
            retry_at=lock.lifts_at,
            retry_minutes=max(1, math.ceil(seconds / 60)),
        )
    return render(
        request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
