import logging
import os
import signal
import threading

from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from leadline.core.metrics import registry_for_scrape
from leadline.worker.runner import load_loops, run_loop

logger = logging.getLogger("leadline.worker")


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
