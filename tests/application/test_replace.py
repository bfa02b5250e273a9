"""Replace on conflict (reference §10.2): drop the conflicting seats and add, all or nothing."""

from __future__ import annotations

import pytest

from regledger.domain.application import Registration
from tests.application.conftest import World, admin, as_student, build_world
from tests.application.test_commands import FULL, refused_without_writing


@pytest.fixture
def w(world: World) -> World:
    """math1 @0 and math2 @1 (capacity 2), art1 @0 (capacity 1); waitlists on."""
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    return world


def seated(w: World, key: str) -> set[str]:
    held = {ref.section_id for ref in w.get_student(key).holding("Enrolled")}
    return {name for name, sid in w.sections.items() if sid in held}


def test_a_conflicting_seat_is_replaced_in_one_command(w: World) -> None:
    w.add("alice", "art1")
    result = w.add("alice", "math1", replace=True)
    assert seated(w, "alice") == {"math1"}
    assert w.get_section("art1").enrolled == {}
    assert result.ids["replaced"] == str(w.sections["art1"])

    # One cause in the history: both sides, both events, one command id.
    def caused(aggregate_id: object) -> list[tuple[str, str]]:
        events = w.app.events.get(aggregate_id)  # type: ignore[arg-type]
        return [(type(e).__name__, getattr(e, "cause", "")) for e in events if e.command_id == result.command_id]

    assert caused(w.student_id("alice")) == [("RegistrationEnded", "replaced"), ("SectionRegistered", "replace")]
    assert caused(w.sections["art1"]) == [("StudentUnenrolled", "replaced")]
    assert caused(w.sections["math1"]) == [("StudentEnrolled", "replace")]


def test_without_replace_the_conflict_is_refused(w: World) -> None:
    w.add("alice", "art1")
    refused_without_writing(w, "timeslot_conflict", None, lambda: w.add("alice", "math1"))


def test_a_refused_add_keeps_the_old_seat(w: World) -> None:
    w.add("alice", "art1")
    w.add("bob", "math1")
    w.add("carol", "math1")  # math1 is full now
    refused_without_writing(w, "section_full", FULL, lambda: w.add("alice", "math1", replace=True))
    assert seated(w, "alice") == {"art1"}
    assert set(w.get_section("art1").enrolled) == {w.student_id("alice")}


def test_replace_without_a_conflict_is_a_plain_add(w: World) -> None:
    result = w.add("alice", "math2", replace=True)
    assert seated(w, "alice") == {"math2"}
    assert result.ids["replaced"] == ""


def test_another_section_of_the_same_class_is_replaced_too(w: World) -> None:
    w.add("alice", "math1")
    w.add("alice", "math2", replace=True)
    assert seated(w, "alice") == {"math2"}


def test_the_freed_seat_goes_to_the_waitlist(w: World) -> None:
    w.add("alice", "art1")
    w.waitlist("bob", "art1")
    result = w.add("alice", "math1", replace=True)
    assert seated(w, "bob") == {"art1"}
    assert w.get_section("art1").waitlist == []
    assert result.ids["promoted"] == "bob"


def test_replace_is_for_enrolled_only(w: World) -> None:
    refused_without_writing(w, "invalid_input", None, lambda: w.add("alice", "math1", verb="Applied", replace=True))


def test_a_repeated_replace_is_answered_from_the_record(w: World) -> None:
    w.add("alice", "art1")
    ctx = as_student("alice", command_id="swap-1")
    first = w.add("alice", "math1", ctx, replace=True)
    again = w.add("alice", "math1", ctx, replace=True)
    assert again.replayed
    assert again.position == first.position == w.position()
    assert seated(w, "alice") == {"math1"}


def test_a_constraint_the_replacement_would_break_refuses_all_of_it(app: Registration) -> None:
    """alice must hold a Lunch class at slot 0; replacing it by another class there refuses."""
    w = build_world(app)
    w.subject("lunch", "Lunch", category="Lunch", class_size_max=5)
    w.section("lunch0", "lunch", [0])
    w.subject("math", "Math", class_size_max=5)
    w.section("math0", "math", [0])
    w.app.add_constraint(
        w.program_id,
        "take lunch",
        {"op": "constant", "value": True},
        {"op": "category_in_timeslot", "category": "Lunch", "timeslot_id": str(w.timeslots[0])},
        admin(),
    )
    w.profile("alice")
    w.add("alice", "lunch0")
    message = (
        "You can't remove this class from your schedule because it would violate the requirement that you "
        "take lunch.  You can go back and correct this."
    )
    refused_without_writing(w, "removal_constraint_violated", message, lambda: w.add("alice", "math0", replace=True))
    assert seated(w, "alice") == {"lunch0"}
    assert w.get_section("math0").enrolled == {}
