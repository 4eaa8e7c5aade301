"""The pipeline: claims, posts and records overlap instead of taking turns (see the package doc)."""

import queue
import threading
import time
from dataclasses import dataclass, field

from .claim import BATCH_SIZE, batch_claim
from .record import results_record
from .sender import PostResult, Sender

# Claim the next batch once fewer than this many claimed deliveries are unanswered: the
# queue never runs dry while the claim's round trips are under way.
CLAIM_BELOW = BATCH_SIZE
# Answers are recorded together, at most this long after the first of them came back (and
# at once when nothing else is in flight): one transaction per ~this many seconds of posts.
RECORD_EVERY_S = 0.05
# Per endpoint, a worker holds at most as many claimed deliveries as it can expect to post
# in QUEUE_S at the endpoint's observed latency and in-flight limit (at least max_in_flight,
# at most ENDPOINT_QUEUE_MAX; BATCH_SIZE until a latency is known). A slow endpoint then
# neither holds deliveries until their lease runs short nor keeps other endpoints' waiting
# behind it: it is left out of claims while it has its share.
QUEUE_S = 5.0
ENDPOINT_QUEUE_MAX = 2 * BATCH_SIZE
# How often the recording thread looks at the queue between records.
POLL_S = 0.01
# One run_once() claims for at most this long, then lets everything in flight finish and
# records it: the worker's loop gets control back regularly (connection checks, back-off).
SESSION_S = 5.0


@dataclass
class DeliveryLoop:
    """One worker's deliverer: a pipeline of claims, posts and records.

    `run_once()` claims for up to SESSION_S, then lets what it claimed finish and records
    it; it returns how many tries it recorded. Once the worker's stop event (`bind_stop`) is
    set it claims nothing more, gives back what it has not started posting, and returns when
    the posts in flight are answered (or time out) and recorded.
    """

    sender: Sender = field(default_factory=Sender)
    stop: threading.Event | None = None
    # Claimed and handed to the sender, result not yet taken back; and taken back but not
    # yet recorded. Both survive a run that failed (the database went away): the next run
    # records them first.
    outstanding: int = 0
    unrecorded: list[PostResult] = field(default_factory=list)
    _record_due: float = 0.0
    # Per endpoint: deliveries outstanding, and the latency of its answers (moving average).
    _held_per_endpoint: dict[int, int] = field(default_factory=dict)
    _latency_s: dict[int, float] = field(default_factory=dict)
    _max_in_flight: dict[int, int] = field(default_factory=dict)

    def bind_stop(self, stop: threading.Event) -> None:
        self.stop = stop

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _endpoint_share(self, endpoint_id: int, max_in_flight: int) -> int:
        """How many outstanding deliveries the endpoint may hold (see QUEUE_S)."""
        latency = self._latency_s.get(endpoint_id)
        if latency is None:
            return BATCH_SIZE
        expected = int(max_in_flight * QUEUE_S / max(latency, 0.001))
        return max(max_in_flight, min(ENDPOINT_QUEUE_MAX, expected))

    def _endpoint_room(self, endpoint_id: int, max_in_flight: int) -> int:
        held = self._held_per_endpoint.get(endpoint_id, 0)
        return self._endpoint_share(endpoint_id, max_in_flight) - held

    def _endpoints_at_share(self) -> list[int]:
        return [
            endpoint_id
            for endpoint_id, held in self._held_per_endpoint.items()
            if held >= self._endpoint_share(endpoint_id, self._max_in_flight[endpoint_id])
        ]

    def _claim_batch(self) -> bool:
        """Claim for the endpoints with room; False once nothing more is due for them."""
        full = self._endpoints_at_share()
        if self.outstanding - sum(self._held_per_endpoint[e] for e in full) >= CLAIM_BELOW:
            return True
        batch = batch_claim(skip_endpoints=full, endpoint_room=self._endpoint_room)
        for delivery in batch.deliveries:
            held = self._held_per_endpoint.get(delivery.endpoint_id, 0)
            self._held_per_endpoint[delivery.endpoint_id] = held + 1
        for target in batch.targets.values():
            self._max_in_flight[target.pk] = target.max_in_flight
        if batch.deliveries:
            self.outstanding += len(batch.deliveries)
            self.sender.submit(batch)
        return batch.more_due

    def _result_taken(self, result: PostResult) -> None:
        self.unrecorded.append(result)
        self.outstanding -= 1
        held = self._held_per_endpoint.get(result.endpoint_id, 0) - 1
        if held > 0:
            self._held_per_endpoint[result.endpoint_id] = held
        else:
            self._held_per_endpoint.pop(result.endpoint_id, None)
        if result.latency_ms is not None:
            latency = result.latency_ms / 1000
            before = self._latency_s.get(result.endpoint_id, latency)
            self._latency_s[result.endpoint_id] = 0.8 * before + 0.2 * latency

    def _results_collect(self, wait_s: float) -> None:
        """Wait up to `wait_s` for the first answer, then take every answer ready."""
        if not self.unrecorded:
            try:
                self._result_taken(self.sender.results.get(timeout=max(0.0, wait_s)))
            except queue.Empty:
                return
            self._record_due = time.monotonic() + RECORD_EVERY_S
        elif wait_s > 0:
            # Sleep rather than wake for each answer (the sender thread keeps the GIL), but
            # briefly: the next claim is due as soon as the queue runs low.
            time.sleep(min(wait_s, POLL_S))
        while self.outstanding:
            try:
                self._result_taken(self.sender.results.get_nowait())
            except queue.Empty:
                break

    def _record(self) -> int:
        recorded = results_record(self.unrecorded)
        self.unrecorded = []
        return recorded

    def run_once(self) -> int:
        handled = 0
        claiming = True
        gave_back = False
        claim_until = time.monotonic() + SESSION_S
        try:
            while True:
                if self._stopping() and not gave_back:
                    self.sender.release_queued()
                    claiming, gave_back = False, True
                elif claiming and time.monotonic() > claim_until:
                    claiming = False
                if claiming:
                    claiming = self._claim_batch()
                if self.outstanding and not self.sender.alive():
                    raise RuntimeError("the webhook sender thread is gone")
                if not self.outstanding:
                    if self.unrecorded:
                        handled += self._record()
                    if not claiming:
                        return handled
                    continue
                if self.unrecorded:
                    self._results_collect(self._record_due - time.monotonic())
                else:
                    self._results_collect(RECORD_EVERY_S)
                if self.unrecorded and (
                    not self.outstanding or time.monotonic() >= self._record_due or gave_back
                ):
                    handled += self._record()
        except BaseException:
            # The database failed (or we are being torn down): post nothing more; what is in
            # flight still comes back on the queue, and the next run records it.
            self.sender.release_queued()
            raise

    def close(self) -> None:
        self.sender.close()
