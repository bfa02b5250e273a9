"""Several processes starting at once on an empty schema all come up (no DDL race).

Every app start runs the library's CREATE TABLE / CREATE INDEX IF NOT EXISTS. Run by two
sessions at the same moment PostgreSQL can fail one of them with "tuple concurrently updated"
(CI saw it when the race test's worker processes started together). Threads with their own
apps, hence their own connections, reproduce the same server-side race.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from regledger.adapters.bootstrap import build
from regledger.domain.application import Registration

pytestmark = [pytest.mark.postgres]

STARTERS = 6
ROUNDS = 5


def start_together(settings: Any, make: Any) -> tuple[list[Any], list[BaseException]]:
    """Call make(settings) STARTERS times from threads released at the same instant."""
    barrier = threading.Barrier(STARTERS)
    failures: list[BaseException] = []
    apps: list[Any] = []

    def start() -> None:
        barrier.wait()
        try:
            apps.append(make(settings))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return apps, failures


def test_apps_starting_together_on_an_empty_schema_all_come_up(make_postgres_settings, make_app):
    for _ in range(ROUNDS):
        apps, failures = start_together(make_postgres_settings(), lambda s: make_app(s, Registration))
        assert not failures, [repr(f) for f in failures]
        assert len(apps) == STARTERS
        # The table they all created once is usable by every one of them.
        assert all(app.recorder.max_notification_id() in (None, 0) for app in apps)


def test_whole_services_starting_together_all_come_up(make_postgres_settings):
    """Events table, views and token table: an API server's workers and the projector at once."""
    for _ in range(ROUNDS):
        services, failures = start_together(make_postgres_settings(), lambda s: build(s, follow=False))
        try:
            assert not failures, [repr(f) for f in failures]
            assert all(s.views.position() == 0 for s in services)
            assert all(s.tokens.list() == [] for s in services)
        finally:
            for s in services:
                s.close()
