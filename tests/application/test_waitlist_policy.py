"""The waitlist nobody can jump (docs/waitlists.md): every freed seat goes to the queue first."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from regledger.domain.capacity import CapacityInputs
from tests.application.conftest import World, admin
from tests.application.test_commands import FULL, refused_without_writing

AHEAD = "Students on this section's waitlist are ahead of you for its free seats; join the waitlist instead."


@pytest.fixture
def w(world: World) -> World:
    """art1 @0 has one seat, held by alice; math1 @0 and math2 @1 have two; waitlists on."""
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "art1")
    for key in ("dave", "erin"):
        world.profile(key)
    return world


def seated(w: World, key: str) -> set[str]:
    held = {ref.section_id for ref in w.get_student(key).holding("Enrolled")}
    return {name for name, sid in w.sections.items() if sid in held}


def passed_over(w: World, section: str) -> list[tuple[str, str]]:
    events = w.app.events.get(w.sections[section])
    keys = {w.student_id(k): k for k in w.known_students()}
    return [(keys[e.student_id], e.code) for e in events if type(e).__name__ == "WaitlistPassedOver"]


def raise_capacity(w: World, section: str, seats: int) -> Any:
    return w.app.change_capacity(w.sections[section], admin(), max_class_capacity=seats)


def test_a_capacity_raise_goes_to_the_queue_not_to_a_newcomer(w: World) -> None:
    """The issue's case: capacity 1, A enrolled, B waitlisted, capacity 2: B gets it, C is refused."""
    w.waitlist("bob", "art1")
    result = raise_capacity(w, "art1", 2)
    assert result.ids["promoted"] == "bob"
    assert seated(w, "bob") == {"art1"}
    assert w.get_section("art1").waitlist == []
    refused_without_writing(w, "section_full", FULL, lambda: w.add("carol", "art1"))


def test_a_head_who_cannot_fit_is_passed_over_and_keeps_their_place(w: World) -> None:
    w.add("bob", "math1")  # bob: slot 0 is taken, so art1 does not fit him
    w.waitlist("bob", "art1")
    w.waitlist("carol", "art1")
    raise_capacity(w, "art1", 2)
    assert seated(w, "carol") == {"art1"}
    assert w.get_section("art1").waitlist == [w.student_id("bob")]
    assert passed_over(w, "art1") == [("bob", "timeslot_conflict")]


def test_being_passed_over_is_recorded_once_per_reason(w: World) -> None:
    w.add("bob", "math1")
    w.waitlist("bob", "art1")
    raise_capacity(w, "art1", 2)
    raise_capacity(w, "art1", 3)
    assert passed_over(w, "art1") == [("bob", "timeslot_conflict")]


def test_a_passed_over_student_who_frees_the_slot_gets_the_seat_at_once(w: World) -> None:
    w.add("bob", "math1")
    w.waitlist("bob", "art1")
    raise_capacity(w, "art1", 2)
    result = w.drop("bob", "math1")
    assert result.ids["promoted"] == "bob"
    assert seated(w, "bob") == {"art1"}


def test_a_newcomer_may_take_a_seat_nobody_queued_can_take(w: World) -> None:
    w.add("bob", "math1")
    w.waitlist("bob", "art1")
    raise_capacity(w, "art1", 2)
    w.add("carol", "art1")
    assert seated(w, "carol") == {"art1"}


def test_a_drop_into_a_closed_section_waits_for_its_reopening(w: World) -> None:
    w.waitlist("bob", "art1")
    w.app.set_section_open(w.sections["art1"], False, admin())
    w.drop("alice", "art1")
    assert w.get_section("art1").waitlist == [w.student_id("bob")]
    result = w.app.set_section_open(w.sections["art1"], True, admin())
    assert result.ids["promoted"] == "bob"
    assert seated(w, "bob") == {"art1"}


def test_a_cancelled_section_frees_its_students_for_the_seats_they_queue_for(w: World) -> None:
    w.add("bob", "math1")
    w.waitlist("bob", "art1")
    raise_capacity(w, "art1", 2)  # bob passed over: math1 is in the way
    w.app.cancel_section(w.sections["math1"], admin(reason="teacher ill"))
    assert seated(w, "bob") == {"art1"}


def test_removing_the_constraint_that_kept_a_student_out_promotes_them(w: World) -> None:
    w.app.add_constraint(
        w.program_id,
        "no art",
        {"op": "constant", "value": True},
        {"op": "not", "item": {"op": "enrolled_in_class", "subject_id": str(w.subjects["art"])}},
        admin(),
    )
    w.drop("alice", "art1", admin(override=True, reason="moved"))  # alice held art1 before the rule
    # Nobody can take art1 under the rule; bob queues anyway through an override.
    w.app.change_capacity(w.sections["art1"], admin(), max_class_capacity=0)
    w.waitlist("bob", "art1")
    raise_capacity(w, "art1", 1)
    assert passed_over(w, "art1") == [("bob", "constraint_violated")]
    program = w.app.load_program(w.program_id)
    (constraint_id,) = program.constraints
    result = w.app.remove_constraint(w.program_id, constraint_id, admin())
    assert result.ids["promoted"] == "bob"
    assert seated(w, "bob") == {"art1"}


def test_a_class_size_raise_goes_to_the_queue(w: World) -> None:
    w.waitlist("bob", "art1")
    w.app.change_subject(w.subjects["art"], {"class_size_max": 2}, admin())
    assert seated(w, "bob") == {"art1"}


def test_nobody_takes_a_seat_queued_students_could_take(w: World) -> None:
    """A log from before this policy can hold free seats with an able queue: adds are refused
    `waitlist_ahead` (an override may), the queued students themselves may add."""
    w.waitlist("bob", "art1")
    w.waitlist("carol", "art1")
    section = w.app.load_section(w.sections["art1"])
    section.change_capacity(CapacityInputs(2, None), 2, {"actor": "v1", "command_id": "legacy", "reason": ""})
    w.app.save(section)  # as an earlier version wrote it: nobody promoted
    refused_without_writing(w, "waitlist_ahead", AHEAD, lambda: w.add("dave", "art1"))
    refused_without_writing(w, "waitlist_ahead", AHEAD, lambda: w.add("carol", "art1"))  # bob is ahead
    w.add("bob", "art1")
    w.add("erin", "art1", admin(override=True, reason="staff child"))
    assert seated(w, "bob") == seated(w, "erin") == {"art1"}


def _during_first_commit(w: World, other: Any) -> None:
    """Run `other` (a whole command, in another thread) just before the next command saves:
    the two have read the same states, as two requests racing on two connections."""
    original = w.app.commit
    pending = [other]

    def commit(*args: Any, **kwargs: Any) -> Any:
        if pending:
            racing = threading.Thread(target=pending.pop())
            racing.start()
            racing.join()
        return original(*args, **kwargs)

    w.app.commit = commit  # type: ignore[method-assign]


@pytest.mark.parametrize("saves_last", ["alice", "bob"])
def test_a_seat_freed_while_the_queued_student_frees_their_slot_reaches_them(w: World, saves_last: str) -> None:
    """Regression (the demo's waitlist check): alice drops art1 while bob, queued for it and
    blocked by math1, drops math1. Each read the other's state before it changed; the seat must
    still end up with bob, whichever saves last (on a stale view of the other's change)."""
    w.add("bob", "math1")
    w.waitlist("bob", "art1")
    drops = {"alice": lambda: w.drop("alice", "art1"), "bob": lambda: w.drop("bob", "math1")}
    first = "bob" if saves_last == "alice" else "alice"
    _during_first_commit(w, drops[first])
    drops[saves_last]()
    assert seated(w, "bob") == {"art1"}
    assert w.get_section("art1").waitlist == []


def _no_art_rule(w: World) -> None:
    """A rule nobody may take art under; bob queues for art1 (held by alice) regardless."""
    w.app.add_constraint(
        w.program_id,
        "no art",
        {"op": "constant", "value": True},
        {"op": "not", "item": {"op": "enrolled_in_class", "subject_id": str(w.subjects["art"])}},
        admin(),
    )
    w.waitlist("bob", "art1")


@pytest.mark.parametrize("saves_last", ["drop", "removal"])
def test_a_seat_freed_while_the_rule_keeping_the_queue_out_is_removed_reaches_it(w: World, saves_last: str) -> None:
    """Alice drops art1 while the registrar removes the rule that kept bob, queued for it, out:
    the drop offered the seat under the rule, the removal saw art1 full. Bob must get the seat."""
    _no_art_rule(w)
    program = w.app.load_program(w.program_id)
    (constraint_id,) = program.constraints
    steps = {
        "drop": lambda: w.drop("alice", "art1", admin(override=True, reason="moved")),
        "removal": lambda: w.app.remove_constraint(w.program_id, constraint_id, admin()),
    }
    _during_first_commit(w, steps["removal" if saves_last == "drop" else "drop"])
    steps[saves_last]()
    assert seated(w, "bob") == {"art1"}
    assert w.get_section("art1").waitlist == []


@pytest.mark.parametrize("saves_last", ["drop", "recategorise"])
def test_a_seat_freed_while_its_class_leaves_a_barred_category_reaches_the_queue(w: World, saves_last: str) -> None:
    """As above, with the rule kept and the class's category changed out of its reach."""
    w.app.change_subject(w.subjects["art"], {"category": "Art"}, admin())
    w.app.add_constraint(
        w.program_id,
        "no art at nine",
        {"op": "constant", "value": True},
        {"op": "not", "item": {"op": "category_in_timeslot", "category": "Art", "timeslot_id": str(w.timeslots[0])}},
        admin(),
    )
    w.waitlist("bob", "art1")
    steps = {
        "drop": lambda: w.drop("alice", "art1", admin(override=True, reason="moved")),
        "recategorise": lambda: w.app.change_subject(w.subjects["art"], {"category": "Music"}, admin()),
    }
    _during_first_commit(w, steps["recategorise" if saves_last == "drop" else "drop"])
    steps[saves_last]()
    assert seated(w, "bob") == {"art1"}
    assert w.get_section("art1").waitlist == []
