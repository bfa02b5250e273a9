"""The projector through faults: terminated connections, a locked file, poison events, a rebuild
that fails half way."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from regledger.adapters.following import TRANSIENT
from regledger.adapters.projector import Projector
from regledger.adapters.settings import Settings
from regledger.adapters.views.sqlite import SqliteViews, views_path
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


def poison(app: Registration, admin: psycopg.Connection[Any], placeholder: str, text: str) -> int:
    """Rewrite `placeholder` in the stored events to `text` (a JSON string fragment, e.g. a NUL
    escape): events as a log written before commands refused such input holds them. Returns how
    many events it changed."""
    table = psycopg.sql.Identifier(app.recorder.datastore.schema, app.recorder.events_table_name)
    return admin.execute(
        psycopg.sql.SQL(
            "UPDATE {} SET state = convert_to(replace(convert_from(state, 'UTF8'), %s, %s), 'UTF8') "
            "WHERE position(convert_to(%s, 'UTF8') in state) > 0"
        ).format(table),
        (placeholder, text, placeholder),
    ).rowcount


@pytest.mark.postgres
def test_poison_events_are_stored_escaped_and_the_projector_goes_on(
    postgres_settings: Settings,
    postgres_server: Any,
    make_app: Any,
    make_views: Any,
    history: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="regledger.projector")
    app = make_app(postgres_settings, Registration)
    info = history.seed_history(app, students=4, subjects=3, chunk=4)
    pid = info["program_id"]
    poisoned = register(app, info, "poisoned", reason="POISON-REASON")
    app.add_subject(pid, "P1", "POISON-TITLE", ctx())
    with postgres_server.connect() as admin:
        assert poison(app, admin, "POISON-REASON", r"POISON\u0000REASON") == 1
        assert poison(app, admin, "POISON-TITLE", r"POISON\u0000TITLE") == 1
    register(app, info, "after-the-poison")
    head = app.recorder.max_notification_id()
    views = make_views(postgres_settings)
    with Projector.for_settings(postgres_settings, app, views=views, batch_size=10) as projector:
        projector.wait(head, timeout=30)
        assert projector.error is None
    # The text is kept, NUL replaced by U+FFFD, and the log names the events.
    student = app.get_student(pid, "poisoned").id
    (interval,) = views.history(student_id=student)
    assert interval.reason == "POISON\ufffdREASON"
    assert interval.position == poisoned
    assert [row[3] for row in views.dump()["subjects"] if row[2] == "P1"] == ["POISON\ufffdTITLE"]
    (warning,) = messages(caplog, "cannot store (NUL)")  # both events are in one batch
    assert f"position(s) {poisoned}, {poisoned + 1} " in warning
    # Catching up and rebuilding (batches written behind, pipelined) store the same rows.
    caught_up = make_views(postgres_settings, prefix="cu_")
    Projector(app, caught_up).catch_up()
    rebuilt = make_views(postgres_settings, prefix="rb_")
    Projector(app, rebuilt).rebuild()
    assert caught_up.dump() == rebuilt.dump() == views.dump()


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite", "memory"])
def test_a_rebuild_that_fails_half_way_leaves_the_views_as_they_were(
    store: str, request: pytest.FixtureRequest, make_app: Any, make_views: Any, history: Any
) -> None:
    settings: Settings = request.getfixturevalue(f"{store}_settings")
    app = make_app(settings, Registration)
    history.seed_history(app, students=12, subjects=4, chunk=4)
    head = app.recorder.max_notification_id()
    views = make_views(settings)
    Projector(app, views).catch_up()
    before = views.dump()
    assert views.position() == head

    def fail_half_way(position: int, head: int) -> None:
        if position > head // 2:
            if store == "postgres":  # its connections die
                with request.getfixturevalue("postgres_server").connect() as admin:
                    terminate_backends(admin)
            else:
                raise KeyboardInterrupt  # the operator gives up (or the process is killed)

    with pytest.raises((*TRANSIENT, KeyboardInterrupt)):
        Projector(app, views, batch_size=20).rebuild(fail_half_way)
    assert views.position() == head
    assert views.dump() == before
    # The next rebuild starts afresh (the half-built tables are dropped first) and completes.
    Projector(app, views, batch_size=20).rebuild()
    assert views.dump() == before
