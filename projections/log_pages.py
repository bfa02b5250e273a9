"""Pages of the notification log, as the read side's folds read them.

The store behind the application decides how a page is read best: by default the library's
``select_notifications``; on PostgreSQL the composition root passes a leaner reader of the
same rows (`adapters.postgres.notification_reader`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, Notification, StoredEvent


class LogEntry(Protocol):
    """One notification as readers use it: the library's `Notification` is one, and so is the
    plain tuple a leaner reader returns (a frozen dataclass costs more to build than to fold)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


def to_domain_event(mapper: Mapper[UUID], entry: LogEntry) -> DomainEventProtocol[UUID]:
    """The entry's domain event (the mapper reads only the fields a `StoredEvent` has)."""
    return mapper.to_domain_event(cast(StoredEvent, entry))


class LogPages(Protocol):
    """Notifications with `after` < id (<= `stop`), of the given topics (all if empty), in id order."""

    def __call__(
        self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[LogEntry]: ...


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


__all__ = ["LogEntry", "LogPages", "RecorderLogPages", "to_domain_event"]
