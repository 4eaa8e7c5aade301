"""Writes on leads; each service owns its transaction.

Lead inserts of one campaign are serialised on the campaign row (the `lead_count` update takes
its lock first). That makes the duplicate check race-free and guarantees that ids are committed
in increasing order per campaign, which is what keeps the GET walk (ordered by id) stable: a
lead created during a walk always lands after every page already read. Under the same lock
each new lead gets the campaign's next `position` (1, 2, 3, ... in id order), which the walk
seeks pages by; the same UPDATE moves the campaign's `last_position` past the batch.

Every service that changes what the campaign's counts count (status, outcome and processing
time, conversion, erasure) records the change in its own transaction (`leads.counts`).
"""

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leadline.accounts import audit
from leadline.accounts.models import IdempotencyRecord
from leadline.campaigns.models import Campaign
from leadline.compliance.decisions import NOT_CALLED_DNC
from leadline.compliance.hashing import number_hashes
from leadline.compliance.models import Suppression
from leadline.compliance.services import SuppressionItem, suppressions_add
from leadline.compliance.suppressions import ANY_ENTRY_SQL, suppressed_hashes
from leadline.core import metrics, recordings
from leadline.core.db import db_datetime, is_postgres, pg_cursor
from leadline.core.errors import BadRequest, Conflict, NotFound

from . import counts, hooks
from .models import CampaignCount, ErasureReceipt, Lead, LeadImportProblem
from .results import RESULT_FIELDS, lead_result, result_item
from .selectors import lead_ids_existing
from .validation import (
    CORE_INPUT_KEYS,
    LEAD_EXISTS,
    CleanLead,
    FieldProblem,
    check_custom_fields,
    clean_contact_name,
    clean_new_leads,
    clean_phone,
    iter_new_leads,
    problem,
)

logger = logging.getLogger(__name__)

_INSERT_COLUMNS = (
    "campaign_id",
    "lead_id",
    "phone_number",
    "contact_name",
    "custom_fields",
    "status",
    "created_at",
    "updated_at",
    "lead_responses",
    "queue_class",
    "priority",
    "due_at",
    "attempts_count",
    "position",
)


# Ingest's insert: COPY is ~3x a multi-row INSERT on PostgreSQL (see docs/architecture.md).
COPY_LEADS = "COPY {} ({}) FROM STDIN"


class LeadProblems(BadRequest):
    """400 listing every problem of a request; nothing was changed."""

    def __init__(self, problems: list[dict[str, Any]], detail: str | None = None):
        super().__init__(
            detail or f"{len(problems)} problem(s) found; no lead was changed.",
            extra={"errors": problems},
        )


# Adds the batch to the campaign's lead_count and last_position, which takes the campaign's
# row lock (see the module docstring), and returns the new last_position: the batch's
# positions end there. RETURNING gives the row as this UPDATE wrote it, and under READ
# COMMITTED an UPDATE that waited for the lock re-reads the row the lock holder committed, so
# two creates never get the same positions. (An earlier version asked MAX(position) instead:
# see Campaign.last_position for why that cost grew with the campaign.)
_RESERVE = (
    f"UPDATE {Campaign._meta.db_table} SET lead_count = lead_count + %s, "  # noqa: S608
    "last_position = last_position + %s WHERE id = {} RETURNING last_position"
)
_RESERVE_SQL = _RESERVE.format("%s")
# The same only if the campaign row's lock is free at once, else nothing (no row): the
# streamed create's start (`_STREAMED_START_SQL`).
_RESERVE_IF_FREE_SQL = _RESERVE.format(
    f"(SELECT id FROM {Campaign._meta.db_table} WHERE id = %s FOR UPDATE SKIP LOCKED)"  # noqa: S608
)


def _reserve_positions(campaign: Campaign, n: int) -> int:
    """Count `n` new leads in the campaign and return the position of the first of them."""
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, [n, n, campaign.pk])
        row = cursor.fetchone()
    if row is None:
        # The campaign row is gone (deleted meanwhile): nothing may be inserted into it.
        raise NotFound("Campaign not found.")
    last: int = row[0]
    return last - n + 1


# Lifts a campaign's last_position to the highest position its leads hold. Only needed when
# lead rows were put in without the lead services (a restore, a hand-made fix): the unique
# constraint then refuses the next create's positions, and the create repairs and retries.
_POSITIONS_REPAIR_SQL = (
    f"UPDATE {Campaign._meta.db_table} SET last_position = held.top FROM "  # noqa: S608
    f"(SELECT COALESCE(MAX(position), 0) AS top FROM {Lead._meta.db_table} "
    "WHERE campaign_id = %s) AS held WHERE id = %s AND last_position < held.top"
)


def positions_repair(*, campaign: Campaign) -> bool:
    """Make `campaign.last_position` cover every position its leads hold; True if it was
    behind. Runs in its own statement, outside any create: the repair takes the campaign lock
    only for the UPDATE, and a concurrent create keeps counting from the value it leaves."""
    with connection.cursor() as cursor:
        cursor.execute(_POSITIONS_REPAIR_SQL, [campaign.pk, campaign.pk])
        repaired: bool = cursor.rowcount > 0
    if repaired:
        logger.warning("campaign %s: last_position was behind its leads; repaired", campaign.pk)
    return repaired


# COPY's text format: a value's backslashes, and the tabs, newlines and carriage returns that
# would end its field or row, are written as backslash escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_starts(campaign_pk: int, leads: list[CleanLead]) -> list[str]:
    """Each lead's row for COPY's text format up to its created_at: the columns that do not
    depend on the campaign lock (`_copy_text` adds the rest once it holds it).

    Written by hand rather than by psycopg's `write_row`, which dumps every value of every row
    through its adapters (~7 µs a lead, a fifth of a create's Python then); only the lead_id,
    the name and the custom fields' JSON come from the client."""
    starts = [
        f"{campaign_pk}\t{lead.lead_id}\t{lead.phone_number}\t{lead.contact_name}\t"
        f"{lead.custom_json}\t{_QUEUED}\t"
        for lead in leads
    ]
    # No client value held a character COPY must escape (the usual batch) exactly when the
    # text holds no backslash, CR or newline and only the delimiters' own tabs.
    joined = "".join(starts)
    if (
        "\\" not in joined
        and "\r" not in joined
        and "\n" not in joined
        and joined.count("\t") == _COLUMNS_BEFORE_STAMP * len(leads)
    ):
        return starts
    return [
        f"{campaign_pk}\t{lead.lead_id.translate(_COPY_ESCAPES)}\t{lead.phone_number}\t"
        f"{lead.contact_name.translate(_COPY_ESCAPES)}\t"
        f"{lead.custom_json.translate(_COPY_ESCAPES)}\t{_QUEUED}\t"
        for lead in leads
    ]


_QUEUED = Lead.Status.QUEUED.value
_COLUMNS_BEFORE_STAMP = _INSERT_COLUMNS.index("created_at")


def _copy_text(starts: list[str], first_position: int, now: datetime) -> str:
    """The batch's rows (`_INSERT_COLUMNS`) as one COPY text buffer: `_copy_starts`, then the
    times, the queue fields and the positions (known only under the campaign lock)."""
    stamp = now.isoformat()
    # due at once, behind callbacks and retries
    rest = f"{stamp}\t{stamp}\t{{}}\t{Lead.QueueClass.NEW.value}\t0\t{stamp}\t0\t"
    return "".join(
        [f"{start}{rest}{position}\n" for position, start in enumerate(starts, first_position)]
    )


def _insert_rows(
    campaign: Campaign, leads: list[CleanLead], first_position: int, starts: list[str] | None
) -> None:
    """Insert the batch; `starts`: its `_copy_starts` on PostgreSQL (built before the lock)."""
    now = timezone.now()
    table = Lead._meta.db_table
    columns = ", ".join(_INSERT_COLUMNS)
    if starts is not None:
        # COPY is ~3x a multi-row INSERT here; it runs on Django's connection, so inside
        # the service's transaction.
        text = _copy_text(starts, first_position, now)
        with pg_cursor() as cursor, cursor.copy(COPY_LEADS.format(table, columns)) as copy:
            copy.write(text)
        return
    stamp = db_datetime(now)
    status = Lead.Status.QUEUED.value
    new = Lead.QueueClass.NEW.value  # due at once, behind callbacks and retries
    rows = [
        (
            campaign.pk,
            lead.lead_id,
            lead.phone_number,
            lead.contact_name,
            lead.custom_json,
            status,
            stamp,
            stamp,
            "{}",
            new,
            0,
            stamp,
            0,
            first_position + i,
        )
        for i, lead in enumerate(leads)
    ]
    marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


# Lead ids per IN list when finding the new leads to withdraw.
_WITHDRAW_CHUNK = 500


def _withdraw_suppressed(
    campaign: Campaign, leads: list[CleanLead], hashes: list[str], listed: set[str]
) -> None:
    """Process at once, without a call, the new leads whose numbers are on the business's or
    the campaign's do-not-call list (`lead_outcome` "Not Called : Do Not Call", the
    `lead.processed` webhook as for any processed lead).

    The do-not-call rule of `compliance.decisions.dial_decision`, asked for the whole batch in
    one query rather than per lead (a batch is up to 10,000 leads). Runs inside the create's
    transaction, so a client never sees these leads queued.

    What `lead_withdraw` does for one lead, done per chunk: one UPDATE, one counts insert and
    one bulk insert of events. No lock or re-check is needed: the leads were inserted by this
    transaction, which holds the campaign lock, so nobody else can see them yet (no claim, no
    disable, no erasure). A batch of listed numbers (a client re-sending its do-not-call
    leads) costs about what a plain create does, instead of a transaction per lead.

    `listed`: the batch's hashes on a list, looked up before the create took the campaign
    lock (see lead_create_batch)."""
    if not listed:
        return
    lead_ids = [
        lead.lead_id for lead, hashed in zip(leads, hashes, strict=True) if hashed in listed
    ]
    now = timezone.now()
    processed = counts.Counted(
        status=Lead.Status.PROCESSED,
        converted=False,
        processed=(NOT_CALLED_DNC, counts.slot_of(now)),
    )
    queued = counts.Counted(status=Lead.Status.QUEUED, converted=False, processed=None)
    for start in range(0, len(lead_ids), _WITHDRAW_CHUNK):
        chunk = Lead.objects.filter(
            campaign=campaign, lead_id__in=lead_ids[start : start + _WITHDRAW_CHUNK]
        )
        rows = list(chunk.order_by("pk").values("pk", *RESULT_FIELDS))
        chunk.update(
            status=Lead.Status.PROCESSED,
            processed_at=now,
            lead_outcome=NOT_CALLED_DNC,
            updated_at=now,
        )
        deltas = counts.CountDeltas()
        deltas.lead(campaign.pk, queued, -len(rows))
        deltas.lead(campaign.pk, processed, len(rows))
        deltas.write()
        items = []
        for row in rows:
            row.update(processed_at=now, lead_outcome=NOT_CALLED_DNC)
            lead = Lead(pk=row["pk"], campaign=campaign)
            items.append((lead, result_item(row, campaign.public_id)))
        hooks.lead_events(campaign=campaign, type=hooks.LEAD_PROCESSED, items=items)


def _clashes(campaign: Campaign, leads: list[CleanLead]) -> LeadProblems | None:
    """After the unique constraint refused a batch: the 400 for its leads whose lead_id the
    campaign holds, or None if it holds none any more (the clashing lead was erased since)."""
    existing = lead_ids_existing(campaign=campaign, lead_ids=[lead.lead_id for lead in leads])
    if not existing:
        return None
    return LeadProblems(
        [
            problem(index, lead.lead_id, LEAD_EXISTS)
            for index, lead in enumerate(leads)
            if lead.lead_id in existing
        ]
    )


# What a caller adds to a create: called with the lead ids to create once they are known
# (before the create's rows are all in: the streamed create calls it while the server
# finishes its COPY, so that its Python overlaps the server's work), it returns the write to
# run inside the create's transaction just before the commit; what that writes commits with
# the leads, or neither does. The write runs again if the create retries in a new
# transaction.
BeforeCommit = Callable[[list[str]], Callable[[], None]]


def lead_create_batch(
    *, campaign: Campaign, leads: list[CleanLead], before_commit: BeforeCommit | None = None
) -> list[str]:
    """Create all `leads` in `campaign`, or none: 400 if any lead_id already exists there.
    Leads whose numbers are on a do-not-call list are created already processed."""
    lead_ids = [lead.lead_id for lead in leads]
    # The per-lead Python that does not need the campaign lock runs before taking it: the
    # lock serialises the campaign's creates, so whatever runs under it is paid by all of them
    # in turn. `hashes[i]` is the keyed hash of `leads[i]`'s number.
    hashes = number_hashes([lead.phone_number for lead in leads])
    starts = _copy_starts(campaign.pk, leads) if is_postgres() else None
    # So is the do-not-call lookup, a read: holding the lock would not make it any more
    # current (an entry added meanwhile is not blocked by the lock either). The claim and the
    # call ask the dial decision again, and a new entry withdraws the queued leads it covers.
    listed = suppressed_hashes(campaign=campaign, number_hashes=set(hashes))
    write = before_commit(lead_ids) if before_commit is not None else None
    for _ in range(2):
        try:
            with transaction.atomic():
                # The counts' change row needs no lock (compaction folds it; a rollback takes
                # it back), so it goes before the lock too.
                counts.counts_add(
                    campaign_id=campaign.pk,
                    kind=counts.Kind.STATUS,
                    key=Lead.Status.QUEUED,
                    n=len(leads),
                )
                # Takes the campaign row lock: see the module docstring. Under it: the
                # positions, the COPY and the commit.
                first_position = _reserve_positions(campaign, len(leads))
                # The unique constraint is the duplicate check: the happy path pays no probe.
                _insert_rows(campaign, leads, first_position, starts)
                _withdraw_suppressed(campaign, leads, hashes, listed)
                if write is not None:
                    write()
            metrics.LEADS_CREATED.inc(len(leads))
            return lead_ids
        except IntegrityError:
            clashes = _clashes(campaign, leads)
        if clashes is not None:
            raise clashes
        # No lead_id clashes now: the clashing lead was erased in between, or a position was
        # taken by a row put in without the services. Try once more, positions repaired.
        positions_repair(campaign=campaign)
    raise Conflict("The campaign changed while creating leads; retry the request.")


# Items checked and sent to the COPY per step of a streamed create: large enough that a
# step's own cost stays noise. The first step is smaller, so that the server starts
# inserting sooner, and each next one is twice the last up to the full step: the server,
# which takes two to three times as long over a row as Python does, is then still busy with
# one step when Python has checked the next.
_STREAM_STEP = 200
_FIRST_STEP = 50


# One item as `iter_new_leads` answers it: the cleaned lead, or its problem.
_Checked = tuple[CleanLead | None, dict[str, Any] | None]


def _steps(checked: Iterator[_Checked]) -> Iterator[list[_Checked]]:
    size = min(_FIRST_STEP, _STREAM_STEP)
    while step := list(itertools.islice(checked, size)):
        yield step
        size = min(2 * size, _STREAM_STEP)


class _Plain(Exception):
    """The streamed create hands over to the plain path: the campaign lock was busy, or a
    lead_id clashed with a lead that was gone when looked up (erased meanwhile)."""

    def __init__(self, leads: list[CleanLead] | None = None):
        self.leads = leads


def lead_create_items(
    *, campaign: Campaign, items: list[Any], before_commit: BeforeCommit | None = None
) -> list[str]:
    """Check a create request's items and create them all, or raise LeadProblems listing
    every problem (nothing is changed then): what `clean_new_leads` then `lead_create_batch`
    do, with the same answers and guarantees (all or nothing, positions in request order
    under the campaign lock, the counts, the do-not-call rule).

    On PostgreSQL a create that finds the campaign lock free streams: it takes the lock,
    opens the COPY, and checks the items a step at a time, sending each step's rows before
    checking the next, so the server inserts while Python checks (one client's create paid
    the two one after the other). A problem anywhere stops the sending; the rest is still
    checked, so that every problem is reported, and then the COPY is aborted, which rolls the
    whole transaction back. A create that finds the lock taken (another create of the same
    campaign is running) checks its items first, outside the lock, as the plain path does:
    checking under a held lock would make every other create of the campaign wait for it.
    """
    if not is_postgres() or len(items) <= _STREAM_STEP:
        return _create_plain(campaign, items, before_commit)
    try:
        leads = _create_streamed(campaign, items, before_commit)
    except _Plain as plain:
        if plain.leads is None:
            return _create_plain(campaign, items, before_commit)
        # The plain path tries again (and answers 409 if that clashes too).
        return lead_create_batch(campaign=campaign, leads=plain.leads, before_commit=before_commit)
    metrics.LEADS_CREATED.inc(len(leads))
    return [lead.lead_id for lead in leads]


def _create_plain(
    campaign: Campaign, items: list[Any], before_commit: BeforeCommit | None
) -> list[str]:
    leads, problems = clean_new_leads(items)
    if problems:
        raise LeadProblems(problems)
    return lead_create_batch(campaign=campaign, leads=leads, before_commit=before_commit)


# The streamed create's one statement before its COPY (three round trips before):
# - the reservation, if the campaign lock is free at once (`_RESERVE_IF_FREE_SQL`);
# - the counts' change row for the batch, what `counts.counts_add` inserts, only if the
#   reservation took place (PostgreSQL runs a WITH's INSERT whether or not it is read);
# - whether the business has any do-not-call entry for the campaign: if not, the create
#   skips hashing the batch's numbers and looking them up. Read once at the start; that is
#   as current as the lookup the plain path makes before it takes the lock (an entry added
#   meanwhile withdraws the queued leads it covers, and the claim asks again).
_STREAMED_START_SQL = (
    f"WITH reserved AS ({_RESERVE_IF_FREE_SQL}), counted AS ("  # noqa: S608
    f"INSERT INTO {CampaignCount._meta.db_table} (campaign_id, kind, key, slot, n, compacted) "
    "SELECT %s, %s, %s, 0, %s, false FROM reserved) "
    f"SELECT last_position, {ANY_ENTRY_SQL} FROM reserved"
)


def _streamed_start(campaign: Campaign, n: int) -> tuple[int, bool] | None:
    """Run `_STREAMED_START_SQL` for a batch of `n`: (its first position, whether the
    business has do-not-call entries for the campaign), or None if the campaign lock is
    held (or the campaign is gone: the plain path then says so)."""
    queued = (campaign.pk, counts.Kind.STATUS, Lead.Status.QUEUED, n)
    listing = (campaign.business_id, campaign.business_id, campaign.pk)
    with connection.cursor() as cursor:
        cursor.execute(_STREAMED_START_SQL, [n, n, campaign.pk, *queued, *listing])
        row = cursor.fetchone()
    if row is None:
        return None
    last, may_be_listed = row
    return last - n + 1, bool(may_be_listed)


def _create_streamed(
    campaign: Campaign, items: list[Any], before_commit: BeforeCommit | None
) -> list[CleanLead]:
    from psycopg.copy import LibpqWriter  # PostgreSQL only, as in core.db

    steps = _steps(iter_new_leads(items))
    # The first step is checked before the transaction starts, so that its rows go to the
    # server as soon as the COPY is open.
    steps = itertools.chain([next(steps, [])], steps)
    leads: list[CleanLead] = []
    hashes: list[str] = []
    problems: list[dict[str, Any]] = []
    write: Callable[[], None] | None = None
    table = Lead._meta.db_table
    columns = ", ".join(_INSERT_COLUMNS)
    try:
        with transaction.atomic():
            # Takes the campaign row lock if it is free: see the module docstring.
            start = _streamed_start(campaign, len(items))
            if start is None:
                raise _Plain()  # rolls back: nothing was written
            first_position, may_be_listed = start
            now = timezone.now()
            with pg_cursor() as cursor:
                # Each step's rows go to the server at once (psycopg would hold up to 1 MB).
                writer = LibpqWriter(cursor, flush_threshold=0)
                with cursor.copy(COPY_LEADS.format(table, columns), writer=writer) as copy:
                    for step in steps:
                        found = [p for _, p in step if p is not None]
                        if found or problems:
                            problems.extend(found)
                            continue
                        clean = [lead for lead, _ in step if lead is not None]
                        starts = _copy_starts(campaign.pk, clean)
                        copy.write(_copy_text(starts, first_position + len(leads), now))
                        leads.extend(clean)
                        if may_be_listed:
                            # While the server inserts this step's rows.
                            hashes.extend(number_hashes([lead.phone_number for lead in clean]))
                    if problems:
                        # Aborts the COPY (psycopg sends its failure); atomic rolls back.
                        raise LeadProblems(problems)
                    # The server is still inserting the last steps' rows: what the caller
                    # adds is worked out meanwhile.
                    if before_commit is not None:
                        write = before_commit([lead.lead_id for lead in leads])
            if may_be_listed:
                # The do-not-call lookup, once every number is known (under the lock now:
                # the plain path looks up before taking it, but has every number before it
                # starts).
                listed = suppressed_hashes(campaign=campaign, number_hashes=set(hashes))
                _withdraw_suppressed(campaign, leads, hashes, listed)
            if write is not None:
                write()
    except IntegrityError:
        clashes = _clashes(campaign, leads)
        if clashes is not None:
            raise clashes from None
        raise _Plain(leads) from None
    return leads


def _live_leads(campaign: Campaign) -> QuerySet[Lead]:
    return Lead.objects.filter(campaign=campaign, erased_at__isnull=True)


def _get_live_lead_for_update(campaign: Campaign, lead_id: str) -> Lead:
    lead: Lead | None = _live_leads(campaign).select_for_update().filter(lead_id=lead_id).first()
    if lead is None:
        raise NotFound("No lead with this lead_id in this campaign.")
    return lead


def _event_payload(lead: Lead, campaign: Campaign, **fields: Any) -> dict[str, Any]:
    """Payload of the optional lead events: which lead, and what happened when."""
    payload = {"lead_id": lead.lead_id, "campaign_id": campaign.public_id}
    for name, value in fields.items():
        payload[name] = (
            value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else value
        )
    return payload


def lead_disable_batch(*, campaign: Campaign, lead_ids: list[str]) -> list[str]:
    """Stop all reach-outs to these leads; unknown ids make it a 400 that changes nothing."""
    wanted = list(dict.fromkeys(lead_ids))
    now = timezone.now()
    with transaction.atomic():
        found = set(
            _live_leads(campaign)
            .select_for_update()
            .filter(lead_id__in=wanted)
            .values_list("lead_id", flat=True)
        )
        unknown = [lead_id for lead_id in wanted if lead_id not in found]
        if unknown:
            raise LeadProblems(
                [
                    problem(
                        None,
                        lead_id,
                        FieldProblem("lead_id", "not_found", "No lead with this lead_id."),
                    )
                    for lead_id in unknown
                ],
                detail=f"{len(unknown)} lead_id(s) not found; no lead was disabled.",
            )
        live = _live_leads(campaign).filter(lead_id__in=wanted)
        newly = list(live.filter(disabled_at__isnull=True))
        live.filter(disabled_at__isnull=True).update(disabled_at=now, updated_at=now)
        hooks.lead_events_optional(
            campaign=campaign,
            type=hooks.LEAD_DISABLED,
            items=[(lead, _event_payload(lead, campaign, disabled_at=now)) for lead in newly],
        )
        # A processed lead keeps its result; only leads still waiting change state.
        stopped = live.filter(status=Lead.Status.QUEUED).update(status=Lead.Status.DISABLED)
        deltas = counts.CountDeltas()
        deltas.add(campaign.pk, counts.Kind.STATUS, -stopped, key=Lead.Status.QUEUED)
        deltas.add(campaign.pk, counts.Kind.STATUS, stopped, key=Lead.Status.DISABLED)
        deltas.write()
    return wanted


@dataclass(frozen=True)
class LeadChanges:
    phone_number: str | None
    contact_name: str | None
    set_custom: dict[str, Any]
    remove_custom: list[str]


def clean_lead_changes(payload: dict[str, Any]) -> LeadChanges:
    """Validate a PATCH body (without its lead_id); FieldProblem on the first bad field."""
    phone = name = None
    if "phone_number" in payload:
        phone = clean_phone(payload["phone_number"])
    if "contact_name" in payload:
        name = clean_contact_name(payload["contact_name"])
    custom = {k: v for k, v in payload.items() if k not in CORE_INPUT_KEYS}
    set_custom = {k: v for k, v in custom.items() if v is not None}
    remove = [k for k, v in custom.items() if v is None]
    return LeadChanges(phone, name, set_custom, remove)


def lead_update(*, campaign: Campaign, lead_id: str, changes: LeadChanges) -> Lead:
    """Apply a PATCH: new phone/name, custom fields set, or removed when sent as null."""
    with transaction.atomic():
        lead = _get_live_lead_for_update(campaign, lead_id)
        custom = dict(lead.custom_fields)
        custom.update(changes.set_custom)
        for key in changes.remove_custom:
            custom.pop(key, None)
        try:
            check_custom_fields(custom)
        except FieldProblem as p:
            raise LeadProblems([problem(None, lead_id, p)]) from None
        if changes.phone_number is not None:
            lead.phone_number = changes.phone_number
        if changes.contact_name is not None:
            lead.contact_name = changes.contact_name
        lead.custom_fields = custom
        lead.updated_at = timezone.now()
        lead.save(update_fields=["phone_number", "contact_name", "custom_fields", "updated_at"])
    return lead


def lead_convert(*, campaign: Campaign, lead_id: str, detail: str) -> Lead:
    """Record the client's conversion; the first conversion time is kept, the detail updated."""
    with transaction.atomic():
        lead = _get_live_lead_for_update(campaign, lead_id)
        before = counts.counted(lead)
        now = timezone.now()
        lead.converted_at = lead.converted_at or now
        lead.conversion_detail = detail
        lead.updated_at = now
        lead.save(update_fields=["converted_at", "conversion_detail", "updated_at"])
        counts.counts_lead_changed(lead=lead, before=before)
        hooks.lead_events_optional(
            campaign=campaign,
            type=hooks.LEAD_CONVERTED,
            items=[
                (
                    lead,
                    _event_payload(
                        lead, campaign, converted_at=lead.converted_at, conversion_detail=detail
                    ),
                )
            ],
        )
    return lead


# The lead's own fields an erasure wipes, as a receipt names them.
_ERASED_FIELDS = (
    "phone_number",
    "contact_name",
    "custom_fields",
    "lead_responses",
    "lead_outcome",
    "latest_recording",
    "conversion_detail",
)


def lead_erase(*, campaign: Campaign, lead_id: str, suppress: bool = False) -> ErasureReceipt:
    """Irreversibly remove the lead's personal data, keeping a tombstone without any, and
    return the receipt saying what went (pending until the worker confirms the files and the
    provider's copies are gone too).

    Also gone: its call attempts' answers and recordings (the files are deleted once the
    transaction commits), stored event payloads, stored API responses quoting it, and its
    lead_id in CSV import problem reports. `suppress` adds its number to the business's
    do-not-call list first (only the number's keyed hash is kept).
    """
    with transaction.atomic():
        lead = _get_live_lead_for_update(campaign, lead_id)
        now = timezone.now()
        phone = lead.phone_number
        if suppress and phone:
            # In the erasure's transaction and before the wipe: the number is known only now,
            # and a rolled-back erasure must not leave the entry behind (nor the reverse).
            suppressions_add(
                business=campaign.business,
                items=[SuppressionItem(phone=phone)],
                source=Suppression.Source.ERASURE,
            )
        wiped = [name for name in _ERASED_FIELDS if getattr(lead, name) not in (None, "", {})]
        deltas = counts.CountDeltas()
        deltas.change(
            campaign.pk,
            counts.counted(lead),
            counts.Counted(status=Lead.Status.ERASED, converted=False, processed=None),
        )
        deltas.write()
        Lead.objects.filter(pk=lead.pk).update(
            lead_id=None,
            phone_number=None,
            contact_name=None,
            custom_fields={},
            lead_responses={},
            lead_outcome=None,
            latest_recording=None,
            conversion_detail=None,
            status=Lead.Status.ERASED,
            erased_at=now,
            updated_at=now,
            leased_by=None,
            lease_expires_at=None,
        )
        Campaign.objects.filter(pk=campaign.pk).update(lead_count=F("lead_count") - 1)
        # Call attempts, recordings and stored event payloads belong to higher layers.
        outcome = hooks.lead_erasure_run(lead)
        # Only the client's own id goes out, so their systems can drop the lead too.
        hooks.lead_events_optional(
            campaign=campaign,
            type=hooks.LEAD_ERASED,
            items=[(lead, _event_payload(lead, campaign, erased_at=now, lead_id=lead_id))],
        )
        # Stored API responses (kept 24 h for Idempotency-Key replays) may quote the lead.
        stored, _ = IdempotencyRecord.objects.filter(
            business_id=campaign.business_id,
            response_body__contains=orjson.dumps(lead_id).decode(),
        ).delete()
        # CSV import reports may name the lead (a duplicate row): keep the row, not the id.
        report_rows = LeadImportProblem.objects.filter(
            lead_import__campaign=campaign, lead_id=lead_id
        ).update(lead_id=None)
        outcome.counts.update(
            import_report_rows=report_rows,
            stored_responses=stored,
            # Kept as they are (they hold the lead_id, never personal data); the erasure's
            # own entry is written after this commits and is not among them.
            audit_entries_kept=audit.audit_entries_for_lead_count(
                business=campaign.business, lead_id=lead_id
            ),
        )
        receipt = ErasureReceipt.objects.create(
            business_id=campaign.business_id,
            campaign=campaign,
            tombstone=lead,
            lead_id=lead_id,
            requested_at=now,
            counts={key: outcome.counts.get(key, 0) for key in hooks.ERASURE_COUNTS},
            lead_fields=wiped,
            suppressed=suppress and bool(phone),
            files_pending=outcome.files,
        )
        files = list(outcome.files)
        # Robust: a storage error must not turn the committed erasure into a 500; the worker
        # deletes what is left (files_pending) before it completes the receipt.
        transaction.on_commit(lambda: _files_delete(files), robust=True)
    if suppress and phone:
        # The business's other queued leads with this number stop waiting for a call now
        # (the claim would refuse them anyway).
        from .suppression_effects import leads_withdraw_suppressed  # imports this module

        leads_withdraw_suppressed(business=campaign.business, items=[SuppressionItem(phone=phone)])
    return receipt


def _files_delete(paths: list[str]) -> None:
    for path in paths:
        recordings.recording_delete(path)


@dataclass(frozen=True)
class ReceiptSweep:
    checked: int
    completed: int
    last_pk: int | None  # where the next sweep starts; None: the pending receipts ran out


def erasure_receipts_complete(
    *, after_pk: int = 0, limit: int = 100, now: datetime | None = None
) -> ReceiptSweep:
    """Complete the pending receipts (a bounded batch in id order after `after_pk`) whose
    recording files are deleted and whose higher layers report nothing left to do."""
    now = now or timezone.now()
    batch = list(
        ErasureReceipt.objects.filter(status=ErasureReceipt.Status.PENDING, pk__gt=after_pk)
        .order_by("pk")
        .values_list("pk", "tombstone_id", "files_pending")[:limit]
    )
    files_left: set[int] = set()
    files_gone: list[int] = []
    for pk, _, files in batch:
        if not files:
            continue
        try:
            # Usually deleted on commit already; deleting a missing file is a no-op.
            _files_delete(files)
        except OSError:
            logger.warning("erasure receipt %s: recording files not deleted yet", pk)
            files_left.add(pk)
        else:
            files_gone.append(pk)
    unfinished = hooks.lead_erasure_pending([t for _, t, _ in batch if t is not None])
    ready = [pk for pk, t, _ in batch if pk not in files_left and t not in unfinished]
    completed = ErasureReceipt.objects.filter(
        pk__in=ready, status=ErasureReceipt.Status.PENDING
    ).update(status=ErasureReceipt.Status.COMPLETE, completed_at=now, files_pending=[])
    # Waiting only for a provider: the files need not be tried again.
    ErasureReceipt.objects.filter(pk__in=files_gone).exclude(files_pending=[]).update(
        files_pending=[]
    )
    last_pk = batch[-1][0] if len(batch) == limit else None
    return ReceiptSweep(checked=len(batch), completed=completed, last_pk=last_pk)


def lead_withdraw(*, lead_pk: int, outcome: str, now: datetime | None = None) -> Lead | None:
    """Process a queued lead without a call, because compliance says it may never be dialled
    (a do-not-call entry, DND on a promotional campaign): `lead_outcome` says why, and the
    `lead.processed` webhook goes as for any processed lead. None if the lead is no longer
    queued (processed, disabled or erased meanwhile)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = (
            # The lead's row only: locking the campaign's too would queue every withdrawal
            # behind the campaign's inserts and erasures (which update its lead_count).
            Lead.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(
                pk=lead_pk,
                status=Lead.Status.QUEUED,
                disabled_at__isnull=True,
                erased_at__isnull=True,
            )
            .first()
        )
        if lead is None:
            return None
        before = counts.counted(lead)
        lead.status = Lead.Status.PROCESSED
        lead.processed_at = now
        lead.lead_outcome = outcome
        lead.leased_by = None
        lead.lease_expires_at = None
        lead.wait_reason = ""
        lead.updated_at = now
        lead.save(
            update_fields=[
                "status",
                "processed_at",
                "lead_outcome",
                "leased_by",
                "lease_expires_at",
                "wait_reason",
                "updated_at",
            ]
        )
        counts.counts_lead_changed(lead=lead, before=before)
        hooks.lead_event(
            lead=lead,
            type=hooks.LEAD_PROCESSED,
            payload=lead_result(lead=lead, campaign=lead.campaign),
        )
    return lead


def lead_hold(*, lead_pk: int, until: datetime, reason: str) -> None:
    """Put a queued lead back until `until` (a call cap, the minimum gap, DND status still
    unknown), saying why; a rep holding it lets go."""
    Lead.objects.filter(pk=lead_pk, status=Lead.Status.QUEUED).update(
        due_at=until, wait_reason=reason[:200], leased_by=None, lease_expires_at=None
    )
