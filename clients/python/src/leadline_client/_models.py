"""Typed results of the Leads API v4.

Every model is lenient: keys the server sends that the model does not know (the server gains
fields over time) are kept in `extra` instead of failing. A lead's custom fields arrive as
top-level keys of its result item; they are kept in `custom_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 as the server sends it (`2026-01-01T12:00:00+00:00`), always made aware.

    Python 3.10's fromisoformat does not take a `Z` suffix, hence the replace. A naive value
    (the reference's tables show `%Y-%m-%dT%H:%M:%S`) is read as UTC.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value)
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


def _rest(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
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
        return cls(
            phone_number=str(data.get("phone_number") or ""),
            lead_id=str(data["lead_id"]),
            latest_recording_url=data.get("latest_recording_url"),
            campaign_id=str(data.get("campaign_id") or ""),
            latest_called_at=parse_datetime(data.get("latest_called_at")),
            lead_outcome=data.get("lead_outcome"),
            processed_at=parse_datetime(data.get("processed_at")),
            contact_name=str(data.get("contact_name") or ""),
            created_at=_required_datetime(data["created_at"]),
            lead_responses=dict(data.get("lead_responses") or {}),
            custom_fields=_rest(data, cls.FIELDS),
        )


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
