"""The loop registry: each app registers small periodic jobs; the worker runs them."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Loop:
    name: str
    interval_seconds: float
    run_once: Callable[[], int]  # returns how many items it handled


_registry: dict[str, Loop] = {}


def register(name: str, interval_seconds: float):
    def decorator(func: Callable[[], int]) -> Callable[[], int]:
        _registry[name] = Loop(name, interval_seconds, func)
        return func

    return decorator


def registered() -> list[Loop]:
    return list(_registry.values())
