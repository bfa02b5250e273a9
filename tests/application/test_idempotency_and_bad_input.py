"""A repeated command id has one effect (in sequence and concurrently); bad input writes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.runner import CommandResult
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext
from tests.application.conftest import DAY, SCHOOL_YEAR, World, admin, as_student, build_world

Command = Callable[[World, CommandContext], CommandResult]


def _prepared(world: World) -> World:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("bob", "art1")
    world.add("carol", "math1")
    return world


# Each entry: (name, the command under a given context, expected outcome).
COMMANDS: list[tuple[str, Command, str]] = [
    (
        "create_program",
        lambda w, ctx: w.app.create_program("again", "Again", ctx, school_year=SCHOOL_YEAR),
        "Created",
    ),
    (
        "add_timeslot",
        lambda w, ctx: w.app.add_timeslot(
            w.program_id, "late", DAY + timedelta(hours=5), DAY + timedelta(hours=6), ctx
        ),
        "TimeslotAdded",
    ),
    (
        "change_settings",
        lambda w, ctx: w.app.change_settings(w.program_id, {"priority_limit": 4}, ctx),
        "SettingsChanged",
    ),
    ("set_window", lambda w, ctx: w.app.set_window(w.program_id, "removal", None, DAY, ctx), "WindowSet"),
    ("add_subject", lambda w, ctx: w.app.add_subject(w.program_id, "music", "Music", ctx), "Created"),
    ("create_section", lambda w, ctx: w.app.create_section(w.subjects["art"], [w.timeslots[2]], ctx), "SectionAdded"),
    (
        "change_capacity",
        lambda w, ctx: w.app.change_capacity(w.sections["math2"], ctx, max_class_capacity=5),
        "CapacityChanged",
    ),
    ("set_section_open", lambda w, ctx: w.app.set_section_open(w.sections["math2"], False, ctx), "RegistrationClosed"),
    ("cancel_section", lambda w, ctx: w.app.cancel_section(w.sections["math1"], ctx), "StudentUnenrolled"),
    (
        "add_constraint",
        lambda w, ctx: w.app.add_constraint(
            w.program_id, "c", {"op": "constant", "value": False}, {"op": "constant", "value": True}, ctx
        ),
        "ConstraintAdded",
    ),
    (
        "submit_profile",
        lambda w, ctx: w.app.submit_profile(w.program_id, "dave", "Dave", 2029, {}, ctx),
        "ProfileSubmitted",
    ),
    ("add_section", lambda w, ctx: w.add("alice", "math1", ctx), "SectionRegistered"),
    ("drop_section", lambda w, ctx: w.drop("carol", "math1", ctx), "RegistrationEnded"),
    ("switch_sections", lambda w, ctx: w.switch("carol", "math1", "math2", ctx), "SectionSwitched"),
    ("join_waitlist", lambda w, ctx: w.waitlist("alice", "art1", ctx), "SectionRegistered"),
    ("star", lambda w, ctx: w.star("alice", "math", ctx), "SubjectStarred"),
    ("rank_priorities", lambda w, ctx: w.rank("alice", 1, {1: "math"}, ctx), "PrioritiesRanked"),
    ("confirm_preferences", lambda w, ctx: w.app.confirm_preferences(w.program_id, "bob", ctx), "PreferencesConfirmed"),
]


@pytest.mark.parametrize(("name", "command", "outcome"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_the_same_command_id_twice_has_one_effect_and_the_same_outcome(
    world: World, name: str, command: Command, outcome: str
) -> None:
    _prepared(world)
    ctx = admin(command_id=f"once-{name}")
    first = command(world, ctx)
    assert (first.outcome, first.replayed) == (outcome, False)
    position = world.position()
    second = command(world, ctx)
    assert second.replayed is True
    assert second.outcome == first.outcome
    assert second.command_id == first.command_id
    assert second.ids.get("section_id") == first.ids.get("section_id")
    assert world.position() == position, "a repeated command wrote events"


def test_a_repeated_add_does_not_take_a_second_seat_even_after_a_drop(world: World) -> None:
    ctx = as_student("alice", command_id="add-1")
    world.add("alice", "art1", ctx)
    world.drop("alice", "art1")
    again = world.add("alice", "art1", ctx)
    assert again.replayed
    assert world.enrolled_keys("art1") == set()


def test_a_repeated_command_is_recognised_by_a_fresh_application_on_the_same_store(
    sqlite_settings: Settings, make_app: Any
) -> None:
    world = build_world(make_app(sqlite_settings, Registration))
    world.subject("math")
    world.section("math1", "math", [0])
    world.profile("alice")
    ctx = as_student("alice", command_id="durable")
    world.add("alice", "math1", ctx)
    restarted = make_app(sqlite_settings, Registration)
    position = restarted.recorder.max_notification_id()
    again = restarted.add_section(world.program_id, "alice", world.sections["math1"], ctx)
    assert again.replayed
    assert again.outcome == "SectionRegistered"
    assert restarted.recorder.max_notification_id() == position


def test_a_refused_command_can_be_retried_under_the_same_id(world: World) -> None:
    world.add("alice", "art1")
    ctx = as_student("bob", command_id="try-art")
    with pytest.raises(RegistrationError):
        world.add("bob", "art1", ctx)
    world.drop("alice", "art1")
    result = world.add("bob", "art1", ctx)
    assert not result.replayed
    assert world.enrolled_keys("art1") == {"bob"}


# --- concurrently -----------------------------------------------------------------------------

THREADS = 6


def run_concurrently(command: Callable[[], CommandResult]) -> list[CommandResult | RegistrationError]:
    barrier = threading.Barrier(THREADS)

    def run() -> CommandResult | RegistrationError:
        barrier.wait()
        try:
            return command()
        except RegistrationError as error:
            return error

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: run(), range(THREADS)))


def test_the_same_add_from_several_threads_takes_one_seat(world: World) -> None:
    ctx = as_student("alice", command_id="rush")
    results = run_concurrently(lambda: world.add("alice", "math1", ctx))
    assert all(isinstance(r, CommandResult) for r in results), results
    assert sorted(r.replayed for r in results if isinstance(r, CommandResult)) == [False] + [True] * (THREADS - 1)
    assert {r.outcome for r in results if isinstance(r, CommandResult)} == {"SectionRegistered"}
    assert world.enrolled_keys("math1") == {"alice"}
    student_events = list(world.app.events.get(world.student_id("alice")))
    assert [type(e).__name__ for e in student_events if e.command_id == "rush"] == ["SectionRegistered"]
    section_events = [e for e in world.app.events.get(world.sections["math1"]) if e.command_id == "rush"]
    assert [type(e) for e in section_events] == [Section.StudentEnrolled]


def test_the_same_section_creation_from_several_threads_creates_one_section(world: World) -> None:
    ctx = admin(command_id="new-section")
    results = run_concurrently(lambda: world.app.create_section(world.subjects["art"], [world.timeslots[2]], ctx))
    assert all(isinstance(r, CommandResult) for r in results), results
    assert len({r.ids["section_id"] for r in results if isinstance(r, CommandResult)}) == 1
    subject = world.app.load_subject(world.subjects["art"])
    assert len(subject.section_ids) == 2
    added = [e for e in world.app.events.get(world.subjects["art"]) if isinstance(e, Subject.SectionAdded)]
    assert len(added) == 2


def test_the_same_switch_from_several_threads_moves_one_seat(world: World) -> None:
    world.add("alice", "math1")
    ctx = as_student("alice", command_id="move")
    results = run_concurrently(lambda: world.switch("alice", "math1", "math2", ctx))
    assert all(isinstance(r, CommandResult) for r in results), results
    assert [r.replayed for r in results if isinstance(r, CommandResult)].count(False) == 1
    assert (world.enrolled_keys("math1"), world.enrolled_keys("math2")) == (set(), {"alice"})
    switched = [e for e in world.app.events.get(world.student_id("alice")) if isinstance(e, Student.SectionSwitched)]
    assert len(switched) == 1


def test_different_students_racing_for_the_last_seat_get_one_seat(world: World) -> None:
    for key in ("dave", "erin", "frank"):
        world.profile(key)
    keys = ["alice", "bob", "carol", "dave", "erin", "frank"]
    lock = threading.Lock()

    def next_key() -> str:
        with lock:
            return keys.pop()

    results = run_concurrently(lambda: world.add(next_key(), "art1"))
    accepted = [r for r in results if isinstance(r, CommandResult)]
    refused = [r for r in results if isinstance(r, RegistrationError)]
    assert len(accepted) == 1
    assert {r.code for r in refused} == {"section_full"}
    assert len(world.get_section("art1").enrolled) == 1


# --- bad input ----------------------------------------------------------------------------------

UNKNOWN = UUID(int=0xDEAD)

BAD_INPUT: list[tuple[str, Callable[[World], Any], str]] = [
    ("unknown section", lambda w: w.app.add_section(w.program_id, "alice", UNKNOWN, as_student("alice")), "not_found"),
    (
        "unknown program",
        lambda w: w.app.add_section(program_id("nope"), "alice", w.sections["math1"], as_student("alice")),
        "not_found",
    ),
    ("unknown subject", lambda w: w.app.create_section(UNKNOWN, [w.timeslots[0]], admin()), "not_found"),
    ("unknown timeslot", lambda w: w.app.create_section(w.subjects["math"], [UNKNOWN], admin()), "not_found"),
    ("section as subject", lambda w: w.app.create_section(w.sections["math1"], [w.timeslots[0]], admin()), "not_found"),
    ("unknown section to cancel", lambda w: w.app.cancel_section(UNKNOWN, admin()), "not_found"),
    (
        "unknown section to drop",
        lambda w: w.app.drop_section(w.program_id, "alice", UNKNOWN, as_student("alice")),
        "not_found",
    ),
    (
        "unknown switch target",
        lambda w: w.app.switch_sections(w.program_id, "alice", w.sections["math1"], UNKNOWN, as_student("alice")),
        "not_found",
    ),
    ("unknown subject to star", lambda w: w.app.star(w.program_id, "alice", UNKNOWN, as_student("alice")), "not_found"),
    (
        "unknown subject to rank",
        lambda w: w.app.rank_priorities(w.program_id, "alice", w.timeslots[0], {1: UNKNOWN}, as_student("alice")),
        "not_found",
    ),
    ("unknown settings program", lambda w: w.app.change_settings(program_id("nope"), {}, admin()), "not_found"),
    (
        "negative capacity",
        lambda w: w.app.create_section(w.subjects["math"], [w.timeslots[0]], admin(), max_class_capacity=-1),
        "invalid_input",
    ),
    ("negative room", lambda w: w.app.change_capacity(w.sections["math1"], admin(), room_capacity=-3), "invalid_input"),
    (
        "negative class size",
        lambda w: w.app.add_subject(w.program_id, "neg", "Neg", admin(), class_size_max=-1),
        "invalid_input",
    ),
    (
        "timeslot twice",
        lambda w: w.app.create_section(w.subjects["math"], [w.timeslots[0]] * 2, admin()),
        "invalid_input",
    ),
    ("rank 0", lambda w: w.rank("alice", 0, {0: "math"}), "invalid_input"),
    ("negative rank", lambda w: w.rank("alice", 0, {-1: "math"}), "invalid_input"),
    (
        "bad student key",
        lambda w: w.app.add_section(w.program_id, "alice smith", w.sections["math1"], as_student("alice")),
        "invalid_input",
    ),
    (
        "empty student key",
        lambda w: w.app.star(w.program_id, "", w.subjects["math"], as_student("alice")),
        "invalid_input",
    ),
    ("bad slug", lambda w: w.app.create_program("two words", "X", admin(), school_year=SCHOOL_YEAR), "invalid_input"),
    ("bad verb", lambda w: w.add("alice", "math1", verb=""), "invalid_input"),
    ("too long verb", lambda w: w.add("alice", "math1", verb="V" * 33), "invalid_input"),
    ("bad drop verb", lambda w: w.drop("alice", "math1", verbs=[" Enrolled"]), "invalid_input"),
    ("bad settings", lambda w: w.app.change_settings(w.program_id, {"priority_limit": 0}, admin()), "invalid_input"),
    ("unknown setting", lambda w: w.app.change_settings(w.program_id, {"colour": "red"}, admin()), "invalid_input"),
    ("bad window kind", lambda w: w.app.set_window(w.program_id, "forever", None, None, admin()), "invalid_input"),
    (
        "bad subject status",
        lambda w: w.app.change_subject_status(w.subjects["math"], "great", admin()),
        "invalid_input",
    ),
    ("empty actor", lambda w: w.add("alice", "math1", CommandContext(actor="")), "invalid_input"),
    (
        "override without reason",
        lambda w: w.add("alice", "math1", CommandContext(actor="admin", override=True)),
        "override_needs_reason",
    ),
]


@pytest.mark.parametrize(("case", "command", "code"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_a_clear_error_with_a_stable_code_and_writes_nothing(
    local_world: World, case: str, command: Callable[[World], Any], code: str
) -> None:
    before = local_world.position()
    with pytest.raises(RegistrationError) as info:
        command(local_world)
    assert info.value.code == code, repr(info.value)
    assert info.value.message.strip()
    assert local_world.position() == before


MALFORMED: list[tuple[str, Any, str]] = [
    ("not an object", "true", "(root): not an object"),
    ("missing op", {}, "(root): missing key 'op'"),
    ("unknown op", {"op": "xor"}, "op: unknown op 'xor'"),
    ("int as constant", {"op": "constant", "value": 1}, "value: not a boolean"),
    ("extra key", {"op": "constant", "value": True, "x": 1}, "(root): unexpected key 'x'"),
    ("items not a list", {"op": "all", "items": {}}, "items: not a list"),
    ("bad nested item", {"op": "any", "items": [{"op": "not"}]}, "items[0]: missing key 'item'"),
    ("bad uuid", {"op": "timeslot_occupied", "timeslot_id": "nope"}, "timeslot_id: not a UUID"),
    (
        "empty category",
        {"op": "category_in_timeslot", "category": "", "timeslot_id": str(UUID(int=1))},
        "category: must be a non-empty string",
    ),
]


@pytest.mark.parametrize(("case", "expression", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_constraint_expression_is_refused_with_its_path_and_writes_nothing(
    local_world: World, case: str, expression: Any, message: str
) -> None:
    before = local_world.position()
    with pytest.raises(RegistrationError) as info:
        local_world.app.add_constraint(
            local_world.program_id, "label", {"op": "constant", "value": True}, expression, admin()
        )
    assert info.value.code == "malformed_constraint"
    assert info.value.message == f"requirement.{message}".replace("requirement.(root)", "requirement")
    assert local_world.position() == before
    with pytest.raises(RegistrationError) as info:
        local_world.app.add_constraint(
            local_world.program_id, "label", expression, {"op": "constant", "value": True}, admin()
        )
    assert info.value.code == "malformed_constraint"
    assert local_world.position() == before


def test_a_constraint_without_a_label_is_malformed(world: World) -> None:
    before = world.position()
    with pytest.raises(RegistrationError) as info:
        world.app.add_constraint(
            world.program_id, " ", {"op": "constant", "value": True}, {"op": "constant", "value": True}, admin()
        )
    assert info.value.code == "malformed_constraint"
    assert world.position() == before
