"""Fixtures of the program-log tests: one PostgreSQL schema, applications made on it."""

from __future__ import annotations

from typing import Any

import pytest

from regledger.adapters.bootstrap import build_application
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.domain.application import Registration


@pytest.fixture
def settings(make_postgres_settings: Any) -> Any:
    """One fresh schema for the test (the layout is chosen by the application class)."""
    return make_postgres_settings()


@pytest.fixture
def make(settings: Any, open_apps: list[Any]) -> Any:
    """make(app_class=ProgramLogRegistration): another application (process) on the schema."""

    def make(app_class: type[Registration] = ProgramLogRegistration) -> Any:
        app = build_application(settings, app_class=app_class)
        open_apps.append(app)
        return app

    return make
