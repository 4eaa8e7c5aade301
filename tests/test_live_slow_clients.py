"""What keeps slow clients from holding every server thread when gunicorn faces them directly.

`leadline serve` runs gunicorn's threaded worker (2 workers x 4 threads by default). gunicorn
27's gthread waits at most 5 s in a thread for a new connection's first bytes, then parks the
connection on its poller: clients that connect and send nothing never pin a thread. That is
tested here with one worker and one thread (bounded: each idle connection costs at most 5 s).

What gunicorn does NOT bound: once a request's first bytes arrive, its headers and body are
read with blocking reads and no deadline (`--timeout` is the worker's heartbeat, which a
thread blocked on a socket does not stop). A client sending its body a byte at a time keeps
its thread; 8 such clients stop a default `leadline serve`. Production therefore runs behind
a buffering reverse proxy (nginx's defaults buffer the whole request body before passing it
on, with client_header_timeout / client_body_timeout of 60 s), see docs/operations.md.
"""

import socket

import pytest
import requests

from conftest import LiveServer
from tests.helpers import HTTP_TIMEOUT

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def one_thread_server(live_db):
    server = LiveServer(live_db, workers=1, threads=1)
    yield server
    server.stop()


def test_connections_that_send_nothing_do_not_hold_the_only_thread(one_thread_server):
    idle = [socket.create_connection(("127.0.0.1", one_thread_server.port)) for _ in range(2)]
    try:
        # Bounded: gunicorn hands each idle connection back to its poller within 5 s.
        response = requests.get(one_thread_server.url + "/healthz", timeout=HTTP_TIMEOUT)
        assert response.status_code == 200
    finally:
        for sock in idle:
            sock.close()
