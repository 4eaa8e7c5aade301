"""DND (NCPR) for promotional campaigns: the rule, its cache and the sources that fill it.

TRAI's National Customer Preference Register lists numbers that refuse promotional calls.
A `promotional` campaign must not dial one unless the person gave the business consent
(`consents.py`); `service` campaigns (transactional calls) are not concerned.

Where answers come from: `DndSource`s, asked in registration order, each about the numbers
the ones before could not answer. Compliance registers the operator's imported registry file
(`leadline dnd import`) first; the dialer registers its telephony providers' number lookup
(Exotel's number metadata says `DND: Yes|No`) from its AppConfig, since compliance sits below
the dialer and may not import it. Answers are cached per number hash for `DND_TTL`.

Why a cache and a loop: `dial_decision` runs inside claim transactions and must never wait on
the network, so `dnd_rule` reads only the cache. A number not in it (or stale) is "not
known yet": the lead waits a few minutes with that reason, while the `dnd-lookups` worker loop
(dialer) asks the sources (`dnd_resolve`) for the queued leads of promotional campaigns; the
next claim then withdraws the lead (DND) or calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from django.db import transaction
from django.utils import timezone

from leadline.campaigns.models import Campaign
from leadline.core.phones import normalize_indian_phone

from .hashing import number_hash
from .models import Consent, DndRegistryEntry, DndRegistryImport, DndStatus

if TYPE_CHECKING:
    from .decisions import Decision

logger = logging.getLogger(__name__)

# A registration takes effect within 7 days (TRAI), so an answer older than that may be wrong.
DND_TTL = timedelta(days=7)
# A lead whose status is not known yet is offered again after this: the loop usually has an
# answer by then.
UNKNOWN_RETRY = timedelta(minutes=5)
DND_UNKNOWN_REASON = "DND status not known yet"
DND_REASON = "The number is registered on DND (NCPR) and the campaign is promotional."
REGISTRY = "registry"


@dataclass(frozen=True)
class DndQuery:
    """A number to look up: in clear for sources that must send it (a provider's API), and
    its hash for those that hold only hashes (the registry) and for the cache."""

    phone: str
    number_hash: str


class DndSource(Protocol):
    """Where DND answers come from. `lookup` may do network I/O: it is called by the worker
    loop, never inside a transaction. It answers {number_hash: on DND} for the numbers it
    knows and leaves out the others (the next source is asked about them); it must not log
    numbers."""

    name: str

    def lookup(self, *, campaign: Campaign, numbers: list[DndQuery]) -> dict[str, bool]: ...


class RegistryFileSource:
    """The registry file the operator imported: a listed number is on DND. An unlisted one is
    left to the next source; `dnd_resolve` counts it as not on DND once a file was imported
    and no source said otherwise."""

    name = REGISTRY

    def lookup(self, *, campaign: Campaign, numbers: list[DndQuery]) -> dict[str, bool]:
        listed = DndRegistryEntry.objects.filter(
            number_hash__in=[n.number_hash for n in numbers]
        ).values_list("number_hash", flat=True)
        return dict.fromkeys(listed, True)


_sources: list[DndSource] = [RegistryFileSource()]


def register_source(source: DndSource) -> None:
    """Add a source after those registered before (from an AppConfig.ready(), once)."""
    if all(existing.name != source.name for existing in _sources):
        _sources.append(source)


def registered_sources() -> list[DndSource]:
    return list(_sources)


# --- the rule (read-only, no I/O beyond one indexed query) ----------------------------------


def dnd_cached(*, number_hash: str, now: datetime) -> bool | None:
    """The fresh cached answer (True: on DND), or None when not known or stale."""
    answer: bool | None = (
        DndStatus.objects.filter(number_hash=number_hash, checked_at__gt=now - DND_TTL)
        .values_list("dnd", flat=True)
        .first()
    )
    return answer


def dnd_rule(
    *, campaign: Campaign, number_hash: str, now: datetime, consent: bool
) -> Decision | None:
    """The DND rule of `dial_decision`: None lets the next rule answer (a service campaign,
    consent given, or a fresh "not on DND"); otherwise never (on DND) or wait (not known)."""
    if campaign.category != Campaign.Category.PROMOTIONAL or consent:
        return None
    # Imported here: decisions imports this module, and Decision is defined there.
    from .decisions import NOT_CALLED_DND, Decision

    answer = dnd_cached(number_hash=number_hash, now=now)
    if answer is False:
        return None
    if answer is True:
        return Decision(
            dial=False,
            code="dnd",
            reason=DND_REASON,
            never=True,
            outcome=NOT_CALLED_DND,
            dnd="yes",
        )
    return Decision(
        dial=False,
        code="dnd_unknown",
        reason=DND_UNKNOWN_REASON,
        earliest_at=now + UNKNOWN_RETRY,
        dnd="unknown",
    )


# --- resolving (the worker loop) -------------------------------------------------------------


def dnd_pending(*, hashes: Iterable[str], now: datetime) -> set[str]:
    """Of these hashes, those without a fresh cached answer."""
    wanted = set(hashes)
    fresh = DndStatus.objects.filter(
        number_hash__in=wanted, checked_at__gt=now - DND_TTL
    ).values_list("number_hash", flat=True)
    return wanted - set(fresh)


def dnd_to_resolve(*, campaign: Campaign, phones: list[str], now: datetime) -> list[str]:
    """Of these E.164 numbers of a campaign's queued leads, those the loop should look up:
    promotional campaign, no consent from the person, no fresh cached answer."""
    if campaign.category != Campaign.Category.PROMOTIONAL or not phones:
        return []
    by_hash = {number_hash(p): p for p in phones}
    pending = dnd_pending(hashes=by_hash, now=now)
    consented = Consent.objects.filter(
        business_id=campaign.business_id, number_hash__in=pending
    ).values_list("number_hash", flat=True)
    pending -= set(consented)
    return [p for h, p in by_hash.items() if h in pending]


@dataclass
class Resolved:
    yes: int = 0
    no: int = 0
    unknown: int = 0


def dnd_record(*, answers: dict[str, bool], source: str, now: datetime) -> None:
    """Cache answers (one upsert; a newer answer replaces an older one)."""
    if not answers:
        return
    DndStatus.objects.bulk_create(
        [
            DndStatus(number_hash=h, dnd=dnd, source=source, checked_at=now)
            for h, dnd in answers.items()
        ],
        update_conflicts=True,
        unique_fields=["number_hash"],
        update_fields=["dnd", "source", "checked_at"],
    )


def dnd_resolve(*, campaign: Campaign, phones: list[str], now: datetime | None = None) -> Resolved:
    """Ask the sources, in order, about these E.164 numbers (outside any transaction: a
    source may call a provider) and cache what they answer. Numbers no source knows stay
    uncached (their leads keep waiting) unless a registry file was imported, in which case
    they are not on DND."""
    now = now or timezone.now()
    remaining = {number_hash(p): DndQuery(phone=p, number_hash=number_hash(p)) for p in phones}
    result = Resolved()
    for source in registered_sources():
        if not remaining:
            break
        try:
            answers = source.lookup(campaign=campaign, numbers=list(remaining.values()))
        except Exception:  # one failing source must not stop the others
            logger.exception("DND source %s failed for campaign %s", source.name, campaign.pk)
            continue
        answers = {h: dnd for h, dnd in answers.items() if h in remaining}
        dnd_record(answers=answers, source=source.name, now=now)
        for hashed, dnd in answers.items():
            del remaining[hashed]
            if dnd:
                result.yes += 1
            else:
                result.no += 1
    if remaining and DndRegistryImport.objects.exists():
        dnd_record(answers=dict.fromkeys(remaining, False), source=REGISTRY, now=now)
        result.no += len(remaining)
        remaining.clear()
    result.unknown = len(remaining)
    return result


# --- the registry file ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportCounts:
    lines: int  # data lines read (a CSV's header not counted)
    added: int  # numbers new to the registry
    invalid: int  # lines that were not an Indian phone number
    total: int  # numbers in the registry afterwards


IMPORT_BATCH = 5000


def _batches(hashes: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for hashed in hashes:
        batch.append(hashed)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def registry_import(
    *, numbers: Iterable[str], replace: bool = False, now: datetime | None = None
) -> ImportCounts:
    """Import registry numbers as written in the file (hashed here; never stored in clear).

    `replace`: the file is the whole registry now, and numbers of earlier imports that it no
    longer lists are removed. All in one transaction, so a failed import changes nothing.
    Listed numbers are cached "on DND" at once (the registry is the operator's authority);
    with `replace`, cached answers that came from a removed entry are dropped, so the loop
    asks again.
    """
    now = now or timezone.now()
    lines = invalid = added = 0

    def hashes() -> Iterator[str]:
        nonlocal lines, invalid
        for raw in numbers:
            lines += 1
            e164 = normalize_indian_phone(raw)
            if e164 is None:
                invalid += 1
                continue
            yield number_hash(e164)

    with transaction.atomic():
        if replace:
            DndRegistryEntry.objects.all().delete()
        for batch in _batches(hashes(), IMPORT_BATCH):
            # Repeats across batches are found in the table (the earlier batch is in it).
            fresh = list(dict.fromkeys(batch))
            existing = set(
                DndRegistryEntry.objects.filter(number_hash__in=fresh).values_list(
                    "number_hash", flat=True
                )
            )
            new = [h for h in fresh if h not in existing]
            DndRegistryEntry.objects.bulk_create(
                [DndRegistryEntry(number_hash=h, imported_at=now) for h in new]
            )
            added += len(new)
            dnd_record(answers=dict.fromkeys(fresh, True), source=REGISTRY, now=now)
        if replace:
            # Cached "on DND" from entries the new file dropped: ask again.
            DndStatus.objects.filter(source=REGISTRY, dnd=True).exclude(
                number_hash__in=DndRegistryEntry.objects.values("number_hash")
            ).delete()
        total = DndRegistryEntry.objects.count()
        DndRegistryImport.objects.create(
            replaced=replace, lines=lines, added=added, invalid=invalid, total=total
        )
    return ImportCounts(lines=lines, added=added, invalid=invalid, total=total)
