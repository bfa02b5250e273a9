"""Fixtures: a real SMTP server on a loopback port, notifier settings on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from regledger.adapters.bootstrap import build_application
from regledger.adapters.notifier.store import OutboxStore, open_outbox
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from tests.notifier.helpers import SmtpServer, smtp_environ, store_environ


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)
def base_settings(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture
def notify_settings(base_settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The store's settings with the test SMTP server, a short backoff and many attempts."""
    return Settings.from_mapping({**store_environ(base_settings), **smtp_environ(smtp_server.port)})


@pytest.fixture
def app(notify_settings: Settings) -> Iterator[Registration]:
    notify_settings.prepare()
    registration = build_application(notify_settings)
    yield registration
    registration.close()


@pytest.fixture
def outbox(notify_settings: Settings) -> Iterator[OutboxStore]:
    store = open_outbox(notify_settings)
    store.create_tables()  # a reader's: the notifier records its start itself
    yield store
    store.close()
