import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from django.conf import settings
from django.core.management.base import BaseCommand

from leadline.core.gunicorn import gunicorn_argv

logger = logging.getLogger("leadline.serve")


class Command(BaseCommand):
    help = "Serve the web app with gunicorn and run the worker beside it until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--workers", default=os.environ.get("WEB_CONCURRENCY", "2"))
        parser.add_argument("--threads", default=os.environ.get("WEB_THREADS", "4"))
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, host, port, workers, threads, no_worker, **options):
        bin_dir = os.path.dirname(sys.executable)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        # One metrics directory for gunicorn's workers and the worker process, fresh at each
        # start (prometheus_client's multiprocess mode sums every file in it): /metrics then
        # shows this node's web and worker counters together.
        metrics_dir = ""
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = tempfile.mkdtemp(prefix="leadline-metrics-")
            env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        # Sync workers with threads: measured ~3x the throughput of an ASGI server for this
        # Django app (see docs/operations.md).
        web = subprocess.Popen(
            gunicorn_argv(
                bind=f"{host}:{port}",
                workers=workers,
                threads=threads,
                timeout=60,
                graceful_timeout=20,
                access_log=True,
            ),
            env=env,
        )
        children = [web]
        if not no_worker:
            children.append(
                subprocess.Popen([os.path.join(bin_dir, "leadline"), "worker"], env=env)
            )
        if settings.LEADLINE_LOG_FORMAT == "json":
            # Every line of the output a JSON object, for the log shipper.
            logger.info("Leadline on http://%s:%s/", host, port)
        else:
            self.stdout.write(f"Leadline on http://{host}:{port}/ (Ctrl-C to stop)")

        def forward(signum, frame):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        try:
            code = web.wait()
        finally:
            forward(signal.SIGTERM, None)
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
            if metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        sys.exit(code if code and code > 0 else 0)
