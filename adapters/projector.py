"""The projector: keeps the registration views current, exactly once, batch by batch.

It reads the application's notification log after the view's tracking position
(`select_notifications(position, limit, inclusive_of_start=False)`, on PostgreSQL the same
rows read in binary: `notification_reader.py`), folds a whole batch into
view changes and applies them together with the new position in one transaction; the view
refuses a batch unless its position is the one the batch was read after (`Batch.after`), so
nothing is ever applied twice or out of order. It never skips: the library's table lock makes
commit order equal id order on PostgreSQL (so keep POSTGRES_ENABLE_DB_FUNCTIONS off), and gaps
in ids are harmless because it reads by `> last`. Catching up (and rebuilding), it reads windows
of ids up to the head read when it started (`_batches`), and PostgreSQL writes each batch while
the next is read and folded (`RegistrationViews.apply_all`).

Followers: on PostgreSQL it LISTENs on the events table's channel (the library NOTIFYs inside
every insert transaction) and falls back to a poll every `idle_timeout`; on SQLite and memory
it polls every `poll_interval` (a few ms). Construct with `build_views(settings)` and
`Projector(app, views)`; `start()` runs it on a background thread in-process (the embedded
default), `run_forever()` in the foreground (the `regledger project` process). Following
outlives database outages (`run_forever`); a rebuild builds aside and swaps in (`rebuild`).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import Application

from regledger.adapters.bulk import collector_paused
from regledger.adapters.following import follow, start_daemon
from regledger.adapters.positions import PositionWatch
from regledger.adapters.postgres.notification_reader import PostgresNotificationPages, page_reader, pages_ahead
from regledger.adapters.postgres.wakeup import PostgresWakeup
from regledger.adapters.settings import Settings
from regledger.adapters.views.postgres import PostgresViews
from regledger.adapters.views.sqlite import MemoryViews, SqliteViews, views_path
from regledger.projections.changes import Batch
from regledger.projections.lean_fold import fold_stored
from regledger.projections.log_pages import LogEntry, LogPages
from regledger.projections.views import RegistrationViews

logger = logging.getLogger("regledger.projector")

Progress = Callable[[int, int], None]  # (position reached, head position)


@runtime_checkable
class AsideViews(Protocol):
    """Views that can be rebuilt beside themselves (SQL tables under another prefix) and swapped in."""

    def aside(self) -> RegistrationViews: ...
    def swap_in(self, aside: RegistrationViews) -> None: ...


def build_views(settings: Settings, *, prefix: str = "rv_") -> RegistrationViews:
    """The views for the configured store; tables are created if missing."""
    views: RegistrationViews
    if settings.store == "postgres":
        views = PostgresViews(settings.postgres_conninfo(), settings.postgres_schema, prefix=prefix)
    elif settings.store == "sqlite":
        settings.prepare()
        views = SqliteViews(views_path(settings.sqlite_path), prefix=prefix)
    else:
        views = MemoryViews()
    views.create_tables()
    return views


class Projector:
    """Applies the Registration app's log to the views; one per views (one tracking row)."""

    def __init__(
        self,
        app: Application[UUID],
        views: RegistrationViews,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.002,
        listen_conninfo: str | None = None,
        idle_timeout: float = 0.25,
        pages: LogPages | None = None,
        head: Callable[[], int] | None = None,
    ) -> None:
        """`pages` and `head` read the log followed, by default the application's whole log;
        `program_log_projector` passes one program's table."""
        self.app = app
        self.views = views
        # At most this many events a batch; catching up (and rebuilding), a batch is this many
        # notification ids (`_batches`). 2,000 rebuilt the bench log 7% faster than 1,000 (fewer
        # statements and commits); above ~3,500 changes a batch is no longer one pipelined round
        # trip (`PostgresViews.pipeline_max_changes`).
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.idle_timeout = idle_timeout
        # On PostgreSQL its reads and LISTEN use connections of its own (`listen_conninfo`), opened
        # again after a drop; without it, the app's pool.
        self._pages = pages or page_reader(app, listen_conninfo)
        self._head = head or (lambda: app.recorder.max_notification_id() or 0)
        channel = getattr(app.recorder, "channel_name", None)
        self._wakeup = PostgresWakeup(listen_conninfo, channel) if listen_conninfo and channel else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        # The views' position as this projector last committed it (None: read it from the views).
        # Only this projector moves it while it runs: a second one is refused by the tracking row.
        self._position: int | None = None
        # Read-your-writes: waiters wake when this projector commits (or, another process
        # projecting, when the watch's poll sees the views move). Others subscribe `listeners`.
        self.positions = PositionWatch(views, self._head)
        self.listeners: list[Callable[[int], None]] = [self.positions.advanced]
        self.error: BaseException | None = None

    @classmethod
    def for_settings(cls, settings: Settings, app: Application[UUID], **kwargs: Any) -> Projector:
        listen = settings.postgres_conninfo() if settings.store == "postgres" else None
        return cls(app, kwargs.pop("views", None) or build_views(settings), listen_conninfo=listen, **kwargs)

    @property
    def position(self) -> int | None:
        """The views' position as this projector last committed or read it (None: not known)."""
        return self._position

    def forget_position(self) -> None:
        """Read the position from the views next time (their tables were swapped under us)."""
        self._position = None

    # -- one step -------------------------------------------------------------------------

    def step(self) -> int:
        """Apply the next batch after the view's position; returns the number of events read."""
        start = self._position
        if start is None:
            start = self.views.position()
        batch = self._read(start)
        if batch is None:
            self._position = start
            return 0
        self._apply(batch)
        return batch.events

    def _read(self, start: int) -> Batch | None:
        """The next batch after `start`, folded (None: nothing new)."""
        return self._fold(start, self._select(start))

    def _select(self, start: int) -> Sequence[LogEntry]:
        return self._pages(start, self.batch_size)

    def _fold(self, start: int, notifications: Sequence[LogEntry]) -> Batch | None:
        if not notifications:
            return None
        # Decoded one at a time and folded at once: the events die young, which keeps the garbage
        # collector's older generations (and their full scans) small.
        return fold_stored(notifications, self.app.mapper, after=start)

    def _apply(self, batch: Batch) -> None:
        try:
            self.views.apply(batch)
        except BaseException:
            self._position = None  # e.g. PositionAlreadyApplied: read it again next time
            raise
        self._advanced_to(batch.position)

    def _advanced_to(self, position: int) -> None:
        self._position = position
        for listener in self.listeners:
            listener(position)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply batches until the head (as read when called) is reached; returns events applied.

        The views may write a batch while the next one is read and folded (`apply_all`)."""
        head = self._head()
        start = self._position if self._position is not None else self.views.position()
        applied = 0
        if progress is not None:
            progress(start, max(head, start))
        try:
            for batch in self.views.apply_all(self._batches(start, head)):
                self._advanced_to(batch.position)
                applied += batch.events
                if progress is not None:
                    progress(batch.position, max(head, batch.position))
        except BaseException:
            self._position = None  # e.g. PositionAlreadyApplied: read it again next time
            raise
        return applied

    def _batches(self, start: int, head: int) -> Iterator[Batch]:
        """The batches after `start` up to `head`, in order: one per window of `batch_size`
        notification ids, each requested before the window before it is decoded and folded, and
        read after, so the server's part of the read overlaps them (`pages_ahead`).

        Windows of ids, not pages of LIMIT n: every id up to `head` is committed or never will
        be (the library's table lock makes commit order id order), so a window's batch ends at
        the window's end even where its last ids are gaps, and each read is bounded whatever plan
        the server picks. (Without statistics on the events table, PostgreSQL sorts the whole
        rest of the log to serve `ORDER BY id LIMIT n` once n exceeds its guess of the rows.)"""
        if start >= head:
            return
        window = self.batch_size
        with pages_ahead(self._pages) as ahead:
            after, low = start, start  # the position the next batch applies at; the next window's start
            ahead.request(low, window, stop=min(low + window, head))
            while not self._stop.is_set():
                notifications = ahead.rows()
                high = min(low + window, head)
                if high < head:
                    ahead.request(high, window, stop=min(high + window, head))
                batch = self._fold(after, notifications)
                del notifications  # not kept alive while the batch is written
                if batch is not None:
                    yield replace(batch, position=high)
                    after = high
                if high >= head:
                    return
                low = high

    def rebuild(self, progress: Progress | None = None) -> int:
        """Replay the log from zero into new tables beside the views, then swap them in, in one
        transaction: a rebuild that fails half way leaves the views as they were. (Memory views
        are rebuilt in place.)"""
        if not isinstance(self.views, AsideViews):
            return self._replay(progress)
        aside = self.views.aside()
        try:
            applied = Projector(self.app, aside, batch_size=self.batch_size)._replay(progress)
            self.views.swap_in(aside)
        finally:
            aside.close()
        self._position = None
        return applied

    def _replay(self, progress: Progress | None) -> int:
        """Drop the view tables and tracking, recreate them and replay the log from zero."""
        self.views.drop_tables()
        self.views.create_tables()
        self.views.defer_indexes()  # created again by optimize() (or by create_tables() on a restart)
        self._position = None
        # A replay makes millions of short-lived objects and no cycles: the collector's passes took
        # a tenth of a rebuild (100k events: 786 passes, 0.23-0.28 s, nothing collected).
        with collector_paused():
            applied = self.catch_up(progress)
        self.views.optimize()
        return applied

    # -- following ------------------------------------------------------------------------

    def _idle(self) -> None:
        if self._wakeup is not None:
            self._wakeup.wait(self.idle_timeout, self._stop)
        else:
            self._stop.wait(self.poll_interval)

    def run_forever(self) -> None:
        """Follow the log until stop().

        A transient fault (TRANSIENT: a lost connection, a server restart, a locked file) is an
        outage, retried with backoff (0.1 s doubling to 5 s) from the views' position, forever,
        and logged when it starts and when it ends. Any other error is logged and re-raised."""
        self._running = True
        try:
            # The views moved under us (a rebuild swapped in): `_apply` forgot the position.
            follow("projector", self._stop, self._follow, self._idle)
        except BaseException as exc:
            self.error = exc
            logger.exception("projector stopped on an error (views at position %s)", self._position)
            raise
        finally:
            self._running = False
            self._close_connections()

    def _close_connections(self) -> None:
        if self._wakeup is not None:
            self._wakeup.close()
        if isinstance(self._pages, PostgresNotificationPages):
            self._pages.close()

    def _follow(self) -> bool:
        """The next batch, then the rest of a backlog (a start behind, a burst) with its batches
        overlapped (`catch_up`); True when it was at the head."""
        if self.step() < self.batch_size:
            return True
        self.catch_up()
        return False

    def start(self) -> Projector:
        """Follow on a daemon thread (in-process: the embedded SQLite/memory default)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = start_daemon(self.run_forever, "regledger-projector")
        return self

    def stop(self) -> None:
        """Stop following (`run_forever` returns after the batch or wait in progress) and close
        the projector's own connections (`run_forever` closes them itself if it still runs)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if not self._running:
            self._close_connections()

    def __enter__(self) -> Projector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, position: int, timeout: float = 5.0) -> None:
        """Block until the views reached `position` (read-your-writes), bounded by `timeout`."""
        if self.error is not None:
            raise RuntimeError("the projector stopped on an error") from self.error
        try:
            self.positions.wait(position, timeout)
        except TimeoutError:
            if self.error is not None:
                raise RuntimeError("the projector stopped on an error") from self.error
            raise


def main(argv: list[str] | None = None) -> int:
    """`python -m regledger.adapters.projector [--catch-up|--rebuild] [--batch-size N]` (REGLEDGER_* env)."""
    from regledger.domain.application import Registration

    parser = argparse.ArgumentParser(description="Keep the registration views current.")
    parser.add_argument("--catch-up", action="store_true", help="stop at the head instead of following")
    parser.add_argument("--rebuild", action="store_true", help="drop the views and replay from zero")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--prefix", default="rv_")
    args = parser.parse_args(argv)
    settings = Settings()
    if settings.per_program:  # one follower per table: `regledger project` builds them
        parser.error("with REGLEDGER_LOG_LAYOUT=per_program run `regledger project`")
    settings.prepare()
    app = Registration(env=settings.eventsourcing_env(names=[Registration.name]))
    views = build_views(settings, prefix=args.prefix)
    projector = Projector.for_settings(settings, app, views=views, batch_size=args.batch_size)
    try:
        if args.rebuild:
            projector.rebuild()
        elif args.catch_up:
            projector.catch_up()
        else:
            projector.run_forever()
    finally:
        projector.stop()
        views.close()
        app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
