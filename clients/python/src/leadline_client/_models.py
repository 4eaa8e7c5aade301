"""Typed results of the Leads API v4.

Every model is lenient: keys the server sends that the model does not know (the server gains
fields over time) are kept in `extra` instead of failing. A lead's custom fields arrive as
top-level keys of its result item; they are kept in `custom_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 as the server sends it (`2026-01-01T12:00:00+00:00`), always made aware.

    Python 3.10's fromisoformat does not take a `Z` suffix, hence the replace. A naive value
    (the reference's tables show `%Y-%m-%dT%H:%M:%S`) is read as UTC.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return _parse_text(str(value))


# The server sends whole seconds, and the leads of one create (or one processing run) share
# them: a page of 1,000 results holds a handful of distinct timestamps, each parsed once.
# datetimes are immutable, so sharing one object between results is safe.
@lru_cache(maxsize=4096)
def _parse_text(text: str) -> datetime:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _required_datetime(value: Any) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("a timestamp was null")
    return parsed


def _rest(data: Mapping[str, Any], known: frozenset[str] | tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value or []]


@dataclass(frozen=True)
class Problem:
    """One problem of a rejected item (a 400's `errors`)."""

    index: int | None
    lead_id: str | None
    field: str | None
    code: str
    message: str

    FIELDS = ("index", "lead_id", "field", "code", "message")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        lead_id = data.get("lead_id")
        return cls(
            index=data.get("index"),
            lead_id=None if lead_id is None else str(lead_id),
            field=data.get("field"),
            code=str(data.get("code", "")),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class LeadResult:
    """A lead and what calling it produced (a GET result item, an update's answer, and the
    body of the `lead.processed` webhook)."""

    phone_number: str
    lead_id: str
    latest_recording_url: str | None
    campaign_id: str
    latest_called_at: datetime | None
    lead_outcome: str | None
    processed_at: datetime | None
    contact_name: str
    created_at: datetime
    lead_responses: dict[str, Any]
    # Every other top-level key: the custom fields sent at create (and any field the server
    # has gained since this client was written).
    custom_fields: dict[str, Any] = field(default_factory=dict)

    FIELDS = (
        "phone_number",
        "lead_id",
        "latest_recording_url",
        "campaign_id",
        "latest_called_at",
        "lead_outcome",
        "processed_at",
        "contact_name",
        "created_at",
        "lead_responses",
    )

    @property
    def processed(self) -> bool:
        return self.processed_at is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadResult:
        get = data.get
        created_at = data["created_at"]
        result = object.__new__(cls)
        # Fills the fields directly: a frozen dataclass's __init__ sets each one through
        # object.__setattr__, which was a third of the cost of reading a page back. Every
        # field is set here, so the object is exactly what __init__ would have built.
        result.__dict__.update(
            phone_number=str(get("phone_number") or ""),
            lead_id=str(data["lead_id"]),
            latest_recording_url=get("latest_recording_url"),
            campaign_id=str(get("campaign_id") or ""),
            latest_called_at=parse_datetime(get("latest_called_at")),
            lead_outcome=get("lead_outcome"),
            processed_at=parse_datetime(get("processed_at")),
            contact_name=str(get("contact_name") or ""),
            created_at=_required_datetime(created_at),
            lead_responses=dict(get("lead_responses") or {}),
            custom_fields={k: v for k, v in data.items() if k not in _LEAD_FIELDS},
        )
        return result


_LEAD_FIELDS = frozenset(LeadResult.FIELDS)


@dataclass(frozen=True)
class ResultsPage:
    """One page of GET /responses/: `next` is the absolute URL of the following page."""

    count: int
    next: str | None
    previous: str | None
    results: list[LeadResult]
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("count", "next", "previous", "results")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultsPage:
        return cls(
            count=int(data["count"]),
            next=data.get("next"),
            previous=data.get("previous"),
            results=[LeadResult.from_dict(item) for item in data.get("results") or []],
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class LeadsCreated:
    """The answer to one create request (one chunk)."""

    detail: str
    created: int
    lead_ids: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "created", "lead_ids")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadsCreated:
        return cls(
            detail=str(data.get("detail", "")),
            created=int(data["created"]),
            lead_ids=_str_list(data.get("lead_ids")),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class LeadsDisabled:
    detail: str
    disabled: int
    lead_ids: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "disabled", "lead_ids")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadsDisabled:
        return cls(
            detail=str(data.get("detail", "")),
            disabled=int(data["disabled"]),
            lead_ids=_str_list(data.get("lead_ids")),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class LeadErased:
    """The answer to an erasure; deliberately quotes nothing of the lead. `receipt_id` names
    the erasure's receipt (GET /api/v4/leads/erasures/{receipt_id}/)."""

    detail: str
    receipt_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "receipt_id")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadErased:
        return cls(
            detail=str(data.get("detail", "")),
            receipt_id=str(data.get("receipt_id", "")),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class LeadConverted:
    detail: str
    lead_id: str
    converted_at: datetime
    conversion_detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "lead_id", "converted_at", "conversion_detail")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadConverted:
        return cls(
            detail=str(data.get("detail", "")),
            lead_id=str(data["lead_id"]),
            converted_at=_required_datetime(data["converted_at"]),
            conversion_detail=str(data.get("conversion_detail", "")),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class ConsentsRecorded:
    detail: str
    created: int
    updated: int
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "created", "updated")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentsRecorded:
        return cls(
            detail=str(data.get("detail", "")),
            created=int(data["created"]),
            updated=int(data["updated"]),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class ConsentsWithdrawn:
    detail: str
    withdrawn: int
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "withdrawn")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentsWithdrawn:
        return cls(
            detail=str(data.get("detail", "")),
            withdrawn=int(data["withdrawn"]),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class ErasureReceipt:
    """What an erasure removed and when (GET /api/v4/leads/erasures/{receipt_id}/): `pending`
    until the recording files and the providers' copies are deleted too, then `complete` with
    `completed_at`. No personal data in it. `erased` counts what was removed, by kind."""

    receipt_id: str
    campaign_id: str
    lead_id: str
    status: str
    requested_at: datetime
    completed_at: datetime | None
    lead_fields: list[str]
    erased: dict[str, int]
    suppressed: bool
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (
        "receipt_id",
        "campaign_id",
        "lead_id",
        "status",
        "requested_at",
        "completed_at",
        "lead_fields",
        "erased",
        "suppressed",
    )

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErasureReceipt:
        return cls(
            receipt_id=str(data["receipt_id"]),
            campaign_id=str(data.get("campaign_id") or ""),
            lead_id=str(data.get("lead_id") or ""),
            status=str(data.get("status") or ""),
            requested_at=_required_datetime(data["requested_at"]),
            completed_at=parse_datetime(data.get("completed_at")),
            lead_fields=_str_list(data.get("lead_fields")),
            erased={str(k): int(v) for k, v in (data.get("erased") or {}).items()},
            suppressed=bool(data.get("suppressed")),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class LeadCheck:
    """The dry run of create for one lead (POST /api/v4/leads/check/{campaign_id}/): what
    create would say of it (`valid`, `errors`) and what the dialer would do with its number
    (`dial`: now, later (from `dial_at`), never (processed with `outcome`) or unknown; `code`
    and `reason` say what holds it back). Keys about the number are None when it is invalid."""

    index: int
    lead_id: str | None
    valid: bool
    errors: list[Problem]
    exists: bool | None
    suppressed: bool | None
    suppressed_in: list[str] | None
    dnd: str | None
    consent: bool | None
    dial: str | None
    dial_at: datetime | None
    code: str | None
    reason: str | None
    outcome: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (
        "index",
        "lead_id",
        "valid",
        "errors",
        "exists",
        "suppressed",
        "suppressed_in",
        "dnd",
        "consent",
        "dial",
        "dial_at",
        "code",
        "reason",
        "outcome",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadCheck:
        lead_id = data.get("lead_id")
        where = data.get("suppressed_in")
        return cls(
            index=int(data["index"]),
            lead_id=None if lead_id is None else str(lead_id),
            valid=bool(data.get("valid")),
            errors=[Problem.from_dict(p) for p in data.get("errors") or []],
            exists=data.get("exists"),
            suppressed=data.get("suppressed"),
            suppressed_in=None if where is None else _str_list(where),
            dnd=data.get("dnd"),
            consent=data.get("consent"),
            dial=data.get("dial"),
            dial_at=parse_datetime(data.get("dial_at")),
            code=data.get("code"),
            reason=data.get("reason"),
            outcome=data.get("outcome"),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class SuppressionsCreated:
    """`created`: new do-not-call entries (ones already listed are not counted);
    `withdrawn`: queued leads with these numbers that will now not be called."""

    detail: str
    created: int
    withdrawn: int
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "created", "withdrawn")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuppressionsCreated:
        return cls(
            detail=str(data.get("detail", "")),
            created=int(data["created"]),
            withdrawn=int(data["withdrawn"]),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class SuppressionsDeleted:
    detail: str
    deleted: int
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("detail", "deleted")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuppressionsDeleted:
        return cls(
            detail=str(data.get("detail", "")),
            deleted=int(data["deleted"]),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class NumberCheck:
    """Whether one number is on the do-not-call list: `where` is "business" (the
    business-wide list) and/or campaign ids, `reasons` the reason of each listing."""

    phone_number: str
    suppressed: bool
    where: list[str]
    reasons: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("phone_number", "suppressed", "where", "reasons")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumberCheck:
        return cls(
            phone_number=str(data.get("phone_number", "")),
            suppressed=bool(data.get("suppressed")),
            where=_str_list(data.get("where")),
            reasons={str(k): str(v) for k, v in (data.get("reasons") or {}).items()},
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class Suppression:
    """One do-not-call entry. Never a number: the server keeps only its keyed hash."""

    id: int
    scope: str
    campaign_id: str | None
    reason: str
    source: str
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("id", "scope", "campaign_id", "reason", "source", "created_at")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suppression:
        campaign_id = data.get("campaign_id")
        return cls(
            id=int(data["id"]),
            scope=str(data.get("scope", "")),
            campaign_id=None if campaign_id is None else str(campaign_id),
            reason=str(data.get("reason") or ""),
            source=str(data.get("source", "")),
            created_at=_required_datetime(data["created_at"]),
            extra=_rest(data, cls.FIELDS),
        )


@dataclass(frozen=True)
class SuppressionsPage:
    """One page of GET /api/v4/suppressions/, paged like the leads responses."""

    count: int
    next: str | None
    previous: str | None
    results: list[Suppression]
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("count", "next", "previous", "results")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuppressionsPage:
        return cls(
            count=int(data["count"]),
            next=data.get("next"),
            previous=data.get("previous"),
            results=[Suppression.from_dict(item) for item in data.get("results") or []],
            extra=_rest(data, cls.FIELDS),
        )


@dataclass
class ChunkResult:
    """One chunk of a large create: which leads it carried (`start`..`stop` of the list you
    passed), the Idempotency-Key it was sent with, and what it created or why it failed."""

    index: int
    start: int
    stop: int
    idempotency_key: str
    created: LeadsCreated | None = None
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return self.created is not None


@dataclass
class CreateResult:
    """The outcome of `leads.create`: one ChunkResult per request sent (a list over the
    server's per-request limit is split). Pass it back as `resume=` to retry the chunks that
    did not succeed: each is resent with its own key, so nothing is created twice."""

    campaign_id: str
    chunks: list[ChunkResult]

    @property
    def created(self) -> int:
        return sum(c.created.created for c in self.chunks if c.created is not None)

    @property
    def lead_ids(self) -> list[str]:
        return [i for c in self.chunks if c.created is not None for i in c.created.lead_ids]

    @property
    def pending(self) -> list[ChunkResult]:
        """The chunks not created yet: the failed one and those after it."""
        return [c for c in self.chunks if not c.done]

    @property
    def complete(self) -> bool:
        return not self.pending
