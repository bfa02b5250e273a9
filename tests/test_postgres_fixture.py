"""The fixtures themselves: throwaway database, per-test schemas, skip or fail, db functions off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from regledger.adapters.settings import Settings

REPO = Path(__file__).resolve().parent.parent


class Counter(Aggregate):
    def __init__(self, label: str) -> None:
        self.label = label


class Ledger(Application[UUID]):
    """Same class name in every schema, so same table names: only the schema separates them."""


def _objects_in_schema(settings: Settings) -> set[tuple[str, str]]:
    query = """
        SELECT 'table', tablename FROM pg_tables WHERE schemaname = %(s)s
        UNION ALL
        SELECT 'type', t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = %(s)s AND t.typtype = 'c'
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind = 'r')
    """
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        rows = conn.execute(query, {"s": settings.postgres_schema}).fetchall()
    return {(kind, name) for kind, name in rows}


def test_session_database_is_a_throwaway_one(postgres_server):
    assert re.fullmatch(r"regledger_test_[0-9a-f]{8}", postgres_server.dbname)
    with postgres_server.connect() as conn:
        (current,) = conn.execute("SELECT current_database()").fetchone()
    assert current == postgres_server.dbname


def test_each_test_gets_a_fresh_empty_schema(postgres_settings):
    assert re.fullmatch(r"t_[0-9a-f]{12}", postgres_settings.postgres_schema)
    assert _objects_in_schema(postgres_settings) == set()


def test_library_creates_its_tables_and_composite_type_inside_the_schema(postgres_settings, postgres_server, make_app):
    app = make_app(postgres_settings, Ledger)
    app.save(Counter("x"))

    assert _objects_in_schema(postgres_settings) == {
        ("table", "ledger_events"),
        ("type", "stored_event_uuid"),
    }
    with postgres_server.connect() as conn:
        public = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchone()
    assert public == (0,)


def test_two_schemas_do_not_see_each_others_events(make_postgres_settings, make_app):
    settings_a, settings_b = make_postgres_settings(), make_postgres_settings()
    assert settings_a.postgres_schema != settings_b.postgres_schema
    app_a = make_app(settings_a, Ledger)
    app_b = make_app(settings_b, Ledger)

    counter = Counter("only in a")
    app_a.save(counter)

    assert app_a.repository.get(counter.id).label == "only in a"
    assert app_a.recorder.max_notification_id() == 1
    with pytest.raises(AggregateNotFoundError):
        app_b.repository.get(counter.id)
    assert not app_b.recorder.max_notification_id()

    other = Counter("only in b")
    app_b.save(other)
    assert app_b.recorder.max_notification_id() == 1  # b's own sequence, not a's
    with pytest.raises(AggregateNotFoundError):
        app_a.repository.get(other.id)


def test_make_app_uses_the_store_it_is_given(store_settings, make_app):
    app = make_app(store_settings, Ledger)
    counter = Counter("round trip")
    app.save(counter)

    module = type(app.factory).__module__
    assert module == store_settings.eventsourcing_env()["PERSISTENCE_MODULE"]
    assert app.repository.get(counter.id).label == "round trip"


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
def test_db_functions_are_never_enabled_by_the_settings_env(store, tmp_path, monkeypatch):
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("LEDGER_POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    settings = Settings.from_mapping({"REGLEDGER_STORE": store, "REGLEDGER_SQLITE_PATH": str(tmp_path / "x.sqlite3")})

    env = settings.eventsourcing_env(names=["Ledger"])

    flags = {key: value for key, value in env.items() if "ENABLE_DB_FUNCTIONS" in key}
    assert flags == {
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "LEDGER_POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }


def test_a_real_postgres_app_has_db_functions_off_despite_the_shell(postgres_settings, make_app, monkeypatch):
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("LEDGER_POSTGRES_ENABLE_DB_FUNCTIONS", "y")

    app = make_app(postgres_settings, Ledger)

    assert app.env.get("POSTGRES_ENABLE_DB_FUNCTIONS") == "n"
    assert app.factory.datastore.enable_db_functions is False


def test_make_app_closes_postgres_pools_at_teardown(make_postgres_settings, make_app, open_apps):
    app = make_app(make_postgres_settings(), Ledger)
    app.save(Counter("x"))
    pool = app.factory.datastore.pool
    assert not pool.closed

    # What teardown does; the fixture's own teardown then finds nothing left to close.
    while open_apps:
        open_apps.pop().close()
    assert pool.closed


def _run_fixture_probe(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env |= {"REGLEDGER_TEST_POSTGRES_PORT": "1", **extra_env}  # nothing listens on port 1
    return subprocess.run(
        [
            sys.executable,
            "-P",  # keep the repo root off sys.path, as in a normal run
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/test_postgres_fixture.py::test_session_database_is_a_throwaway_one",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_unreachable_server_skips_with_a_reason():
    result = _run_fixture_probe({})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "PostgreSQL not reachable at 127.0.0.1:1" in result.stdout
    assert "set REGLEDGER_REQUIRE_POSTGRES=1 to make this an error" in result.stdout


def test_unreachable_server_fails_when_postgres_is_required():
    result = _run_fixture_probe({"REGLEDGER_REQUIRE_POSTGRES": "1"})

    assert result.returncode != 0
    assert "1 error" in result.stdout, result.stdout
    assert "PostgreSQL not reachable at 127.0.0.1:1" in result.stdout
