"""`programs`, `program show`, `classes`, `sections`, `section show`, `students` and `stars`: the
catalogue read back with names, filtered and paged, as a table, JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regledger.domain.ids import program_id, section_id, student_id, subject_id
from tests.cli.helpers import admin, parse_csv, parse_json, student

PID = program_id("fall")
K1, M101 = subject_id(PID, "K1"), subject_id(PID, "M101")
K1S1, K1S2, M101S1 = section_id(K1, 1), section_id(K1, 2), section_id(M101, 1)


@pytest.fixture
def busy(season):
    """K1s1 full (ada) with ben waiting; classes window set; cat starred K1 then M101, unstarred K1."""
    app = season.app
    app.add_section(PID, "ada", K1S1, student("fall", "ada"))
    app.join_waitlist(PID, "ben", K1S1, student("fall", "ben"))
    app.set_window(PID, "classes", datetime(2026, 11, 1, 13, tzinfo=UTC), None, admin())
    app.star(PID, "cat", K1, student("fall", "cat"))
    app.star(PID, "cat", M101, student("fall", "cat"))
    app.unstar(PID, "cat", K1, student("fall", "cat"))
    return season


@pytest.mark.usefixtures("busy")
def test_program_show_has_settings_windows_and_timeslots(run):
    shown = parse_json(run("program", "show", "fall", "--format", "json"))
    assert (shown["slug"], shown["title"], shown["program_id"]) == ("fall", "Splash Fall", str(PID))
    assert shown["timezone"] == "America/New_York"
    assert shown["settings"]["waitlist_enabled"] is True
    assert shown["windows"] == [{"kind": "classes", "opens": "2026-11-01T08:00:00-05:00", "closes": None}]
    assert [(t["label"], t["starts"], t["has_lunch"]) for t in shown["timeslots"]] == [
        ("Sat 9:00", "2026-11-21T09:00:00-05:00", False),
        ("Sat 10:00", "2026-11-21T10:00:00-05:00", False),
    ]
    header, rows = parse_csv(run("program", "show", "fall", "--format", "csv"))
    assert header == ["part", "name", "field", "value"]
    assert {"part": "settings", "name": "timezone", "field": "value", "value": "America/New_York"} in rows
    assert {"part": "timeslots", "name": "Sat 10:00", "field": "ends", "value": "2026-11-21T10:50:00-05:00"} in rows
    table = run("program", "show", "fall").stdout
    assert "Registration windows" in table
    assert "2026-11-01 08:00:00" in table
    assert "refused not_found: No program spring" in run("program", "show", "spring", code=2).output
    assert [p["slug"] for p in parse_json(run("programs", "--format", "json"))["programs"]] == ["fall"]


@pytest.mark.usefixtures("busy")
def test_classes_list_codes_titles_sections_and_seats(run):
    listed = parse_json(run("classes", "fall", "--format", "json"))["classes"]
    assert [(c["code"], c["title"], c["sections"], c["capacity"], c["enrolled"], c["free"]) for c in listed] == [
        ("K1", "Knot Theory", ["K1s1", "K1s2"], 2, 1, 1),
        ("M101", "Algebra I", ["M101s1"], 10, 0, 10),
    ]
    assert [
        c["code"] for c in parse_json(run("classes", "fall", "--category", "Math", "--format", "json"))["classes"]
    ] == ["K1"]
    at_ten = parse_json(run("classes", "fall", "--timeslot", "Sat 10:00", "--format", "json"))["classes"]
    assert [(c["code"], c["sections"]) for c in at_ten] == [("K1", ["K1s2"]), ("M101", ["M101s1"])]
    assert parse_json(run("classes", "fall", "--grade", "6", "--format", "json"))["classes"] == []  # 7-12
    header, rows = parse_csv(run("classes", "fall", "--format", "csv"))
    assert {"code", "title", "category", "grade_min", "grade_max", "status", "sections", "subject_id"} <= set(header)
    assert rows[0]["sections"] == "K1s1; K1s2"


@pytest.mark.usefixtures("busy")
def test_sections_filter_by_timeslot_and_free_seats_and_page_by_code(run):
    listed = parse_json(run("sections", "fall", "--format", "json"))["sections"]
    assert [(s["code"], s["enrolled"], s["free"], s["waitlisted"]) for s in listed] == [
        ("K1s1", 1, 0, 1),
        ("K1s2", 0, 1, 0),
        ("M101s1", 0, 10, 0),
    ]
    free = parse_json(run("sections", "fall", "--free", "--timeslot", "Sat 9:00", "--format", "json"))["sections"]
    assert free == []
    first = parse_json(run("sections", "fall", "--limit", "2", "--format", "json"))
    assert [s["code"] for s in first["sections"]] == ["K1s1", "K1s2"]
    assert first["next_after"] == "K1s2"
    rest = parse_json(run("sections", "fall", "--limit", "2", "--after", "K1s2", "--format", "json"))
    assert [s["code"] for s in rest["sections"]] == ["M101s1"]
    assert "next_after" not in rest
    assert "more may follow: --after K1s2" in run("sections", "fall", "--limit", "2").stdout
    out = " ".join(run("sections", "fall", "--timeslot", "Sun 9:00", code=2).output.split())
    assert "no timeslot 'Sun 9:00' in fall" in out
    _, rows = parse_csv(run("sections", "fall", "--format", "csv"))
    assert rows[0]["timeslots"] == "Sat 9:00"


@pytest.mark.usefixtures("busy")
def test_section_show_has_class_timeslots_capacities_and_waitlist(run):
    shown = parse_json(run("section", "show", "K1s1", "--program", "fall", "--format", "json"))
    assert (shown["code"], shown["class_code"], shown["class_title"], shown["section_id"]) == (
        "K1s1",
        "K1",
        "Knot Theory",
        str(K1S1),
    )
    assert (shown["capacity"], shown["enrolled"], shown["free"], shown["waitlisted"]) == (1, 1, 0, 1)
    assert shown["timeslots"] == ["Sat 9:00"]
    assert (shown["grade_min"], shown["grade_max"], shown["is_open"]) == (7, 12, True)
    _, rows = parse_csv(run("section", "show", str(K1S2), "--format", "csv"))
    assert len(rows) == 1
    assert (rows[0]["code"], rows[0]["free"]) == ("K1s2", "1")
    table = run("section", "show", "fall/K1s1").stdout
    assert "waitlist" in table
    assert "Sat 9:00: 2026-11-21 09:00-09:50" in table
    assert "refused not_found: No section K1s7 in program fall" in run("section", "show", "fall/K1s7", code=2).output


@pytest.mark.usefixtures("busy")
def test_students_by_key_with_names_searched_and_paged(run):
    listed = parse_json(run("students", "fall", "--format", "json"))["students"]
    assert [(s["key"], s["name"], s["grade"]) for s in listed] == [
        ("ada", "Ada Lovelace", 11),
        ("ben", "Ben Franklin", 11),
        ("cat", "Cat Stevens", 11),
    ]
    assert listed[0]["student_id"] == str(student_id(PID, "ada"))
    found = parse_json(run("students", "fall", "--search", "ben f", "--format", "json"))["students"]
    assert [s["key"] for s in found] == ["ben"]
    page = parse_json(run("students", "fall", "--limit", "2", "--after", "ada", "--format", "json"))
    assert [s["key"] for s in page["students"]] == ["ben", "cat"]
    header, rows = parse_csv(run("students", "fall", "--format", "csv"))
    assert header[:3] == ["key", "name", "grade"]
    assert [r["key"] for r in rows] == ["ada", "ben", "cat"]


@pytest.mark.usefixtures("busy")
def test_stars_show_their_history(run):
    shown = parse_json(run("stars", "fall/cat", "--format", "json"))
    assert shown["starred_now"] == 1
    assert [(s["class_code"], s["current"], s["actor"], s["end_actor"]) for s in shown["stars"]] == [
        ("K1", False, "student:fall/cat", "student:fall/cat"),
        ("M101", True, "student:fall/cat", None),
    ]
    header, rows = parse_csv(run("stars", "fall/cat", "--format", "csv"))
    assert {"class_code", "class_title", "starred", "unstarred", "actor", "end_actor"} <= set(header)
    assert rows[1]["unstarred"] == ""
    assert "1 starred now" in run("stars", "fall/cat").stdout
    assert parse_json(run("stars", "fall/ada", "--format", "json"))["stars"] == []
    assert "refused not_found: No student zed" in run("stars", "fall/zed", code=2).output
