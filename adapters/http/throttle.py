"""Repeated token failures from one client address are refused for a while (429).

Each failed guess costs a token lookup (a database query on SQLite and PostgreSQL); a cache
cannot absorb guesses, as each names a new token id. So after `limit` failures within `window`
seconds an address is refused with `too_many_failures` and `Retry-After` until its oldest
failure leaves the window, without a lookup: valid tokens from that address too, since
telling them apart is the cost being limited. The address is the TCP peer's (a proxy in front
must be trusted to limit by the real client itself).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

FAILURE_LIMIT = 20
FAILURE_WINDOW = 60.0  # seconds
ADDRESSES_MAX = 50_000  # remembered addresses; past it the ones with no recent failure go


class FailureThrottle:
    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may try again; 0 if it may now."""
        now = self.clock()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return 0
            self._forget_old(failures, now)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            if address not in self._failures and len(self._failures) >= ADDRESSES_MAX:
                self._prune(now)
            failures = self._failures.setdefault(address, deque())
            self._forget_old(failures, now)
            failures.append(now)
            while len(failures) > self.limit:
                failures.popleft()

    def _forget_old(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()

    def _prune(self, now: float) -> None:
        stale = [a for a, f in self._failures.items() if not f or f[-1] <= now - self.window]
        for address in stale:
            del self._failures[address]
        if len(self._failures) >= ADDRESSES_MAX:
            self._failures.clear()


__all__ = ["FailureThrottle"]
