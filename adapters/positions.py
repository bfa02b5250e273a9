"""Waiting for the views to reach a log position: the one read-your-writes wait.

HTTP queries await it (`wait_for`), the CLI, the demo and tests block on it (`wait`); an
in-process projector pushes its progress (`advanced`), so those waiters wake at once.

Read-your-writes queries (`min_position`) must not hold a worker thread each while they wait:
enough waiters would hold the whole pool and delay unrelated requests. One thread per app polls
the position, only while someone waits, and wakes the waiters, which await a future on the
event loop. A position beyond the log's head can never be reached, so it
is refused at once (`head`, read only when a position is above the last head seen).

With several logs (`program_log_projector`) a position read earlier can stop being reached
(another table's late commit), so `fresh_reads` answers a waiter only from a read begun after
it arrived, and remembers no position between waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio.to_thread

logger = logging.getLogger("regledger.positions")

POLL_INTERVAL = 0.002  # as the embedded projector's own polling
ERROR_BACKOFF = 0.1  # a failing position read (database down) is retried less eagerly


class PositionSource(Protocol):
    """What the watch polls: the views' position (`RegistrationViews` is one)."""

    def position(self) -> int: ...


@dataclass(frozen=True, eq=False)
class Waiter:
    min_position: int
    resolve: Callable[[int], None]  # called once the views reach `min_position`, on any thread
    since: float = 0.0  # when it began waiting (monotonic clock)


class PositionWatch:
    """The views' position, polled by one thread while anyone waits for it (see module doc)."""

    def __init__(
        self,
        views: PositionSource,
        head: Callable[[], int],
        *,
        interval: float = POLL_INTERVAL,
        fresh_reads: bool = False,
    ) -> None:
        self._views = views
        self.fresh_reads = fresh_reads
        self._head = head
        self._interval = interval
        self._lock = threading.Lock()
        self._waiters: set[Waiter] = set()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.position = 0  # the last position read (may lag the views)
        self.known_head = 0  # the largest log head read so far (heads only grow)
        self.polls = 0

    async def head_at_least(self, position: int) -> int | None:
        """None if the log reaches `position`, else the current head (the position is ahead of it)."""
        if position <= self.known_head:
            return None
        head = await anyio.to_thread.run_sync(self._head)
        self.known_head = max(self.known_head, head)
        return None if position <= head else head

    async def wait_for(self, position: int, timeout: float) -> int:
        """The views' position once it is >= `position`; TimeoutError after `timeout` seconds."""
        if self.position >= position and not self.fresh_reads:
            return self.position
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()

        def resolve(reached: int) -> None:
            loop.call_soon_threadsafe(_resolve, future, reached)

        waiter = Waiter(position, resolve, time.monotonic())
        self._add(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._remove(waiter)

    def wait(self, position: int, timeout: float) -> int:
        """As `wait_for`, blocking the calling thread."""
        if self.position >= position and not self.fresh_reads:
            return self.position
        reached: list[int] = []
        done = threading.Event()

        def resolve(at: int) -> None:
            reached.append(at)
            done.set()

        waiter = Waiter(position, resolve, time.monotonic())
        self._add(waiter)
        try:
            if not done.wait(timeout):
                raise TimeoutError(f"views at {self.position}, not yet at {position} after {timeout}s")
            return reached[0]
        finally:
            self._remove(waiter)

    def advanced(self, position: int) -> None:
        """The views now include `position` (an in-process projector's commit): wake who waits."""
        if self.fresh_reads:  # one log's position says nothing of the others: poll
            return
        with self._lock:
            self.position = max(self.position, position)
            ready = [w for w in self._waiters if w.min_position <= position]
        for waiter in ready:
            waiter.resolve(position)

    def _add(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.add(waiter)
            self._ensure_thread()
        self._wake.set()

    def _remove(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._run, name="regledger-position-watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopped:
                return
            with self._lock:
                waiting = list(self._waiters)
                if not waiting:
                    self._wake.clear()
                    continue
            began = time.monotonic()
            try:
                position = self._views.position()
            except Exception as error:  # an outage: the waiters time out; keep watching
                logger.warning("reading the views' position failed: %s", error)
                self._sleep(ERROR_BACKOFF)
                continue
            self.polls += 1
            self.position = position if self.fresh_reads else max(self.position, position)
            for waiter in waiting:
                if waiter.min_position <= position and (waiter.since < began or not self.fresh_reads):
                    waiter.resolve(position)
            self._sleep(self._interval)

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # not self._wake.wait: it stays set while anyone waits

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)


def _resolve(future: asyncio.Future[int], position: int) -> None:
    if not future.done():
        future.set_result(position)


__all__ = ["PositionWatch"]
