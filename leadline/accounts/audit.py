"""The audit trail: who did what, recorded by every layer, read by the dashboard and the admin.

It lives in accounts (low in the layers) so that the API gateway, the dashboard, the dialer and
the admin can all record without importing each other. `audit_record` is the only way in; it
guarantees that no phone number and no secret is stored (numbers of 7+ digits are masked in
every string, secret-looking keys and token/secret values withheld), and it never breaks the
action it records: a failure is logged and swallowed, inside a savepoint when the caller is in
a transaction, so the caller's own writes stand.

Entries are kept `RETENTION_DAYS` and then purged by the `purge-audit-entries` worker loop;
nothing else deletes or updates one. Erasing a lead leaves its entries as they are: they hold
its lead_id (masked like any other string) and never held its personal data.
"""

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from leadline.core.phones import mask_numbers_in_text, mask_numbers_in_texts

from .models import ApiToken, AuditEntry, Business, User

logger = logging.getLogger(__name__)

RETENTION_DAYS = 365
# A create of 10,000 leads keeps its first 1,000 ids and the total in `lead_count`.
LEAD_IDS_KEPT = 1000
PURGE_BATCH = 2000
MAX_TEXT = 300
MAX_DETAIL_DEPTH = 4
MAX_DETAIL_ITEMS = 50

# Keys whose values are never stored, whatever they hold (matched as substrings, any case).
FORBIDDEN_KEY_PARTS = (
    "secret",
    "password",
    "passwd",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "credential",
    "signature",
    "phone",
)
WITHHELD = "[withheld]"
# API tokens (`ll_<prefix>_<secret>`) and webhook secrets (`whsec_...`) keep only what
# identifies them, whatever key or sentence they arrive in.
_TOKEN = re.compile(r"\bll_([0-9a-f]{4})[0-9a-f]*_[A-Za-z0-9_\-]+")
_WHSEC = re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+")
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")


@dataclass(frozen=True)
class Actor:
    """Who acted: a kind, the row's id (as text) and a label people read."""

    kind: str
    id: str = ""
    label: str = ""


SYSTEM = Actor(kind=AuditEntry.ActorKind.SYSTEM, label="system")
SIGNED_LINK = Actor(kind=AuditEntry.ActorKind.LINK, label="signed link")

_USER_KINDS = {
    User.Role.CLIENT: AuditEntry.ActorKind.USER,
    User.Role.REP: AuditEntry.ActorKind.REP,
    User.Role.OPERATOR: AuditEntry.ActorKind.OPERATOR,
}


def actor_for_token(token: ApiToken) -> Actor:
    """An API token, shown by the start of its prefix (`ll_abcd…`), never its secret.

    Four hex characters: the whole 8-character prefix can be 7+ digits, which the trail
    would mask like a phone number; the id tells two tokens with the same start apart."""
    return Actor(
        kind=AuditEntry.ActorKind.API_TOKEN, id=str(token.pk), label=f"ll_{token.prefix[:4]}…"
    )


def actor_for_user(user: User) -> Actor:
    """A signed-in person: client staff, rep or operator (a superuser counts as an operator)."""
    kind = _USER_KINDS.get(User.Role(user.role), AuditEntry.ActorKind.USER)
    if user.is_staff and kind == AuditEntry.ActorKind.USER and user.business_id is None:
        kind = AuditEntry.ActorKind.OPERATOR
    return Actor(kind=kind, id=str(user.pk), label=user.get_username())


# --- what may be stored ---------------------------------------------------------------------


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """`value` with secrets cut to their identifying part and every 7+ digit number masked."""
    text = _TOKEN.sub(lambda m: f"ll_{m[1]}…", value)
    text = _WHSEC.sub("whsec_…", text)
    text = _BEARER.sub("Bearer …", text)
    return mask_numbers_in_text(text)[:limit]


def _forbidden(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in FORBIDDEN_KEY_PARTS)


def clean_details(value: Any, depth: int = 0) -> Any:
    """JSON-able details with forbidden keys withheld and every string cleaned."""
    if depth > MAX_DETAIL_DEPTH:
        return WITHHELD
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in list(value.items())[:MAX_DETAIL_ITEMS]:
            name = clean_text(str(key), 64)
            if _forbidden(name):
                # Refused, not stored: a caller passing one is a bug, and the log says where.
                logger.warning("audit: value of %r withheld", name)
                cleaned[name] = WITHHELD
            else:
                cleaned[name] = clean_details(item, depth + 1)
        return cleaned
    if isinstance(value, list | tuple):
        return [clean_details(item, depth + 1) for item in value[:MAX_DETAIL_ITEMS]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return clean_text(str(value))


_LEAD_ID_CHARS = 200


def clean_lead_id(lead_id: str) -> str:
    """A lead id as the trail stores it (and as a filter must look for it)."""
    return clean_text(str(lead_id), _LEAD_ID_CHARS)


def _has_secret_marker(text: str) -> bool:
    """Whether one of `clean_text`'s secret patterns could match `text` (a cheap test)."""
    return "ll_" in text or "whsec_" in text or "bearer" in text.lower()


def _lead_ids_text(lead_ids: Sequence[str]) -> str:
    # Each id is cleaned as if alone (`clean_lead_id`): masking the joined text would read
    # digits across two ids as one number. Ids without a secret's marker (all but a freak)
    # have their numbers masked in one batch: `mask_numbers_in_texts`, the same result in two
    # regex passes instead of two per id.
    ids = [str(lead_id) for lead_id in lead_ids[:LEAD_IDS_KEPT]]
    if not ids:
        return ""
    if not _has_secret_marker("\n".join(ids)):
        # No id holds a marker (none spans the line breaks, and lower() maps character by
        # character): one test of the joined text instead of one per id.
        return (
            "\n" + "\n".join([text[:_LEAD_ID_CHARS] for text in mask_numbers_in_texts(ids)]) + "\n"
        )
    secret = [_has_secret_marker(text) for text in ids]
    masked = iter(
        mask_numbers_in_texts([text for text, s in zip(ids, secret, strict=True) if not s])
    )
    kept = [
        clean_lead_id(text) if s else next(masked)[:_LEAD_ID_CHARS]
        for text, s in zip(ids, secret, strict=True)
    ]
    return "\n" + "\n".join(kept) + "\n"


# --- recording ------------------------------------------------------------------------------


def audit_record(
    *,
    action: str,
    actor: Actor,
    business: Business | int | None,
    target: str = "",
    lead_ids: Sequence[str] = (),
    lead_count: int | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    insert: bool = True,
) -> AuditEntry | None:
    """Append one entry; None (and a log line) if it could not be written.

    Called inside the transaction of the change it records where the caller has one (the
    savepoint keeps a failure here from aborting it), or right after the change otherwise.
    With `insert=False` the entry is only built (cleaned, not saved), for `_entry_save`
    later: a create builds its entry while the server works and inserts it at its commit.
    """
    try:
        business_id = business.pk if isinstance(business, Business) else business
        entry = AuditEntry(
            created_at=at or timezone.now(),
            business_id=business_id,
            actor_kind=actor.kind,
            actor_id=actor.id[:32],
            actor_label=clean_text(actor.label, 150),
            action=clean_text(action, 64),
            target=clean_text(target),
            lead_ids=_lead_ids_text(lead_ids),
            lead_count=len(lead_ids) if lead_count is None else lead_count,
            details=clean_details(dict(details or {})),
        )
    except Exception:
        # Never break what is being recorded; the log line names the action, nothing else.
        logger.exception("audit: could not record %s", action[:64])
        return None
    return _entry_save(entry) if insert else entry


def _entry_save(entry: AuditEntry) -> AuditEntry | None:
    """Insert `entry` (a new row each call); None (and a log line) if it could not be."""
    try:
        # A new row even if this entry was saved in a transaction since rolled back.
        entry.pk = None
        entry._state.adding = True
        if transaction.get_connection().in_atomic_block:
            # The savepoint keeps a failure here from aborting the caller's transaction.
            with transaction.atomic():
                entry.save(force_insert=True)
        else:
            # Autocommit: the one INSERT is its own transaction (BEGIN and COMMIT around it
            # were two more round trips on every API write).
            entry.save(force_insert=True)
        return entry
    except Exception:
        # Never break what is being recorded; the log line names the action, nothing else.
        logger.exception("audit: could not record %s", entry.action)
        return None


class _Campaign(Protocol):
    public_id: str


class _Lead(Protocol):
    pk: int
    lead_id: str | None


def token_label(token: ApiToken) -> str:
    """How the trail names a token (never its secret)."""
    return actor_for_token(token).label


def lead_ref(campaign: _Campaign, lead: _Lead) -> dict[str, Any]:
    """`target` and `lead_ids` of an action on one lead (an erased one has only its row id)."""
    return {
        "target": f"{campaign.public_id} lead #{lead.pk}",
        "lead_ids": [lead.lead_id] if lead.lead_id else [],
    }


def audit_request(
    request: HttpRequest,
    action: str,
    *,
    target: str = "",
    lead_ids: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
) -> AuditEntry | None:
    """Record a signed-in person's action on a page (the dashboard's one-line calls)."""
    user = request.user
    if isinstance(user, AnonymousUser) or not isinstance(user, User):
        return None
    business = getattr(request, "business", None) or user.business_id
    return audit_record(
        action=action,
        actor=actor_for_user(user),
        business=business,
        target=target,
        lead_ids=lead_ids,
        details=details,
    )


# --- the API: one entry per call that changed data -----------------------------------------

READ_ONLY_VERBS = frozenset({"check", "responses"})
_REQUEST_BODY_PARSED_UP_TO = 1_000_000


def _api_action(path: str) -> tuple[str, str]:
    """(`leads.create`, `7KQ2MX`) from `/api/v4/leads/create/7KQ2MX/`."""
    parts = [p for p in path.split("/") if p][2:]  # drop "api", "v4"
    if not parts:
        return "api", ""
    if len(parts) == 1:
        return parts[0], ""
    return f"{parts[0]}.{parts[1]}", "/".join(parts[2:])


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _lead_ids_of(response_body: Any, request: HttpRequest) -> list[str]:
    """The lead ids the call changed: the response's (create, disable report what they
    actually did), else the request's single `lead_id` (update, convert, delete)."""
    if isinstance(response_body, dict):
        ids = response_body.get("lead_ids")
        if isinstance(ids, list):
            return [str(i) for i in ids]
        if isinstance(response_body.get("lead_id"), str | int):
            return [str(response_body["lead_id"])]
    try:
        raw = request.body
    except Exception:  # a view that streamed the body: nothing more to learn
        return []
    if not raw or len(raw) > _REQUEST_BODY_PARSED_UP_TO:
        return []
    body = _json(raw)
    if isinstance(body, dict) and isinstance(body.get("lead_id"), str | int):
        return [str(body["lead_id"])]
    return []


def api_call_record(request: HttpRequest, response: HttpResponseBase) -> AuditEntry | None:
    """Record an authenticated /api/v4/ call that changed data (2xx, not GET, not a replay).

    Called by the API gateway after the endpoint answered, so every endpoint (present and
    future) is covered in one place; the entry is written just after the change committed,
    unless the endpoint recorded it with the change (`api_call_record_with_change`).
    """
    if getattr(request, "audit_recorded", False):
        return None
    entry = _api_call_entry(request, response)
    return None if entry is None else _entry_save(entry)


def api_call_record_with_change(
    request: HttpRequest, response: HttpResponseBase
) -> Callable[[], None]:
    """`api_call_record` for an endpoint whose answer is known before its change commits
    (lead create): the entry is built now, and the returned write inserts it; call that
    inside the change's transaction, just before its commit. The entry then commits with
    the change or not at all, the change's commit is the only one, and the gateway's call
    after the answer skips the request.

    Building is most of the cost (masking up to 1,000 lead ids), so a caller that waits on
    the database anyway builds while it waits: the streamed create, while the server
    finishes its COPY. Call the write again if the change is retried in a new transaction:
    each call inserts (the rolled-back attempt's row went with it)."""
    entry = _api_call_entry(request, response)

    def write() -> None:
        if entry is not None:
            _entry_save(entry)
        request.audit_recorded = True  # type: ignore[attr-defined]  # read by the gateway

    return write


def _api_call_entry(request: HttpRequest, response: HttpResponseBase) -> AuditEntry | None:
    """The entry `api_call_record` writes for this call, not saved; None if none is due."""
    token = getattr(request, "api_token", None)
    if token is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not 200 <= response.status_code < 300 or response.has_header("Idempotent-Replayed"):
        return None
    action, target = _api_action(request.path_info)
    if action.partition(".")[2] in READ_ONLY_VERBS:
        return None
    body = None
    if not response.streaming and response.get("Content-Type", "").startswith("application/json"):
        body = _json(response.content)  # type: ignore[attr-defined]  # not streaming: has it
    lead_ids = _lead_ids_of(body, request)
    counts = {}
    if isinstance(body, dict) and "detail" in body:
        counts = {k: v for k, v in body.items() if type(v) is int}
    details = {"endpoint": f"{request.method} {request.path_info}", "status": response.status_code}
    if counts:
        details["counts"] = counts
    return audit_record(
        action=action,
        actor=actor_for_token(token),
        business=token.business_id,
        target=target,
        lead_ids=lead_ids,
        details=details,
        insert=False,
    )


# --- the operators' admin -------------------------------------------------------------------

_ADMIN_ACTIONS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


def _business_of(model: type[Any] | None, object_id: object) -> int | None:
    """The business an admin-edited object belongs to, when it has one."""
    object_id = "" if object_id is None else str(object_id)  # the pk itself until saved
    if model is None or not object_id:
        return None
    if model is Business:
        return int(object_id) if object_id.isdigit() else None
    names = {f.name for f in model._meta.get_fields()}
    if "business" in names:
        lookup = "business_id"
    elif "campaign" in names:
        lookup = "campaign__business_id"
    else:
        return None
    value = model._default_manager.filter(pk=object_id).values_list(lookup, flat=True).first()
    return value if isinstance(value, int) else None


def admin_log_entry_record(log_entry: Any) -> AuditEntry | None:
    """Record an operator's add/change/delete from the admin's own LogEntry."""
    try:
        model = log_entry.content_type.model_class() if log_entry.content_type_id else None
        business = _business_of(model, log_entry.object_id)
        label = model._meta.label if model is not None else "unknown"
        user = log_entry.user
    except Exception:
        logger.exception("audit: could not read an admin log entry")
        return None
    return audit_record(
        action=_ADMIN_ACTIONS.get(log_entry.action_flag, "admin.other"),
        actor=actor_for_user(user),
        business=business,
        target=f"{label} {log_entry.object_id}: {log_entry.object_repr}",
        # Only which fields changed (Django's change_message names them, no values).
        details={"change": log_entry.get_change_message()},
        at=log_entry.action_time,
    )


class AuditedDeletionsAdmin:
    """ModelAdmin mixin: copies the admin's multi-row deletions to the audit trail.

    The trail copies each admin LogEntry from its post_save signal (AccountsConfig.ready), but
    "delete selected" on several rows writes its entries with bulk_create, which sends no
    signal. Single-row deletes still go through save() and the signal, so they are not copied
    twice here.
    """

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)  # type: ignore[misc]
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                admin_log_entry_record(entry)
        return entries


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    lead_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_entries(*, business: Business, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """A business's entries, newest first, filtered; another business's are never in it."""
    entries = AuditEntry.objects.filter(business=business)
    if filters.actor:
        entries = entries.filter(actor_label__istartswith=clean_text(filters.actor, 150))
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.lead_id:
        entries = entries.filter(lead_ids__contains=f"\n{clean_lead_id(filters.lead_id)}\n")
    if filters.since is not None:
        entries = entries.filter(created_at__gte=filters.since)
    if filters.until is not None:
        entries = entries.filter(created_at__lt=filters.until)
    return entries.order_by("-created_at", "-id")


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


def audit_entries_page(
    *, business: Business, filters: AuditFilters, before: int | None = None, size: int = 50
) -> AuditPage:
    """One page, keyed by the last entry's id (no OFFSET, no COUNT over a year of rows)."""
    entries = audit_entries(business=business, filters=filters)
    if before is not None:
        anchor = AuditEntry.objects.filter(business=business, pk=before).first()
        if anchor is not None:
            entries = entries.filter(created_at__lte=anchor.created_at).exclude(
                created_at=anchor.created_at, id__gte=anchor.pk
            )
    rows = list(entries[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(entries=rows, next_before=rows[-1].pk if more and rows else None)


def audit_entries_iter(*, business: Business, filters: AuditFilters) -> Iterator[AuditEntry]:
    """Every matching entry, read in chunks (for the CSV export)."""
    return audit_entries(business=business, filters=filters).iterator(chunk_size=2000)


def audit_entries_for_lead_count(*, business: Business, lead_id: str) -> int:
    """How many of the business's entries name this lead (for the erasure receipt)."""
    return audit_entries(business=business, filters=AuditFilters(lead_id=lead_id)).count()


def audit_actions(*, business: Business) -> list[str]:
    """The action codes this business's trail holds, for the filter's choices."""
    return list(
        AuditEntry.objects.filter(business=business)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


# --- retention ------------------------------------------------------------------------------


def audit_entries_purge(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete up to `batch` entries older than RETENTION_DAYS (the worker calls it again
    while it returns a full batch)."""
    cutoff = (now or timezone.now()) - timedelta(days=RETENTION_DAYS)
    with transaction.atomic():
        ids = list(
            AuditEntry.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return 0
        deleted, _ = AuditEntry.objects.filter(pk__in=ids).delete()
    return deleted
