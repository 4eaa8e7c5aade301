"""gunicorn's threaded worker, answering the requests gunicorn itself refuses in JSON.

Malformed request lines, invalid or oversized headers and bad chunking never reach Django;
gunicorn answers them with a small HTML page. API clients get JSON everywhere, so the worker
swaps gunicorn's error writer for one that writes `{"detail": ...}` with the same status.
Use with `--worker-class leadline.core.gunicorn_worker.JsonErrorThreadWorker`.
"""

import orjson
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    detail = f"{reason}: {mesg}" if mesg else f"{reason}."
    body = orjson.dumps({"detail": detail})
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


util.write_error = write_json_error


class JsonErrorThreadWorker(ThreadWorker):
    pass
