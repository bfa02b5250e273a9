"""Pausing Python's cyclic garbage collector around bulk work (a lottery commit, a rebuild)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """Nested and concurrent pauses: the collector runs again once the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.was_enabled:
                gc.enable()


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; reference counting still frees everything else.

    A Splash-scale lottery commit allocates some 300k objects (events, their states, stored
    events) that all survive the save, so the collector's thresholds fire full collections of
    the whole heap (the aggregate cache, the lottery folds) while nothing is garbage: about a
    quarter of the commit's time. After the block at most one such collection runs, later.
    """
    _PAUSES.enter()
    try:
        yield
    finally:
        _PAUSES.leave()


__all__ = ["collector_paused"]
