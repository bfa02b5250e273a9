"""One very large save on PostgreSQL (a lottery commit at Splash scale is ~34k events, 20+ MB).

eventsourcing 9.5.6 writes a save as ONE pipelined INSERT whose one parameter holds every
event; psycopg 3.3.9 leaves the pipeline's flush loop before libpq's output buffer is empty,
so above ~8 MB the client and the server wait for each other forever (adapters/postgres/recorders.py).
These tests go through the recorder our settings select and check that a large save is
written, in one transaction, in order, and refused as a whole on a version conflict.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, StoredEvent

from regledger.adapters.postgres.recorders import LargeSavePostgresApplicationRecorder, is_large
from regledger.domain.application import Registration

pytestmark = [pytest.mark.postgres]

EVENTS = 35_000
STATE = os.urandom(300).hex().encode()  # 600 bytes, about an Enrolled event's size


class Ticket(Aggregate):
    """A throwaway aggregate: the save goes through the app's mapper and event store."""

    def __init__(self, note: str) -> None:
        self.note = note
        self.marks = 0

    @event("Marked")
    def mark(self, note: str) -> None:  # noqa: ARG002 - the event records it
        self.marks += 1


@pytest.fixture
def app(make_app: Any, make_postgres_settings: Any) -> Registration:
    registration: Registration = make_app(make_postgres_settings(), Registration)
    assert isinstance(registration.recorder, LargeSavePostgresApplicationRecorder)
    return registration


def stored(n: int, version: int = 1) -> list[StoredEvent]:
    return [StoredEvent(uuid4(), version, "tests.large:Raw", STATE) for _ in range(n)]


def test_small_saves_keep_the_librarys_pipelined_path():
    assert not is_large(stored(10))
    assert is_large(stored(1001))
    assert is_large([StoredEvent(uuid4(), 1, "t", b"x" * (2 << 20))])


@pytest.mark.slow
def test_a_35k_event_save_is_written_whole_and_in_order(app):
    events = stored(EVENTS)
    before = app.recorder.max_notification_id() or 0
    ids = app.recorder.insert_events(events)
    assert ids is not None
    assert len(ids) == EVENTS
    assert ids == sorted(ids)
    assert ids[0] > before
    assert app.recorder.max_notification_id() == ids[-1]
    # Read back in log order: the same events, in the order given, bytes intact (binary dump).
    page = app.recorder.select_notifications(before + 1, EVENTS + 10)
    assert [(n.originator_id, n.originator_version, n.state) for n in page] == [
        (e.originator_id, e.originator_version, e.state) for e in events
    ]


@pytest.mark.slow
def test_a_large_save_with_one_conflicting_event_writes_nothing(app):
    first = stored(5)
    app.recorder.insert_events(first)
    position = app.recorder.max_notification_id()
    clash = StoredEvent(first[0].originator_id, 1, "tests.large:Raw", STATE)  # version 1 again
    big = stored(EVENTS // 2)
    big.insert(len(big) - 3, clash)  # late in the last chunk: earlier chunks were already inserted
    with pytest.raises(IntegrityError):
        app.recorder.insert_events(big)
    assert app.recorder.max_notification_id() == position
    assert app.recorder.select_events(big[0].originator_id) == []


@pytest.mark.slow
def test_a_save_of_thousands_of_aggregates_through_the_app(app):
    tickets = [Ticket(note="x" * 200) for _ in range(5_000)]
    for ticket in tickets:
        for _ in range(6):
            ticket.mark(note="y" * 300)
    recordings = app.save(*tickets)
    assert len(recordings) == 35_000
    again = app.repository.get(tickets[-1].id)
    assert again.marks == 6
