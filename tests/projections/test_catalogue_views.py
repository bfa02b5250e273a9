"""The catalogue read model on every store: programs, timeslots, classes, sections, students."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.projector import Projector
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.ids import program_id, section_id, student_id, subject_id, timeslot_id
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext
from regledger.projections.catalogue import CatalogueFilter, section_id_of_code
from regledger.projections.views import RegistrationViews

T0 = datetime(2027, 2, 13, 14, tzinfo=UTC)
PROGRAM = program_id("splash")
OPENS = datetime(2026, 1, 1, tzinfo=UTC)


def ctx(reason: str = "") -> CommandContext:
    return CommandContext(actor="admin:test", reason=reason)


def season(app: Registration) -> None:
    """Two timeslots, a lunch class, a math class (2 sections) and a full art class."""
    app.create_program(
        "splash", "Splash 2027", ctx(), school_year=2027, settings={"waitlist_enabled": True, "timezone": "Etc/GMT+5"}
    )
    for i, label in enumerate(["Sat 9", "Sat 10", "Sat 12"]):
        start = T0 + timedelta(hours=i if i < 2 else 3)
        app.add_timeslot(PROGRAM, label, start, start + timedelta(minutes=50), ctx())
    slot = {label: timeslot_id(PROGRAM, label) for label in ["Sat 9", "Sat 10", "Sat 12"]}
    app.set_window(PROGRAM, "classes", OPENS, None, ctx())
    app.add_subject(PROGRAM, "M101", "Knots", ctx(), category="Math", grade_min=9, grade_max=12, class_size_max=2)
    app.add_subject(PROGRAM, "A7", "Origami", ctx(), category="Arts", grade_min=7, grade_max=10, class_size_max=1)
    app.add_subject(PROGRAM, "L1", "Lunch", ctx(), category="Lunch", class_size_max=500, is_lunch=True)
    app.add_subject(PROGRAM, "Z9", "Unscheduled", ctx(), category="Math")
    app.create_section(subject_id(PROGRAM, "M101"), [slot["Sat 9"]], ctx(), room_capacity=30)
    app.create_section(subject_id(PROGRAM, "M101"), [slot["Sat 10"]], ctx())
    app.create_section(subject_id(PROGRAM, "A7"), [slot["Sat 9"]], ctx(), max_class_capacity=1)
    app.create_section(subject_id(PROGRAM, "L1"), [slot["Sat 12"]], ctx())
    for key, name, year in [("ada", "Ada Lovelace", 2029), ("bob", "Bob Moses", 2030), ("cy", "Cy Young", 2030)]:
        app.submit_profile(PROGRAM, key, name, year, {"email": f"{key}@example.org"}, ctx())
    art = section_id(subject_id(PROGRAM, "A7"), 1)
    app.add_section(PROGRAM, "ada", section_id(subject_id(PROGRAM, "M101"), 1), ctx())
    app.add_section(PROGRAM, "bob", art, ctx())
    app.join_waitlist(PROGRAM, "cy", art, ctx())


def projected(settings: Settings, make_app: Any, make_views: Any) -> tuple[Registration, RegistrationViews]:
    app = make_app(settings, Registration)
    season(app)
    views = make_views(settings)
    Projector(app, views).catch_up()
    return app, views


def test_program_settings_windows_and_timeslots(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    app, views = projected(store_settings, make_app, make_views)
    app.change_settings(PROGRAM, {"min_stars": 2}, ctx())
    Projector(app, views).catch_up()
    (program,) = views.programs()
    assert views.program(PROGRAM) == program
    assert (program.slug, program.title, program.grade_min, program.grade_max, program.school_year) == (
        "splash",
        "Splash 2027",
        7,
        12,
        2027,
    )
    assert program.timezone == "Etc/GMT+5"
    assert program.settings["min_stars"] == 2
    assert program.settings["waitlist_enabled"] is True
    assert program.settings["priority_limit"] == 3  # a default shows too
    assert [(w.kind, w.opens, w.closes) for w in program.windows] == [("classes", OPENS, None)]
    slots = views.timeslots(PROGRAM)
    assert [(t.label, t.has_lunch) for t in slots] == [("Sat 9", False), ("Sat 10", False), ("Sat 12", True)]
    assert slots[0].starts == T0
    assert views.program(program_id("nope")) is None


def test_sections_carry_names_counts_and_filters(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    _, views = projected(store_settings, make_app, make_views)
    sections = views.section_views(PROGRAM)
    assert [s.code for s in sections] == ["A7s1", "L1s1", "M101s1", "M101s2"]
    art = sections[0]
    assert (art.class_title, art.category, art.capacity, art.enrolled, art.free, art.waitlisted) == (
        "Origami",
        "Arts",
        1,
        1,
        0,
        1,
    )
    assert [t.label for t in art.timeslots] == ["Sat 9"]
    math1 = sections[2]
    assert (math1.room_capacity, math1.max_class_capacity, math1.capacity, math1.enrolled) == (30, None, 2, 1)
    assert (math1.grade_min, math1.grade_max, math1.class_status) == (9, 12, "accepted")

    def codes(**where: Any) -> list[str]:
        return [s.code for s in views.section_views(PROGRAM, CatalogueFilter(**where))]

    sat9 = timeslot_id(PROGRAM, "Sat 9")
    assert codes(timeslot_id=sat9) == ["A7s1", "M101s1"]
    assert codes(category="Math") == ["M101s1", "M101s2"]
    assert codes(grade=8) == ["A7s1", "L1s1"]
    assert codes(has_free=True) == ["L1s1", "M101s1", "M101s2"]
    assert codes(has_free=False) == ["A7s1"]
    assert codes(limit=2) == ["A7s1", "L1s1"]
    assert codes(after="L1s1", limit=2) == ["M101s1", "M101s2"]
    assert codes(after="M101s1") == ["M101s2"]
    assert views.section_view(math1.section_id) == math1
    assert views.section_view(section_id_of_code(PROGRAM, "M101s9") or UUID(int=0)) is None
    assert set(views.sections_by_id([art.section_id, math1.section_id, UUID(int=1)])) == {
        art.section_id,
        math1.section_id,
    }


def test_classes_with_their_sections(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    app, views = projected(store_settings, make_app, make_views)
    classes = views.classes(PROGRAM)
    assert [(c.code, [s.code for s in c.sections]) for c in classes] == [
        ("A7", ["A7s1"]),
        ("L1", ["L1s1"]),
        ("M101", ["M101s1", "M101s2"]),
        ("Z9", []),
    ]
    assert classes[1].is_lunch
    assert classes[3].class_size_max is None
    free = views.classes(PROGRAM, CatalogueFilter(has_free=True, category="Math"))
    assert [(c.code, len(c.sections)) for c in free] == [("M101", 2)]  # Z9 has no section at all
    sat10 = views.classes(PROGRAM, CatalogueFilter(timeslot_id=timeslot_id(PROGRAM, "Sat 10")))
    assert [(c.code, [s.code for s in c.sections]) for c in sat10] == [("M101", ["M101s2"])]
    assert [c.code for c in views.classes(PROGRAM, CatalogueFilter(after="L1", limit=1))] == ["M101"]
    # A changed class shows its new details.
    subject = app.repository.get(subject_id(PROGRAM, "Z9"))
    assert isinstance(subject, Subject)
    subject.change_details(
        {"title": "Now scheduled", "class_size_max": 12}, {"actor": "a", "command_id": "c1", "reason": ""}
    )
    app.save(subject)
    Projector(app, views).catch_up()
    changed = views.class_view(subject_id(PROGRAM, "Z9"))
    assert changed is not None
    assert (changed.title, changed.class_size_max, changed.category) == ("Now scheduled", 12, "Math")


def test_students_by_id_key_and_search(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    app, views = projected(store_settings, make_app, make_views)
    ada = student_id(PROGRAM, "ada")
    found = views.student_views([ada, UUID(int=3)])
    assert list(found) == [ada]
    assert (found[ada].key, found[ada].name, found[ada].graduation_year, found[ada].email) == (
        "ada",
        "Ada Lovelace",
        2029,
        "ada@example.org",
    )
    assert [s.key for s in views.program_students(PROGRAM)] == ["ada", "bob", "cy"]
    assert [s.key for s in views.program_students(PROGRAM, search="b")] == ["bob"]
    assert [s.key for s in views.program_students(PROGRAM, search="CY Y")] == ["cy"]  # a name prefix, any case
    assert [s.key for s in views.program_students(PROGRAM, search="%")] == []  # LIKE wildcards are literal
    assert [s.key for s in views.program_students(PROGRAM, after="ada", limit=1)] == ["bob"]
    # A new profile renames the student.
    app.submit_profile(PROGRAM, "ada", "Ada King", 2029, {}, ctx())
    Projector(app, views).catch_up()
    renamed = views.student_views([ada])[ada]
    assert (renamed.name, renamed.email) == ("Ada King", None)


def test_star_history(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    app, views = projected(store_settings, make_app, make_views)
    math = subject_id(PROGRAM, "M101")
    app.star(PROGRAM, "bob", math, ctx())
    app.unstar(PROGRAM, "bob", math, ctx())
    app.star(PROGRAM, "bob", math, ctx())
    Projector(app, views).catch_up()
    stars = views.star_history(student_id(PROGRAM, "bob"))
    assert [(s.subject_id, s.valid_to is None) for s in stars] == [(math, False), (math, True)]
    assert stars[0].end_actor == "admin:test"


@pytest.mark.parametrize("code", ["M101s0", "M101", "s1", "M101s01", "M101s12345"])
def test_malformed_section_codes_name_no_section(code: str) -> None:
    assert section_id_of_code(PROGRAM, code) is None


def test_views_of_an_older_schema_are_dropped_and_rebuilt(
    store_settings: Settings, make_app: Any, make_views: Any
) -> None:
    app, views = projected(store_settings, make_app, make_views)
    rebuilt = views.dump()
    assert views.position() > 0
    # Tables written by the version before the catalogue: no schema row, no catalogue rows.
    with views._transaction() as cur:  # type: ignore[attr-defined]
        cur.execute(views.sql("DELETE FROM {p}tracking WHERE name = 'schema_version'"))  # type: ignore[attr-defined]
        cur.execute(views.sql("DELETE FROM {p}programs"))  # type: ignore[attr-defined]
    views.create_tables()
    assert views.position() == 0
    assert views.programs() == []
    Projector(app, views).catch_up()
    assert views.dump() == rebuilt
    views.create_tables()  # the current version: kept
    assert views.dump() == rebuilt


def test_lottery_runs_with_their_status(store_settings: Settings, make_app: Any, make_views: Any) -> None:
    app, views = projected(store_settings, make_app, make_views)
    app.set_window(PROGRAM, "lottery", OPENS, None, ctx())
    first = UUID(app.start_lottery(PROGRAM, ctx(), seed=7).ids["run_id"])
    app.discard_lottery(first, ctx("wrong seed"))
    second = UUID(app.start_lottery(PROGRAM, ctx(), seed=8).ids["run_id"])
    Projector(app, views).catch_up()
    runs = {r.run_id: r for r in views.lottery_runs(PROGRAM)}
    assert (runs[first].status, runs[first].seed, runs[first].ended_at is not None) == ("discarded", 7, True)
    assert (runs[second].status, runs[second].seed, runs[second].assignments) == ("computed", 8, 0)
    app.commit_lottery(second, ctx(), replace=True)
    Projector(app, views).catch_up()
    committed = next(r for r in views.lottery_runs(PROGRAM) if r.run_id == second)
    assert (committed.status, committed.enrolments, committed.actor) == ("committed", 0, "admin:test")
    assert views.lottery_runs(program_id("other")) == []
