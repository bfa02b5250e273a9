"""Every query command prints a table, one JSON document or CSV with a header row."""

from __future__ import annotations

import re

import pytest

from regledger.adapters.bootstrap import build
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.ids import program_id, section_id, student_id, subject_id
from tests.cli.helpers import admin, parse_csv, parse_json, student

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
K1S1 = section_id(subject_id(program_id("fall"), "K1"), 1)


@pytest.fixture
def enrolled(season):
    """ada Enrolled in K1s1 and M101s1 and starring K1, ben waitlisted for K1s1."""
    app, pid = season.app, program_id("fall")
    app.star(pid, "ada", subject_id(pid, "K1"), student("fall", "ada"))
    app.add_section(pid, "ada", K1S1, student("fall", "ada"))
    app.add_section(pid, "ada", section_id(subject_id(pid, "M101"), 1), student("fall", "ada"))
    app.join_waitlist(pid, "ben", K1S1, student("fall", "ben"))
    return season


QUERIES = {
    "roster": ("roster", "fall/K1s1", "--verb", "Enrolled", "--verb", "Waitlisted"),
    "schedule": ("schedule", "fall/ada"),
    "history": ("history", "--section", "K1s1", "--program", "fall"),
    "types": ("types",),
    "programs": ("programs",),
    "program show": ("program", "show", "fall"),
    "classes": ("classes", "fall"),
    "sections": ("sections", "fall"),
    "section show": ("section", "show", "fall/K1s1"),
    "students": ("students", "fall"),
    "stars": ("stars", "fall/ada"),
}


@pytest.mark.usefixtures("enrolled")
@pytest.mark.parametrize("query", QUERIES)
def test_a_query_prints_json_with_ids_as_strings_and_iso_times(run, query):
    document = parse_json(run(*QUERIES[query], "--format", "json"))
    assert isinstance(document, dict)
    rows = next((v for v in document.values() if isinstance(v, list) and v and isinstance(v[0], dict)), [document])
    assert rows
    if query == "roster":
        assert [(r["key"], r["name"], r["verb"]) for r in rows] == [
            ("ada", "Ada Lovelace", "Enrolled"),
            ("ben", "Ben Franklin", "Waitlisted"),
        ]
        assert rows[0]["student_id"] == str(student_id(program_id("fall"), "ada"))
        assert document["section"]["code"] == "K1s1"
        assert document["enrolled"] == 1
    if query == "schedule":
        assert {(r["section_code"], r["class_title"], tuple(r["timeslots"])) for r in rows} == {
            ("K1s1", "Knot Theory", ("Sat 9:00",)),
            ("M101s1", "Algebra I", ("Sat 10:00",)),
        }
        starts = {r["section_code"]: r["starts"] for r in rows}
        assert starts["K1s1"] == ["2026-11-21T09:00:00-05:00"]  # ISO 8601, in the program's zone
    if query == "history":
        assert [(r["student_key"], r["verb"]) for r in rows] == [("ada", "Enrolled"), ("ben", "Waitlisted")]
        assert UUID_TEXT.fullmatch(rows[0]["section_id"])
        assert rows[0]["from"].endswith("-05:00")
    if query == "types":
        assert "Enrolled" in {r["name"] for r in rows}
    if query == "section show":
        assert (document["code"], document["section_id"], document["enrolled"]) == ("K1s1", str(K1S1), 1)
    if query == "stars":
        assert [(r["class_code"], r["current"]) for r in rows] == [("K1", True)]


@pytest.mark.usefixtures("enrolled")
@pytest.mark.parametrize("query", QUERIES)
def test_a_query_prints_csv_with_a_header_row(run, query):
    header, rows = parse_csv(run(*QUERIES[query], "--format", "csv"))
    assert rows
    expected = {
        "roster": {"key", "name", "verb", "student_id"},
        "schedule": {"section_code", "class_code", "class_title", "section_number", "timeslots", "starts", "verb"},
        "history": {"from", "to", "student_key", "section_code", "verb", "cause", "actor", "reason", "end_reason"},
        "types": {"name", "display_name", "description"},
        "programs": {"slug", "title", "timezone", "program_id"},
        "program show": {"part", "name", "field", "value"},
        "classes": {"code", "title", "sections", "free", "subject_id"},
        "sections": {"code", "class_title", "timeslots", "capacity", "enrolled", "free", "waitlisted"},
        "section show": {"code", "class_title", "room_capacity", "capacity", "free", "waitlisted", "section_id"},
        "students": {"key", "name", "grade", "student_id"},
        "stars": {"class_code", "class_title", "starred", "unstarred", "actor"},
    }[query]
    assert expected <= set(header)
    if query == "roster":
        assert [r["key"] for r in rows] == ["ada", "ben"]
    if query == "schedule":
        assert sorted(r["section_code"] for r in rows) == ["K1s1", "M101s1"]


@pytest.mark.usefixtures("enrolled")
@pytest.mark.parametrize("query", QUERIES)
def test_a_query_prints_a_table_by_default_and_on_request(run, query):
    table = run(*QUERIES[query]).stdout
    assert table == run(*QUERIES[query], "--format", "table").stdout
    assert "┃" in table


def test_an_unknown_format_is_a_usage_error(run):
    assert "--format" in run("types", "--format", "xml", code=2).output


def test_lottery_stats_assignment_and_compare_in_every_format(run, sqlite_settings):
    services = build(sqlite_settings, follow=False)
    try:
        store_synthetic_program(
            services.app, generate_program(7, students=30, sections=16, classes=12, timeslots=4, days=1), admin()
        )
    finally:
        services.close()
    first = re.search(r"run ([0-9a-f-]{36}):", run("lottery", "start", "synthetic-7", "--seed", "5").output).group(1)
    second = re.search(r"run ([0-9a-f-]{36}):", run("lottery", "start", "synthetic-7", "--seed", "6").output).group(1)

    stats = parse_json(run("lottery", "stats", first, "--format", "json"))
    assert stats["run_id"] == first
    assert stats["seed"] == 5
    assert "Fill rate" in {s["label"] for s in stats["stats"]}
    header, rows = parse_csv(run("lottery", "stats", first, "--format", "csv"))
    assert header == ["label", "value"]
    assert "Fill rate" in {r["label"] for r in rows}

    assignment = parse_json(run("lottery", "assignment", first, "--format", "json"))
    seats = assignment["assignments"]
    assert len(seats) == assignment["seats"] > 0  # every seat, not a table's first 50
    assert all(re.fullmatch(r"s\d{5}", seat["student_key"]) for seat in seats)  # keys, not ids
    assert all(re.fullmatch(r"[A-Z]\d{4}s\d+", seat["section_code"]) for seat in seats)
    assert UUID_TEXT.fullmatch(seats[0]["student_id"])
    header, rows = parse_csv(run("lottery", "assignment", first, "--format", "csv", "--limit", "3"))
    assert header[:4] == ["student_key", "section_code", "class_title", "level"]
    assert len(rows) == 3
    assert "3 shown" in run("lottery", "assignment", first, "--limit", "3").stdout

    compared = parse_json(run("lottery", "compare", first, second, "--format", "json"))
    assert compared["run_ids"] == [first, second]
    seed_row = next(r for r in compared["stats"] if r["label"] == "Seed")
    assert (seed_row[first], seed_row[second]) == ("5", "6")
    header, rows = parse_csv(run("lottery", "compare", first, second, "--format", "csv"))
    assert header == ["label", first, second]
    assert first[:8] in run("lottery", "compare", first, second).stdout
