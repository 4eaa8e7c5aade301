"""The loop registry: each app registers small jobs in its `loops.py`; `leadline worker` (the
top layer) imports those modules and runs each loop in its own thread. The registry lives in
core so that registering points down the layers.

A loop's `run_once()` returns how many items it handled: the worker calls it again at once
while there is work, and waits `interval_seconds` when there is none. A runner may also define
`bind_stop(event)`: the worker hands it the stop event that SIGTERM sets, so a long
`run_once()` can stop claiming new work and return once what it started is done.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Runnable(Protocol):
    def run_once(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Loop:
    name: str
    interval_seconds: float
    factory: Callable[[], Runnable]


class _FunctionLoop:
    def __init__(self, func: Callable[[], int]):
        self.run_once = func

    def close(self) -> None:
        pass


_registry: dict[str, Loop] = {}


def register(name: str, interval_seconds: float):
    """Register a plain function as a loop."""

    def decorator(func: Callable[[], int]) -> Callable[[], int]:
        _registry[name] = Loop(name, interval_seconds, lambda: _FunctionLoop(func))
        return func

    return decorator


def register_factory(name: str, interval_seconds: float, factory: Callable[[], Runnable]):
    """Register a loop that keeps state between runs (connections, sessions)."""
    _registry[name] = Loop(name, interval_seconds, factory)


def registered() -> list[Loop]:
    return list(_registry.values())
