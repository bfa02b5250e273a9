"""Transient database faults: which errors they are, one retry for reads, and what a request did.

A brief fault (the server restarted, a backend was terminated, a network blip) surfaces as
psycopg's `OperationalError`/`InterfaceError` (of which `psycopg_pool.PoolTimeout` is one), or
as eventsourcing's translations of them. Reads are retried once here, after dropping every
idle connection the server has closed: one broken connection usually means all of them are
(`pg_terminate_backend`, a restart), and psycopg_pool's own `check=` callback would back off a
second between the second and third broken one. A `PoolTimeout` is not retried: the request
has already waited its share, and during an outage it must fail fast.

`RequestDb` records, per HTTP request, whether a command could have sent its write: every
command reads its aggregates through the event reader before it saves, so a failure before the
first completed read cannot have written anything (`outcome_unknown` is then false).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import psycopg
from eventsourcing import persistence
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger("regledger.db")

T = TypeVar("T")

TRANSIENT: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)
# Functions on the save path: a fault raised inside one may have happened after the write was sent.
_WRITE_FRAMES = frozenset({"insert_events", "_insert_small", "_insert_large", "_insert_events"})


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def waited_for_a_connection(exc: BaseException) -> bool:
    """True if `exc` is (or was translated from) a pool timeout: the request has waited already."""
    error: BaseException | None = exc
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, PoolTimeout):
            return True
        error = error.__cause__
    return False


def raised_while_writing(exc: BaseException) -> bool:
    """True if `exc` passed through the recorder's save path (its outcome is then unknown)."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb: TracebackType | None = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name in _WRITE_FRAMES:
                return True
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    return False


@dataclass
class RequestDb:
    """What one request did with the event store so far."""

    reads: int = 0


_request_db: ContextVar[RequestDb | None] = ContextVar("regledger_request_db", default=None)


@contextmanager
def tracking_request() -> Iterator[RequestDb]:
    """Count the event-store reads of the code run inside (worker threads inherit the context)."""
    record = RequestDb()
    token = _request_db.set(record)
    try:
        yield record
    finally:
        _request_db.reset(token)


def current_request() -> RequestDb | None:
    return _request_db.get()


def note_read() -> None:
    record = _request_db.get()
    if record is not None:
        record.reads += 1


def read_with_retry(pool: ConnectionPool[Any], timeout: float, read: Callable[[psycopg.Connection[Any]], T]) -> T:
    """Run `read` on a pooled connection; once more on a fresh one if the first was broken.

    Only for reads: a write whose connection broke may have been committed."""
    try:
        with pool.connection(timeout) as conn:
            return read(conn)
    except PoolTimeout:
        raise
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        logger.warning("read failed on a broken connection, retrying once: %s", exc)
    # Drops every idle connection that fails a ping and starts replacing it, so the retry
    # waits for a new connection instead of drawing the next dead one.
    pool.check()
    with pool.connection(timeout) as conn:
        return read(conn)


def as_persistence_error(exc: psycopg.Error) -> persistence.PersistenceError:
    """eventsourcing's translation of a psycopg error, as its datastore raises them."""
    if isinstance(exc, psycopg.InterfaceError):
        return persistence.InterfaceError(str(exc))
    if isinstance(exc, psycopg.OperationalError):
        return persistence.OperationalError(str(exc))
    return persistence.PersistenceError(str(exc))


__all__ = [
    "TRANSIENT",
    "RequestDb",
    "as_persistence_error",
    "current_request",
    "is_transient",
    "note_read",
    "raised_while_writing",
    "read_with_retry",
    "tracking_request",
    "waited_for_a_connection",
]
