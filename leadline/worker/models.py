"""Each worker loop's last successful run, where every node can read it (/readyz, /metrics)."""

from django.db import models


class LoopHeartbeat(models.Model):
    """The last successful run of one loop, by any worker of the deployment.

    Written by the worker after a successful run (at most every HEARTBEAT_EVERY_S per loop
    and process, so a busy loop does not write on every pass); several workers running the
    same loop keep the newest stamp, which is what "is this loop running somewhere" needs.
    """

    name = models.CharField(max_length=64, primary_key=True)
    last_success_at = models.DateTimeField()
    # The loop's pause when idle, as the worker that wrote the row had it: how late is late.
    interval_seconds = models.FloatField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_success_at:%Y-%m-%d %H:%M:%S}"
