"""The registration state machine (test_stateful.py) on PostgreSQL, each example in its own schema."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from psycopg import sql

from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from tests.application.test_stateful import STATEFUL, RegistrationMachine
from tests.conftest import PostgresServer


@pytest.mark.postgres
@pytest.mark.parametrize("log_layout", ["shared", "per_program"])
def test_the_machine_on_postgres(postgres_server: PostgresServer, log_layout: str) -> None:
    """The same rules and invariants on PostgreSQL, each example in a schema of its own, in
    each log layout."""

    class PostgresRegistrationMachine(RegistrationMachine):
        store = "postgres"

        def new_app(self, *, cache: bool) -> Registration:
            self.schema = f"t_{secrets.token_hex(6)}"
            with postgres_server.connect() as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            config = Settings.from_mapping(
                {
                    "REGLEDGER_STORE": "postgres",
                    "REGLEDGER_AGGREGATE_CACHE_SIZE": "10000" if cache else "0",
                    "REGLEDGER_POSTGRES_HOST": postgres_server.host,
                    "REGLEDGER_POSTGRES_PORT": str(postgres_server.port),
                    "REGLEDGER_POSTGRES_USER": postgres_server.user,
                    "REGLEDGER_POSTGRES_DB": postgres_server.dbname,
                    "REGLEDGER_POSTGRES_SCHEMA": self.schema,
                    "REGLEDGER_POSTGRES_POOL_SIZE": "2",
                    "REGLEDGER_LOG_LAYOUT": log_layout,
                }
            )
            config.prepare()
            app = build_application(config)
            self.apps.append(app)
            return app

        def teardown(self) -> None:
            super().teardown()
            with postgres_server.connect() as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))

    run_state_machine_as_test(
        PostgresRegistrationMachine, settings=settings(STATEFUL, max_examples=5, stateful_step_count=25)
    )
