"""The demo's notification step: the season's outbox beside the demo database, counted by kind."""

from __future__ import annotations

from uuid import UUID

from rich.console import Console

from regledger.adapters.bootstrap import build_application
from regledger.adapters.demo_notify import notification_round
from regledger.adapters.notifier.store import SqliteOutbox, outbox_path
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from tests.notifier.helpers import admin


def test_the_demo_step_writes_one_message_per_seated_student(sqlite_settings):
    sqlite_settings.prepare()
    app = build_application(sqlite_settings)
    try:
        program = generate_program(7, students=30, sections=16, classes=12, timeslots=4, days=1)
        stored = store_synthetic_program(app, program, admin())
        run = app.start_lottery(stored.program_id, admin(), seed=2)
        app.commit_lottery(UUID(run.ids["run_id"]), admin())
        seated = sum(1 for s in program.students if app.get_student(stored.program_id, s.key).holding("Enrolled"))
        console = Console(record=True, width=200)
        assert notification_round(app, sqlite_settings.sqlite_path, console)
        assert notification_round(app, sqlite_settings.sqlite_path, console)  # again: a fresh outbox
    finally:
        app.close()
    text = console.export_text()
    assert f"5. notifications: {seated} messages from 1 commit in" in text
    assert f"({seated} students without an address" in text  # the synthetic students have none
    store = SqliteOutbox(outbox_path(sqlite_settings.sqlite_path))
    try:
        assert store.counts()["no_address"] == seated
    finally:
        store.close()
