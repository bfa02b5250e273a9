"""The `regledger` CLI through typer's runner, on a SQLite store given by REGLEDGER_* variables
(fixtures in conftest.py)."""

from __future__ import annotations

import json
import re
import time
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from regledger.adapters.auth import CACHE_TTL, build_token_store
from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from tests.cli.helpers import admin, parse_csv

SMALL = {"students": 30, "sections": 16, "classes": 12, "timeslots": 4, "days": 1}
RUN_ID = re.compile(r"run ([0-9a-f-]{36}):")


def test_token_create_prints_the_plaintext_once_and_revoke_makes_it_invalid(run, sqlite_settings):
    result = run("token", "create", "--role", "admin", "--subject", "alice")
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rl_")
    store = build_token_store(sqlite_settings)
    try:
        principal = store.lookup(token)
        assert principal is not None
        assert principal.actor == "admin:alice"
        token_id = token.split(".")[0]
        assert token.split(".")[1] not in run("token", "list").output
        assert "revoked" in run("token", "revoke", token_id).output
        # Another process's revocation reaches this store once its 1 s lookup cache expires.
        store.clock = lambda: time.monotonic() + CACHE_TTL
        assert store.lookup(token) is None
        assert "no active token" in run("token", "revoke", token_id, code=1).output
    finally:
        store.close()


def test_token_create_refuses_a_malformed_subject(run):
    result = run("token", "create", "--role", "student", "--subject", "no-slash", code=2)
    assert "refused invalid_input:" in result.output


@pytest.mark.parametrize(
    ("role", "subject"), [("admin", "mallory\n"), ("student", "splash/s1\n"), ("admin", "mal\x00")]
)
def test_token_create_refuses_a_subject_with_a_trailing_newline_or_control(run, role, subject):
    result = run("token", "create", "--role", role, "--subject", subject, code=2)
    assert "refused invalid_input:" in result.output
    assert "mallory" not in run("token", "list").output


def test_roster_schedule_and_history(run, small_program):
    slug, sections = small_program
    roster = run("roster", str(sections["k9"])).output
    assert "ben" in roster
    assert "ada" not in roster
    assert "1/1 enrolled" in roster
    assert "ada" in run("roster", str(sections["k10"])).output
    before = run("roster", str(sections["k9"]), "--as-of", "2000-01-01T00:00:00Z").output
    assert "ben" not in before

    schedule = run("schedule", slug, "ada").output
    assert "K1s2" in schedule
    assert "Knot Theory" in schedule
    assert "Sat 10:00" in schedule
    assert "Enrolled" in schedule
    assert run("schedule", f"{slug}/ada").stdout == schedule

    _, intervals = parse_csv(run("history", "--student", f"{slug}/ada", "--format", "csv"))
    # The seat at 9:00 (ended by the switch), then the one at 10:00, in order.
    assert [(i["section_code"], i["verb"], i["end_cause"]) for i in intervals] == [
        ("K1s1", "Enrolled", "switch"),
        ("K1s2", "Enrolled", ""),
    ]
    assert intervals[0]["actor"] == "student:splash/ada"
    section_history = run("history", "--section", str(sections["k9"])).output
    assert "ada" in section_history
    assert "ben" in section_history
    assert "give exactly one" in run("history", code=2).output


def test_a_refusal_exits_2_with_the_rules_code_and_message(run, small_program):
    result = run("schedule", "no-such-program", "ada", code=2)
    assert "refused not_found:" in result.output
    result = run("roster", str(uuid4()), code=2)
    assert "refused not_found:" in result.output


def test_types_rebuild_and_project(run, small_program):
    assert "Enrolled" in run("types").output
    rebuilt = run("rebuild").output
    assert "identical to the views before the rebuild" in rebuilt
    assert "views at position" in run("project", "--catch-up").output


def test_lottery_commands(run, sqlite_settings):
    services = build(sqlite_settings, follow=False)
    try:
        store_synthetic_program(services.app, generate_program(7, **SMALL), admin())
    finally:
        services.close()
    first = run("lottery", "start", "synthetic-7", "--seed", "5", "--param", "kp=1.5").output
    run_id = RUN_ID.search(first).group(1)
    assert "seed 5" in first
    assert "Priority 1 granted" in first
    second = RUN_ID.search(run("lottery", "start", "synthetic-7", "--seed", "6").output).group(1)

    stats = run("lottery", "stats", run_id).output
    assert "Fill rate" in stats
    assert "kp" in stats
    replay = run("lottery", "replay", run_id).output
    assert "replay: IDENTICAL" in replay
    assert len(re.findall(r"assignment digest +(?:recorded|replayed) ([0-9a-f]{64})", replay)) == 2
    compared = run("lottery", "compare", run_id, second).output
    assert run_id[:8] in compared
    assert second[:8] in compared
    assert "seats" in run("lottery", "assignment", run_id, "--limit", "3").output

    assert "discarded" in run("lottery", "discard", second).output
    assert "refused lottery_discarded:" in run("lottery", "commit", second, code=2).output
    assert "committed run" in run("lottery", "commit", run_id).output
    third = RUN_ID.search(run("lottery", "start", "synthetic-7", "--seed", "7").output).group(1)
    refused = run("lottery", "commit", third, code=2).output
    assert "refused lottery_already_committed:" in refused
    assert "refused not_found:" in run("lottery", "stats", str(uuid4()), code=2).output
    assert "must be a UUID" in run("lottery", "stats", "nope", code=2).output
    listed = json.loads(run("lottery", "runs", "synthetic-7", "--format", "json").stdout)["runs"]
    assert [(r["run_id"], r["status"]) for r in sorted(listed, key=lambda r: r["seed"])] == [
        (run_id, "committed"),
        (second, "discarded"),
        (third, "computed"),
    ]


def test_the_demo_at_tiny_size(tmp_path, env):
    runner = CliRunner()
    database = tmp_path / "demo.sqlite3"
    database.write_text("stale")  # a previous run's file is removed first
    result = runner.invoke(cli, ["demo", "--students", "30", "--database", str(database)], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.output
    assert "recreated" in out
    assert "replay: IDENTICAL" in out
    assert "capacity check: OK, no section over capacity" in out
    assert "views and aggregates agree" in out
    assert "First-come-first-served rush" in out
    assert "History of student" in out
    assert re.search(r"demo finished in \d+\.\ds", out)
