"""Log lines: JSON objects with the commands' fields, or readable text; and `regledger serve`'s own."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventsourcing.persistence import IntegrityError
from typer.testing import CliRunner

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.cli import cli
from regledger.adapters.logs import LogFormat, chosen_format, configure_logging
from regledger.domain.errors import RegistrationError
from regledger.domain.runner import CommandResult
from regledger.domain.values import CommandContext
from tests.serving import free_port, wait_until_up

CTX = CommandContext(actor="admin:alice", command_id="cmd-1")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def services(memory_settings) -> Iterator[Services]:
    services = build(memory_settings, follow=False)
    yield services
    services.close()


def lines(stream: io.StringIO, logger: str = "regledger.commands") -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in parsed if line["logger"] == logger]


def test_json_lines_carry_each_commands_fields(services, restore_logging):
    stream = io.StringIO()
    configure_logging("json", level=logging.INFO, stream=stream)
    app = services.app
    applied = app.create_program("splash", "Splash", CTX, school_year=2027)
    with pytest.raises(RegistrationError):
        app.create_program("splash", "Again", CommandContext(actor="admin:bob", command_id="cmd-2"), school_year=2027)

    first, second = lines(stream)
    assert first["level"] == "INFO"
    assert first["message"].startswith("applied create_program")
    assert first["command"] == "create_program"
    assert first["command_id"] == "cmd-1"
    assert first["actor"] == "admin:alice"
    assert first["outcome"] == "applied"
    assert first["code"] is None
    assert first["position"] == applied.position
    assert first["duration_ms"] >= 0
    assert "timestamp" in first
    assert second["outcome"] == "refused"
    assert second["code"] == "already_exists"
    assert second["actor"] == "admin:bob"
    assert second["position"] is None


def test_a_retried_conflict_logs_its_attempt_and_the_count(services, restore_logging):
    stream = io.StringIO()
    configure_logging("json", level=logging.INFO, stream=stream)
    calls = []

    def attempt() -> CommandResult:  # a command whose first save loses a race
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("version conflict")
        return CommandResult("cmd-1", "Done", 7)

    services.app.runner.run("flaky", CTX, attempt)
    retry, done = lines(stream)
    assert retry["attempt"] == 1
    assert retry["command"] == "flaky"
    assert retry["command_id"] == "cmd-1"
    assert done["retries"] == 1
    assert done["position"] == 7


def test_text_lines_are_for_people(services, restore_logging):
    stream = io.StringIO()
    configure_logging("text", level=logging.INFO, stream=stream)
    services.app.create_program("splash", "Splash", CTX, school_year=2027)
    with pytest.raises(RegistrationError):
        services.app.create_program("splash", "Again", CommandContext(actor="admin:bob"), school_year=2027)
    text = [line for line in stream.getvalue().splitlines() if "regledger.commands" in line]
    assert len(text) == 2
    assert " INFO    regledger.commands: applied create_program -> " in text[0]
    assert " ms" in text[0]
    assert "refused create_program: already_exists in " in text[1]
    with pytest.raises(json.JSONDecodeError):
        json.loads(text[0])


def test_the_format_follows_the_option_then_the_variable_then_the_terminal(monkeypatch):
    monkeypatch.delenv("REGLEDGER_LOG_FORMAT", raising=False)
    assert chosen_format(None, Tty()) is LogFormat.text
    assert chosen_format(None, io.StringIO()) is LogFormat.json
    monkeypatch.setenv("REGLEDGER_LOG_FORMAT", "text")
    assert chosen_format(None, io.StringIO()) is LogFormat.text
    assert chosen_format("json", Tty()) is LogFormat.json


def test_configuring_twice_replaces_our_handler_only(restore_logging):
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    first = configure_logging("json", stream=io.StringIO())
    second = configure_logging("text", stream=io.StringIO())
    handlers = logging.getLogger().handlers
    assert second in handlers
    assert first not in handlers
    assert other in handlers
    logging.getLogger().removeHandler(other)


def test_project_takes_a_log_format_and_refuses_an_unknown_one(sqlite_settings, monkeypatch, restore_logging):
    monkeypatch.setenv("REGLEDGER_STORE", "sqlite")
    monkeypatch.setenv("REGLEDGER_SQLITE_PATH", str(sqlite_settings.sqlite_path))
    runner = CliRunner()
    assert runner.invoke(cli, ["project", "--catch-up", "--log-format", "text"]).exit_code == 0
    assert runner.invoke(cli, ["project", "--catch-up", "--log-format", "xml"]).exit_code == 2


def _regledger(*args: str) -> list[str]:
    return [sys.executable, "-c", "from regledger.adapters.cli import main; main()", *args]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_serve_logs_commands_and_requests_in_the_chosen_format(tmp_path: Path, fmt: str):
    env = {
        **os.environ,
        "REGLEDGER_STORE": "sqlite",
        "REGLEDGER_SQLITE_PATH": str(tmp_path / "r.sqlite3"),
        "REGLEDGER_LOG_FORMAT": fmt,  # the variable, as a service manager would set it
    }
    made = subprocess.run(
        _regledger("token", "create", "--role", "admin", "--subject", "ops"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = made.stdout.split()[0]
    port = free_port()
    server = subprocess.Popen(
        _regledger("serve", "--port", str(port)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        created = httpx.post(
            f"{base}/programs",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "make-splash"},
            json={"slug": "splash", "title": "Splash", "school_year": 2027},
            timeout=10,
        )
        assert created.status_code == 201, created.text
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    if fmt == "json":
        records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        commands = [r for r in records if r["logger"] == "regledger.commands"]
        assert commands, stderr
        command = commands[0]
        assert command["command"] == "create_program"
        assert command["command_id"] == "make-splash"
        assert command["actor"] == "admin:ops"
        assert command["outcome"] == "applied"
        access = [r for r in records if r["logger"] == "uvicorn.access" and r.get("method") == "POST"]
        assert access, stderr
        assert {"method": "POST", "path": "/programs", "status": 201}.items() <= access[-1].items()
        assert not any("color_message" in r for r in records)
    else:
        assert "regledger.commands: applied create_program" in stderr
        assert '"POST /programs HTTP/1.1" 201' in stderr
        assert not any(line.startswith("{") for line in stderr.splitlines())
