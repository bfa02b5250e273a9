"""REGLEDGER_READ_DATABASE_URL parsing, and the replica's health and fallback log (no server)."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from regledger.adapters.replica_reads import FallbackLog
from regledger.adapters.settings import Settings
from regledger.adapters.views.replica import ReplicaHealth


def _settings(**extra: str) -> Settings:
    return Settings.from_mapping({"REGLEDGER_STORE": "postgres", "REGLEDGER_POSTGRES_PASSWORD": "primary-pw", **extra})


def test_no_replicas_by_default_or_when_the_variable_is_empty() -> None:
    assert _settings().read_replica_conninfos() == []
    assert _settings(REGLEDGER_READ_DATABASE_URL="").read_replica_conninfos() == []
    assert Settings.from_mapping({"REGLEDGER_READ_DATABASE_URL": ""}).store == "sqlite"


def test_a_comma_separated_list_of_replicas_in_the_primarys_schema() -> None:
    settings = _settings(
        REGLEDGER_POSTGRES_SCHEMA="regs",
        REGLEDGER_READ_DATABASE_URL="postgresql://reader:s3cret@replica1:5433/regledger, postgres://replica2/regledger",
    )
    (first, first_info), (second, second_info) = settings.read_replica_conninfos()
    assert first == "replica1:5433/regledger"
    assert second == "replica2:5432/regledger"
    assert "user=reader" in first_info
    assert "password=s3cret" in first_info
    assert "search_path=regs" in first_info
    # Parts a URL leaves out are the primary's.
    assert "user=postgres" in second_info
    assert "password=primary-pw" in second_info


def test_replica_passwords_are_never_shown() -> None:
    settings = _settings(REGLEDGER_READ_DATABASE_URL="postgresql://reader:s3cret@replica1/regledger")
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.redacted())
    assert settings.redacted()["read_database_url"] == "postgresql://reader:**********@replica1/regledger"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"REGLEDGER_STORE": "sqlite", "REGLEDGER_READ_DATABASE_URL": "postgresql://h/db"}, "needs REGLEDGER_STORE"),
        (
            {"REGLEDGER_STORE": "postgres", "REGLEDGER_READ_DATABASE_URL": "mysql://h/db"},
            "READ_DATABASE_URL must start",
        ),
        ({"REGLEDGER_STORE": "postgres", "REGLEDGER_READ_DATABASE_URL": "postgresql://h"}, "exactly one database"),
        ({"REGLEDGER_STORE": "postgres", "REGLEDGER_READ_DATABASE_URL": " , "}, "names no URL"),
        ({"REGLEDGER_STORE": "postgres", "REGLEDGER_READ_REPLICA_RETRY": "0"}, "greater than 0"),
    ],
)
def test_bad_replica_settings_are_refused_at_start(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings.from_mapping(environ)


def test_a_failed_replica_is_left_out_for_the_retry_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    health = ReplicaHealth("r1:5432/db", 5.0, clock=lambda: now[0])
    assert health.usable()
    with caplog.at_level(logging.WARNING, logger="regledger.replica"):
        health.failed(ConnectionRefusedError("refused"))
        health.failed(ConnectionRefusedError("refused"))  # already down: logged once
    assert [r.getMessage() for r in caplog.records] == [
        "read replica r1:5432/db failed; queries read the primary for the next 5 s: ConnectionRefusedError: refused"
    ]
    assert not health.usable()
    now[0] += 5.0
    assert health.usable()  # tried again
    assert health.down
    health.ok()
    assert not health.down


def test_fallbacks_are_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = FallbackLog(10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="regledger.replica"):
        log.fell_back("lag")
        log.fell_back("lag")
        log.fell_back("down")
        now[0] = 10.5
        log.fell_back("lag")
    assert [r.getMessage() for r in caplog.records] == [
        "queries read the primary's views instead of a replica's: 1 (lag)",
        "queries read the primary's views instead of a replica's: 1 (down), 2 (lag)",
    ]
