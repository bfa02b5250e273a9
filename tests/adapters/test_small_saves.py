"""One command's save in one round trip: same rows, same guarantees as the library's path."""

from __future__ import annotations

import os
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from regledger.adapters.postgres.small_saves import OneTripInsert
from regledger.domain.application import Registration

pytestmark = [pytest.mark.postgres]

AWKWARD_TOPIC = 'tests:It\'s \\ a "topic"; DROP TABLE x; --'
AWKWARD_STATE = b"\x00\xff'\\\"; COMMIT; " + os.urandom(64)


def stored(originator_id=None, version=1, topic="tests:Thing.Happened", state=b'{"a":1}') -> StoredEvent:
    return StoredEvent(originator_id or uuid4(), version, topic, state)


@pytest.fixture
def recorder(make_postgres_settings, make_app):
    return make_app(make_postgres_settings(), Registration).recorder


def test_a_save_is_written_whole_in_order_and_byte_for_byte(recorder):
    events = [stored(), stored(topic=AWKWARD_TOPIC, state=AWKWARD_STATE), stored(state=b"")]
    ids = OneTripInsert(recorder)(events)
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    read = recorder.select_notifications(ids[0], 10)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in read] == [
        (i, e.originator_id, e.originator_version, e.topic, e.state) for i, e in zip(ids, events, strict=True)
    ]


def test_a_duplicate_version_writes_nothing_and_the_next_save_works(recorder):
    insert = OneTripInsert(recorder)
    taken = stored()
    insert([taken])
    before = recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        insert([stored(), stored(taken.originator_id, taken.originator_version)])
    assert recorder.max_notification_id() == before
    # The aborted transaction was rolled back: the pooled connection is clean.
    for _ in range(recorder.datastore.pool.max_size + 1):
        [position] = insert([stored()])
    assert position == recorder.max_notification_id()


def test_a_save_notifies_the_followers_channel(recorder, postgres_server):
    with postgres_server.connect() as listener:
        listener.execute(f"SET search_path TO {recorder.datastore.schema}")
        listener.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(recorder.channel_name)))
        OneTripInsert(recorder)([stored()])
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in heard] == [recorder.channel_name]


def test_a_string_originator_id_must_be_a_uuid(recorder):
    before = recorder.max_notification_id()
    with pytest.raises(ValueError, match="badly formed"):
        OneTripInsert(recorder)([StoredEvent("x'); DROP TABLE t; --", 1, "t", b"")])
    assert recorder.max_notification_id() == before


def test_the_apps_recorder_writes_small_saves_in_one_trip_and_can_fall_back(recorder):
    assert isinstance(recorder.one_trip, OneTripInsert)
    first = recorder.insert_events([stored(), stored()])
    recorder.one_trip = None  # the library's pipelined path, as bench/commands.py compares
    second = recorder.insert_events([stored(), stored()])
    assert first[1] < second[0]
    assert [n.id for n in recorder.select_notifications(first[0], 10)] == [*first, *second]
