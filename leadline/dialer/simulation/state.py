"""What the simulated reps share: one clock, and the run's tallies and progress."""

import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome, ScriptQuestion
from leadline.leads.models import Lead

from .. import services

PREVIEW = "preview"
PROGRESSIVE = "progressive"
MODES = (PREVIEW, PROGRESSIVE)


class SimulationError(Exception):
    """The simulation cannot run (configuration), or a simulated rep hit an unexpected error."""


class Clock:
    """Real time, shifted so that it reads `start` when the simulation begins."""

    def __init__(self, start: datetime | None = None):
        self.start = start or timezone.now()
        self._began_monotonic = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._began_monotonic)


class RunState:
    """State shared by the rep threads: tallies, and knowing when nothing is left to do."""

    def __init__(
        self,
        *,
        campaign: Campaign,
        seed: int,
        fast_forward: bool,
        clock: Clock,
        mode: str = PREVIEW,
    ):
        self.campaign = campaign
        self.mode = mode
        self.seed = seed
        self.fast_forward = fast_forward
        self.clock = clock
        self._scripts_by_campaign: dict[int, tuple[list[Outcome], list[ScriptQuestion]]] = {}
        self.lock = threading.Condition()
        self.reps_busy = 0  # reps between starting a claim and finishing its lead
        self.leads_done = 0  # leads finished so far: each may make a lead due again
        self.finished = False
        self.tally: Counter[tuple[str, str]] = Counter()
        self.worked_lead_pks: set[int] = set()
        self.errors: list[str] = []

    def script(self, campaign: Campaign) -> tuple[list[Outcome], list[ScriptQuestion]]:
        """The outcomes and questions of a lead's campaign, loaded once per run."""
        # Usually the simulated campaign; a rep may still hold a lead of one it was taken off.
        with self.lock:
            if campaign.pk not in self._scripts_by_campaign:
                self._scripts_by_campaign[campaign.pk] = (
                    list(campaign.outcomes.all()),
                    list(campaign.questions.all()),
                )
            return self._scripts_by_campaign[campaign.pk]

    def count(self, kind: str, key: str) -> None:
        with self.lock:
            self.tally[(kind, key)] += 1

    def claim(self, rep: User) -> Lead | None:
        """The rep's next lead; None once no rep can find work and none is still working.

        A rep that finds nothing while others are busy waits for them: a retry or callback
        they record may be due at once (always, when fast-forwarding).
        """
        while True:
            with self.lock:
                if self.finished:
                    return None
                self.reps_busy += 1
                done_before = self.leads_done
            lead = services.lead_claim(rep=rep, now=self.clock(), ignore_window=self.fast_forward)
            if lead is not None:
                return lead
            with self.lock:
                self.reps_busy -= 1
                while not self.finished and self.leads_done == done_before and self.reps_busy > 0:
                    self.lock.wait(timeout=1.0)
                if self.finished or (self.leads_done == done_before and self.reps_busy == 0):
                    self.finished = True
                    self.lock.notify_all()
                    return None

    def done(self) -> None:
        with self.lock:
            self.reps_busy -= 1
            self.leads_done += 1
            self.lock.notify_all()

    def stop(self, error: str) -> None:
        with self.lock:
            self.errors.append(error)
            self.finished = True
            self.lock.notify_all()
