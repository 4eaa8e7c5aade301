"""gunicorn's configuration module (`-c python:leadline.core.gunicorn_conf`, see gunicorn.py).

Metrics: prometheus_client's multiprocess mode needs PROMETHEUS_MULTIPROC_DIR set before any
worker imports it, and the directory empty at start. `leadline serve` makes a fresh one and
hands it to gunicorn and its worker process alike; gunicorn started any other way (the live
tests, the bench) gets one here, removed again on exit. A worker that exits has its live
values marked dead.

Logs: with LEADLINE_LOG_FORMAT=json, gunicorn's own lines (errors, the access log) are JSON
objects too, like Django's.

Imports neither Django nor the app: it runs in gunicorn's master (only `post_worker_init`,
which runs in a worker once it has loaded the app, imports Django, inside the hook).
"""

import os
import shutil
import tempfile

from leadline.core.gunicorn import ACCESS_LOG_FORMAT

_created_dir = ""


def on_starting(server) -> None:
    global _created_dir
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _created_dir = tempfile.mkdtemp(prefix="leadline-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_dir
    else:
        os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """In each worker, once the app is loaded: the URLconf too (Django loads it lazily on the
    first request, which imports every view module and builds the API), then everything alive
    moved out of the garbage collector's sight (`gc.freeze`).

    Those ~130k objects live as long as the worker, yet every full collection walked them
    all again: a 1,000-lead create allocates enough to trigger one about every 30 requests,
    ~1.5 ms a request on average (measured in-process; with the freeze, ~0.01 ms). The
    young generations, where a request's own garbage goes, are collected as before."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  # loads the URLconf and every view module
    gc.collect()
    gc.freeze()


def on_exit(server) -> None:
    if _created_dir:
        shutil.rmtree(_created_dir, ignore_errors=True)


# Whoever turns the access log on: method, path, status, size and time, never a query string
# (it may carry client data).
access_log_format = ACCESS_LOG_FORMAT

if os.environ.get("LEADLINE_LOG_FORMAT", "").strip().lower() == "json":
    # (A logging configuration turns gunicorn's access log on even without --access-logfile.)
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "leadline.core.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "propagate": False},
        },
        "root": {"level": "INFO", "handlers": []},
    }
