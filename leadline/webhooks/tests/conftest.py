import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadline.dialer.tests.conftest import now, rep, rep2  # noqa: F401  (shared fixtures)


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that records requests and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict]] = []  # queued (status, headers); default 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"headers": dict(self.headers.items()), "body": body})
                status, headers = receiver.responses.pop(0) if receiver.responses else (200, {})
                payload = json.dumps({"ok": status < 300}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()
