"""`regledger admission ...` through typer's runner on SQLite: tickets, a run's round trip,
stats, manual admission, undo and refusals."""

from __future__ import annotations

import pytest

from regledger.adapters.bootstrap import build
from regledger.domain.ids import program_id
from tests.cli.helpers import admin, parse_json, student


@pytest.fixture
def phase_zero(sqlite_settings):
    """A program with Phase Zero (groups of 2); 10th graders ada, bob, cyd and 9th grader dee."""
    services = build(sqlite_settings, follow=False)
    app = services.app
    try:
        app.create_program("splash", "Splash", admin(), school_year=2027, settings={"phase_zero": True})
        app.change_settings(program_id("splash"), {"admission_group_size": 2}, admin())
        for key, year in (("ada", 2029), ("bob", 2029), ("cyd", 2029), ("dee", 2030)):
            app.submit_profile(program_id("splash"), key, key.title(), year, {}, student("splash", key))
    finally:
        services.close()
    return "splash"


def test_tickets_a_run_stats_and_commit_round_trip(run, phase_zero, position) -> None:
    run("admission", "enter", "splash/ada")
    assert "ada's group: ada, bob" in run("admission", "join", "splash/bob", "ada").stdout
    before = position()
    refused = run("admission", "join", "splash/cyd", "ada", code=2)
    assert "admission_group_full" in refused.output
    assert position() == before
    run("admission", "enter", "splash/cyd")
    run("admission", "enter", "splash/dee")
    assert "(2/2): ada, bob; admitted: no" in run("admission", "show", "splash/bob").stdout

    started = run("admission", "start", "splash", "--cap", "7-9=1", "--cap", "10-12=2", "--seed", "5")
    run_id = started.stdout.split()[1].rstrip(":")
    stats = parse_json(run("admission", "stats", run_id, "--format", "json"))
    assert stats["entrants"] == 4
    assert [b["cap"] for b in stats["buckets"]] == [1, 2]
    assert "IDENTICAL" in run("admission", "replay", run_id).stdout
    committed = run("admission", "commit", run_id)
    (listed,) = parse_json(run("admission", "runs", "splash", "--format", "json"))["runs"]
    assert (listed["run_id"], listed["status"]) == (run_id, "committed")
    assert parse_json(run("lottery", "runs", "splash", "--format", "json"))["runs"] == []
    assert f"{stats['winners']} students admitted" in committed.stdout
    assert "lottery_already_committed" in run("admission", "discard", run_id, code=2).output
    table = run("admission", "stats", run_id).stdout
    assert "Grade buckets" in table
    undone = run("admission", "undo", "splash", "--run", run_id, "--reason", "redo")
    assert f"{stats['winners']} admissions undone" in undone.stdout


def test_manual_admission_undo_and_refusals(run, phase_zero) -> None:
    run("admission", "enter", "splash/ada")
    run("admission", "join", "splash/bob", "ada")
    assert "admission_target_not_entered" in run("admission", "admit", "splash", "cyd", code=2).output
    assert "2 students admitted" in run("admission", "admit", "splash", "bob", "--groups").stdout
    assert "admitted: yes" in run("admission", "show", "splash/ada").stdout
    assert "1 admissions undone" in run("admission", "undo", "splash", "ada", "--reason", "mistake").stdout
    assert "admitted: no" in run("admission", "show", "splash/ada").stdout
    assert "admission_holding_group" in run("admission", "leave", "splash/ada", code=2).output
    assert "a cap is GRADES=N" in run("admission", "start", "splash", "--cap", "7-12", code=2).output
