"""`regledger import|export catalogue` and `import students` through typer's runner, on SQLite and
PostgreSQL (the store given by REGLEDGER_* variables, as a shell would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from regledger.domain.values import CommandContext

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest):
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def env(settings):
    """The REGLEDGER_* variables the CLI process reads (Settings() from the environment)."""
    if settings.store == "sqlite":
        return {"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(settings.sqlite_path), "COLUMNS": "200"}
    return {
        "REGLEDGER_STORE": "postgres",
        "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
        "REGLEDGER_POSTGRES_PORT": str(settings.postgres_port),
        "REGLEDGER_POSTGRES_USER": settings.postgres_user,
        "REGLEDGER_POSTGRES_DB": settings.postgres_db,
        "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
        "COLUMNS": "200",
    }


@pytest.fixture
def services(settings):
    built = build(settings, follow=False)
    built.app.create_program("splash", "Splash", CommandContext(actor="admin:test"), school_year=2027)
    yield built
    built.close()


@pytest.fixture
def store(services):
    """The program "splash" exists; returns a function giving the log's head."""

    def head() -> int:
        return services.app.recorder.max_notification_id() or 0

    return head


@pytest.fixture
def run(env):
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(cli, ["import", *map(str, args)], env=env)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return invoke


def test_a_catalogue_csv_with_its_timeslots_is_imported_then_unchanged(run, store):
    catalogue, timeslots = EXAMPLES / "catalogue.csv", EXAMPLES / "timeslots.csv"
    first = run("catalogue", catalogue, "--program", "splash", "--timeslots", timeslots)
    assert "Imported at log position" in first.output
    assert "created" in first.output
    head = store()
    again = run("catalogue", catalogue, "--program", "splash", "--timeslots", timeslots)
    assert "Nothing to change" in again.output
    assert store() == head


def test_a_dry_run_prints_the_plan_and_writes_nothing(run, store):
    head = store()
    result = run("catalogue", EXAMPLES / "catalogue.json", "--program", "splash", "--dry-run", "--json")
    plan = json.loads(result.output)
    assert plan["dry_run"] is True
    assert plan["counts"]["section"]["created"] == 5
    assert store() == head


def test_a_bad_file_prints_every_error_with_its_line_and_exits_2(run, store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,title,section,timeslots,room_capacity\nM1,Knots,1,Nope,-1\nB2,,1,Nope,\n")
    head = store()
    result = run("catalogue", bad, "--program", "splash", code=2)
    assert "refused invalid_input" in result.output
    for expected in (
        "line 2: timeslots: unknown timeslot 'Nope'",
        "line 2: room_capacity: room_capacity must not be negative",
        "line 3: title: title must not be blank",
        "line 3: timeslots: unknown timeslot 'Nope'",
    ):
        assert expected in result.output
    assert store() == head


def test_a_file_that_is_not_utf8_is_refused_with_its_line(run, store, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("key,name,graduation_year\ns1,Ren\xe9e,2029\n".encode("latin-1"))
    result = run("students", latin, "--program", "splash", code=2)
    assert "line 2: not UTF-8" in result.output


def test_students_are_imported_from_json_and_a_key_replays(run, store):
    students = EXAMPLES / "students.json"
    first = json.loads(run("students", students, "--program", "splash", "--idempotency-key", "s-1", "--json").output)
    assert first["counts"]["student"]["created"] == 3
    again = json.loads(run("students", students, "--program", "splash", "--idempotency-key", "s-1", "--json").output)
    assert again["replayed"] is True


def test_an_unknown_program_is_refused(run, store):
    result = run("students", EXAMPLES / "students.csv", "--program", "nowhere", code=2)
    assert "refused not_found" in result.output


def test_an_exported_catalogue_imports_back_without_a_change(run, env, store, services, tmp_path):
    run("catalogue", EXAMPLES / "catalogue.json", "--program", "splash")
    services.projector.catch_up()  # on PostgreSQL `regledger project` would (the CLI only reads)
    runner = CliRunner()
    catalogue, timeslots = tmp_path / "out.csv", tmp_path / "slots.csv"
    args = ["export", "catalogue", "--program", "splash", "--output", catalogue, "--timeslots", timeslots]
    exported = runner.invoke(cli, list(map(str, args)), env=env)
    assert exported.exit_code == 0, exported.output
    assert catalogue.read_text().startswith("code,title,category,")
    head = store()
    again = run("catalogue", catalogue, "--program", "splash", "--timeslots", timeslots)
    assert "Nothing to change" in again.output
    as_json = runner.invoke(cli, ["export", "catalogue", "--program", "splash", "--format", "json"], env=env)
    assert json.loads(as_json.output)["classes"][0]["code"] == "A300"
    assert store() == head
