"""The worker's loop runner: every app's registered loops, each run in a thread of its own."""

import importlib
import logging
import threading

from django.apps import apps
from django.db import close_old_connections, connection

from leadline.core import metrics
from leadline.core.loops import Loop, registered

from .heartbeats import Heartbeat

logger = logging.getLogger("leadline.worker")


def load_loops() -> list[Loop]:
    # Each app's loops.py registers its loops on import.
    for config in apps.get_app_configs():
        if config.name.startswith("leadline."):
            try:
                importlib.import_module(f"{config.name}.loops")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.loops":
                    raise
    return registered()


def run_loop(loop: Loop, stop: threading.Event, once: bool) -> None:
    runner = loop.factory()
    heartbeat = Heartbeat(loop)
    # A runner that keeps work in flight across its own iterations (the webhook pipeline)
    # watches the stop event itself, to stop claiming and finish what it started.
    bind_stop = getattr(runner, "bind_stop", None)
    if bind_stop is not None:
        bind_stop(stop)
    try:
        failures = 0
        while not stop.is_set():
            handled = 0
            try:
                close_old_connections()
                handled = runner.run_once()
                # The stamp /readyz judges the loop by (and a failed stamp is a failed run).
                heartbeat.beat()
                metrics.WORKER_LOOP_RUNS.labels(loop.name).inc()
                failures = 0
                if handled:
                    logger.debug("%s handled %d", loop.name, handled)
            except Exception as exc:
                # A failing loop (e.g. the database restarting) retries with a growing pause
                # (up to 10 s); the others go on. One traceback, then one line per failure.
                failures += 1
                metrics.WORKER_LOOP_ERRORS.labels(loop.name).inc()
                if failures == 1:
                    logger.exception("loop %s failed; retrying", loop.name)
                else:
                    logger.warning("loop %s still failing (%s)", loop.name, type(exc).__name__)
                connection.close()
            if once:
                break
            if failures:
                stop.wait(min(10.0, loop.interval_seconds * 2**failures))
            elif not handled:
                stop.wait(loop.interval_seconds)
    finally:
        runner.close()
        connection.close()
