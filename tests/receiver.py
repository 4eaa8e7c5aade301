"""A webhook receiver for live tests: a standalone HTTP server on 127.0.0.1.

Every request (any method, any path) is appended to `--log` as one JSON line *before* it is
answered, and the line is flushed to the OS: an answer the sender saw is always on file, even
if this process is then killed with SIGKILL. A line holds the receive time, method, path,
headers, the body (base64, exact bytes), and the status this receiver answered.

Answers: 200 with a small JSON body by default. For fault tests:

    --status 503            answer every request with this status instead
    --fail-ratio 0.3        answer 500 to this share of requests (random, `--seed`)
    --retry-after 2         add `Retry-After` to 429/503 answers
    --delay 0.05            sleep this long (seconds) before answering each request

    python tests/receiver.py --port 8765 --log /tmp/hooks.jsonl [options]

It prints `listening on 127.0.0.1:PORT` once it accepts connections (port 0: any free port)
and stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import base64
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024


def build_server(options: argparse.Namespace) -> ThreadingHTTPServer:
    log = open(options.log, "a", encoding="utf-8")  # noqa: SIM115  (closed on shutdown)
    lock = threading.Lock()
    rng = random.Random(options.seed)

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real receivers behind a proxy usually are.
        protocol_version = "HTTP/1.1"

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
            with lock:
                status = options.status
                if status < 300 and options.fail_ratio and rng.random() < options.fail_ratio:
                    status = 500
                record = {
                    "received_at": time.time(),
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body_b64": base64.b64encode(body).decode(),
                    "status": status,
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
            if options.delay:
                time.sleep(options.delay)
            answer = json.dumps({"ok": status < 300, "status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            if options.retry_after is not None and status in (429, 503):
                self.send_header("Retry-After", str(options.retry_after))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_PUT = do_GET = _handle

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True  # come back on the same port right after being killed

        def handle_error(self, request, client_address):
            # A sender that hung up before its answer (killed, timed out) is no news.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

        def server_close(self):
            super().server_close()
            with lock:
                log.close()

    return Server(("127.0.0.1", options.port), Handler)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True, help="append requests here as JSON lines")
    parser.add_argument("--status", type=int, default=200, help="answer with this status")
    parser.add_argument("--fail-ratio", type=float, default=0.0, help="share answered 500")
    parser.add_argument("--retry-after", help="Retry-After value on 429/503 answers")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--seed", type=int, help="seed for --fail-ratio")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    server = build_server(options)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
