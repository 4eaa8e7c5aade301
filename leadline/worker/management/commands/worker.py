import importlib
import logging
import signal
import threading

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from leadline.worker.loops import Loop, registered

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
    try:
        while not stop.is_set():
            close_old_connections()
            handled = 0
            try:
                handled = runner.run_once()
                if handled:
                    logger.debug("%s handled %d", loop.name, handled)
            except Exception:
                # A failing loop (e.g. the database restarting) retries; the others go on.
                logger.exception("loop %s failed; retrying", loop.name)
                connection.close()
            if once:
                break
            if not handled:
                stop.wait(loop.interval_seconds)
    finally:
        runner.close()
        connection.close()


class Command(BaseCommand):
    help = "Run the background loops (housekeeping, dialer leases, webhook deliveries)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every loop once and exit")
        parser.add_argument("--only", action="append", help="run only these loops (by name)")

    def handle(self, *args, once: bool = False, only=None, **options):
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
