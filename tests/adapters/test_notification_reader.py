"""The lean log page reader returns exactly the library's pages."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from regledger.adapters.notification_reader import PostgresNotificationPages, page_reader
from regledger.domain.application import Registration
from regledger.domain.log_pages import RecorderLogPages

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
    assert isinstance(app.log_pages, PostgresNotificationPages)  # what the lottery's fold reads with
    for after in (0, 1, 5, head - 1, head, head + 10):
        for limit in (1, 7, 100):
            for stop in (None, after + 3, head - 2):
                for topics in ((), TOPICS[1:2], TOPICS[:2]):
                    ours = reader(after, limit, stop=stop, topics=topics)
                    theirs = app.recorder.select_notifications(
                        after, limit, stop=stop, topics=topics, inclusive_of_start=False
                    )
                    assert ours == theirs, (after, limit, stop, topics)
                    assert all(type(n.state) is bytes for n in ours)


def test_other_stores_use_the_librarys_method(make_app, sqlite_settings):
    app = make_app(sqlite_settings, Registration)
    head = write(app, 10)
    assert isinstance(page_reader(app), RecorderLogPages)
    assert isinstance(app.log_pages, RecorderLogPages)
    assert app.log_pages(2, 10, stop=head - 1, topics=TOPICS[:1]) == app.recorder.select_notifications(
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
