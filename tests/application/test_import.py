"""Bulk import of a catalogue and of students through the commands, from CSV and JSON files."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from regledger.adapters import importing
from regledger.adapters.importing import read_catalogue, read_students
from regledger.domain.application import Registration
from regledger.domain.catalogue_entries import Catalogue, ClassEntry, SectionEntry, TimeslotEntry
from regledger.domain.errors import IdempotencyKeyReused, InvalidInputError
from regledger.domain.ids import ProgramId, SectionId, program_id, section_id, subject_id, timeslot_id
from regledger.domain.section import Section
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
HEADER = ",".join(importing.CATALOGUE_COLUMNS) + "\n"


def admin(**kwargs) -> CommandContext:
    return CommandContext(actor="admin", **kwargs)


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def new_program(app: Registration, slug: str = "splash", timezone: str = "America/New_York") -> ProgramId:
    app.create_program(slug, "Splash", admin(), school_year=2027, settings={"timezone": timezone})
    return program_id(slug)


def with_example_timeslots(app: Registration, pid: ProgramId) -> None:
    app.import_catalogue(pid, read_catalogue(b"code,title\nX0,Placeholder\n", "csv", example("timeslots.csv")), admin())


def csv_catalogue(app: Registration, pid: ProgramId, text: str, ctx: CommandContext | None = None, **kwargs):
    return app.import_catalogue(pid, read_catalogue(text.encode(), "csv"), ctx or admin(), **kwargs)


def new_events(app: Registration, after: int) -> list[str]:
    """The class names of the events stored after position `after` (e.g. Section.CapacityChanged)."""
    notifications = app.recorder.select_notifications(start=after + 1, limit=10_000)
    return [n.topic.rpartition(":")[2] for n in notifications]


def snapshot(app: Registration, pid: ProgramId, codes: list[str]) -> dict:
    """What a catalogue import decides, by name: timeslots, classes, their sections."""
    program = app.load_program(pid)
    slots = {t.id: t.label for t in program.timeslots.values()}
    out: dict = {"timeslots": sorted((t.label, t.start, t.end) for t in program.timeslots.values())}
    for code in codes:
        subject = app.load(Subject, subject_id(pid, code), "subject")
        fields = ("title", "category", "grade_min", "grade_max", "status", "class_size_max", "class_size_optimal")
        sections = [app.load_section(SectionId(i)) for i in subject.section_ids]
        out[code] = (
            tuple(getattr(subject, f) for f in fields),
            subject.is_lunch,
            [(s.index, [slots[t] for t in s.timeslot_ids], s.capacity_inputs, s.capacity) for s in sections],
        )
    return out


EXAMPLE_CODES = ["M101", "S210", "H150", "L1", "A300"]


def test_the_same_catalogue_from_csv_and_from_json_gives_the_same_aggregates(app):
    from_csv, from_json = new_program(app, "from-csv"), new_program(app, "from-json")
    csv_result = app.import_catalogue(
        from_csv, read_catalogue(example("catalogue.csv"), "csv", example("timeslots.csv")), admin()
    )
    json_result = app.import_catalogue(from_json, read_catalogue(example("catalogue.json"), "json"), admin())
    assert csv_result.counts == json_result.counts
    assert csv_result.counts["section"]["created"] == 5
    assert snapshot(app, from_csv, EXAMPLE_CODES) == snapshot(app, from_json, EXAMPLE_CODES)
    program = app.load_program(from_csv)
    nine = program.timeslots[timeslot_id(from_csv, "Sat 9:00")]
    assert nine.start == datetime(2026, 11, 21, 14, tzinfo=UTC)  # 9:00 in New York, in November


def test_importing_the_same_file_twice_writes_nothing_the_second_time(app):
    pid = new_program(app)
    catalogue = read_catalogue(example("catalogue.json"), "json")
    first = app.import_catalogue(pid, catalogue, admin())
    position = app.position()
    second = app.import_catalogue(pid, catalogue, admin())
    assert first.outcome == "Imported"
    assert first.position == position
    assert second.outcome == "Unchanged"
    assert (second.created, second.changed) == (0, 0)
    assert second.counts["section"]["unchanged"] == 5
    assert second.counts["timeslot"]["unchanged"] == 4
    assert app.position() == position


def test_a_changed_row_becomes_exactly_its_change_events(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    text = (EXAMPLES / "catalogue.csv").read_text()
    csv_catalogue(app, pid, text)
    position = app.position()
    changed = text.replace(
        "M101,Knot Theory,Math,9,12,accepted,20,,false,2,Sat 10:00,18,",
        "M101,Knot Theory,Math,9,12,accepted,20,,false,2,Sat 10:00,22,",
    )
    changed = changed.replace(
        'H150,"Poetry, Out Loud",Humanities,7,10,unreviewed', 'H150,"Poetry, Aloud",Humanities,7,10,accepted'
    )
    result = csv_catalogue(app, pid, changed)
    assert sorted(new_events(app, position)) == [
        "Section.CapacityChanged",
        "Subject.DetailsChanged",
        "Subject.StatusChanged",
    ]
    assert {(c.kind, c.name, c.fields) for c in result.changes} == {
        ("section", "M101s2", ("capacity",)),
        ("class", "H150", ("title", "status")),
    }
    section = app.load_section(section_id(subject_id(pid, "M101"), 2))
    assert (section.capacity_inputs.room_capacity, section.capacity) == (22, 20)
    assert app.load(Subject, subject_id(pid, "H150"), "subject").title == "Poetry, Aloud"


def test_a_dry_run_answers_the_plan_and_writes_nothing(app):
    pid = new_program(app)
    position = app.position()
    catalogue = read_catalogue(example("catalogue.csv"), "csv", example("timeslots.csv"))
    result = app.import_catalogue(pid, catalogue, admin(), dry_run=True)
    assert (result.dry_run, result.outcome) == (True, "DryRun")
    assert result.counts["class"]["created"] == 5
    assert app.position() == position
    assert app.find(Subject, subject_id(pid, "M101")) is None
    assert app.import_catalogue(pid, catalogue, admin()).counts == result.counts


def test_sections_a_file_does_not_list_are_left_alone_and_new_ones_follow_without_gaps(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\nM1,Knots,,,,,10,,,2,Sat 10:00,,\n")
    result = csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,3,Sat 11:00,,\n")
    assert result.counts["section"] == {"created": 1, "changed": 0, "unchanged": 0}
    assert result.notes == (
        "M1: 2 existing sections not in the catalogue, left as they are (a capacity follows a changed class size)",
    )
    assert len(app.load(Subject, subject_id(pid, "M1"), "subject").section_ids) == 3
    with pytest.raises(InvalidInputError) as refused:
        csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,5,Sat 11:00,,\n")
    assert refused.value.detail["errors"][0]["line"] == 2
    assert "next new section is number 4" in refused.value.detail["errors"][0]["message"]


def test_a_changed_class_size_resizes_the_sections_the_file_does_not_list(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\nM1,Knots,,,,,10,,,2,Sat 10:00,,8\n")
    position = app.position()
    result = csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,15,,,,,,\n")
    # Section 2's capacity is its own max_class_capacity: it does not follow the class's size.
    assert sorted(new_events(app, position)) == ["Section.CapacityChanged", "Subject.DetailsChanged"]
    assert {(c.kind, c.name, c.fields) for c in result.changes} == {
        ("class", "M1", ("class_size_max",)),
        ("section", "M1s1", ("capacity",)),
    }
    assert (_section(app, pid, "M1", 1).capacity, _section(app, pid, "M1", 2).capacity) == (15, 8)


def test_a_smaller_class_size_cannot_leave_a_section_with_fewer_seats_than_taken(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\n")
    for key in ("ada", "ben"):
        app.submit_profile(pid, key, key, 2029, {}, CommandContext(actor=key))
        app.add_section(pid, key, section_id(subject_id(pid, "M1"), 1), CommandContext(actor=key))
    position = app.position()
    with pytest.raises(InvalidInputError) as refused:
        csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,1,,,,,,\n")
    [error] = refused.value.detail["errors"]
    assert (error["line"], error["field"]) == (2, "class_size_max")
    assert error["message"].startswith("M1s1 (not in the catalogue): 2 students hold seats")
    assert app.position() == position


def test_an_idempotency_key_replays_and_refuses_another_file(app):
    pid = new_program(app)
    catalogue = read_catalogue(example("catalogue.json"), "json")
    first = app.import_catalogue(pid, catalogue, admin(command_id="import-1"))
    position = app.position()
    again = app.import_catalogue(pid, catalogue, admin(command_id="import-1"))
    assert again.replayed
    assert again.command_id == first.command_id
    assert app.position() == position
    other = Catalogue(classes=(ClassEntry("M101", "Knots again", class_size_max=20),))
    with pytest.raises(IdempotencyKeyReused):
        app.import_catalogue(pid, other, admin(command_id="import-1"))


def test_capacity_zero_is_warned_for_each_class_and_section(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    result = csv_catalogue(
        app, pid, HEADER + "Z1,No size,,,,,,,,1,Sat 9:00,,\nZ2,Also none,,,,,,,,,,,\nOK,Sized,,,,,5,,,1,Sat 9:00,,\n"
    )
    assert [(w.line, w.field) for w in result.warnings] == [(2, "capacity"), (3, "class_size_max")]
    assert "Z1s1 has capacity 0" in result.warnings[0].message
    assert "Class temporarily full" in result.warnings[0].message


def test_students_are_registered_with_their_profiles_and_changed_only_when_their_row_differs(app):
    pid = new_program(app)
    result = app.import_students(pid, read_students(example("students.csv"), "csv"), admin())
    assert result.counts["student"] == {"created": 3, "changed": 0, "unchanged": 0}
    ada = app.get_student(pid, "s0001")
    assert ada.profile is not None
    assert (ada.profile.name, ada.profile.graduation_year, ada.profile.contacts) == (
        "Ada Lovelace",
        2029,
        {"email": "ada@example.org"},
    )
    position = app.position()
    again = app.import_students(pid, read_students(example("students.json"), "json"), admin())
    assert again.counts["student"] == {"created": 0, "changed": 0, "unchanged": 3}
    assert app.position() == position
    text = (EXAMPLES / "students.csv").read_text().replace("Alan Turing,2028,", "Alan M. Turing,2028,alan@example.org")
    changed = app.import_students(pid, read_students(text.encode(), "csv"), admin())
    assert new_events(app, position) == ["Student.ProfileSubmitted"]
    assert [(c.name, c.fields) for c in changed.changes] == [("s0002", ("name", "email"))]


def test_every_bad_student_row_is_reported_with_its_line_and_nothing_is_written(app):
    pid = new_program(app)
    position = app.position()
    text = (
        "key,name,graduation_year,email\nok1,Ok,2029,\nbad key,X,2029,\nok2,,2029,\n"
        "ok3,Y,1800,\nok4,Z,2029,not-an-email\nok1,Again,2029,\n"
    )
    with pytest.raises(InvalidInputError) as refused:
        app.import_students(pid, read_students(text.encode(), "csv"), admin())
    errors = [(e["line"], e["field"]) for e in refused.value.detail["errors"]]
    assert errors == [(3, "key"), (4, "name"), (5, "graduation_year"), (6, "email"), (7, "key")]
    assert app.position() == position


def test_a_section_holding_seats_cannot_be_rescheduled_by_an_import(app):
    pid = new_program(app)
    with_example_timeslots(app, pid)
    csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\n")
    app.submit_profile(pid, "ada", "Ada", 2029, {}, CommandContext(actor="ada"))
    app.add_section(pid, "ada", section_id(subject_id(pid, "M1"), 1), CommandContext(actor="ada"))
    position = app.position()
    with pytest.raises(InvalidInputError) as refused:
        csv_catalogue(app, pid, HEADER + "M1,Knots,,,,,10,,,1,Sat 10:00,0,\n")
    assert [(e["line"], e["field"]) for e in refused.value.detail["errors"]] == [(2, "timeslots")]
    assert app.position() == position


def _section(app: Registration, pid: ProgramId, code: str, number: int) -> Section:
    return app.load_section(section_id(subject_id(pid, code), number))


def test_a_catalogue_built_in_memory_is_imported_like_a_file(app):
    pid = new_program(app, timezone="UTC")
    start = datetime(2026, 11, 21, 9)
    catalogue = Catalogue(
        timeslots=(TimeslotEntry("Sat 9:00", start, start.replace(minute=50)),),
        classes=(ClassEntry("M1", "Knots", class_size_max=12, sections=(SectionEntry(1, ("Sat 9:00",)),)),),
    )
    result = app.import_catalogue(pid, catalogue, admin())
    assert result.ids["section_created"] == "1"
    assert UUID(result.ids["program_id"]) == pid
    assert _section(app, pid, "M1", 1).capacity == 12


# -- bad files: every error with its line, nothing written ---------------------------------

BAD_FILES = {
    "missing column": ("code,category\nM1,Math\n", [(1, "title")]),
    "unknown column": ("code,title,colour\nM1,Knots,red\n", [(1, "colour")]),
    "timeslots without a section column": ("code,title,timeslots\nM1,Knots,Sat 9:00\n", [(1, "section")]),
    "unknown timeslot": (HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00;Sun 9:00,,\n", [(2, "timeslots")]),
    "negative capacity": (HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,-5,\n", [(2, "room_capacity")]),
    "negative class size": (HEADER + "M1,Knots,,,,,-1,,,1,Sat 9:00,,\n", [(2, "class_size_max")]),
    "conflicting rows of one class": (
        HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\nM1,Knots,,,,,12,,,2,Sat 10:00,,\n",
        [(3, "class_size_max")],
    ),
    "duplicate section number": (
        HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,,\nM1,Knots,,,,,10,,,1,Sat 10:00,,\n",
        [(3, "section")],
    ),
    "a gap in section numbers": (HEADER + "M1,Knots,,,,,10,,,2,Sat 9:00,,\n", [(2, "section")]),
    "not a number": (HEADER + "M1,Knots,,,,,ten,,,1,Sat 9:00,,\n", [(2, "class_size_max")]),
    "grades reversed": (HEADER + "M1,Knots,,11,9,,10,,,1,Sat 9:00,,\n", [(2, "grade_min")]),
    "unknown status": (HEADER + "M1,Knots,,,,approved,10,,,1,Sat 9:00,,\n", [(2, "status")]),
    "bad code": (HEADER + "M 1,Knots,,,,,10,,,1,Sat 9:00,,\n", [(2, "code")]),
    "control character": (HEADER + "M1,Kn\x1bots,,,,,10,,,1,Sat 9:00,,\n", [(2, "title")]),
    "too many cells": ("code,title\nM1,Knots,extra\n", [(2, "")]),
    "a header and no rows": ("code,title\n\n", [(1, "")]),
    "bad quoting": ('code,title\nM1,"Kn"ots\n', [(2, "")]),
    "every error at once": (
        HEADER + "M1,Knots,,,,,10,,,1,Nope,,\nB2,,,,,,10,,,1,Sat 9:00,,\nC3,Third,,,,,10,,,1,Sat 9:00,,-2\n",
        [(2, "timeslots"), (3, "title"), (4, "max_class_capacity")],
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_catalogue_csv_is_refused_with_each_error_and_its_line(local_app, name):
    text, expected = BAD_FILES[name]
    _refused_with(local_app, text.encode(), expected)


def _refused_with(app: Registration, data: bytes, expected: list[tuple[int, str]]) -> list[dict]:
    pid = new_program(app)
    with_example_timeslots(app, pid)
    position = app.position()
    with pytest.raises(InvalidInputError) as refused:
        app.import_catalogue(pid, read_catalogue(data, "csv"), admin())
    errors = refused.value.detail["errors"]
    assert [(e["line"], e["field"]) for e in errors] == expected, errors
    assert all(e["message"] for e in errors)
    assert app.position() == position
    return errors


def test_a_bad_catalogue_is_refused_on_every_store(app):
    _refused_with(app, (HEADER + "M1,Knots,,,,,10,,,1,Sat 9:00,-5,\n").encode(), [(2, "room_capacity")])


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ("code,title\nM1,Caf\xe9\n".encode("latin-1"), 2),
        ("code,title\nM1,Knots\n".encode("utf-16"), 1),
        (b"", 1),
        (b"  \n\n", 1),
    ],
    ids=["latin-1", "utf-16", "empty", "blank"],
)
def test_a_file_that_is_not_utf8_text_is_refused_with_its_line(local_app, data, line):
    pid = new_program(local_app)
    with pytest.raises(InvalidInputError) as refused:
        read_catalogue(data, "csv")
    assert refused.value.detail["errors"][0]["line"] == line
    assert local_app.find(Subject, subject_id(pid, "M1")) is None


def test_a_utf8_byte_order_mark_is_accepted(local_app):
    pid = new_program(local_app)
    with_example_timeslots(local_app, pid)
    result = local_app.import_catalogue(
        pid,
        read_catalogue(b"\xef\xbb\xbf" + HEADER.encode() + b"M1,Caf\xc3\xa9,,,,,5,,,1,Sat 9:00,,\n", "csv"),
        admin(),
    )
    assert result.counts["class"]["created"] == 1
    assert local_app.load(Subject, subject_id(pid, "M1"), "subject").title == "Café"


def test_a_line_over_a_megabyte_is_refused_with_its_line():
    data = b"code,title\nM1,Knots\nM2," + b"x" * 1_000_001 + b"\n"
    with pytest.raises(InvalidInputError) as refused:
        read_catalogue(data, "csv")
    assert refused.value.detail["errors"] == [
        {"line": 3, "field": "", "message": "a line is longer than 1000000 characters", "type": "value_error"}
    ]


def test_a_field_over_the_csv_field_limit_is_refused_with_its_line():
    data = b'code,title\nM1,"' + b"x" * 200_000 + b'"\n'
    with pytest.raises(InvalidInputError) as refused:
        read_catalogue(data, "csv")
    assert refused.value.detail["errors"][0]["line"] == 2
    assert "field larger than field limit" in refused.value.detail["errors"][0]["message"]


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(importing, "MAX_CATALOGUE_ROWS", 3)
    data = ("code,title\n" + "".join(f"M{i},Class {i}\n" for i in range(5))).encode()
    with pytest.raises(InvalidInputError) as refused:
        read_catalogue(data, "csv")
    assert refused.value.detail["errors"][0] == {
        "line": 5,
        "field": "",
        "message": "the catalogue has more than 3 rows",
        "type": "value_error",
    }


def test_a_timeslot_cannot_change_its_times(local_app):
    pid = new_program(local_app)
    with_example_timeslots(local_app, pid)
    moved = example("timeslots.csv").replace(b"2026-11-21T10:00,", b"2026-11-21T10:05,")
    with pytest.raises(InvalidInputError) as refused:
        local_app.import_catalogue(pid, read_catalogue(b"code,title\nX0,Placeholder\n", "csv", moved), admin())
    [error] = refused.value.detail["errors"]
    assert error["line"] == 3
    assert re.search(r"'Sat 10:00' exists with other times", error["message"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"classes": [\n  {"code": "M1", "title": 5}\n]}', [(2, "title")]),
        (
            '{"classes": [\n  {"code": "M1", "title": "Knots",\n   "sections": [\n     {"number": 0}]}]}',
            [(4, "number")],
        ),
        ('{"classes": [], "colour": "red"}', [(1, "colour")]),
        ('{"classes": [\n{"code": "M1", "code": "M2", "title": "x"}]}', [(2, "")]),
        ('{"classes": [\n  {"code": "M1", "title": "A"},\n  {"code": "M1", "title": "B"}\n]}', [(3, "code")]),
        (
            '{"classes": [\n  {"code": "M1", "title": "A",\n "sections": [{"number": 1, "timeslots": ["Nope"]}]}\n]}',
            [(3, "timeslots")],
        ),
        ('{"classes": [', [(1, "")]),
        ("[1, 2]", [(1, "")]),
    ],
    ids=[
        "type",
        "range",
        "unknown key",
        "duplicate key",
        "duplicate code",
        "unknown timeslot",
        "truncated",
        "not an object",
    ],
)
def test_a_bad_json_catalogue_is_refused_with_each_error_and_its_line(local_app, text, expected):
    pid = new_program(local_app)
    position = local_app.position()
    with pytest.raises(InvalidInputError) as refused:
        local_app.import_catalogue(pid, read_catalogue(text.encode(), "json"), admin())
    assert [(e["line"], e["field"]) for e in refused.value.detail["errors"]] == expected
    assert local_app.position() == position
