"""The gunicorn command line, built once for `leadline serve`, the live tests and the bench.

Plain Python, importing neither Django nor gunicorn, so the benchmark scripts can use it
without setting Django up.
"""

import sys
from pathlib import Path

JSON_ERROR_WORKER = "leadline.core.gunicorn_worker.JsonErrorThreadWorker"
# Only method, path and status: query strings may carry client data.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# Hooks for the metrics' multiprocess mode and JSON logs (gunicorn_conf.py says why).
CONFIG_MODULE = "python:leadline.core.gunicorn_conf"


def gunicorn_argv(
    *,
    bind: str,
    workers: int | str,
    threads: int | str,
    worker_class: str = JSON_ERROR_WORKER,
    timeout: int | None = None,
    graceful_timeout: int | None = None,
    access_log: bool = False,
    log_level: str | None = None,
) -> list[str]:
    """gunicorn serving the WSGI app, from this interpreter's environment.

    An option left at None is not passed, so gunicorn's own default applies.
    """
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--config",
        CONFIG_MODULE,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        worker_class,
    ]
    if timeout is not None:
        argv += ["--timeout", str(timeout)]
    if graceful_timeout is not None:
        argv += ["--graceful-timeout", str(graceful_timeout)]
    if access_log:
        argv += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
    if log_level is not None:
        argv += ["--log-level", log_level]
    return argv
