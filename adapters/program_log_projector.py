"""Following every program's log: one projector per events table, one tracking row each.

Why: programs' tables commit in parallel and draw positions from one sequence, so ids across
tables are not in commit order. A follower reading the whole log by `id > last` would pass over
an id that another table commits late, for good. Within one table they are in commit order (its
lock), so each table is followed on its own: a `Projector` over that table alone (`ONLY`),
advancing its own tracking row of the same views tables. The shared table keeps the views' first
row (`registration_views`), so a database switched to this layout continues where it was; a
program's table has `registration_views:<table>`. Positions are unique across tables, so the
views' rows keyed by position never collide.

Read-your-writes: a client holding position p (its write, committed) needs, in every table,
every committed event up to p applied: each table's tracking >= min(p, its head), heads read
after the write. `reached()` reads the heads, then the tracking rows, and answers the largest
such p; the watch (`PositionWatch(fresh_reads=True)`) uses only reads begun after a waiter came.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from regledger.adapters.following import follow, start_daemon
from regledger.adapters.positions import PositionWatch
from regledger.adapters.postgres.notification_reader import PostgresNotificationPages
from regledger.adapters.postgres.wakeup import PostgresWakeup
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.adapters.projector import Progress, Projector
from regledger.adapters.views.postgres import PostgresViews
from regledger.adapters.views.writes import TRACKING_NAME

logger = logging.getLogger("regledger.projector")


class ProgramLogsProjector:
    """Keeps the views current from the shared table and every program's own (see module doc)."""

    def __init__(
        self,
        app: ProgramLogRegistration,
        views: PostgresViews,
        *,
        conninfo: str,
        batch_size: int = 2000,
        idle_timeout: float = 0.25,
    ) -> None:
        self.app = app
        self.views = views
        self.conninfo = conninfo
        self._batch_size = batch_size
        self.idle_timeout = idle_timeout
        self.shared_table = app.logs.shared_table
        self.followers: dict[str, Projector] = {}
        self._wakeup = PostgresWakeup(conninfo, app.postgres.channel_name)  # every table notifies it
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self.error: BaseException | None = None
        self.positions = PositionWatch(Reached(self), self.global_head, fresh_reads=True)
        self.listeners: list[Callable[[int], None]] = []
        # Followers (a connection each) are made when first following: an API process that only
        # answers `reached` needs none.

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, size: int) -> None:
        self._batch_size = size
        for follower in self.followers.values():
            follower.batch_size = size

    @property
    def position(self) -> int | None:
        """The highest position its followers last committed or read (None: none known); what
        every table's views include is `reached()`, a read."""
        known = [f.position for f in self.followers.values() if f.position is not None]
        return max(known, default=None)

    # -- the logs -------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """The shared table first, then the programs' tables in the order they were created."""
        return [self.shared_table, *self.app.logs.tables().values()]

    def refresh(self) -> None:
        """Follow the tables of programs created since (by this process or another)."""
        for table in self.tables():
            if table not in self.followers:
                self.followers[table] = self._follower(table)

    def tracking_name(self, table: str) -> str:
        return TRACKING_NAME if table == self.shared_table else f"{TRACKING_NAME}:{table}"

    def _follower(self, table: str) -> Projector:
        name = self.tracking_name(table)
        views = self.views.for_log(name)  # its own tracking row, read raw by its follower
        views.create_tables()
        pages = PostgresNotificationPages(self.app, self.conninfo, only=table)
        follower = Projector(self.app, views, batch_size=self.batch_size, pages=pages, head=pages.head)
        follower.listeners.extend(self.listeners)
        return follower

    # -- positions ------------------------------------------------------------------------

    def global_head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def heads(self) -> dict[str, int]:
        """Each table's last position, in one query, the tables read now: a process that does not
        project (the API) must count a program created a moment ago."""
        tables = self.tables()
        with self.app.postgres.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(self._heads_statement(tables)).fetchall()
        return {table: int(row[0] or 0) for table, row in zip(tables, rows, strict=True)}

    def _heads_statement(self, tables: list[str]) -> Composed:
        schema = Identifier(self.app.postgres.datastore.schema)
        return SQL(" UNION ALL ").join(
            SQL("(SELECT MAX(notification_id) FROM ONLY {}.{})").format(schema, Identifier(t)) for t in tables
        )

    def count_after(self, table: str, position: int) -> int:
        """The events of one table after `position` (positions are shared: not a difference)."""
        schema = Identifier(self.app.postgres.datastore.schema)
        statement = SQL("SELECT count(*) FROM ONLY {}.{} WHERE notification_id > %s").format(schema, Identifier(table))
        with self.app.postgres.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            row = curs.execute(statement, (position,)).fetchone()
        return int(row[0]) if row else 0

    def reached(self) -> int:
        """The largest position every table's views include up to (see module doc)."""
        heads = self.heads()
        tracked = self.views.positions([self.tracking_name(table) for table in heads])
        behind = [tracked.get(self.tracking_name(table), 0) for table in heads]
        behind = [at for at, head in zip(behind, heads.values(), strict=True) if head > at]
        return min(behind) if behind else max(heads.values(), default=0)

    def wait(self, position: int, timeout: float = 5.0) -> None:
        """Block until every table's views include what was committed up to `position`."""
        if self.error is not None:
            raise RuntimeError("the projector stopped on an error") from self.error
        self.positions.wait(position, timeout)

    # -- applying -------------------------------------------------------------------------

    def step(self) -> int:
        """One batch of each table with events after its position (programs created since
        included); the number of events read."""
        self.refresh()
        return sum(follower.step() for follower in self.followers.values())

    def catch_up(self, progress: Progress | None = None) -> int:
        """Every table up to its head (as read when its turn comes); the events applied."""
        self.refresh()
        applied = 0
        for follower in self.followers.values():
            applied += follower.catch_up()
            if progress is not None:
                head = self.global_head()
                progress(min(self.reached(), head), head)
        return applied

    def rebuild(self, progress: Progress | None = None) -> int:
        """Replay every table from zero into tables beside the views, then swap them in."""
        aside = self.views.aside()
        try:
            aside.drop_tables()
            aside.create_tables()
            replay = ProgramLogsProjector(self.app, aside, conninfo=self.conninfo, batch_size=self.batch_size)
            try:
                applied = replay.catch_up(progress)
            finally:
                replay.close()
            aside.optimize()
            self.views.swap_in(aside)
        finally:
            aside.close()
        for follower in self.followers.values():
            follower.forget_position()  # the tables under it were swapped
        return applied

    # -- following ------------------------------------------------------------------------

    def run_forever(self) -> None:
        """Follow every table until stop(); outages are retried as `Projector.run_forever` does,
        and a busy table gets one batch per round, so it cannot hold the others back."""
        self._running = True
        try:
            follow("projector", self._stop, self._round, lambda: self._wakeup.wait(self.idle_timeout, self._stop))
        except BaseException as exc:
            self.error = exc
            logger.exception("projector stopped on an error")
            raise
        finally:
            self._running = False
            self._close_connections()

    def _round(self) -> bool:
        """One batch of each table; True if none had any."""
        return self.step() == 0

    def start(self) -> ProgramLogsProjector:
        if self._thread is None:
            self._stop.clear()
            self._thread = start_daemon(self.run_forever, "regledger-projector")
        return self

    def stop(self) -> None:
        """Stop following (`run_forever` returns after the round or wait in progress and closes
        its connections itself; a signal handler may call this inside its wait)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if not self._running:
            self._close_connections()

    def _close_connections(self) -> None:
        """The followers' and the watch's own connections (opened again if used)."""
        self.positions.close()
        self._wakeup.close()
        for follower in self.followers.values():
            follower.stop()
            follower.views.close()

    def close(self) -> None:
        self.stop()


class Reached:
    """`ProgramLogsProjector.reached` as the `PositionSource` its watch polls."""

    def __init__(self, projector: ProgramLogsProjector) -> None:
        self.projector = projector

    def position(self) -> int:
        return self.projector.reached()


__all__ = ["ProgramLogsProjector", "Reached"]
