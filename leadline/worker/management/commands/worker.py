import importlib
import logging
import os
import signal
import threading

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from prometheus_client import start_http_server

from leadline.core import metrics
from leadline.core.loops import Loop, registered
from leadline.core.metrics import registry_for_scrape
from leadline.worker.heartbeats import Heartbeat

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


class Command(BaseCommand):
    help = "Run the background loops (housekeeping, dialer leases, webhook deliveries)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every loop once and exit")
        parser.add_argument("--only", action="append", help="run only these loops (by name)")
        parser.add_argument(
            "--metrics-bind",
            default=os.environ.get("LEADLINE_WORKER_METRICS_BIND", ""),
            help="HOST:PORT to serve this worker's Prometheus metrics on (a worker on a "
            "machine without a web node); unauthenticated, so keep it on an internal address",
        )

    def handle(self, *args, once: bool = False, only=None, metrics_bind: str = "", **options):
        if metrics_bind:
            host, _, port = metrics_bind.rpartition(":")
            # The process's counters (or, with PROMETHEUS_MULTIPROC_DIR, the directory's).
            start_http_server(
                int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry_for_scrape()
            )
        loops = [loop for loop in load_loops() if not only or loop.name in only]
        stop = threading.Event()

        def request_stop(signum, frame):
            # In-flight work (a batch of webhook posts) finishes; nothing new starts.
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        logger.info("worker started with loops: %s", ", ".join(loop.name for loop in loops))
        threads = [
            threading.Thread(target=run_loop, args=(loop, stop, once), name=loop.name)
            for loop in loops
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        logger.info("worker stopped")
