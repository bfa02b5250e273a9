"""The lean log page reader returns exactly the library's pages."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from regledger.adapters.postgres.notification_reader import (
    PipelinedPages,
    PostgresNotificationPages,
    ReadOnRequest,
    page_reader,
    pages_ahead,
)
from regledger.domain.application import Registration
from regledger.domain.ids import uuid_from_hex
from regledger.projections.log_pages import RecorderLogPages

STATES = [b"", b"\x00\xff'\\", b'{"a":1}' * 300]
TOPICS = ["t:Topic0", "t:Topic1", "t:Topic2"]


def write(app, count: int = 57) -> int:
    app.recorder.insert_events([StoredEvent(uuid4(), 1, TOPICS[i % 3], STATES[i % 3]) for i in range(count)])
    return int(app.recorder.max_notification_id())


@pytest.mark.postgres
def test_binary_pages_equal_the_librarys_pages(make_postgres_settings, make_app):
    app = make_app(make_postgres_settings(), Registration)
    head = write(app)
    reader = page_reader(app)
    assert isinstance(reader, PostgresNotificationPages)
    assert isinstance(app.lottery_inputs.log_pages, PostgresNotificationPages)  # what the lottery's fold reads
    for after in (0, 1, 5, head - 1, head, head + 10):
        for limit in (1, 7, 100):
            for stop in (None, after + 3, head - 2):
                for topics in ((), TOPICS[1:2], TOPICS[:2]):
                    ours = reader(after, limit, stop=stop, topics=topics)
                    theirs = app.recorder.select_notifications(
                        after, limit, stop=stop, topics=topics, inclusive_of_start=False
                    )
                    assert [tuple(n) for n in ours] == [
                        (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in theirs
                    ], (after, limit, stop, topics)
                    assert all(type(n.state) is bytes for n in ours)


def test_other_stores_use_the_librarys_method(make_app, sqlite_settings):
    app = make_app(sqlite_settings, Registration)
    head = write(app, 10)
    assert isinstance(page_reader(app), RecorderLogPages)
    pages = app.lottery_inputs.log_pages
    assert isinstance(pages, RecorderLogPages)
    assert pages(2, 10, stop=head - 1, topics=TOPICS[:1]) == app.recorder.select_notifications(
        3, 10, stop=head - 1, topics=TOPICS[:1]
    )


@pytest.mark.postgres
def test_one_aggregates_events_share_one_id_object(make_postgres_settings, make_app):
    app = make_app(make_postgres_settings(), Registration)
    originator = uuid4()
    app.recorder.insert_events([StoredEvent(originator, v, TOPICS[0], b"{}") for v in range(1, 4)])
    page = page_reader(app)(0, 10)
    assert [n.originator_id for n in page] == [originator] * 3
    assert page[0].originator_id is page[2].originator_id


@pytest.mark.postgres
def test_page_ids_come_from_the_one_id_cache(make_postgres_settings, make_app):
    app = make_app(make_postgres_settings(), Registration)
    originator = uuid4()
    app.recorder.insert_events([StoredEvent(originator, 1, TOPICS[0], b"{}")])
    (row,) = page_reader(app)(0, 10)
    assert row.originator_id is uuid_from_hex(originator.hex)  # the object decoded states share


def library_page(app, after: int, limit: int) -> list[tuple[object, ...]]:
    page = app.recorder.select_notifications(after, limit, inclusive_of_start=False)
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page]


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_pages_read_ahead_are_the_librarys_pages(store, make_postgres_settings, sqlite_settings, make_app):
    if store == "postgres":
        app = make_app(make_postgres_settings(), Registration)
    else:
        app = make_app(sqlite_settings, Registration)
    head = write(app)
    reader = page_reader(app)
    with pages_ahead(reader) as ahead:
        assert isinstance(ahead, PipelinedPages if store == "postgres" else ReadOnRequest)
        after, seen = 0, []
        ahead.request(after, 10)
        while page := ahead.rows():
            assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page] == (
                library_page(app, after, 10)
            )
            after = page[-1].id
            ahead.request(after, 10)  # the next page is on its way before this one is used
            seen.extend(n.id for n in page)
    assert seen == [n[0] for n in library_page(app, 0, head)]


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_one_page_at_a_time_is_requested(store, make_postgres_settings, sqlite_settings, make_app):
    app = make_app(make_postgres_settings() if store == "postgres" else sqlite_settings, Registration)
    write(app, 3)
    with pages_ahead(page_reader(app)) as ahead:
        with pytest.raises(RuntimeError, match="no page was requested"):
            ahead.rows()
        ahead.request(0, 2)
        with pytest.raises(RuntimeError, match="requested already"):
            ahead.request(2, 2)
        assert len(ahead.rows()) == 2
