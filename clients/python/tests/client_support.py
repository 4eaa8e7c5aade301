"""Shared pieces of the client's live tests (imported by module name: this folder has no
__init__.py, as pytest's rootdir conftest and tests/ package already own those names)."""

import asyncio
import contextlib
import socket
import subprocess
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from conftest import BIN, ROOT
from tests.helpers import bootstrap

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async test body (no pytest-asyncio: one dependency fewer for the project)."""
    return asyncio.run(coro)


def new_tenant(env: dict[str, str], *, rate_limit: int = 100_000, name: str = "Client") -> dict:
    return bootstrap(env, rate_limit=rate_limit, name=name)


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


def _suppress_code(campaign_id: str, phone: str) -> str:
    return (
        "from leadline.campaigns.models import Campaign\n"
        "from leadline.compliance.services import SuppressionItem, suppressions_add\n"
        "from leadline.leads.suppression_effects import leads_withdraw_suppressed\n"
        f"campaign = Campaign.objects.get(public_id={campaign_id!r})\n"
        f"items = [SuppressionItem(phone={phone!r})]\n"
        "suppressions_add(business=campaign.business, items=items, source='dashboard')\n"
        "print(leads_withdraw_suppressed(business=campaign.business, items=items))\n"
    )


def suppress_numbers(env: dict[str, str], campaign_id: str, phones: list[str]) -> int:
    """Put `phones` on the campaign business's do-not-call list and withdraw their queued
    leads, through the same two services the dashboard's do-not-call page calls: each
    withdrawn lead is processed ("Not Called : Do Not Call") by `lead_withdraw`, the real
    processing path with its lead.processed event. Returns how many leads were processed.

    One process per number, run one after the other: on SQLite parallel withdrawals only
    wait on each other's write locks (measured slower than one process)."""
    total = 0
    for phone in phones:
        result = subprocess.run(
            [str(BIN / "leadline"), "shell", "-c", _suppress_code(campaign_id, phone)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        total += int(result.stdout.strip().splitlines()[-1])
    return total


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of the live server that drops the first `cuts`
    connections after forwarding the request: it waits until the server starts answering (so
    the request really ran), then closes both sides without passing the answer on. The client
    sees a connection dropped mid-request, the case Idempotency-Key retries exist for. Later
    connections are relayed untouched."""

    def __init__(self, upstream_port: int, cuts: int = 1):
        self.upstream_port = upstream_port
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
                upstream.sendall(_read_request(conn))
                upstream.recv(1)  # the server has run the request and begun its answer
                with self._lock:
                    self.cut += 1
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
