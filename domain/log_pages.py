"""Pages of the notification log, as the domain reads them (the lottery's input fold).

The store behind the application decides how a page is read best: by default the library's
``select_notifications``; on PostgreSQL the infrastructure names a leaner reader of the same
rows (``REGLEDGER_LOG_PAGES_TOPIC``, like the library's ``*_TOPIC`` settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Notification


class LogPages(Protocol):
    """Notifications with `after` < id (<= `stop`), of the given topics (all if empty), in id order."""

    def __call__(
        self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Notification]: ...


class RecorderLogPages:
    """Through the recorder's `select_notifications` (every store)."""

    def __init__(self, app: Any) -> None:
        self.recorder = app.recorder

    def __call__(
        self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Notification]:
        return self.recorder.select_notifications(  # type: ignore[no-any-return]
            after, limit, stop=stop, topics=topics, inclusive_of_start=False
        )


__all__ = ["LogPages", "RecorderLogPages"]
