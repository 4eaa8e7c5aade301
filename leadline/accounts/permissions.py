"""What each business role may do: one table, asked by every dashboard view and template.

Client staff carry a `business_role` (viewer < manager < owner). Each action below names the
lowest role allowed to do it; a higher role may do everything a lower one may. The dashboard
puts `permission_required(action)` on every view (`dashboard.auth`), and templates hide what
the signed-in user cannot use through the `can` context (`dashboard.context_processors`), both
answering from this table, so a page and its buttons can never disagree.

Decisions (issue 12, "Roles inside a business"):
- viewer reads every page but changes nothing, and does not export: an export copies every
  lead's personal data out of the platform (the issue lists exports among a manager's rights),
  which is more than reading a page. The import problem report has no cell values: readable.
- manager works leads (disable, convert, upload, export) and operates webhook endpoints
  (enable, disable, test, redeliver), but never touches credentials or erasure: no API tokens,
  no webhook secret reveal or rotation, no erasure, and no endpoint creation or URL change
  either, as creating one shows its secret and its URL decides where lead data is sent.
- owner does everything.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from .models import User

Role = User.BusinessRole
View = TypeVar("View", bound=Callable[..., HttpResponseBase])

# Lowest first: a role may do what every role before it may.
ROLE_ORDER: tuple[str, ...] = (Role.VIEWER, Role.MANAGER, Role.OWNER)

# action -> the lowest business role allowed to do it.
PERMISSIONS: dict[str, str] = {
    # Reading: every page, partial and the import problem report (row numbers and codes).
    "dashboard.view": Role.VIEWER,
    # One's own sign-in: a password change is about the person, not the business's data.
    "account.password": Role.VIEWER,
    # Leads: disable and mark converted (the API's same services).
    "leads.change": Role.MANAGER,
    # CSV upload, and deciding an import (import the valid rows, cancel).
    "leads.upload": Role.MANAGER,
    # The results CSV: every lead's personal data, in bulk.
    "leads.export": Role.MANAGER,
    # Webhook endpoints as they are: enable, disable, send a test, redeliver.
    "webhooks.operate": Role.MANAGER,
    # Do-not-call entries (issue 12): adding one only ever stops calls.
    "suppressions.add": Role.MANAGER,
    # Removing a do-not-call entry lets a person who asked not to be called be called again.
    "suppressions.remove": Role.OWNER,
    # Webhook endpoints created or pointed elsewhere: the secret is shown on creation, and the
    # URL decides where lead data goes.
    "webhooks.manage": Role.OWNER,
    # Reveal or rotate an endpoint's signing secret.
    "webhooks.secret": Role.OWNER,
    # Create or revoke API tokens.
    "tokens.manage": Role.OWNER,
    # Erase a lead for good.
    "leads.erase": Role.OWNER,
    # Erasure receipts: who was erased (their lead_id) and what went, as owners who erase see.
    "erasures.view": Role.OWNER,
    # The business's audit trail and its CSV ("client admins see their business's trail").
    "audit.view": Role.OWNER,
}

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _rank(role: str) -> int:
    try:
        return ROLE_ORDER.index(role)
    except ValueError:  # a value the choices do not know (a hand-edited row): no rights
        return -1


def action_check(action: str) -> str:
    """`action` itself if the table has it; an unknown name is a programming error, raised at
    import time by the decorator rather than a silent refusal (or grant) per request."""
    if action not in PERMISSIONS:
        raise ImproperlyConfigured(f"Unknown business permission {action!r}; see PERMISSIONS.")
    return action


def can(user: Any, action: str) -> bool:
    """Whether `user` may do `action` in their business: client staff of a business only."""
    action_check(action)
    if not isinstance(user, User) or user.role != User.Role.CLIENT or user.business_id is None:
        return False
    return _rank(user.business_role) >= _rank(PERMISSIONS[action])


def allowed_actions(user: Any) -> set[str]:
    """Every action `user` may do (for templates: one pass over the table per request)."""
    return {action for action in PERMISSIONS if can(user, action)}


def nested(actions: Iterable[str]) -> dict[str, Any]:
    """{"tokens": {"manage": True}, ...} for templates, which read `can.tokens.manage`;
    an action not in it reads as empty, hence false."""
    tree: dict[str, Any] = {}
    for action in actions:
        area, _, verb = action.partition(".")
        tree.setdefault(area, {})[verb] = True
    return tree


def permission_required(
    action: str, *, forbidden_template: str, read: str | None = None
) -> Callable[[View], View]:
    """Refuse (403, `forbidden_template`, nothing done) a request whose user may not `action`.

    `read`, when given, is the action asked instead for GET/HEAD/OPTIONS: a page that shows
    to readers and changes on POST (the upload page also lists recent imports). Put it under
    the sign-in decorator, which has already let in only client staff of an active business.
    The wrapper carries `business_permissions` so a test can check every view declares one.
    """
    write = action_check(action)
    safe = action_check(read) if read is not None else write

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            needed = safe if request.method in _SAFE_METHODS else write
            if not can(request.user, needed):
                role = getattr(request.user, "business_role", "")
                context = {"refused_action": needed, "business_role": role}
                return render(request, forbidden_template, context, status=403)
            return view(request, *args, **kwargs)

        wrapper.business_permissions = (safe, write)  # type: ignore[attr-defined]  # for tests
        return cast(View, wrapper)

    return decorator
