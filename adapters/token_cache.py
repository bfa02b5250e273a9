"""The token lookup cache: token id -> (expiry, record or None), bounded, safe across threads.

A drop (a revocation) outdates lookups already under way: each put carries the generation its
read started at, and a newer drop discards it.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

R = TypeVar("R")

CACHE_MAX = 10_000  # entries; guessed ids must not grow it without bound


class LookupCache(Generic[R]):
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, R | None]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, token_id: str, now: float) -> tuple[bool, R | None, int]:
        entry = self._entries.get(token_id)
        if entry is not None and entry[0] > now:
            return True, entry[1], self._generation
        return False, None, self._generation

    def put(self, token_id: str, record: R | None, expires: float, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= CACHE_MAX:
                self._entries.clear()
            self._entries[token_id] = (expires, record)

    def drop(self, token_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(token_id, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
