"""Check-in and attendance on the day (reference §11): events of their own, read per day."""

from __future__ import annotations

from datetime import timedelta

from tests.application.conftest import DAY, World, admin
from tests.application.test_commands import refused_without_writing


def test_a_check_in_is_recorded_once_and_can_be_undone(world: World) -> None:
    w = world
    first = w.app.check_in(w.program_id, "alice", admin(reason="desk"))
    assert first.outcome == "CheckedIn"
    assert w.get_student("alice").checked_in
    again = w.app.check_in(w.program_id, "alice", admin())
    assert again.outcome == "Unchanged"
    assert again.position == first.position
    w.app.undo_check_in(w.program_id, "alice", admin(reason="wrong Alice"))
    assert not w.get_student("alice").checked_in
    refused_without_writing(w, "not_checked_in", None, lambda: w.app.undo_check_in(w.program_id, "alice", admin()))


def test_an_unknown_student_cannot_check_in(world: World) -> None:
    refused_without_writing(world, "not_found", None, lambda: world.app.check_in(world.program_id, "ghost", admin()))


def test_attendance_is_a_registration_read_per_day(world: World) -> None:
    w = world
    w.add("alice", "math1")
    w.clock.now = DAY + timedelta(minutes=5)
    w.app.record_attendance(w.program_id, "alice", w.sections["math1"], admin(reason="roll call"))
    again = w.app.record_attendance(w.program_id, "alice", w.sections["math1"], admin())
    assert again.outcome == "Unchanged"
    assert sorted(w.verbs("alice", "math1")) == ["Attended", "Enrolled"]
    w.app.cancel_section(w.sections["art1"], admin(reason="teacher ill"))
    refused_without_writing(
        w, "not_scheduled", None, lambda: w.app.record_attendance(w.program_id, "bob", w.sections["art1"], admin())
    )
