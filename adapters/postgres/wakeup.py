"""Waiting on the database: the projector's wakeup (LISTEN on PostgreSQL), the backoff through
an outage, and the wait for PostgreSQL at start-up.

An outage is logged twice, when it starts (warning, with the error) and when it ends (info,
with its duration), never once per retry: an operator reads two lines however long it lasts.
"""

from __future__ import annotations

import logging
import math
import select
import threading
import time
from typing import Any

import psycopg

logger = logging.getLogger("regledger.projector")
database_logger = logging.getLogger("regledger.database")

# Connection errors that waiting does not mend: a wrong password, role or database name.
MISCONFIGURED = ("password authentication failed", "does not exist", "no pg_hba.conf entry")
# While waiting at start-up, the same error is logged again after this long (not per attempt).
REPEAT_LOG_AFTER = 30.0


def one_line(error: BaseException) -> str:
    """`error` as one line (libpq's messages span several)."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def dropped(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server closed this idle connection (a terminated backend, a restart, a cut
    network path that reset it): its farewell or EOF waits in the socket. One poll, no round trip."""
    if conn.closed or conn.broken:
        return True
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    for _ in range(4):  # the server's error message, then EOF; anything else leaves it usable
        if not select.select([conn.fileno()], [], [], 0)[0]:
            break
        try:
            conn.pgconn.consume_input()
        except psycopg.OperationalError:
            return True
    return conn.pgconn.status == psycopg.pq.ConnStatus.BAD


class Backoff:
    """Delays from `first` doubling up to `cap`: quick after a blip, gentle through a long outage."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay


class Outage:
    """One outage of `what`, from the first failure until `end()`; `retry_in()` is the next delay."""

    def __init__(self, what: str, error: BaseException) -> None:
        self.what = what
        self.started = time.monotonic()
        self.attempts = 0
        self._backoff = Backoff()
        logger.warning(
            "%s interrupted, retrying every %.1f-%.0f s until it recovers: %s",
            what,
            self._backoff.first,
            self._backoff.cap,
            one_line(error),
        )

    def retry_in(self) -> float:
        self.attempts += 1
        return self._backoff.next()

    def end(self) -> None:
        logger.info(
            "%s recovered after an outage of %.1f s (%d retries)",
            self.what,
            time.monotonic() - self.started,
            self.attempts,
        )


class DatabaseUnreachable(RuntimeError):
    """PostgreSQL did not accept a connection within the wait, or refused the configuration."""


def await_database(conninfo: str, where: str, timeout: float = math.inf) -> None:
    """Return once PostgreSQL at `where` (host:port) accepts a connection, retrying with backoff
    for up to `timeout` seconds (math.inf: forever). Raises DatabaseUnreachable after that, and at
    once when the server refuses the configuration (waiting would not mend it)."""
    started = time.monotonic()
    backoff = Backoff()
    logged: tuple[str, float] | None = None  # (error, when) of the last line
    while True:
        try:
            left = min(10.0, timeout - (time.monotonic() - started))
            with psycopg.connect(conninfo, connect_timeout=max(1, math.ceil(left))) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            error = one_line(exc)
            if any(marker in error for marker in MISCONFIGURED):
                raise DatabaseUnreachable(f"database at {where} refused the connection: {error}") from None
            waited = time.monotonic() - started
            if waited >= timeout:
                raise DatabaseUnreachable(f"database not reachable at {where} after {waited:.0f} s: {error}") from None
            delay = min(backoff.next(), timeout - waited)
            now = time.monotonic()
            if logged is None or logged[0] != error or now - logged[1] >= REPEAT_LOG_AFTER:
                database_logger.warning("database not reachable at %s, retrying in %.1fs (%s)", where, delay, error)
                logged = (error, now)
            time.sleep(delay)
            continue
        if logged is not None:
            database_logger.info("database reachable at %s after %.1f s", where, time.monotonic() - started)
        return


class PostgresWakeup:
    """LISTEN on the events table's channel; `wait` returns on a NOTIFY or after `timeout`.

    A lost LISTEN connection is opened again at the next `wait`; meanwhile `wait` just sleeps
    `timeout`, so the projector polls (no event is missed: it reads from its position)."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self._conn: psycopg.Connection[Any] | None = None
        self._lost = False

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return on the first NOTIFY (or one already queued) or after `timeout`; no fixed sleep."""
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._listen()
                return  # a NOTIFY may have been missed while connecting: read once more first
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if not self._lost:  # once per loss; an outage of the database is logged by the projector
                logger.info("LISTEN connection lost, polling until it is re-opened: %s", one_line(exc))
                self._lost = True
            self.close()
            stop.wait(timeout)

    def _listen(self) -> None:
        self.close()
        self._conn = psycopg.connect(self.conninfo, autocommit=True)
        self._conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self.channel)))
        if self._lost:
            logger.info("LISTEN connection re-opened")
            self._lost = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
