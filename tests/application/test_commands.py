"""Every command through the Registration application, on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.domain.application import Registration
from regledger.domain.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    RegistrationError,
)
from regledger.domain.ids import ConstraintId, constraint_id, program_id
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import CommandContext
from tests.application.conftest import DAY, GRADE_10, SCHOOL_YEAR, World, admin, as_student, build_world

FULL = "Class temporarily full; please check back later"
NOT_ACCEPTED = "This class is not accepted."
GRADE = "You are not in the requested grade range for this class."
PROGRAM_FULL = "This program cannot accept any more students!  Please try again in its next session."
ALREADY = "You are already signed up for a section of this class!"
CONFLICT_OTHERS = "This section conflicts with your schedule--check out the other sections!"
CONFLICT = "This class conflicts with your schedule!"
CLOSED = "Registration for this section is not currently open."
CANCELLED = "This section has been cancelled."
NOT_SCHEDULED = "This section is not scheduled yet, so it cannot take students."
PROFILE = "Please complete your profile first"


def refused(code: str, message: str | None = None) -> Any:
    """Expect a RegistrationError with this stable code (and exact message, if given)."""
    return _Refusal(code, message)


class _Refusal:
    def __init__(self, code: str, message: str | None) -> None:
        self.code = code
        self.message = message
        self._raises = pytest.raises(RegistrationError)

    def __enter__(self) -> Any:
        self.info = self._raises.__enter__()
        return self.info

    def __exit__(self, *exc: Any) -> bool:
        handled = self._raises.__exit__(*exc)
        error = self.info.value
        assert error.code == self.code, repr(error)
        if self.message is not None:
            assert error.message == self.message, repr(error)
        return bool(handled)


def refused_without_writing(world: World, code: str, message: str | None, command: Any) -> RegistrationError:
    before = world.position()
    with refused(code, message) as info:
        command()
    assert world.position() == before, "a refused command wrote events"
    error: RegistrationError = info.value
    return error


# --- admin: programs, timeslots, classes, sections --------------------------------------------


def test_creating_a_program_records_its_settings_and_the_builtin_verbs(app: Registration) -> None:
    result = app.create_program(
        "hssp", "HSSP", admin(), school_year=SCHOOL_YEAR, grade_min=9, settings={"priority_limit": 4}
    )
    assert result.outcome == "Created"
    assert result.position > 0
    program = app.load_program(program_id("hssp"))
    assert result.ids == {"program_id": str(program.id)}
    assert (program.title, program.grade_min, program.grade_max, program.settings.priority_limit) == (
        "HSSP",
        9,
        12,
        4,
    )
    verbs = app.get_map()
    assert {"Enrolled", "Waitlisted", "Interested", "Applied", "Priority/1", "Priority/4"} <= set(verbs)
    assert verbs["Priority/4"].display_name == "Priority 4"


def test_a_second_program_with_the_same_slug_is_refused(app: Registration) -> None:
    app.create_program("hssp", "HSSP", admin(), school_year=SCHOOL_YEAR)
    with refused("already_exists", "A program with this slug exists already"):
        app.create_program("hssp", "HSSP again", admin(), school_year=SCHOOL_YEAR)


def test_timeslots_subjects_and_sections_are_created_with_deterministic_ids(world: World) -> None:
    program = world.app.load_program(world.program_id)
    assert [program.timeslots[t].label for t in world.timeslots] == ["slot0", "slot1", "slot2"]
    math = world.app.load_subject(world.subjects["math"])
    assert (math.title, math.class_size_max, math.status) == ("Math", 2, "accepted")
    assert math.section_ids == [world.sections["math1"], world.sections["math2"]]
    section = world.get_section("math2")
    assert (section.timeslot_ids, section.capacity, section.index) == ((world.timeslots[1],), 2, 2)
    with refused("already_exists", "A class with this code exists already"):
        world.subject("math")
    with refused("invalid_input"):
        world.app.add_timeslot(world.program_id, "slot0", DAY, DAY + timedelta(hours=1), admin())


def test_a_section_takes_its_timeslots_in_time_order(world: World) -> None:
    world.section("double", "art", [2, 1])
    assert world.get_section("double").timeslot_ids == (world.timeslots[1], world.timeslots[2])


def test_section_capacity_applies_the_programs_multiplier_and_offset(app: Registration) -> None:
    world = build_world(app, settings={"class_cap_multiplier": "1.5", "class_cap_offset": 1})
    world.subject("big", class_size_max=7)
    world.section("big1", "big", [0])
    world.section("room", "big", [1], room_capacity=4)
    world.section("fixed", "big", [2], max_class_capacity=10)
    assert world.get_section("big1").capacity == 11  # int(7 * 1.5 + 1) = int(11.5)
    assert world.get_section("room").capacity == 7  # int(4 * 1.5 + 1)
    assert world.get_section("fixed").capacity == 16


def test_changing_capacity_recomputes_and_refuses_below_enrolled_without_override(world: World) -> None:
    world.add("alice", "math1")
    world.add("bob", "math1")
    section_id = world.sections["math1"]
    refused_without_writing(
        world,
        "capacity_below_enrolled",
        "2 students hold seats; capacity 1 would overfill the section.",
        lambda: world.app.change_capacity(section_id, admin(), max_class_capacity=1),
    )
    world.app.change_capacity(section_id, admin(), max_class_capacity=5)
    assert world.get_section("math1").capacity == 5
    world.app.change_capacity(section_id, admin(override=True, reason="smaller room"), max_class_capacity=1)
    assert world.get_section("math1").capacity == 1
    assert len(world.get_section("math1").enrolled) == 2


def test_rescheduling_an_unscheduled_section_makes_it_addable(world: World) -> None:
    world.section("later", "art", [])
    refused_without_writing(world, "not_scheduled", NOT_SCHEDULED, lambda: world.add("bob", "later"))
    world.app.schedule_section(world.sections["later"], [world.timeslots[2]], admin())
    world.add("bob", "later")
    assert world.enrolled_keys("later") == {"bob"}
    refused_without_writing(
        world,
        "seats_held",
        None,
        lambda: world.app.schedule_section(world.sections["later"], [world.timeslots[1]], admin()),
    )


def test_subject_status_changes_gate_adds(world: World) -> None:
    world.app.change_subject_status(world.subjects["art"], "rejected", admin())
    refused_without_writing(world, "class_not_accepted", NOT_ACCEPTED, lambda: world.add("alice", "art1"))
    world.app.change_subject_status(world.subjects["art"], "hidden", admin())
    world.add("alice", "art1")


# --- add: Enrolled and other verbs -----------------------------------------------------------


def test_adding_a_section_enrolls_on_both_the_student_and_the_section(world: World) -> None:
    result = world.add("alice", "math1")
    assert result.outcome == "SectionRegistered"
    assert result.ids["verb"] == "Enrolled"
    assert result.position == world.position()
    assert world.verbs("alice", "math1") == ["Enrolled"]
    assert world.get_section("math1").enrolled == {world.student_id("alice"): "fcfs"}
    assert world.app.complete_registration(world.program_id, "bob", world.sections["math1"], as_student("bob")).ids[
        "verb"
    ] == ("Enrolled")
    assert world.enrolled_keys("math1") == {"alice", "bob"}


@pytest.mark.parametrize(
    ("verb", "ctx"),
    [
        ("Interested", None),
        ("Applied", None),
        ("Onsite/Webapp", admin(override=True, reason="onsite sign-up")),
    ],
)
def test_other_verbs_are_recorded_on_the_student_only_and_created_on_first_use(
    world: World, verb: str, ctx: CommandContext | None
) -> None:
    result = world.add("alice", "art1", ctx, verb=verb)
    assert result.ids["verb"] == verb
    assert world.verbs("alice", "art1") == [verb]
    assert world.get_section("art1").enrolled == {}
    assert verb in world.app.get_map()
    world.add("bob", "art1")  # the seat is still free
    assert world.enrolled_keys("art1") == {"bob"}


def test_a_non_seat_verb_is_refused_on_a_closed_section_but_not_on_a_full_one(world: World) -> None:
    world.add("alice", "art1")
    world.add("bob", "art1", verb="Interested")
    world.app.set_section_open(world.sections["art1"], False, admin())
    refused_without_writing(world, "registration_closed", CLOSED, lambda: world.add("carol", "art1", verb="Applied"))


def test_a_malformed_verb_is_invalid_input(world: World) -> None:
    refused_without_writing(world, "invalid_input", None, lambda: world.add("alice", "art1", verb=" Enrolled"))


# --- the add checks, in order ------------------------------------------------------------------


def test_a_closed_classes_window_is_the_first_refusal(world: World) -> None:
    world.app.set_window(world.program_id, "classes", DAY, None, admin())
    world.app.change_settings(world.program_id, {"program_size_max": 1}, admin())
    world.add("bob", "math1", as_student("bob", override=True, reason="early bird"))
    # Before the window: even with the program full, no profile, the section full...
    error = refused_without_writing(world, "window_closed", None, lambda: world.add("nobody", "art1"))
    assert error.message == "The classes registration window is not open now."


def test_the_program_cap_is_checked_before_the_profile(world: World) -> None:
    world.app.change_settings(world.program_id, {"program_size_max": 1}, admin())
    world.add("alice", "math1")
    refused_without_writing(world, "program_full", PROGRAM_FULL, lambda: world.add("nobody", "math1"))


def test_the_profile_is_checked_before_any_section_check(world: World) -> None:
    world.add("alice", "art1")
    refused_without_writing(world, "profile_required", PROFILE, lambda: world.add("nobody", "art1"))
    world.app.change_settings(world.program_id, {"require_profile": False}, admin())
    # Without a profile the grade is unknown (0), as in the reference.
    refused_without_writing(world, "grade_out_of_range", GRADE, lambda: world.add("nobody", "math1"))


def test_a_full_section_is_refused_before_constraints_conflicts_and_status(world: World) -> None:
    world.add("alice", "art1")
    world.add("bob", "math1")  # bob: conflict with art1 (slot 0)
    world.app.add_constraint(world.program_id, "never", {"op": "constant", "value": True},
                             {"op": "constant", "value": False}, admin())  # fmt: skip
    world.app.set_section_open(world.sections["art1"], False, admin())
    refused_without_writing(world, "section_full", FULL, lambda: world.add("bob", "art1"))


def test_the_full_text_is_the_programs_setting(world: World) -> None:
    world.app.change_settings(world.program_id, {"temporarily_full_text": "No seats left."}, admin())
    world.add("alice", "art1")
    refused_without_writing(world, "section_full", "No seats left.", lambda: world.add("bob", "art1"))


def test_constraints_are_checked_before_conflicts_and_status(world: World) -> None:
    world.app.change_capacity(world.sections["art1"], admin(), max_class_capacity=5)
    world.add("bob", "math1")
    world.app.add_constraint(
        world.program_id,
        "eat lunch",
        {"op": "timeslot_occupied", "timeslot_id": str(world.timeslots[0])},
        {"op": "category_in_timeslot", "category": "Lunch", "timeslot_id": str(world.timeslots[1])},
        admin(),
    )
    world.app.set_section_open(world.sections["art1"], False, admin())
    message = "Adding <i>Art</i> to your schedule requires that you eat lunch.  You can go back and correct this."
    error = refused_without_writing(world, "constraint_violated", message, lambda: world.add("bob", "art1"))
    assert error.detail["label"] == "eat lunch"


def test_a_second_section_of_the_same_class_is_refused(world: World) -> None:
    world.add("alice", "math1")
    refused_without_writing(world, "already_in_class", ALREADY, lambda: world.add("alice", "math2"))


def test_a_timeslot_conflict_mentions_other_sections_only_when_the_class_has_them(world: World) -> None:
    world.add("alice", "art1")
    refused_without_writing(world, "timeslot_conflict", CONFLICT_OTHERS, lambda: world.add("alice", "math1"))
    world.subject("music")
    world.section("music1", "music", [0])
    world.add("bob", "math1")
    refused_without_writing(world, "timeslot_conflict", CONFLICT, lambda: world.add("bob", "music1"))


def test_a_cancelled_other_section_is_not_suggested(world: World) -> None:
    world.add("alice", "art1")
    world.app.cancel_section(world.sections["math2"], admin())
    refused_without_writing(world, "timeslot_conflict", CONFLICT, lambda: world.add("alice", "math1"))


def test_conflicts_are_checked_before_the_section_is_closed(world: World) -> None:
    world.add("alice", "art1")
    world.app.set_section_open(world.sections["math1"], False, admin())
    refused_without_writing(world, "timeslot_conflict", CONFLICT_OTHERS, lambda: world.add("alice", "math1"))
    refused_without_writing(world, "registration_closed", CLOSED, lambda: world.add("bob", "math1"))


def test_a_cancelled_section_is_refused(world: World) -> None:
    world.app.cancel_section(world.sections["math1"], admin())
    refused_without_writing(world, "section_cancelled", CANCELLED, lambda: world.add("alice", "math1"))


def test_subject_checks_come_after_the_section_checks(world: World) -> None:
    world.add("alice", "art1")
    world.app.change_subject_status(world.subjects["art"], "unreviewed", admin())
    refused_without_writing(world, "section_full", FULL, lambda: world.add("bob", "art1"))
    world.app.change_capacity(world.sections["art1"], admin(), max_class_capacity=5)
    refused_without_writing(world, "class_not_accepted", NOT_ACCEPTED, lambda: world.add("bob", "art1"))


def test_a_student_outside_the_grade_range_is_refused_last(world: World) -> None:
    world.subject("senior", grade_min=11, grade_max=12)
    world.section("senior1", "senior", [2])
    refused_without_writing(world, "grade_out_of_range", GRADE, lambda: world.add("alice", "senior1"))
    world.profile("dave", graduation_year=SCHOOL_YEAR + 1)  # grade 11
    world.add("dave", "senior1")
    world.subject("juniors", grade_min=7, grade_max=9, status="rejected")
    world.section("juniors1", "juniors", [2])
    refused_without_writing(world, "class_not_accepted", NOT_ACCEPTED, lambda: world.add("alice", "juniors1"))


def test_the_same_section_twice_is_already_in_class(world: World) -> None:
    world.add("alice", "math1")
    refused_without_writing(world, "already_in_class", ALREADY, lambda: world.add("alice", "math1"))


def test_unknown_ids_are_not_found(world: World) -> None:
    other = UUID(int=42)
    refused_without_writing(
        world, "not_found", None, lambda: world.app.add_section(world.program_id, "alice", other, as_student("alice"))
    )
    refused_without_writing(
        world,
        "not_found",
        None,
        lambda: world.app.add_section(program_id("nope"), "alice", world.sections["math1"], as_student("alice")),
    )


def test_a_section_of_another_program_is_not_found(world: World) -> None:
    other = build_world(world.app, slug="other")
    refused_without_writing(
        world,
        "not_found",
        "No such section in this program",
        lambda: world.app.add_section(other.program_id, "alice", world.sections["math1"], as_student("alice")),
    )


# --- drop, switch, waitlist -----------------------------------------------------------------------


def test_dropping_a_class_frees_the_seat(world: World) -> None:
    world.add("alice", "art1")
    result = world.drop("alice", "art1")
    assert result.outcome == "RegistrationEnded"
    assert result.ids["ended"] == "Enrolled"
    assert world.verbs("alice", "art1") == []
    assert world.get_section("art1").enrolled == {}
    world.add("bob", "art1")


def test_dropping_a_class_keeps_lottery_priorities(world: World) -> None:
    world.rank("alice", 0, {1: "math"})
    world.add("alice", "math1")
    assert world.verbs("alice", "math1") == ["Enrolled", "Priority/1"]
    world.drop("alice", "math1")
    assert world.verbs("alice", "math1") == ["Priority/1"]
    refused_without_writing(
        world, "not_registered", "You are not registered for this section.", lambda: world.drop("alice", "math1")
    )


def test_dropping_all_verbs_ends_preferences_too(world: World) -> None:
    world.rank("alice", 0, {1: "math"})
    world.add("alice", "math1", verb="Applied")
    world.drop("alice", "math1", verbs=["All"])
    assert world.verbs("alice", "math1") == []


def test_switching_moves_the_seat_atomically(world: World) -> None:
    world.add("alice", "math1")
    result = world.switch("alice", "math1", "math2")
    assert result.outcome == "SectionSwitched"
    assert world.enrolled_keys("math1") == set()
    assert world.enrolled_keys("math2") == {"alice"}
    assert world.verbs("alice", "math2") == ["Enrolled"]
    assert world.verbs("alice", "math1") == []


def test_switching_to_another_class_is_refused(world: World) -> None:
    world.add("alice", "math1")
    refused_without_writing(
        world, "different_class", "Sections must be from the same class", lambda: world.switch("alice", "math1", "art1")
    )


def test_switching_from_a_section_not_held_is_refused(world: World) -> None:
    refused_without_writing(world, "not_enrolled", None, lambda: world.switch("alice", "math1", "math2"))


def test_a_switch_is_checked_as_if_the_old_seat_were_given_up(world: World) -> None:
    world.section("math3", "math", [0, 1])  # overlaps both math1 and math2
    world.add("alice", "math1")
    world.switch("alice", "math1", "math3")  # would conflict with math1 if it were still held
    assert world.enrolled_keys("math3") == {"alice"}


def test_a_refused_switch_keeps_the_old_seat(world: World) -> None:
    world.add("alice", "math1")
    world.add("bob", "math2")
    world.add("carol", "math2")
    refused_without_writing(world, "section_full", FULL, lambda: world.switch("alice", "math1", "math2"))
    assert world.enrolled_keys("math1") == {"alice"}
    assert world.verbs("alice", "math1") == ["Enrolled"]


def test_a_switch_into_a_timeslot_conflict_is_refused(world: World) -> None:
    world.add("alice", "math1")
    world.subject("music")
    world.section("music1", "music", [1])
    world.add("alice", "music1")
    refused_without_writing(world, "timeslot_conflict", None, lambda: world.switch("alice", "math1", "math2"))


def test_the_waitlist_needs_the_program_setting(world: World) -> None:
    refused_without_writing(
        world, "waitlist_disabled", "This program has no waitlists.", lambda: world.waitlist("bob", "art1")
    )


def test_a_drop_promotes_the_first_waitlisted_student(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "art1")
    assert world.waitlist("bob", "art1").ids["place"] == "1"
    assert world.add("carol", "art1", verb="Waitlisted").ids["place"] == "2"
    assert world.get_section("art1").waitlist == [world.student_id("bob"), world.student_id("carol")]
    result = world.drop("alice", "art1")
    assert result.ids["promoted"] == "bob"
    assert world.enrolled_keys("art1") == {"bob"}
    assert world.get_section("art1").waitlist == [world.student_id("carol")]
    assert world.verbs("bob", "art1") == ["Enrolled"]
    assert world.get_student("bob").registrations[(world.sections["art1"], "Enrolled")].cause == "waitlist"


def test_promotion_skips_a_waitlisted_student_whose_schedule_now_conflicts(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "art1")
    world.waitlist("bob", "art1")
    world.waitlist("carol", "art1")
    world.add("bob", "math1")  # bob now holds slot 0
    world.drop("alice", "art1")
    assert world.enrolled_keys("art1") == {"carol"}
    assert world.get_section("art1").waitlist == [world.student_id("bob")]


def test_leaving_the_waitlist_is_a_drop_of_the_waitlisted_verb(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "art1")
    world.waitlist("bob", "art1")
    refused_without_writing(
        world,
        "already_waitlisted",
        "You are already on this section's waitlist.",
        lambda: world.waitlist("bob", "art1"),
    )
    world.drop("bob", "art1", verbs=["Waitlisted"])
    assert world.get_section("art1").waitlist == []
    assert world.verbs("bob", "art1") == []


def test_dropping_a_closed_section_with_a_waitlist_is_allowed(world: World) -> None:
    # Found by these tests: promotion used to try to enrol into the closed section and refuse the drop.
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "art1")
    world.waitlist("bob", "art1")
    world.app.set_section_open(world.sections["art1"], False, admin())
    world.drop("alice", "art1")
    assert world.enrolled_keys("art1") == set()
    assert world.get_section("art1").waitlist == [world.student_id("bob")]


def test_enrolling_from_the_waitlist_directly_ends_the_waitlisted_registration(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    section = world.sections["art1"]
    world.app.change_capacity(section, admin(), max_class_capacity=0)
    world.waitlist("alice", "art1")
    world.add("alice", "art1", admin(override=True, reason="the teacher asked for her"))
    assert world.get_section("art1").waitlist == []
    assert world.verbs("alice", "art1") == ["Enrolled"]


def test_joining_the_waitlist_of_a_section_with_free_seats_is_refused(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    refused_without_writing(
        world,
        "seats_available",
        "This section has free seats: add it instead.",
        lambda: world.waitlist("alice", "art1"),
    )


# --- stars, priorities, confirmation ------------------------------------------------------------


def test_starring_and_unstarring_a_class(world: World) -> None:
    assert world.star("alice", "math").outcome == "SubjectStarred"
    assert world.get_student("alice").stars == {world.subjects["math"]}
    result = world.app.unstar(world.program_id, "alice", world.subjects["math"], as_student("alice"))
    assert result.outcome == "SubjectUnstarred"
    assert world.get_student("alice").stars == set()
    refused_without_writing(
        world,
        "not_starred",
        "This class is not starred.",
        lambda: world.app.unstar(world.program_id, "alice", world.subjects["math"], as_student("alice")),
    )


def test_an_unreviewed_class_may_be_starred_but_not_a_rejected_one(world: World) -> None:
    world.subject("new", status="unreviewed")
    world.subject("bad", status="rejected")
    world.star("alice", "new")
    refused_without_writing(
        world, "class_not_accepted", "This class cannot be starred.", lambda: world.star("alice", "bad")
    )


def test_starring_checks_the_grade_range(world: World) -> None:
    world.subject("senior", grade_min=11, grade_max=12)
    refused_without_writing(world, "grade_out_of_range", GRADE, lambda: world.star("alice", "senior"))


def test_stars_need_the_lottery_window(world: World) -> None:
    world.app.set_window(world.program_id, "lottery", DAY, DAY + timedelta(days=1), admin())
    refused_without_writing(world, "window_closed", None, lambda: world.star("alice", "math"))
    world.clock.now = DAY
    world.star("alice", "math")


def test_ranking_records_priority_verbs_per_timeslot(world: World) -> None:
    world.subject("music")
    world.section("music1", "music", [0])
    result = world.rank("alice", 0, {1: "math", 2: None, 3: "music"})
    assert result.outcome == "PrioritiesRanked"
    assert world.verbs("alice", "math1") == ["Priority/1"]
    assert world.verbs("alice", "music1") == ["Priority/3"]
    world.rank("alice", 0, {1: "music"})
    assert world.verbs("alice", "math1") == []
    assert world.verbs("alice", "music1") == ["Priority/1"]
    assert world.get_section("music1").enrolled == {}


@pytest.mark.parametrize(
    ("ranking", "code", "message"),
    [
        ({0: "math"}, "invalid_input", "Ranks start at 1"),
        ({4: "math"}, "priority_limit", "You are only allowed to select up to 3 top classes"),
        ({1: "math", 2: "math"}, "duplicate_ranking", "A class can be ranked only once per timeslot."),
        ({1: "art"}, "not_in_timeslot", "This class has no single section starting in that timeslot."),
        ({1: "rejected"}, "class_not_accepted", NOT_ACCEPTED),
        ({1: "senior"}, "grade_out_of_range", GRADE),
    ],
)
def test_a_bad_ranking_is_refused_never_skipped(world: World, ranking: dict[int, str], code: str, message: str) -> None:
    world.subject("rejected", status="rejected")
    world.section("rejected1", "rejected", [1])
    world.subject("senior", grade_min=11, grade_max=12)
    world.section("senior1", "senior", [1])
    world.rank("alice", 1, {1: "math"})
    student_before = world.get_student("alice").registrations
    refused_without_writing(world, code, message, lambda: world.rank("alice", 1, ranking))
    assert world.get_student("alice").registrations == student_before


def test_ranking_a_closed_section_is_refused(world: World) -> None:
    world.app.set_section_open(world.sections["math2"], False, admin())
    refused_without_writing(world, "registration_closed", CLOSED, lambda: world.rank("alice", 1, {1: "math"}))


def test_ranking_an_unknown_timeslot_is_not_found(world: World) -> None:
    refused_without_writing(
        world,
        "not_found",
        None,
        lambda: world.app.rank_priorities(world.program_id, "alice", UUID(int=7), {1: None}, as_student("alice")),
    )


def test_confirming_needs_the_minimum_number_of_stars(world: World) -> None:
    world.app.change_settings(world.program_id, {"min_stars": 2}, admin())
    world.star("alice", "math")
    confirm = lambda: world.app.confirm_preferences(world.program_id, "alice", as_student("alice"))  # noqa: E731
    refused_without_writing(world, "too_few_stars", "You must star at least 2 classes", confirm)
    world.star("alice", "art")
    assert confirm().outcome == "PreferencesConfirmed"
    assert world.get_student("alice").confirmed


# --- program cap --------------------------------------------------------------------------------


def test_the_program_cap_counts_a_first_registration_or_star_and_records_admission(world: World) -> None:
    world.app.change_settings(world.program_id, {"program_size_max": 2}, admin())
    world.star("alice", "math")
    world.add("bob", "art1", verb="Interested")
    program = world.app.load_program(world.program_id)
    assert program.admitted == {world.student_id("alice"), world.student_id("bob")}
    refused_without_writing(world, "program_full", PROGRAM_FULL, lambda: world.star("carol", "math"))
    refused_without_writing(world, "program_full", PROGRAM_FULL, lambda: world.add("carol", "math1"))
    # admitted students keep registering
    world.add("alice", "math1")
    world.add("bob", "math2")
    assert len(world.app.load_program(world.program_id).admitted) == 2


def test_admission_is_saved_with_the_first_registration(world: World) -> None:
    world.app.change_settings(world.program_id, {"program_size_max": 5}, admin())
    position = world.position()
    world.add("alice", "math1")
    events = list(world.app.events.get(world.program_id, gt=0))
    admitted = [e for e in events if isinstance(e, Program.StudentAdmitted)]
    assert [e.student_id for e in admitted] == [world.student_id("alice")]
    assert world.position() == position + 3  # student, section and program in one save
    world.drop("alice", "math1")
    assert world.student_id("alice") in world.app.load_program(world.program_id).admitted


def test_an_uncapped_program_does_not_write_admissions(world: World) -> None:
    world.add("alice", "math1")
    assert world.app.load_program(world.program_id).admitted == set()


# --- priority mode --------------------------------------------------------------------------------


def test_in_priority_mode_adds_become_priorities_without_taking_seats(app: Registration) -> None:
    world = build_world(app, settings={"use_priority": True, "priority_limit": 2})
    for code in ("a", "b", "c"):
        world.subject(code, class_size_max=1)
        world.section(f"{code}1", code, [0])
    world.profile("alice")
    assert world.add("alice", "a1").ids["verb"] == "Priority/1"
    assert world.add("alice", "b1").ids["verb"] == "Priority/2"
    refused_without_writing(
        world, "priority_limit", "You are only allowed to select up to 2 top classes", lambda: world.add("alice", "c1")
    )
    assert world.get_section("a1").enrolled == {}
    world.profile("bob")
    assert world.add("bob", "a1").ids["verb"] == "Priority/1"  # no seat was taken by alice


def test_priority_levels_are_per_timeslot_and_a_dropped_level_is_reused(app: Registration) -> None:
    world = build_world(app, settings={"use_priority": True, "priority_limit": 2})
    world.subject("a")
    world.section("a1", "a", [0])
    world.section("a2", "a", [1])
    world.subject("b")
    world.section("b1", "b", [0])
    world.profile("alice")
    world.add("alice", "a1")
    assert world.add("alice", "b1").ids["verb"] == "Priority/2"
    world.drop("alice", "a1", verbs=["Priority/1"])
    world.subject("c")
    world.section("c1", "c", [0])
    assert world.add("alice", "c1").ids["verb"] == "Priority/1"
    assert world.add("alice", "a2").ids["verb"] == "Priority/1"


# --- overrides -------------------------------------------------------------------------------------


def test_an_override_with_a_reason_fills_beyond_capacity_and_is_recorded(world: World) -> None:
    world.add("alice", "art1")
    world.add("bob", "art1", as_student("admin", override=True, reason="teacher's niece"))
    assert world.enrolled_keys("art1") == {"alice", "bob"}
    enrolled = [e for e in world.app.events.get(world.sections["art1"]) if isinstance(e, Section.StudentEnrolled)]
    assert [(e.override, e.reason, e.cause) for e in enrolled] == [
        (False, "", "fcfs"),
        (True, "teacher's niece", "override"),
    ]


def test_an_override_skips_windows_grade_and_program_cap(world: World) -> None:
    world.app.change_settings(world.program_id, {"program_size_max": 1}, admin())
    world.app.set_window(world.program_id, "classes", DAY, DAY, admin())
    world.subject("senior", grade_min=11, grade_max=12)
    world.section("senior1", "senior", [2])
    world.add("alice", "math1", admin(override=True, reason="staff"))
    world.add("bob", "senior1", admin(override=True, reason="staff"))
    assert world.enrolled_keys("senior1") == {"bob"}


def test_an_override_does_not_skip_conflicts(world: World) -> None:
    world.add("alice", "art1")
    refused_without_writing(
        world, "timeslot_conflict", None, lambda: world.add("alice", "math1", admin(override=True, reason="staff"))
    )


def test_an_override_without_a_reason_is_refused_before_anything_runs() -> None:
    with refused("override_needs_reason", "An override needs a reason"):
        admin(override=True)


# --- schedule constraints -------------------------------------------------------------------------


def lunch_world(app: Registration) -> World:
    """slot0 9:00, slot1 10:00 (lunch), slot2 11:00; a lunch class with one section at slot1."""
    world = build_world(app)
    world.subject("morning")
    world.section("morning1", "morning", [0])
    world.subject("afternoon")
    world.section("afternoon1", "afternoon", [2])
    world.subject("lunch", "Lunch Period", category="Lunch", is_lunch=True)
    world.section("lunch1", "lunch", [1])
    world.profile("alice")
    world.app.add_lunch_constraints(world.program_id, [world.timeslots[1]], "Lunch", admin())
    return world


LUNCH_LABEL = "choose a lunch period on Saturday"


def test_lunch_constraints_refuse_a_schedule_without_lunch_with_the_label(app: Registration) -> None:
    world = lunch_world(app)
    program = world.app.load_program(world.program_id)
    assert [c.label for c in program.constraints.values()] == [LUNCH_LABEL]
    world.add("alice", "morning1")
    message = (
        f"Adding <i>Afternoon</i> to your schedule requires that you {LUNCH_LABEL}.  You can go back and correct this."
    )
    refused_without_writing(world, "constraint_violated", message, lambda: world.add("alice", "afternoon1"))
    world.add("alice", "lunch1")
    world.add("alice", "afternoon1")


def test_dropping_lunch_that_a_constraint_needs_is_refused(app: Registration) -> None:
    world = lunch_world(app)
    world.add("alice", "morning1")
    world.add("alice", "lunch1")
    world.add("alice", "afternoon1")
    message = (
        "You can't remove this class from your schedule because it would violate the requirement that you "
        f"{LUNCH_LABEL}.  You can go back and correct this."
    )
    refused_without_writing(world, "removal_constraint_violated", message, lambda: world.drop("alice", "lunch1"))
    world.drop("alice", "afternoon1")
    world.drop("alice", "lunch1")


def test_a_switch_is_checked_against_constraints(app: Registration) -> None:
    world = lunch_world(app)
    world.section("lunch2", "lunch", [2])  # a later "lunch" section that displaces the afternoon
    world.section("morning2", "morning", [2])
    world.add("alice", "lunch1")
    world.add("alice", "morning1")
    world.subject("late")
    world.section("late1", "late", [2])
    world.add("alice", "late1")
    refused_without_writing(world, "constraint_violated", None, lambda: world.switch("alice", "lunch1", "lunch2"))


def test_removing_a_constraint_lifts_it(app: Registration) -> None:
    world = lunch_world(app)
    world.add("alice", "morning1")
    cid = ConstraintId(constraint_id(world.program_id, LUNCH_LABEL))
    world.app.remove_constraint(world.program_id, cid, admin())
    world.add("alice", "afternoon1")
    refused_without_writing(
        world, "not_found", None, lambda: world.app.remove_constraint(world.program_id, cid, admin())
    )


def test_a_constraint_naming_an_id_outside_the_program_is_refused(world: World) -> None:
    refused_without_writing(
        world,
        "invalid_input",
        "The constraint names an id outside this program",
        lambda: world.app.add_constraint(
            world.program_id,
            "x",
            {"op": "constant", "value": True},
            {"op": "enrolled_in_class", "subject_id": str(UUID(int=5))},
            admin(),
        ),
    )


# --- cancellation ----------------------------------------------------------------------------------


def test_cancelling_a_section_releases_seats_with_events_on_student_and_section(world: World) -> None:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    world.add("alice", "math1")
    world.add("bob", "math1")
    world.waitlist("carol", "math1")
    world.add("carol", "math1", verb="Interested")
    result = world.app.cancel_section(world.sections["math1"], admin(command_id="cancel-math1"))
    assert result.ids == {"released": "3", "promoted": ""}
    section = world.get_section("math1")
    assert (section.is_cancelled, section.enrolled, section.waitlist) == (True, {}, [])
    for key in ("alice", "bob", "carol"):
        ended = [
            e
            for e in world.app.events.get(world.student_id(key))
            if isinstance(e, Student.RegistrationEnded) and e.command_id == "cancel-math1"
        ]
        assert ended
        assert all(e.cause == "cancelled" for e in ended)
    assert world.verbs("alice", "math1") == []
    assert world.verbs("carol", "math1") == ["Interested"]
    world.add("alice", "math2")  # the class is free again
    refused_without_writing(
        world, "section_cancelled", CANCELLED, lambda: world.app.cancel_section(world.sections["math1"], admin())
    )


# --- windows and the injected clock ----------------------------------------------------------------


def test_windows_follow_the_injected_clock_with_inclusive_bounds(world: World) -> None:
    opens, closes = DAY - timedelta(days=3), DAY - timedelta(days=1)
    world.app.set_window(world.program_id, "classes", opens, closes, admin())
    world.clock.now = opens - timedelta(microseconds=1)
    refused_without_writing(world, "window_closed", None, lambda: world.add("alice", "math1"))
    world.clock.now = opens
    world.add("alice", "math1")
    world.clock.now = closes
    world.add("bob", "math1")
    world.clock.now = closes + timedelta(seconds=1)
    refused_without_writing(world, "window_closed", None, lambda: world.add("carol", "math2"))
    refused_without_writing(world, "window_closed", None, lambda: world.switch("alice", "math1", "math2"))


def test_drops_are_allowed_in_the_removal_window_after_classes_close(world: World) -> None:
    world.add("alice", "math1")
    world.add("bob", "math1")
    world.app.set_window(world.program_id, "classes", None, DAY - timedelta(days=2), admin())
    world.app.set_window(world.program_id, "removal", DAY - timedelta(days=1), DAY, admin())
    world.clock.now = DAY - timedelta(days=1, hours=12)
    refused_without_writing(world, "window_closed", None, lambda: world.drop("alice", "math1"))
    world.clock.now = DAY
    world.drop("alice", "math1")
    world.clock.now = DAY + timedelta(seconds=1)
    refused_without_writing(world, "window_closed", None, lambda: world.drop("bob", "math1"))
    world.drop("bob", "math1", admin(override=True, reason="sick"))


# --- profile and reads --------------------------------------------------------------------------


def test_a_profile_sets_the_grade_used_by_checks(world: World) -> None:
    world.subject("calc", "Calculus", grade_min=9)
    world.section("calc1", "calc", [2])
    world.profile("dave", graduation_year=GRADE_10 + 2)  # grade 8: in the program, not the class
    refused_without_writing(world, "grade_out_of_range", GRADE, lambda: world.add("dave", "calc1"))
    world.profile("dave", graduation_year=GRADE_10)
    world.add("dave", "calc1")
    assert world.get_student("dave").profile is not None


def test_a_bad_profile_is_invalid_input(world: World) -> None:
    refused_without_writing(
        world,
        "invalid_input",
        None,
        lambda: world.app.submit_profile(world.program_id, "dave", "", 2029, {}, as_student("dave")),
    )


def test_get_cached_creates_a_verb_on_first_use(world: World) -> None:
    verb = world.app.get_cached("OnSite/ChangedClasses")
    assert verb.name == "OnSite/ChangedClasses"
    assert "OnSite/ChangedClasses" in world.app.get_map()
    with pytest.raises(InvalidInputError):
        world.app.get_map(["Enrolled"], category=None)


def test_reading_an_unknown_student_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.get_student("nobody")


def test_every_result_reports_the_position_of_its_last_event(world: World) -> None:
    results = [world.add("alice", "math1"), world.star("bob", "math"), world.drop("alice", "math1")]
    for result in results:
        assert result.position > 0
    assert [r.position for r in results] == sorted(r.position for r in results)
    assert results[-1].position == world.position()


def test_already_exists_is_a_registration_error() -> None:
    assert issubclass(AlreadyExistsError, RegistrationError)
    assert re.fullmatch(r"[a-z_]+", AlreadyExistsError.code)


def test_ranking_at_a_raised_limit_creates_the_priority_verb(world: World) -> None:
    world.app.change_settings(world.program_id, {"priority_limit": 5}, admin())
    world.rank("alice", 0, {5: "math"})
    assert world.verbs("alice", "math1") == ["Priority/5"]
    assert "Priority/5" in world.app.get_map()
