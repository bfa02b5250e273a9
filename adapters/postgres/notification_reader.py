"""Pages of the notification log read lean on PostgreSQL (the projector, the lottery's fold).

Why: the library's ``select_notifications`` composes its statement on every call and reads the
rows as text into dicts, then into frozen dataclasses. A rebuild, or a first lottery run in a
process, reads the whole log, so the same ``SELECT`` is read here in binary into named tuples
(`LogRow`), and the projector requests the next page while it folds the current one.

What: the same rows in the same order (``notification_id > after [AND notification_id <= stop]
[AND topic = ANY(topics)] ORDER BY notification_id LIMIT n``), so the readers' guarantees are
unchanged: they never skip (ids are read in order after the last one applied, and the
library's table lock makes commit order equal id order). Other stores use the library's method.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol, cast
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor, pq
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import RowMaker, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from regledger.adapters.postgres.wakeup import dropped
from regledger.domain.ids import uuid_from_hex
from regledger.projections.log_pages import LogEntry, LogPages, RecorderLogPages

# Above any id: one prepared statement serves bounded and unbounded reads alike.
NO_STOP = 2**63 - 1


class LogRow(NamedTuple):
    """A notification as `LogEntry` (the library's `Notification` has the same fields)."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


def _log_rows(_cursor: Any) -> RowMaker[LogRow]:
    return LogRow._make


class SharedUUIDLoader(Loader):
    """Binary uuid -> UUID through the one id cache (`uuid_from_hex`): the same object for an id
    wherever it is read, in a row or in a decoded state (psycopg's loader builds each anew)."""

    format = pq.Format.BINARY

    def load(self, data: Buffer) -> UUID:
        return uuid_from_hex(data.hex())


class PostgresNotificationPages:
    """`LogPages` for a PostgreSQL recorder: one prepared statement, binary tuples.

    With `conninfo` (the projector's), it reads on a connection of its own, opened again after
    a drop, and does not retry: its owner retries with backoff through an outage. A read from
    the app's pool would sit in that pool's wait and the retries below for a minute and more
    before the outage showed, and then wait for the pool's own reconnection backoff."""

    def __init__(self, app: Application[UUID], conninfo: str | None = None, *, only: str | None = None) -> None:
        """`only`: read this events table alone, not the tables that inherit from it (a program's
        log, `program_logs`); by default the application's table with them: the whole log."""
        self._conninfo = conninfo
        self._own: psycopg.Connection[Any] | None = None
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("PostgresNotificationPages needs a PostgreSQL application recorder")
        self.datastore = recorder.datastore
        table = SQL("ONLY {}.{}" if only else "{}.{}").format(
            Identifier(self.datastore.schema), Identifier(only or recorder.events_table_name)
        )
        select = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {table} "
            "WHERE notification_id > %s AND notification_id <= %s"
        ).format(table=table)
        self.head_statement = SQL("SELECT MAX(notification_id) FROM {table}").format(table=table)
        order = SQL(" ORDER BY notification_id LIMIT %s")
        self.all_topics: Composed = select + order
        self.some_topics: Composed = select + SQL(" AND topic = ANY(%s)") + order

    def __call__(self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()) -> list[LogRow]:
        if self._conninfo is not None:
            return self._read(after, limit, stop, topics)
        return cast(list[LogRow], self._read_retried(after, limit, stop, topics))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's method
    def _read_retried(self, after: int, limit: int, stop: int | None, topics: Sequence[str]) -> list[LogRow]:
        return self._read(after, limit, stop, topics)

    def _read(self, after: int, limit: int, stop: int | None, topics: Sequence[str]) -> list[LogRow]:
        upto = NO_STOP if stop is None else stop
        statement, params = (
            (self.some_topics, (after, upto, list(topics), limit))
            if topics
            else (self.all_topics, (after, upto, limit))
        )
        with self._connection() as conn, conn.cursor(binary=True, row_factory=_log_rows) as cur:
            cur.adapters.register_loader("uuid", SharedUUIDLoader)
            cur.execute(statement, params, prepare=True)
            return cur.fetchall()

    def head(self) -> int:
        """The last position of the table(s) read (0 when empty)."""
        with self._connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            row = cur.execute(self.head_statement, prepare=True).fetchone()
        return int(row[0] or 0) if row is not None else 0

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._conninfo is None:
            with self.datastore.get_connection() as pooled:
                yield pooled
            return
        if self._own is None or dropped(self._own):
            self.close()
            self._own = psycopg.connect(self._conninfo, autocommit=True)
        yield self._own

    def close(self) -> None:
        """Close the connection of its own (if any); the next read opens another."""
        if self._own is not None:
            self._own.close()
            self._own = None

    @contextmanager
    def ahead(self) -> Iterator[PipelinedPages]:
        """Pages read ahead on one connection, in pipeline mode (see `PipelinedPages`)."""
        with (
            self._connection() as conn,
            conn.pipeline(),
            conn.cursor(binary=True, row_factory=_log_rows) as cur,
        ):
            # psycopg's own (C) uuid loader: a projection keeps no ids beyond its batch, so
            # sharing them (`SharedUUIDLoader`, for the lottery's long-lived fold) saves nothing.
            yield PipelinedPages(cur, self.all_topics)


class PagesAhead(Protocol):
    """The next page is requested before the current one is worked on, and read after."""

    def request(self, after: int, limit: int, *, stop: int | None = None) -> None: ...
    def rows(self) -> Sequence[LogEntry]: ...


class PipelinedPages:
    """`request` sends the page's query at once (pipeline mode) and `rows` reads its rows, both
    on the caller's thread: the server runs the query while the caller folds the page before.

    Why not a reader thread: it needs the GIL to send and again to read each reply, and waits
    for it (up to the 5 ms switch interval) while the caller folds; the caller then waited for
    the page, a sixth of a rebuild."""

    def __init__(self, cursor: Cursor[LogRow], statement: Composed) -> None:
        self._cursor = cursor
        self._statement = statement
        self._pending = False

    def request(self, after: int, limit: int, *, stop: int | None = None) -> None:
        if self._pending:
            raise RuntimeError("a page is requested already: read its rows first")
        self._cursor.execute(self._statement, (after, NO_STOP if stop is None else stop, limit), prepare=True)
        self._pending = True

    def rows(self) -> list[LogRow]:
        if not self._pending:
            raise RuntimeError("no page was requested")
        self._pending = False
        return self._cursor.fetchall()


class ReadOnRequest:
    """`PagesAhead` for readers without a pipeline: the page is read when its rows are asked for."""

    def __init__(self, pages: LogPages) -> None:
        self._pages = pages
        self._request: tuple[int, int, int | None] | None = None

    def request(self, after: int, limit: int, *, stop: int | None = None) -> None:
        if self._request is not None:
            raise RuntimeError("a page is requested already: read its rows first")
        self._request = (after, limit, stop)

    def rows(self) -> Sequence[LogEntry]:
        if self._request is None:
            raise RuntimeError("no page was requested")
        (after, limit, stop), self._request = self._request, None
        return self._pages(after, limit, stop=stop)


@contextmanager
def pages_ahead(pages: LogPages) -> Iterator[PagesAhead]:
    """Read-ahead for `pages`: pipelined on PostgreSQL, on request elsewhere."""
    if isinstance(pages, PostgresNotificationPages):
        with pages.ahead() as ahead:
            yield ahead
    else:
        yield ReadOnRequest(pages)


def page_reader(app: Application[UUID], conninfo: str | None = None) -> LogPages:
    """The leanest reader of the app's notification log pages (on PostgreSQL on a connection of
    its own, given `conninfo`)."""
    if isinstance(app.recorder, PostgresApplicationRecorder):
        return PostgresNotificationPages(app, conninfo)
    return RecorderLogPages(app)


__all__ = [
    "NO_STOP",
    "LogRow",
    "PagesAhead",
    "PipelinedPages",
    "PostgresNotificationPages",
    "ReadOnRequest",
    "SharedUUIDLoader",
    "page_reader",
    "pages_ahead",
]
