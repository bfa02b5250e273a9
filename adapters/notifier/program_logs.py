"""The notifier with a log per program: one follower per events table, one outbox.

As the projector (`program_log_projector`), and for the same reason: ids across tables are not
in commit order, so each table is followed on its own, by a `Notifier` over that table alone
with its own tracking row in the outbox (`notifier:<table>`; the shared table keeps `notifier`).
A commit's events are consecutive within its table, so messages still group by commit. Outbox
rows are keyed by position, unique across tables.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from regledger.adapters.following import follow
from regledger.adapters.notifier.follower import Notifier
from regledger.adapters.notifier.store import EMAIL, FOLLOWER, OutboxStore
from regledger.adapters.postgres.notification_reader import PostgresNotificationPages
from regledger.adapters.program_logs_app import ProgramLogRegistration


class ProgramLogsNotifier:
    """`Notifier`'s interface over the shared table and every program's own (see module doc)."""

    def __init__(
        self,
        app: ProgramLogRegistration,
        store: OutboxStore,
        *,
        channels: Sequence[str] = (EMAIL,),
        batch_size: int = 500,
        poll_interval: float = 0.05,
        **options: Any,
    ) -> None:
        self.app = app
        self.store = store
        self.channels = tuple(channels)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.options = options
        self.followers: dict[str, Notifier] = {}
        self._stop = threading.Event()
        self.refresh()

    def refresh(self) -> None:
        """Follow the tables of programs created since."""
        for table in [self.app.logs.shared_table, *self.app.logs.tables().values()]:
            if table not in self.followers:
                pages = PostgresNotificationPages(self.app, only=table)
                tracking = FOLLOWER if table == self.app.logs.shared_table else f"{FOLLOWER}:{table}"
                self.followers[table] = Notifier(
                    self.app,
                    self.store,
                    channels=self.channels,
                    pages=pages,
                    head=pages.head,
                    tracking=tracking,
                    batch_size=self.batch_size,
                    **self.options,
                )

    @property
    def position(self) -> int | None:
        return self.followers[self.app.logs.shared_table].position

    @property
    def messages(self) -> int:
        return sum(follower.messages for follower in self.followers.values())

    def step(self) -> int:
        """One batch of each table; the events read."""
        return sum(follower.step() for follower in self.followers.values())

    def catch_up(self) -> int:
        self.refresh()
        return sum(follower.catch_up() for follower in self.followers.values())

    def run_forever(self) -> None:
        """Follow every table until stop(); outages are retried as `Notifier.run_forever` does."""
        follow("notifier", self._stop, self._round, lambda: self._stop.wait(self.poll_interval), moved=self._moved)

    def _round(self) -> bool:
        self.refresh()
        return self.step() == 0

    def _moved(self) -> None:
        for follower in self.followers.values():
            follower.forget_position()

    def stop(self) -> None:
        self._stop.set()
        for follower in self.followers.values():
            follower.stop()


def follower_for(app: Any, store: OutboxStore, **options: Any) -> Notifier | ProgramLogsNotifier:
    """The notifier for the application's log layout: one follower, or one per table."""
    if isinstance(app, ProgramLogRegistration):
        return ProgramLogsNotifier(app, store, **options)
    return Notifier(app, store, **options)


__all__ = ["ProgramLogsNotifier", "follower_for"]
