"""The projector through faults: terminated connections, a locked file."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from regledger.adapters.projector import TRANSIENT, Projector
from regledger.adapters.settings import Settings
from regledger.adapters.views_sqlite import SqliteViews, views_path
from regledger.domain.application import Registration
from regledger.domain.values import CommandContext

OUTAGE = "projector interrupted"
RECOVERED = "projector recovered"


def ctx(reason: str = "") -> CommandContext:
    return CommandContext(actor="tester", reason=reason)


def terminate_backends(admin: psycopg.Connection[Any]) -> int:
    """pg_terminate_backend on every other client connection to the test database."""
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    ).fetchall()
    return len(rows)


def register(app: Registration, info: dict[str, Any], key: str, reason: str = "") -> int:
    """A new student applies to a section; returns the command's position."""
    pid = info["program_id"]
    section = info["section_ids"][len(key) % len(info["section_ids"])]
    retried(lambda c: app.submit_profile(pid, key, key, 2030, {}, c), ctx())
    return int(retried(lambda c: app.add_section(pid, key, section, c, "Applied"), ctx(reason)).position)


def retried(command: Callable[[CommandContext], Any], context: CommandContext) -> Any:
    """Run a command, again if it failed on a pooled connection that was terminated (the command
    path's concern, not the projector's); its command id makes running it again safe."""
    for _ in range(4):
        with contextlib.suppress(*TRANSIENT):
            return command(context)
    return command(context)


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


@pytest.mark.postgres
def test_a_follower_survives_its_connections_terminated_twice(
    postgres_settings: Settings, postgres_server: Any, make_app: Any, make_views: Any, history: Any
) -> None:
    app = make_app(postgres_settings, Registration)
    info = history.seed_history(app, students=4, subjects=3, chunk=4)
    views = make_views(postgres_settings)
    projector = Projector.for_settings(postgres_settings, app, views=views)
    with projector, postgres_server.connect() as admin:
        projector.wait(app.recorder.max_notification_id(), timeout=30)
        for round_ in range(2):
            # The app's pool, the views' writer and reader, the LISTEN connection.
            assert terminate_backends(admin) >= 3
            position = register(app, info, f"after-kill-{round_}")
            projector.wait(position, timeout=30)
            assert projector.error is None
            student = app.get_student(info["program_id"], f"after-kill-{round_}").id
            assert [e.verb for e in views.sections(student)] == ["Applied"]
    assert views.position() == app.recorder.max_notification_id()
    rebuilt = make_views(postgres_settings, prefix="rb_")
    Projector(app, rebuilt).rebuild()
    assert rebuilt.dump() == views.dump()


def test_the_sqlite_follower_survives_a_locked_views_file(
    sqlite_settings: Settings, make_app: Any, history: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="regledger.projector")
    app = make_app(sqlite_settings, Registration)
    info = history.seed_history(app, students=3, subjects=2, chunk=3)
    # A short busy timeout: the write fails soon ("database is locked") instead of after 30 s.
    views = SqliteViews(views_path(sqlite_settings.sqlite_path), busy_timeout=0.05)
    views.create_tables()
    try:
        with Projector(app, views) as projector:
            projector.wait(app.recorder.max_notification_id(), timeout=30)
            locker = sqlite3.connect(views.path, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")  # another process holding the file's write lock
            position = register(app, info, "while-locked")
            _wait_for(lambda: messages(caplog, OUTAGE))
            assert views.position() < position
            locker.execute("ROLLBACK")
            locker.close()
            projector.wait(position, timeout=30)
            assert projector.error is None
            position = register(app, info, "after-the-lock")
            projector.wait(position, timeout=30)
        (outage,) = messages(caplog, OUTAGE)  # one line for the outage, not one per retry
        assert "database is locked" in outage
        assert len(messages(caplog, RECOVERED)) == 1
    finally:
        views.close()


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
