"""The projector's lean page reader returns exactly the library's pages."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from regledger.adapters.notification_reader import PostgresNotificationPages, page_reader
from regledger.domain.application import Registration


@pytest.mark.postgres
def test_binary_pages_equal_the_librarys_pages(make_postgres_settings, make_app):
    app = make_app(make_postgres_settings(), Registration)
    states = [b"", b"\x00\xff'\\", b'{"a":1}' * 300]
    app.recorder.insert_events([StoredEvent(uuid4(), 1, f"t:Topic{i % 3}", states[i % 3]) for i in range(57)])
    reader = page_reader(app)
    assert isinstance(reader, PostgresNotificationPages)
    head = app.recorder.max_notification_id()
    for start in (0, 1, 5, head - 1, head, head + 10):
        for limit in (1, 7, 100):
            ours = reader(start, limit)
            assert ours == app.recorder.select_notifications(start, limit, inclusive_of_start=False)
            assert all(type(n.state) is bytes for n in ours)


def test_other_stores_use_the_librarys_method(make_app, sqlite_settings):
    app = make_app(sqlite_settings, Registration)
    app.recorder.insert_events([StoredEvent(uuid4(), 1, "t:Topic", b"x")])
    reader = page_reader(app)
    assert not isinstance(reader, PostgresNotificationPages)
    assert reader(0, 10) == app.recorder.select_notifications(0, 10, inclusive_of_start=False)
