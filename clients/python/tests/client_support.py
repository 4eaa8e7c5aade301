"""Shared pieces of the client's live tests (imported by module name: this folder has no
__init__.py, as pytest's rootdir conftest and tests/ package already own those names)."""

import asyncio
import contextlib
import socket
import subprocess
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
from conftest import BIN, ROOT

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async test body (no pytest-asyncio: one dependency fewer for the project)."""
    return asyncio.run(coro)


# Tenants bootstrapped ahead, per database and rate limit: one `leadline` process makes a
# batch, where one process per tenant spent ~2.5 s of Django start-up on each of the suite's
# two dozen tenants.
_POOL: dict[tuple[str, int], list[dict]] = {}
POOL_BATCH = 8
_BOOTSTRAP_MANY = """
import io, uuid
from django.core.management import call_command
for _ in range({count}):
    out = io.StringIO()
    name = {name!r} + ' ' + uuid.uuid4().hex[:10]
    call_command('bootstrap', '--business', name, '--rate-limit', {rate_limit!r}, '--json',
                 stdout=out)
    print(out.getvalue().strip())
"""


def new_tenant(env: dict[str, str], *, rate_limit: int = 100_000) -> dict:
    """A new business ("Client <random>") with a campaign and a token: what `leadline
    bootstrap --json` prints. Each call gets a business of its own."""
    pool = _POOL.setdefault((env["DATABASE_URL"], rate_limit), [])
    if not pool:
        code = _BOOTSTRAP_MANY.format(count=POOL_BATCH, name="Client", rate_limit=str(rate_limit))
        result = subprocess.run(
            [str(BIN / "leadline"), "shell", "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        pool += [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return pool.pop(0)


def leads(prefix: str, count: int, *, start: int = 0, phone=None, **custom) -> list[dict]:
    return [
        {
            "lead_id": f"{prefix}-{i}",
            "phone_number": phone or f"98{i % 100_000_000:08d}",
            "contact_name": f"Person {i}",
            **custom,
        }
        for i in range(start, start + count)
    ]


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of the live server that drops the first `cuts`
    connections after forwarding the request: it waits until the server starts answering (so
    the request really ran), then closes both sides without passing the answer on. The client
    sees a connection dropped mid-request, the case Idempotency-Key retries exist for. Later
    connections are relayed untouched.

    With `status`, the proxy answers those first requests itself with that status (a JSON
    `detail`, `Connection: close`) instead of dropping them, as a gateway does: after
    forwarding the request when `forward` (a 502/504 whose request did run upstream), or
    without (a 408, a 503 of a proxy shedding load: the server never saw it)."""

    def __init__(
        self, upstream_port: int, cuts: int = 1, *, status: int | None = None, forward=True
    ):
        self.upstream_port = upstream_port
        self.status = status
        self.forward = forward
        self.cuts_left = cuts
        self.cut = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                cut = self.cuts_left > 0
                self.cuts_left -= cut
            threading.Thread(target=self._serve, args=(conn, cut), daemon=True).start()

    def _serve(self, conn: socket.socket, cut: bool) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
        try:
            if cut:
                request = _read_request(conn)
                if self.forward:
                    upstream.sendall(request)
                    upstream.recv(1)  # the server has run the request and begun its answer
                # Counted before the answer goes out: a client that has read it (and a test
                # that then reads `cut`) must find it counted.
                with self._lock:
                    self.cut += 1
                if self.status is not None:
                    conn.sendall(_proxy_answer(self.status))
                return
            relay = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
            relay.start()
            _pipe(conn, upstream)
            relay.join(timeout=60)
        except OSError:
            pass
        finally:
            for s in (conn, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def _proxy_answer(status: int) -> bytes:
    body = b'{"detail": "Answered by the test proxy."}'
    head = (
        f"HTTP/1.1 {status} Proxy\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _read_request(conn: socket.socket) -> bytes:
    """One whole HTTP/1.1 request (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
