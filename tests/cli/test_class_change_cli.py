"""`regledger class-change ...` through typer's runner on SQLite: request, start, show, replay,
commit, runs, discard; output formats and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from regledger.adapters.bootstrap import build
from regledger.domain.ids import SubjectId, TimeslotId, program_id
from regledger.projections.catalogue import section_id_of_code
from tests.cli.helpers import admin, parse_csv, parse_json, student


@pytest.fixture
def swap_program(sqlite_settings):
    """Slot 0: A1s1 (one seat, ada) and B1s1 (one seat, bob); both students' profiles."""
    services = build(sqlite_settings, follow=False)
    app = services.app
    try:
        app.create_program("splash", "Splash", admin(), school_year=2027)
        pid = program_id("splash")
        start = datetime(2026, 11, 21, 9, tzinfo=UTC)
        added = app.add_timeslot(pid, "9:00", start, start + timedelta(minutes=50), admin())
        slot = TimeslotId(UUID(added.ids["timeslot_id"]))
        for code in ("A1", "B1"):
            subject = SubjectId(UUID(app.add_subject(pid, code, code, admin(), class_size_max=1).ids["subject_id"]))
            app.create_section(subject, [slot], admin())
        for key, section in (("ada", "A1s1"), ("bob", "B1s1")):
            app.submit_profile(pid, key, key.title(), 2029, {}, student("splash", key))
            found = section_id_of_code(pid, section)
            assert found is not None
            app.add_section(pid, key, found, student("splash", key))
    finally:
        services.close()
    return "splash"


def test_requests_a_run_and_its_commit_round_trip(run, swap_program, position) -> None:
    run("class-change", "request", "splash/ada", "B1s1:1")
    run("class-change", "request", "splash/bob", "splash/A1s1")
    listed = parse_json(run("class-change", "request", "splash/ada", "--format", "json"))
    assert [(r["section"], r["priority"], r["verb"]) for r in listed["requests"]] == [("B1s1", 1, "Request/1")]

    started = run("class-change", "start", "splash", "--seed", "3")
    assert "2 students change" in started.stdout
    runs = parse_json(run("class-change", "runs", "splash", "--format", "json"))["runs"]
    (only,) = runs
    run_id = only["run_id"]
    assert parse_json(run("lottery", "runs", "splash", "--format", "json"))["runs"] == []
    shown = parse_json(run("class-change", "show", run_id, "--format", "json"))
    assert shown["parameters"]["algorithm"] == "esp-class-change/1"
    moves = {m["student_key"]: m for m in shown["moves"]}
    assert moves["ada"]["dropped"] == ["A1s1"]
    assert moves["ada"]["added"] == ["B1s1 (p1)"]
    assert moves["bob"]["added"] == ["A1s1"]
    header, _ = parse_csv(run("class-change", "show", run_id, "--format", "csv"))
    assert header == ["part", "name", "field", "value"]
    assert "IDENTICAL" in run("class-change", "replay", run_id).stdout

    refused = run("lottery", "commit", run_id, code=2)
    assert "not_a_lottery_run" in refused.output
    assert "2 seats moved" in run("class-change", "commit", run_id).stdout
    schedule = run("schedule", "splash", "ada").output
    assert "B1s1" in schedule
    assert "A1s1" not in schedule
    before = position()
    assert "lottery_already_committed" in run("class-change", "commit", run_id, code=2).output
    assert position() == before


def test_a_bad_request_is_refused_and_writes_nothing(run, swap_program, position) -> None:
    before = position()
    assert "priority_limit" in run("class-change", "request", "splash/ada", "B1s1:7", code=2).output
    assert position() == before
    run("class-change", "request", "splash/ada", "B1s1:x", code=2)
    assert position() == before


def test_a_run_can_be_discarded(run, swap_program) -> None:
    run("class-change", "start", "splash")
    (only,) = parse_json(run("class-change", "runs", "splash", "--format", "json"))["runs"]
    assert "discarded" in run("class-change", "discard", only["run_id"]).stdout
    assert "lottery_discarded" in run("class-change", "commit", only["run_id"], code=2).output
