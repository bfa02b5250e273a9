"""`program create|settings|window`, `timeslot add`, `class add|status` and `section add|capacity|
open|close|cancel`: each prints what it changed, and a refusal or bad input exits 2 with nothing
written."""

from __future__ import annotations

import pytest

from regledger.adapters.bootstrap import build
from regledger.domain.ids import program_id, section_id, subject_id, timeslot_id

PID = program_id("spring")


@pytest.fixture
def program(run):
    run(
        "program", "create", "spring", "--title", "Spring HSSP", "--school-year", "2027", "--grades", "9-12",
        "--timezone", "America/Chicago", "--reason", "new season",
    )  # fmt: skip
    run("timeslot", "add", "spring", "Sat 9:00", "2027-03-06T09:00", "09:50")
    run("timeslot", "add", "spring", "Sat 10:00", "2027-03-06 10:00", "2027-03-06T10:50")
    return "spring"


def aggregates(sqlite_settings, *ids):
    services = build(sqlite_settings, follow=False)
    try:
        return [services.app.aggregates.fetch([i])[i] for i in ids]
    finally:
        services.close()


def test_program_create_prints_the_program_and_its_id(run, sqlite_settings):
    out = run(
        "program", "create", "spring", "--title", "Spring HSSP", "--school-year", "2027", "--grades", "9-12",
        "--timezone", "America/Chicago", "--setting", "waitlist_enabled=true", "--reason", "new season",
    ).stdout  # fmt: skip
    assert f"created program spring 'Spring HSSP' (id {PID})" in out
    assert "grades 9-12, school year 2027, timezone America/Chicago" in out
    (program,) = aggregates(sqlite_settings, PID)
    assert (program.grade_min, program.grade_max, program.school_year) == (9, 12, 2027)
    assert program.settings.timezone == "America/Chicago"
    assert program.settings.waitlist_enabled is True


def test_timeslots_are_read_in_the_programs_timezone(run, program, sqlite_settings):
    (loaded,) = aggregates(sqlite_settings, PID)
    slot = loaded.timeslots[timeslot_id(PID, "Sat 9:00")]
    assert slot.start.isoformat() == "2027-03-06T09:00:00-06:00"
    assert slot.end.isoformat() == "2027-03-06T09:50:00-06:00"  # END as a time of START's day
    out = run("timeslot", "add", "spring", "Sun 9:00", "2027-03-07T15:00Z", "2027-03-07T15:50Z").stdout
    assert "added timeslot 'Sun 9:00' to spring" in out
    assert str(timeslot_id(PID, "Sun 9:00")) in out
    assert "2027-03-07T15:00:00+00:00" in out  # an explicit offset wins


def test_settings_print_old_and_new_values_typed(run, program, sqlite_settings):
    out = run(
        "program", "settings", "spring", "waitlist_enabled=yes", "priority_limit=5", "student_verbs=Interested,Applied"
    ).stdout
    assert "waitlist_enabled: false -> true" in out
    assert "priority_limit: 3 -> 5" in out
    (loaded,) = aggregates(sqlite_settings, PID)
    assert loaded.settings.student_verbs == ("Interested", "Applied")
    assert loaded.settings.priority_limit == 5


def test_window_ends_are_local_times(run, program, sqlite_settings):
    out = run("program", "window", "spring", "classes", "--opens", "2027-02-01T09:00", "--reason", "opening day")
    assert "classes window of spring: opens 2027-02-01T09:00:00-06:00, closes never" in out.stdout
    (loaded,) = aggregates(sqlite_settings, PID)
    assert loaded.windows["classes"].opens.isoformat() == "2027-02-01T09:00:00-06:00"
    assert loaded.windows["classes"].closes is None


def test_class_and_section_add_print_codes_and_ids(run, program, sqlite_settings):
    out = run("class", "add", "spring", "K1", "--title", "Knot Theory", "--category", "Math", "--class-size-max", "12")
    assert f"created class K1 'Knot Theory' in spring (id {subject_id(PID, 'K1')}): Math, grades 9-12" in out.stdout
    assert "WARNING" not in out.output
    out = run("section", "add", "spring", "K1", "--timeslots", "Sat 9:00,Sat 10:00", "--room-capacity", "8")
    sid = section_id(subject_id(PID, "K1"), 1)
    assert f"created section K1s1 of K1 'Knot Theory' (id {sid}): Sat 9:00, Sat 10:00; capacity 8" in out.stdout
    (section,) = aggregates(sqlite_settings, sid)
    assert section.capacity == 8
    assert section.timeslot_ids == (timeslot_id(PID, "Sat 9:00"), timeslot_id(PID, "Sat 10:00"))


def test_a_class_without_a_size_and_its_zero_capacity_sections_warn(run, program):
    out = run("class", "add", "spring", "M101", "--title", "Algebra I").output
    assert "WARNING: class M101 has no class size max" in out
    assert "every add will be refused 'Class temporarily full" in " ".join(out.split())
    out = run("section", "add", "spring", "M101", "--timeslots", "Sat 9:00").output
    assert "capacity 0" in out
    assert "WARNING: section M101s1 has capacity 0" in out
    sized = run("section", "add", "spring", "M101", "--timeslots", "Sat 10:00", "--max-capacity", "20").output
    assert "capacity 20" in sized
    assert "WARNING" not in sized
    assert (
        "WARNING"
        not in run("class", "add", "spring", "M102", "--title", "Algebra II", "--class-size-optimal", "9").output
    )
    out = run("section", "capacity", "M101s1", "--program", "spring", "--max-capacity", "15").stdout
    assert "capacity of M101s1 Algebra I" in out
    assert "0 -> 15" in out


def test_class_status_and_section_open_close_cancel(run, program, sqlite_settings):
    run("class", "add", "spring", "K1", "--title", "Knot Theory", "--class-size-max", "3")
    run("section", "add", "spring", "K1", "--timeslots", "Sat 9:00")
    sid = section_id(subject_id(PID, "K1"), 1)
    assert "status accepted -> hidden" in run("class", "status", "spring", "K1", "hidden").stdout
    assert f"closed K1s1 Knot Theory (id {sid}) for registration" in run("section", "close", "spring/K1s1").stdout
    (section,) = aggregates(sqlite_settings, sid)
    assert section.is_open is False
    assert "opened K1s1 Knot Theory" in run("section", "open", "K1s1", "--program", "spring").stdout
    out = run("section", "cancel", str(sid), "--reason", "teacher ill").stdout
    assert "cancelled K1s1 Knot Theory" in out
    assert "0 students released" in out
    (section,) = aggregates(sqlite_settings, sid)
    assert section.is_cancelled is True
    assert "refused section_cancelled:" in run("section", "cancel", "spring/K1s1", code=2).output


def test_an_idempotency_key_makes_a_repeat_answer_the_first_outcome(run, program, position):
    first = run("class", "add", "spring", "K1", "--title", "Knot Theory", "--idempotency-key", "k1-create").stdout
    head = position()
    again = run("class", "add", "spring", "K1", "--title", "Knot Theory", "--idempotency-key", "k1-create").stdout
    assert "already done under this idempotency key: nothing changed" in again
    assert position() == head
    assert "already done" not in first
    assert "refused already_exists:" in run("class", "add", "spring", "K1", "--title", "Knot Theory", code=2).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("program", "create", "spring", "--title", "Again", "--school-year", "2027"), "refused already_exists:"),
        (("program", "create", "p2", "--title", "T", "--school-year", "2027", "--timezone", "Mars/Olympus"), "refused"),
        (("program", "create", "p2", "--title", "T", "--school-year", "2027", "--grades", "12-9"), "lowest grade"),
        (("program", "create", "p2", "--title", "T", "--school-year", "2027", "--grades", "nine"), "--grades"),
        (("program", "create", "bad slug", "--title", "T", "--school-year", "2027"), "refused invalid_input:"),
        (("program", "settings", "spring", "waitlist_enabled=maybe"), "setting waitlist_enabled is bool"),
        (("program", "settings", "spring", "priority_limit=lots"), "setting priority_limit is int"),
        (("program", "settings", "spring", "nosuch=1"), "refused invalid_input: Unknown program settings"),
        (("program", "settings", "spring", "timezone"), "NAME=VALUE"),
        (("program", "settings", "nope", "waitlist_enabled=true"), "refused not_found:"),
        (("program", "window", "spring", "classes", "--opens", "2027-02-02", "--closes", "2027-02-01"), "refused"),
        (("program", "window", "spring", "lunch"), "refused invalid_input: Window kind"),
        (("program", "window", "spring", "classes", "--opens", "tomorrow"), "ISO 8601"),
        (("timeslot", "add", "spring", "Sat 9:00", "2027-03-06T09:00", "09:50"), "refused invalid_input:"),
        (("timeslot", "add", "spring", "Late", "2027-03-06T09:00", "08:00"), "refused invalid_input: A timeslot"),
        (("timeslot", "add", "nope", "Sat", "2027-03-06T09:00", "10:00"), "refused not_found: No such program"),
        (("class", "add", "spring", "K 1", "--title", "Bad code"), "refused invalid_input:"),
        (("class", "add", "spring", "K1", "--title", "T", "--class-size-max", "-1"), "greater than or equal to 0"),
        (("class", "add", "spring", "K1", "--title", "T", "--status", "great"), "refused invalid_input:"),
        (("class", "status", "spring", "K9", "hidden"), "refused not_found:"),
        (("section", "add", "spring", "K9", "--timeslots", "Sat 9:00"), "refused not_found:"),
        (("section", "capacity", "K1s1", "--max-capacity", "3"), "needs --program"),
        (("section", "open", "spring/K1s1"), "refused not_found: No section K1s1 in program spring"),
    ],
)
def test_a_refused_or_malformed_command_exits_2_and_writes_nothing(run, program, position, args, message):
    head = position()
    assert message in " ".join(run(*args, code=2).output.split())
    assert position() == head


def test_a_section_in_an_unknown_timeslot_is_refused_naming_the_known_ones(run, program, position):
    run("class", "add", "spring", "K1", "--title", "Knot Theory", "--class-size-max", "3")
    head = position()
    out = " ".join(run("section", "add", "spring", "K1", "--timeslots", "Sat 9:00,Sun 9:00", code=2).output.split())
    assert "no timeslot 'Sun 9:00' in spring" in out
    assert "'Sat 10:00'" in out
    assert position() == head


def test_class_set_changes_details_and_resizes_sections(run, program, sqlite_settings):
    run("class", "add", "spring", "K1", "--title", "Knot Theory", "--class-size-max", "12")
    run("section", "add", "spring", "K1", "--timeslots", "Sat 9:00")
    out = run("class", "set", "spring", "K1", "--title", "Knots", "--class-size-max", "20", "--reason", "bigger room")
    assert "class K1 in spring" in out.stdout
    assert "1 sections resized" in out.stdout
    subject, section = aggregates(sqlite_settings, subject_id(PID, "K1"), section_id(subject_id(PID, "K1"), 1))
    assert (subject.title, subject.class_size_max, section.capacity) == ("Knots", 20, 20)
    run("class", "set", "spring", "K1", code=2)  # nothing to change
