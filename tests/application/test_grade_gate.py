"""The program's grade range gates every student registration (reference §3.1, §7.2:
`needs_student_in_grade`), before the window, the cap and the profile; admins may override."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from regledger.domain.application import Registration
from tests.application.conftest import GRADE_10, World, admin, as_student, build_world
from tests.application.test_commands import refused_without_writing

GATE = "This program is only open to students in grades 9 to 12."
GRADE_7 = GRADE_10 + 3


@pytest.fixture
def nine_to_twelve(app: Registration) -> World:
    """A grades 9-12 program whose classes admit grades 7-12; dana is in grade 7, tom in 10."""
    world = build_world(app, grades=(9, 12), settings={"waitlist_enabled": True})
    world.subject("math", "Math", class_size_max=1)
    world.section("math1", "math", [0])
    world.section("math2", "math", [1])
    world.profile("dana", graduation_year=GRADE_7)
    world.profile("tom")
    return world


STUDENT_COMMANDS: dict[str, Callable[[World], Any]] = {
    "star": lambda w: w.star("dana", "math"),
    "rank": lambda w: w.rank("dana", 0, {1: "math"}),
    "confirm": lambda w: w.app.confirm_preferences(w.program_id, "dana", as_student("dana")),
    "add": lambda w: w.add("dana", "math1"),
    "waitlist": lambda w: w.waitlist("dana", "math1"),
}


@pytest.mark.parametrize("command", sorted(STUDENT_COMMANDS))
def test_a_student_outside_the_programs_grades_is_refused_everything(nine_to_twelve: World, command: str) -> None:
    w = nine_to_twelve
    w.add("tom", "math1")  # full, so the waitlist is a real option
    error = refused_without_writing(w, "program_grade_out_of_range", GATE, lambda: STUDENT_COMMANDS[command](w))
    assert error.detail == {"grade": 7, "grade_min": 9, "grade_max": 12}


def test_a_switch_is_refused_too(nine_to_twelve: World) -> None:
    w = nine_to_twelve
    w.add("dana", "math1", admin(override=True, reason="teacher's nephew"))
    refused_without_writing(w, "program_grade_out_of_range", GATE, lambda: w.switch("dana", "math1", "math2"))
    assert set(w.get_section("math1").enrolled) == {w.student_id("dana")}


def test_the_grade_gate_comes_before_the_window_and_the_cap(nine_to_twelve: World) -> None:
    w = nine_to_twelve
    w.app.set_window(w.program_id, "classes", w.clock.now.replace(year=2030), None, admin())
    w.app.change_settings(w.program_id, {"program_size_max": 1}, admin())
    w.add("tom", "math2", admin(override=True, reason="staff"))
    refused_without_writing(w, "program_grade_out_of_range", GATE, lambda: w.add("dana", "math1"))
    refused_without_writing(w, "window_closed", None, lambda: w.add("sam", "math1"))


def test_an_admin_override_admits_a_student_outside_the_grades(nine_to_twelve: World) -> None:
    w = nine_to_twelve
    w.add("dana", "math1", admin(override=True, reason="placed by the director"))
    assert set(w.get_section("math1").enrolled) == {w.student_id("dana")}
    history = w.get_student("dana").registrations
    assert [h.cause for h in history.values()] == ["override"]


def test_dropping_is_never_gated(nine_to_twelve: World) -> None:
    """A student placed by an override can always leave: a drop frees a seat and harms nobody."""
    w = nine_to_twelve
    w.add("dana", "math1", admin(override=True, reason="placed by the director"))
    w.drop("dana", "math1")
    assert not w.get_section("math1").enrolled


def test_an_unknown_grade_passes_the_gate_as_in_the_reference(app: Registration) -> None:
    w = build_world(app, grades=(9, 12), settings={"require_profile": False})
    w.subject("open", "Open to all", grade_min=0)
    w.section("open1", "open", [0])
    w.add("newcomer", "open1")  # no profile: grade 0, which the reference lets through the gate
    assert set(w.get_section("open1").enrolled) == {w.student_id("newcomer")}


def test_every_grade_inside_the_range_passes(nine_to_twelve: World) -> None:
    w = nine_to_twelve
    for grade, key in zip(range(9, 13), ("alice", "bob", "carol", "erin"), strict=True):
        w.profile(key, graduation_year=GRADE_10 + 10 - grade)
        w.star(key, "math")
    assert all(w.get_student(k).stars for k in ("alice", "bob", "carol", "erin"))
    for grade, key in ((8, "frank"), (13, "grace")):
        w.profile(key, graduation_year=GRADE_10 + 10 - grade)
        refused_without_writing(w, "program_grade_out_of_range", GATE, lambda k=key: w.star(k, "math"))
