import importlib
import logging
import signal
import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from leadline.worker.loops import registered

logger = logging.getLogger("leadline.worker")


class Command(BaseCommand):
    help = "Run the background loops (housekeeping now; dialer and webhook loops join later)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every loop once and exit")

    def handle(self, *args, once: bool = False, **options):
        # Each app's loops.py registers its loops on import.
        for config in apps.get_app_configs():
            if config.name.startswith("leadline."):
                try:
                    importlib.import_module(f"{config.name}.loops")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.loops":
                        raise
        loops = registered()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("worker started with loops: %s", ", ".join(loop.name for loop in loops))
        next_run = dict.fromkeys((loop.name for loop in loops), 0.0)
        while not stopping:
            now = time.monotonic()
            for loop in loops:
                if stopping or next_run[loop.name] > now:
                    continue
                close_old_connections()
                try:
                    handled = loop.run_once()
                    if handled:
                        logger.info("%s handled %d", loop.name, handled)
                except Exception:
                    # One failing loop (e.g. the database restarting) must not stop the others.
                    logger.exception("loop %s failed; retrying next interval", loop.name)
                next_run[loop.name] = now + loop.interval_seconds
            if once:
                break
            time.sleep(0.5)
        logger.info("worker stopped")
