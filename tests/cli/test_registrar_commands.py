"""`enroll|drop|switch|waitlist SLUG/KEY SECTION`: a registrar acting for a student under the
students' rules, with `--override --reason` as the admin's exception."""

from __future__ import annotations

import pytest

from regledger.domain.ids import program_id, section_id, student_id, subject_id
from tests.cli.helpers import parse_csv, parse_json

PID = program_id("fall")
K1S1, K1S2 = (section_id(subject_id(PID, "K1"), n) for n in (1, 2))
M101S1 = section_id(subject_id(PID, "M101"), 1)


def roster_keys(run, section, *verbs):
    options = [a for v in verbs for a in ("--verb", v)]
    return [s["key"] for s in parse_json(run("roster", section, *options, "--format", "json"))["students"]]


@pytest.mark.usefixtures("season")
def test_enroll_prints_the_student_and_section_by_name_and_id(run):
    out = run("enroll", "fall/ada", "K1s1").stdout
    assert f"fall/ada ({student_id(PID, 'ada')}) Enrolled in K1s1 Knot Theory (id {K1S1})" in out
    assert roster_keys(run, "fall/K1s1") == ["ada"]
    assert "Enrolled in K1s2" in run("enroll", "fall/ben", "fall/K1s2").stdout  # SLUG/CODE
    assert "Enrolled in M101s1" in run("enroll", "fall/cat", str(M101S1)).stdout  # an id


@pytest.mark.usefixtures("season")
def test_waitlist_then_drop_promotes_and_says_whom(run):
    run("enroll", "fall/ada", "K1s1")
    first = run("waitlist", "fall/ben", "K1s1").stdout
    assert f"waitlisted fall/ben ({student_id(PID, 'ben')}) for K1s1 Knot Theory (id {K1S1}), place 1" in first
    assert "place 2" in run("waitlist", "fall/cat", "K1s1").stdout
    out = run("drop", "fall/ada", "K1s1", "--reason", "moved away").stdout
    assert f"dropped fall/ada ({student_id(PID, 'ada')}) from K1s1 Knot Theory (id {K1S1}): ended Enrolled" in out
    assert "promoted from the waitlist: ben" in out
    assert roster_keys(run, "fall/K1s1") == ["ben"]
    assert roster_keys(run, "fall/K1s1", "Waitlisted") == ["cat"]
    _, rows = parse_csv(run("history", "--student", "fall/ada", "--format", "csv"))
    assert [(r["end_cause"], r["end_actor"], r["end_reason"]) for r in rows] == [("drop", "admin:cli", "moved away")]


@pytest.mark.usefixtures("season")
def test_switch_moves_the_seat_between_sections_of_one_class(run):
    run("enroll", "fall/ada", "K1s1")
    out = run("switch", "fall/ada", "K1s1", "K1s2").stdout
    assert f"switched fall/ada ({student_id(PID, 'ada')}) from K1s1 Knot Theory (id {K1S1})" in out
    assert f"to K1s2 Knot Theory (id {K1S2})" in out
    assert roster_keys(run, "fall/K1s1") == []
    assert roster_keys(run, "fall/K1s2") == ["ada"]


@pytest.mark.usefixtures("season")
def test_an_override_needs_a_reason_and_takes_a_seat_past_capacity(run, position):
    run("enroll", "fall/ada", "K1s1")
    head = position()
    assert "refused section_full:" in run("enroll", "fall/ben", "K1s1", code=2).output
    assert "refused override_needs_reason:" in run("enroll", "fall/ben", "K1s1", "--override", code=2).output
    assert position() == head
    run("enroll", "fall/ben", "K1s1", "--override", "--reason", "teacher agreed to one more")
    assert roster_keys(run, "fall/K1s1") == ["ada", "ben"]
    _, rows = parse_csv(run("history", "--student", "fall/ben", "--format", "csv"))
    assert (rows[0]["cause"], rows[0]["reason"]) == ("override", "teacher agreed to one more")


@pytest.mark.usefixtures("season")
def test_a_repeated_idempotency_key_enrolls_once(run, position):
    run("enroll", "fall/ada", "K1s1", "--idempotency-key", "desk-42")
    head = position()
    again = run("enroll", "fall/ada", "K1s1", "--idempotency-key", "desk-42").stdout
    assert "already done under this idempotency key: nothing changed" in again
    assert position() == head
    reused = run("enroll", "fall/ada", "K1s2", "--idempotency-key", "desk-42", code=2).output
    assert "refused idempotency_key_reused:" in reused


@pytest.mark.usefixtures("season")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("enroll", "fall/ada", "K1s9"), "refused not_found: No section K1s9 in program fall"),
        (("enroll", "fall/ada", "spring/K1s1"), "refused not_found:"),
        (("enroll", "fall/ada", "K1"), "is not a section"),
        (("enroll", "ada", "K1s1"), "a student is SLUG/KEY"),
        (("enroll", "nope/ada", "K1s1"), "refused not_found:"),
        (("waitlist", "fall/ada", "K1s1"), "refused seats_available:"),
        (("drop", "fall/ada", "K1s1"), "refused not_registered:"),
        (("switch", "fall/ada", "K1s1", "M101s1"), "refused different_class:"),
        (("switch", "fall/ada", "K1s1", "K1s2"), "refused not_enrolled:"),
        (("enroll", "fall/ada", "K1s1", "--verb", "Priority/1"), "refused verb_not_allowed:"),
    ],
)
def test_a_refused_registration_exits_2_and_writes_nothing(run, position, args, message):
    head = position()
    assert message in " ".join(run(*args, code=2).output.split())
    assert position() == head


@pytest.mark.usefixtures("season")
def test_enroll_replace_drops_the_conflicting_section_and_the_waitlist_gets_its_seat(run):
    run("enroll", "fall/ada", "K1s2")
    run("waitlist", "fall/ben", "K1s2")
    assert "refused timeslot_conflict:" in run("enroll", "fall/ada", "M101s1", code=2).output
    out = run("enroll", "fall/ada", "M101s1", "--replace").stdout
    assert "Enrolled in M101s1 Algebra I" in out
    assert "replacing 1 section(s); promoted from waitlists: ben" in out
    assert roster_keys(run, "fall/K1s2") == ["ben"]
    assert roster_keys(run, "fall/M101s1") == ["ada"]


@pytest.mark.usefixtures("season")
def test_queue_lists_the_waitlist_in_order_with_why_someone_was_passed_over(run):
    run("enroll", "fall/ada", "K1s2")
    run("waitlist", "fall/ben", "K1s2")
    run("waitlist", "fall/cat", "K1s2")
    assert [p["key"] for p in parse_json(run("queue", "fall/K1s2", "--format", "json"))["places"]] == ["ben", "cat"]
    run("enroll", "fall/ben", "M101s1")  # 10:00, as K1s2: ben can no longer take a seat there
    assert "promoted from the waitlist: cat" in run("drop", "fall/ada", "K1s2").stdout
    (place,) = parse_json(run("queue", "fall/K1s2", "--format", "json"))["places"]
    assert (place["key"], place["passed_over"]) == ("ben", "timeslot_conflict")
    assert place["passed_over_message"] == "This class conflicts with your schedule!"
    table = run("queue", "fall/K1s2").stdout
    assert "ben" in table
    assert "timeslot_conflict" in table


@pytest.mark.usefixtures("season")
def test_unenroll_all_ends_every_registration_and_says_so(run):
    run("enroll", "fall/ada", "K1s1")
    run("enroll", "fall/ada", "M101s1")
    run("waitlist", "fall/ben", "K1s1")
    assert "Missing option '--reason'" in run("unenroll-all", "fall/ada", code=2).output
    out = run("unenroll-all", "fall/ada", "--reason", "went home").stdout
    assert "ended 2 registrations on 2 sections; promoted from the waitlists: ben" in out
    assert roster_keys(run, "fall/K1s1") == ["ben"]
    assert roster_keys(run, "fall/M101s1") == []


@pytest.mark.usefixtures("season")
def test_batch_enroll_reports_each_student(run, tmp_path):
    run("enroll", "fall/cat", "K1s2")  # 10:00, as M101s1
    keys = tmp_path / "walk-ins.csv"
    keys.write_text("student_key\nada\nben\ncat\n")
    out = parse_json(
        run("batch-enroll", "fall/M101s1", "--keys-file", str(keys), "--reason", "walk-ins", "--format", "json")
    )
    assert [(o["student_key"], o["status"], o["code"]) for o in out["outcomes"]] == [
        ("ada", "ok", ""),
        ("ben", "ok", ""),
        ("cat", "conflict", "timeslot_conflict"),
    ]
    assert roster_keys(run, "fall/M101s1") == ["ada", "ben"]
    table = run("batch-enroll", "fall/M101s1", "--key", "ada", "--reason", "walk-ins").stdout
    assert "skipped" in table


@pytest.mark.usefixtures("season")
def test_check_in_and_attendance_at_the_desk(run):
    assert "checked in fall/ada" in run("check-in", "fall/ada", "--reason", "desk 2").stdout
    assert "was already checked in" in run("check-in", "fall/ada").stdout
    students = parse_json(run("students", "fall", "--format", "json"))["students"]
    assert [s["key"] for s in students if s.get("checked_in_at")] == ["ada"]
    run("enroll", "fall/ada", "K1s1")
    assert "present in K1s1 Knot Theory" in run("attend", "fall/K1s1", "fall/ada").stdout
    present = parse_json(run("attendance", "fall/K1s1", "--format", "json"))["students"]
    assert [s["key"] for s in present] == ["ada"]
    assert parse_json(run("attendance", "fall/K1s1", "--day", "2020-01-01", "--format", "json"))["students"] == []
    assert "undid the check-in of fall/ada" in run("check-in", "fall/ada", "--undo", "--reason", "oops").stdout


@pytest.mark.usefixtures("season")
def test_no_shows_preview_sweep_and_undo(run):
    run("enroll", "fall/ada", "K1s1")  # 9:00
    run("enroll", "fall/ben", "M101s1")  # 10:00: first class later, not a no-show at 9:00
    run("check-in", "fall/cat")
    preview = parse_json(run("no-shows", "fall", "--timeslot", "Sat 9:00", "--preview", "--format", "json"))
    assert [(s["student"], s["section"]) for s in preview["seats"]] == [("ada", "K1s1 Knot Theory")]
    assert roster_keys(run, "fall/K1s1") == ["ada"]
    swept = parse_json(run("no-shows", "fall", "--timeslot", "Sat 9:00", "--reason", "9:15", "--format", "json"))
    assert roster_keys(run, "fall/K1s1") == []
    run("no-shows", "fall", "--undo", swept["sweep_id"], "--reason", "bus was late")
    assert roster_keys(run, "fall/K1s1") == ["ada"]
    assert "sweep_undone" in run("no-shows", "fall", "--undo", swept["sweep_id"], "--reason", "x", code=2).output


@pytest.mark.usefixtures("season")
def test_batch_enroll_by_filter(run):
    run("check-in", "fall/ada")
    run("check-in", "fall/ben")
    run("enroll", "fall/ben", "K1s2")  # busy at 10:00
    out = parse_json(
        run("batch-enroll", "fall/M101s1", "--checked-in", "--grades", "11", "--free-in", "Sat 10:00",
            "--reason", "walk-ins", "--format", "json")
    )  # fmt: skip
    assert [o["student_key"] for o in out["outcomes"]] == ["ada"]
    assert "chose no student" in run("batch-enroll", "fall/M101s1", "--grades", "7", "--reason", "x", code=2).output
