"""Shared fixtures: settings per store, a throwaway PostgreSQL database, and app construction."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from eventsourcing.application import Application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

from regledger.adapters.bootstrap import build_application
from regledger.adapters.projector import build_views
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.projections.views import RegistrationViews

# CI: the same examples on every run (reproducible failures), no example database, no deadline
# (2 shared cores). Local runs keep hypothesis' default random exploration.
hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

MakeApp = Callable[..., Any]

STORES = ("memory", "sqlite", "postgres")


@dataclass(frozen=True)
class PostgresServer:
    """The session's throwaway database on the test server."""

    host: str
    port: int
    user: str
    dbname: str

    def conninfo(self, dbname: str | None = None) -> str:
        return make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=dbname or self.dbname,
            connect_timeout=5,
            application_name="regledger-tests",
        )

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.conninfo(dbname), autocommit=True)
        # A leaked transaction must fail teardown loudly, not hang it.
        conn.execute("SET lock_timeout = '10s'")
        return conn


@pytest.fixture(scope="session", autouse=True)
def _isolated_regledger_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test (nor a process it starts) writes to the real per-user data directory.

    Session-scoped and set on os.environ rather than a function-scoped monkeypatch: hypothesis
    refuses function-scoped fixtures on its tests, autouse ones included."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGLEDGER_HOME", str(tmp_path_factory.mktemp("regledger-home")))
        # Settings.from_mapping ignores os.environ, so its default goes through platformdirs.
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


def _postgres_unreachable(where: str, exc: BaseException) -> NoReturn:
    detail = " ".join(str(exc).split())
    reason = f"PostgreSQL not reachable at {where} ({type(exc).__name__}: {detail})"
    if os.environ.get("REGLEDGER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; REGLEDGER_REQUIRE_POSTGRES=1 makes this an error", pytrace=False)
    pytest.skip(f"{reason}; set REGLEDGER_REQUIRE_POSTGRES=1 to make this an error")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    admin = PostgresServer(
        host=os.environ.get("REGLEDGER_TEST_POSTGRES_HOST", "127.0.0.1"),
        port=int(os.environ.get("REGLEDGER_TEST_POSTGRES_PORT", "5432")),
        user=os.environ.get("REGLEDGER_TEST_POSTGRES_USER", "postgres"),
        dbname=os.environ.get("REGLEDGER_TEST_POSTGRES_DB", "test"),
    )
    try:
        conn = admin.connect()
    except psycopg.OperationalError as exc:
        _postgres_unreachable(f"{admin.host}:{admin.port}", exc)
    server = PostgresServer(admin.host, admin.port, admin.user, f"regledger_test_{secrets.token_hex(4)}")
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.dbname)))
    try:
        yield server
    finally:
        with admin.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(server.dbname)))


@pytest.fixture
def open_apps() -> Iterator[list[Application[Any]]]:
    apps: list[Application[Any]] = []
    yield apps
    _close_all(apps)


def _close_all(apps: list[Application[Any]]) -> None:
    while apps:
        apps.pop().close()


@pytest.fixture
def make_app(open_apps: list[Application[Any]]) -> MakeApp:
    """make_app(settings, app_class=Application) -> app_class(env=settings.eventsourcing_env(...)).

    Every app is closed at teardown (psycopg pools and SQLite connections never outlive a test).
    The env also pins the app-name-prefixed keys, so `<APPNAME>_PERSISTENCE_MODULE` in the shell
    cannot redirect a test either.
    """

    def make(settings: Settings, app_class: type[Any] = Application) -> Any:
        settings.prepare()
        if app_class is Registration:  # wired as the composition root wires it
            app = build_application(settings)
        else:
            app = app_class(env=settings.eventsourcing_env(names=[app_class.name]))
        open_apps.append(app)
        return app

    return make


@pytest.fixture
def make_postgres_settings(
    postgres_server: PostgresServer, open_apps: list[Application[Any]]
) -> Iterator[Callable[[], Settings]]:
    """Factory: each call creates a fresh schema `t_<hex>` and returns settings using it."""
    schemas: list[str] = []

    def make() -> Settings:
        schema = f"t_{secrets.token_hex(6)}"
        with postgres_server.connect() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        schemas.append(schema)
        return Settings.from_mapping(
            {
                "REGLEDGER_STORE": "postgres",
                "REGLEDGER_POSTGRES_HOST": postgres_server.host,
                "REGLEDGER_POSTGRES_PORT": str(postgres_server.port),
                "REGLEDGER_POSTGRES_USER": postgres_server.user,
                "REGLEDGER_POSTGRES_DB": postgres_server.dbname,
                "REGLEDGER_POSTGRES_SCHEMA": schema,
                "REGLEDGER_POSTGRES_POOL_SIZE": "2",
                "REGLEDGER_POSTGRES_MAX_OVERFLOW": "4",
            }
        )

    yield make
    # Apps built on these schemas must release their pools before the schemas go.
    _close_all(open_apps)
    with postgres_server.connect() as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_settings(make_postgres_settings: Callable[[], Settings]) -> Settings:
    return make_postgres_settings()


@pytest.fixture
def postgres_per_program_settings(make_postgres_settings: Callable[[], Settings]) -> Settings:
    """PostgreSQL with a log per program (REGLEDGER_LOG_LAYOUT=per_program)."""
    return make_postgres_settings().model_copy(update={"log_layout": "per_program"})


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings.from_mapping(
        {
            "REGLEDGER_STORE": "sqlite",
            "REGLEDGER_SQLITE_PATH": str(tmp_path / "var" / "regledger.sqlite3"),
        }
    )


@pytest.fixture
def memory_settings() -> Settings:
    return Settings.from_mapping({"REGLEDGER_STORE": "memory"})


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each store; only the postgres param touches (and needs) the server."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("postgres_per_program", id="per_program", marks=pytest.mark.postgres),
    ]
)
def app_settings(request: pytest.FixtureRequest) -> Settings:
    """Each store, and PostgreSQL in both log layouts (docs/per-program-logs.md)."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


MakeViews = Callable[..., RegistrationViews]


@pytest.fixture
def make_views() -> Iterator[MakeViews]:
    """make_views(settings, prefix="rv_") -> fresh (dropped and recreated) views for the store."""
    opened: list[RegistrationViews] = []

    def make(settings: Settings, prefix: str = "rv_", fresh: bool = True) -> RegistrationViews:
        views = build_views(settings, prefix=prefix)
        if fresh:
            views.drop_tables()
            views.create_tables()
        opened.append(views)
        return views

    yield make
    for views in opened:
        views.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that (statically) needs the server is a postgres test, marked or not,
    # so `-m "not postgres"` deselects it.
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
