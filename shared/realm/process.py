"""What lives as long as the process: clients and pools, made once on first use and then
shared by every request an instance serves (gen2 instances serve several at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class PerKey(Generic[K, T]):
    """One ``make(key)`` per key, made by exactly one thread even when many ask at once."""

    def __init__(self, make: Callable[[K], T]) -> None:
        self._make = make
        self._made: dict[K, T] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> T:
        made = self._made.get(key)
        if made is None:
            with self._lock:
                made = self._made.get(key)
                if made is None:
                    made = self._made[key] = self._make(key)
        return made


class Once(Generic[T]):
    """``make()`` once per process, on first use."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._per_key: PerKey[None, T] = PerKey(lambda _: make())

    def get(self) -> T:
        return self._per_key.get(None)
