"""Does a section, program or student exist? One indexed read of its first event, cached.

Queries on an unknown id must answer 404, not an empty result. The views cannot tell "no rows"
from "no such id", and replaying an aggregate per request would cost a full read. An
aggregate's first stored event is its creation, and its topic names the class, so one lookup
by the events table's primary key (originator_id, version) answers. Ids never disappear, so a
positive answer is cached for good; a negative one is not (the id may be created next).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from regledger.adapters.postgres.event_reader import PostgresEventReader
from regledger.domain.application import Registration
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student

KNOWN_MAX = 200_000  # ids remembered; past it the memory is cleared and refilled on demand

SECTION = get_topic(Section.Scheduled)
PROGRAM = get_topic(Program.Created)
STUDENT = get_topic(Student.Registered)


def log_head(app: Registration) -> Callable[[], int]:
    """A function reading the log's last notification id (failing fast on PostgreSQL)."""
    reader = getattr(app.aggregates, "reader", None)
    if isinstance(reader, PostgresEventReader):
        return reader.head
    recorder = app.recorder
    return lambda: recorder.max_notification_id() or 0


class Existence:
    """`exists(id, topic)`: the aggregate `id` was created by an event with that topic."""

    def __init__(self, app: Registration) -> None:
        reader = getattr(app.aggregates, "reader", None)
        if isinstance(reader, PostgresEventReader):
            self._first_topic: Callable[[UUID], str | None] = reader.first_topic
        else:
            recorder = app.recorder

            def first_topic(originator_id: UUID) -> str | None:
                events = recorder.select_events(originator_id, limit=1)
                return events[0].topic if events else None

            self._first_topic = first_topic
        self._known: set[tuple[UUID, str]] = set()
        self._lock = threading.Lock()
        self.reads = 0

    def known(self, aggregate_id: UUID, topic: str) -> bool:
        """Known to exist without reading the store (an event loop may ask)."""
        return (aggregate_id, topic) in self._known

    def exists(self, aggregate_id: UUID, topic: str) -> bool:
        key = (aggregate_id, topic)
        if key in self._known:
            return True
        self.reads += 1
        if self._first_topic(aggregate_id) != topic:
            return False
        with self._lock:
            if len(self._known) >= KNOWN_MAX:
                self._known.clear()
            self._known.add(key)
        return True


__all__ = ["PROGRAM", "SECTION", "STUDENT", "Existence", "log_head"]
