"""Batch registration: a registrar seats a list of students in one section, per student."""

from __future__ import annotations

from tests.application.conftest import World, admin
from tests.application.test_commands import refused_without_writing


def batch(w: World, section: str, keys: list[str], **kwargs: object) -> dict[str, tuple[str, str]]:
    ctx = kwargs.pop("ctx", None) or admin(reason="onsite")
    result = w.app.batch_register(w.program_id, w.sections[section], keys, ctx, **kwargs)  # type: ignore[arg-type]
    return {o.student_key: (o.status, o.code) for o in result.outcomes}


def test_each_student_is_seated_skipped_or_refused_with_a_reason(world: World) -> None:
    w = world
    w.add("alice", "math1")  # already there: skipped
    w.add("bob", "art1")  # art1 meets at math1's time: conflict
    outcomes = batch(w, "math1", ["alice", "bob", "carol", "dave", "erin"])
    assert outcomes == {
        "alice": ("skipped", ""),
        "bob": ("conflict", "timeslot_conflict"),
        "carol": ("ok", ""),
        "dave": ("full", "section_full"),  # capacity 2: alice and carol
        "erin": ("full", "section_full"),
    }
    assert w.enrolled_keys("math1") == {"alice", "carol"}


def test_a_capacity_override_needs_a_reason_and_seats_everyone_who_fits(world: World) -> None:
    w = world
    refused_without_writing(
        w,
        "invalid_input",
        None,
        lambda: w.app.batch_register(w.program_id, w.sections["math1"], ["carol"], admin(), override_capacity=True),
    )
    outcomes = batch(w, "math1", ["alice", "bob", "carol", "dave"], override_capacity=True)
    assert {k for k, (status, _) in outcomes.items() if status == "ok"} == {"alice", "bob", "carol", "dave"}
    section = w.get_section("math1")
    assert (len(section.enrolled), section.capacity) == (4, 2)


def test_repeating_a_batch_with_its_id_repeats_nothing(world: World) -> None:
    w = world
    first = batch(w, "math1", ["alice", "bob"], ctx=admin(reason="onsite", command_id="batch-7"))
    head = w.position()
    again = batch(w, "math1", ["alice", "bob"], ctx=admin(reason="onsite", command_id="batch-7"))
    assert first == again == {"alice": ("ok", ""), "bob": ("ok", "")}
    assert w.position() == head


def test_the_seats_are_recorded_with_the_batch_cause(world: World) -> None:
    w = world
    batch(w, "math1", ["alice"], ctx=admin(reason="walk-in", command_id="b1"))
    (holding,) = w.get_student("alice").registrations.values()
    assert holding.cause == "batch"
    enrolled = [e for e in w.app.events.get(w.sections["math1"]) if type(e).__name__ == "StudentEnrolled"]
    assert [(e.cause, e.reason, e.command_id) for e in enrolled] == [("batch", "walk-in", "b1/alice")]


def test_an_unknown_section_or_a_bad_list_writes_nothing(world: World) -> None:
    w = world
    refused_without_writing(w, "invalid_input", None, lambda: batch(w, "math1", []))
    refused_without_writing(w, "invalid_input", None, lambda: batch(w, "math1", ["not a key"]))
