"""Measuring tools: a keep-alive HTTP client, percentiles and CPU accounting from /proc."""

import http.client
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# The socket timeout bounds every single request; loops bound themselves in count and time.
REQUEST_TIMEOUT = 120


class HttpClient:
    """One keep-alive HTTP/1.1 connection to the server on 127.0.0.1.

    http.client rather than requests: requests adds a few hundred microseconds of client work
    per call, which would be charged to the server in the latency figures.
    """

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            return self.request("GET", path)
        except (http.client.RemoteDisconnected, ConnectionError):
            # gunicorn closes a keep-alive connection idle for 2 s (between cases); a GET is
            # safe to send again on a new one.
            self.conn.close()
            return self.request("GET", path)

    def close(self) -> None:
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): always one of the measured values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latencies:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)

    @property
    def count(self) -> int:
        return len(self.samples_ms)


def time_calls(call, items: Iterable, *, warmup: int, budget_s: float) -> Latencies:
    """Latency of `call(item)` for each item after the first `warmup` (called untimed); stops
    early, with fewer samples, once `budget_s` seconds have passed."""
    items = list(items)
    for item in items[:warmup]:
        call(item)
    samples = []
    deadline = time.monotonic() + budget_s
    for item in items[warmup:]:
        start = time.perf_counter_ns()
        call(item)
        samples.append((time.perf_counter_ns() - start) / 1e6)
        if time.monotonic() > deadline:
            break
    return Latencies(samples)


def time_gets(
    client: HttpClient, paths: list[str], *, warmup: int, budget_s: float
) -> tuple[Latencies, list[tuple[str, bytes]]]:
    """Latency of a GET of each path on one keep-alive connection (`time_calls`), then, with
    the clock stopped, every answer checked to be a 200; returns the (path, body) pairs so
    the caller can check bodies off the clock too. Closes the client."""
    answers: list[tuple[str, int, bytes]] = []

    def call(path: str) -> None:
        status, body = client.get(path)
        answers.append((path, status, body))

    try:
        latencies = time_calls(call, paths, warmup=warmup, budget_s=budget_s)
    finally:
        client.close()
    for path, status, body in answers:
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    return latencies, [(path, body) for path, _status, body in answers]


def _ticks_per_second() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError):
        return 100


def _process_cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _all_process_ticks() -> dict[int, tuple[str, int]]:
    """{pid: (command name, CPU ticks)} of every process: to name what else was busy."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        fields = rest.split()
        # kworker/0:1H and friends are one kind of work: group them by the part before "/".
        table[int(entry.name)] = (name.split("/")[0], int(fields[11]) + int(fields[12]))
    return table


def _machine_busy_ticks() -> int:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0
    # Steal is time the hypervisor gave to other guests: not work done here.
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in first[1:8])
    return user + nice + system + irq + softirq


def background_load(seconds: float = 2.0) -> float:
    """Cores kept busy by whatever already runs on the machine (0 when idle)."""
    tick = _ticks_per_second()
    before = _machine_busy_ticks()
    time.sleep(seconds)
    return (_machine_busy_ticks() - before) / tick / seconds


@dataclass(frozen=True)
class CpuUse:
    wall_s: float
    server_s: float
    db_s: float | None  # PostgreSQL backends of the benchmark database; None on SQLite
    client_s: float
    machine_s: float
    # CPU-seconds of the busiest other processes, by command name, largest first.
    others: tuple[tuple[str, float], ...] = ()

    @property
    def other_s(self) -> float:
        """Everything else busy on the machine (PostgreSQL's own background processes, other
        programs, the kernel); large values mean the figures were disturbed. Only processes
        alive at both ends can be named in `others`: the rest is the kernel and processes that
        came and went in between."""
        return max(0.0, self.machine_s - self.server_s - (self.db_s or 0) - self.client_s)

    def __add__(self, other: "CpuUse") -> "CpuUse":
        db = (
            None
            if self.db_s is None and other.db_s is None
            else (self.db_s or 0) + (other.db_s or 0)
        )
        others: dict[str, float] = dict(self.others)
        for name, seconds in other.others:
            others[name] = others.get(name, 0) + seconds
        return CpuUse(
            self.wall_s + other.wall_s,
            self.server_s + other.server_s,
            db,
            self.client_s + other.client_s,
            self.machine_s + other.machine_s,
            _top(others),
        )

    def describe(self, *, client: str = "bench client") -> str:
        cores = os.cpu_count() or 1
        parts = []
        if self.server_s:
            parts.append(f"gunicorn workers {self.server_s:.1f}")
        if self.db_s is not None:
            parts.append(f"PostgreSQL backends {self.db_s:.1f}")
        parts.append(f"{client} {self.client_s:.1f}")
        rest = f"rest of machine {self.other_s:.1f}"
        named = [f"{name} {seconds:.1f}" for name, seconds in self.others if seconds >= 0.1]
        parts.append(rest + (f" (of which {', '.join(named)})" if named else ""))
        return (
            f"CPU-seconds over {self.wall_s:.1f} s wall ({cores} cores = "
            f"{cores * self.wall_s:.1f}): " + ", ".join(parts)
        )


class CpuMeter:
    """CPU time used by the server's workers, the database backends, this process and the
    whole machine, from /proc (Linux; zeros elsewhere).

    `db_pids` is asked at the start and at the end: a backend that appears in between is
    counted from zero (it started during the run); one that exits in between is lost, so
    callers keep their connections open until the meter stops.
    """

    def __init__(self, server_pids: list[int], db_pids: Callable[[], list[int]] | None = None):
        self.server_pids = server_pids
        self.db_pids = db_pids
        self.tick = _ticks_per_second()

    def _db_ticks(self) -> dict[int, int]:
        if self.db_pids is None:
            return {}
        return {pid: _process_cpu_ticks(pid) for pid in self.db_pids()}

    def __enter__(self) -> "CpuMeter":
        self._processes = _all_process_ticks()
        self._db = self._db_ticks()
        self._wall = time.perf_counter()
        self._server = sum(_process_cpu_ticks(pid) for pid in self.server_pids)
        self._client = time.process_time()
        self._machine = _machine_busy_ticks()
        return self

    def __exit__(self, *exc) -> None:
        machine = _machine_busy_ticks()
        client = time.process_time()
        server = sum(_process_cpu_ticks(pid) for pid in self.server_pids)
        wall = time.perf_counter()
        db = self._db_ticks()
        known = {*self.server_pids, *db, os.getpid()}
        others: dict[str, float] = {}
        for pid, (name, ticks) in _all_process_ticks().items():
            if pid in known:
                continue
            spent = (ticks - self._processes.get(pid, (name, 0))[1]) / self.tick
            if spent > 0:
                others[name] = others.get(name, 0) + spent
        self.result = CpuUse(
            wall_s=wall - self._wall,
            server_s=(server - self._server) / self.tick,
            db_s=(
                sum(t - self._db.get(pid, 0) for pid, t in db.items()) / self.tick
                if self.db_pids is not None
                else None
            ),
            client_s=client - self._client,
            machine_s=(machine - self._machine) / self.tick,
            others=_top(others),
        )


def _top(seconds_by_name: dict[str, float], count: int = 4) -> tuple[tuple[str, float], ...]:
    ranked = sorted(seconds_by_name.items(), key=lambda item: item[1], reverse=True)
    return tuple(ranked[:count])
