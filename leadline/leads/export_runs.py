"""One running results export per business, across processes (`ExportRun` rows).

`export_run_start` claims the business's single run (None when a live one exists): the unique
business makes a concurrent second claim fail on every engine, and a run whose expiry passed
(its process died without releasing it) is deleted first, so it cannot block for ever.
`ExportStream` wraps the CSV pieces: while they are read it pushes the expiry forward (at most
every third of the lease, so one UPDATE per ~40 s, not per piece) and `close()`, which Django
calls when the response is done or the client went away (gunicorn closes the response on a
broken pipe too), deletes the run. Close works even if the stream never started: a generator's
`finally` would not run then, hence a class.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign

from .models import ExportRun

log = logging.getLogger(__name__)


def _lease() -> timedelta:
    return timedelta(seconds=settings.LEADLINE_EXPORT_RUN_LEASE_SECONDS)


def _now() -> datetime:
    return timezone.now()


def export_run_start(*, business: Business, campaign: Campaign) -> ExportRun | None:
    """The business's export run, newly claimed; None while another live run holds it."""
    now = _now()
    with transaction.atomic():
        ExportRun.objects.filter(business=business, expires_at__lte=now).delete()
        try:
            with transaction.atomic():  # a savepoint: the outer transaction stays usable
                return ExportRun.objects.create(
                    business=business, campaign=campaign, started_at=now, expires_at=now + _lease()
                )
        except IntegrityError:
            return None


def export_run_renew(*, run: ExportRun) -> bool:
    """Push the run's expiry forward; False when it was lost (expired and taken over)."""
    expires = _now() + _lease()
    with transaction.atomic():
        renewed = ExportRun.objects.filter(pk=run.pk, started_at=run.started_at).update(
            expires_at=expires
        )
    if renewed:
        run.expires_at = expires
    return bool(renewed)


def export_run_finish(*, run: ExportRun) -> None:
    """Release the run (only this one: not a later run that took over after it expired)."""
    with transaction.atomic():
        ExportRun.objects.filter(pk=run.pk, started_at=run.started_at).delete()


class ExportStream:
    """The CSV pieces of one export run, renewing the run while read, releasing it on close."""

    def __init__(self, pieces: Iterable[str], run: ExportRun):
        self._pieces = pieces
        self._run = run
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        renew_after = self._run.expires_at - _lease() * 2 / 3
        for piece in self._pieces:
            if _now() >= renew_after:
                if not export_run_renew(run=self._run):
                    # The run expired (the client read nothing for a whole lease) and another
                    # export began; finish this one rather than cut the client's file short.
                    log.warning("export run %s expired while streaming", self._run.pk)
                renew_after = _now() + _lease() / 3
            yield piece

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._pieces, "close", None)
        try:
            if close is not None:
                close()  # the generator's cursor
        finally:
            export_run_finish(run=self._run)
