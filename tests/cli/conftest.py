"""The CLI through typer's runner on a SQLite store named by REGLEDGER_* variables, and programs
to run it against (built through the application, so a query test does not depend on the
admin commands it is not about)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from typer.testing import CliRunner

from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from regledger.domain.ids import SectionId, SubjectId, TimeslotId, program_id
from tests.cli.helpers import admin, student


@pytest.fixture
def env(sqlite_settings):
    return {"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(sqlite_settings.sqlite_path), "COLUMNS": "200"}


@pytest.fixture
def run(env):
    """run(*args, code=0, columns=None) -> the result; asserts the exit code."""
    runner = CliRunner()

    def invoke(*args, code=0, columns=None):
        result = runner.invoke(cli, list(args), env={**env, **({"COLUMNS": str(columns)} if columns else {})})
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return invoke


@pytest.fixture
def position(sqlite_settings):
    """The log's head: unchanged after a refused or malformed command."""

    def head():
        services = build(sqlite_settings, follow=False)
        try:
            return services.app.position()
        finally:
            services.close()

    return head


@pytest.fixture
def small_program(sqlite_settings):
    """slug, {name: section id}: two one-seat sections of one class at different times."""
    services = build(sqlite_settings, follow=False)
    app = services.app
    try:
        app.create_program("splash", "Splash", admin(), school_year=2027)
        pid = program_id("splash")
        start = datetime(2026, 11, 21, 9, tzinfo=UTC)
        slots = [
            TimeslotId(
                UUID(
                    app.add_timeslot(
                        pid,
                        f"Sat {9 + i}:00",
                        start + timedelta(hours=i),
                        start + timedelta(hours=i, minutes=50),
                        admin(),
                    ).ids["timeslot_id"]
                )
            )
            for i in range(2)
        ]
        knots = SubjectId(UUID(app.add_subject(pid, "K1", "Knot Theory", admin(), class_size_max=1).ids["subject_id"]))
        sections = {
            name: SectionId(UUID(app.create_section(knots, [slots[i]], admin()).ids["section_id"]))
            for name, i in (("k9", 0), ("k10", 1))
        }
        for key in ("ada", "ben"):
            app.submit_profile(pid, key, key.title(), 2029, {}, student("splash", key))
        app.add_section(pid, "ada", sections["k9"], student("splash", "ada"))
        app.switch_sections(pid, "ada", sections["k9"], sections["k10"], student("splash", "ada"))
        app.add_section(pid, "ben", sections["k9"], student("splash", "ben"))
    finally:
        services.close()
    return "splash", sections


@pytest.fixture
def season(sqlite_settings):
    """A program in New York time with waitlists: K1 (one seat a section, K1s1 at 9:00, K1s2 at
    10:00), M101 (ten seats, M101s1 at 10:00), students ada, ben, cat with profiles.
    Returns the application's services (closed after the test)."""
    services = build(sqlite_settings, follow=False)
    app = services.app
    settings = {"timezone": "America/New_York", "waitlist_enabled": True}
    app.create_program("fall", "Splash Fall", admin(), grade_min=9, grade_max=12, school_year=2027, settings=settings)
    pid = program_id("fall")
    start = datetime(2026, 11, 21, 14, tzinfo=UTC)  # 9:00 in New York
    slots = [
        TimeslotId(
            UUID(
                app.add_timeslot(
                    pid, f"Sat {9 + i}:00", start + timedelta(hours=i), start + timedelta(hours=i, minutes=50), admin()
                ).ids["timeslot_id"]
            )
        )
        for i in range(2)
    ]
    knots = SubjectId(
        UUID(app.add_subject(pid, "K1", "Knot Theory", admin(), category="Math", class_size_max=1).ids["subject_id"])
    )
    algebra = SubjectId(UUID(app.add_subject(pid, "M101", "Algebra I", admin(), class_size_max=10).ids["subject_id"]))
    app.create_section(knots, [slots[0]], admin())
    app.create_section(knots, [slots[1]], admin())
    app.create_section(algebra, [slots[1]], admin())
    for key, name in (("ada", "Ada Lovelace"), ("ben", "Ben Franklin"), ("cat", "Cat Stevens")):
        app.submit_profile(pid, key, name, 2028, {}, student("fall", key))
    yield services
    services.close()
