"""Following a log until stopped: the loop the projector and the notifier share.

A step that meets a transient fault (`TRANSIENT`: a lost connection, a server restart, a locked
SQLite file) starts an outage, retried with backoff (0.1 s doubling to 5 s) forever and logged
when it starts and when it ends (`wakeup.Outage`). A batch refused because the stored position
moved (another follower, a rebuild swapped in) is read again from there. Anything else is raised
to the caller, which logs it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from regledger.adapters.postgres.wakeup import Outage
from regledger.projections.views import PositionAlreadyApplied

TRANSIENT = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)


def follow(
    what: str,
    stop: threading.Event,
    step: Callable[[], bool],
    idle: Callable[[], object],
    *,
    moved: Callable[[], None] = lambda: None,
) -> None:
    """`step()` until `stop` is set; it answers True when it found the log's end, and then
    `idle()` waits for more. `moved()` forgets a position another follower moved."""
    outage: Outage | None = None
    while not stop.is_set():
        try:
            caught_up = step()
        except TRANSIENT as exc:
            outage = outage or Outage(what, exc)
            stop.wait(outage.retry_in())
            continue
        except PositionAlreadyApplied:
            moved()
            continue
        if outage is not None:
            outage.end()
            outage = None
        if caught_up:
            idle()


def start_daemon(run: Callable[[], None], name: str) -> threading.Thread:
    """`run` on a daemon thread (in-process following); what it raises, it logged and kept."""

    def quietly() -> None:
        with contextlib.suppress(BaseException):
            run()

    thread = threading.Thread(target=quietly, name=name, daemon=True)
    thread.start()
    return thread


__all__ = ["TRANSIENT", "follow", "start_daemon"]
