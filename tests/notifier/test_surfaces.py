"""`regledger notify run --once` and `regledger notify outbox`, and the admin's GET /outbox."""

from __future__ import annotations

import csv
import io
import json
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection
from schemathesis.python import asgi
from typer.testing import CliRunner

from regledger.adapters.auth import MemoryTokenStore, build_token_store
from regledger.adapters.bootstrap import build
from regledger.adapters.cli import cli
from regledger.adapters.http.app import create_app
from tests.notifier.helpers import Program, admin, email_of, smtp_environ, store_environ

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


@pytest.fixture
def dropped(app):
    """ada and bo dropped by an admin (two messages); cy, without an address, too."""
    p = Program(app, seats=5)
    for key in ("ada", "bo"):
        p.profile(key)
    p.profile("cy", email=False)
    for key in ("ada", "bo", "cy"):
        p.add(key)
        app.drop_section(p.pid, key, p.section, admin("no-show"))
    return p


@pytest.fixture
def environ(notify_settings, smtp_server, monkeypatch):
    for name, value in {**store_environ(notify_settings), **smtp_environ(smtp_server.port)}.items():
        monkeypatch.setenv(name, value)


def test_notify_run_once_sends_and_the_outbox_lists_it(dropped, environ, smtp_server):
    runner = CliRunner()
    ran = runner.invoke(cli, ["notify", "run", "--once", "--from-start"])
    assert ran.exit_code == 0, ran.output
    assert "sent 2, retrying 0, failed 0" in ran.output
    assert smtp_server.received.to() == {email_of("ada"): 1, email_of("bo"): 1}

    listed = runner.invoke(cli, ["notify", "outbox", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.output)
    assert document["counts"] == {"pending": 0, "sent": 2, "failed": 0, "no_address": 1}
    assert [(m["student_key"], m["status"], m["kind"]) for m in document["messages"]] == [
        ("ada", "sent", "admin_drop"),
        ("bo", "sent", "admin_drop"),
        ("cy", "no_address", "admin_drop"),
    ]
    assert document["messages"][0]["recipient"] == email_of("ada")

    sent = runner.invoke(cli, ["notify", "outbox", "--status", "no_address", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(sent.output)))
    assert [(r["student_key"], r["attempts"], r["recipient"]) for r in rows] == [("cy", "0", "")]

    again = runner.invoke(cli, ["notify", "run", "--once"])  # nothing new: nothing sent twice
    assert "sent 0" in again.output
    assert smtp_server.received.to() == {email_of("ada"): 1, email_of("bo"): 1}

    refused = runner.invoke(cli, ["notify", "outbox", "--status", "lost"])
    assert refused.exit_code == 2


def test_retry_failed_makes_failed_messages_due_again(dropped, environ, smtp_server, outbox):
    runner = CliRunner()
    smtp_server.refused.add(email_of("ada"))
    runner.invoke(cli, ["notify", "run", "--once", "--from-start"])
    assert [(r.student_key, r.attempts) for r in outbox.list(status="failed")] == [("ada", 1)]
    smtp_server.refused.clear()  # the address was mended

    retried = runner.invoke(cli, ["notify", "retry-failed"])
    assert "1 failed messages are pending again" in retried.output
    assert runner.invoke(cli, ["notify", "run", "--once"]).exit_code == 0
    assert smtp_server.received.to() == {email_of("ada"): 1, email_of("bo"): 1}
    assert outbox.counts() == {"pending": 0, "sent": 2, "failed": 0, "no_address": 1}


def test_get_outbox_pages_and_filters_for_admins_only(dropped, environ, notify_settings):
    assert CliRunner().invoke(cli, ["notify", "run", "--once", "--from-start", "--no-send"]).exit_code == 0
    services = build(notify_settings, follow=False)
    tokens = build_token_store(notify_settings)
    try:
        with TestClient(create_app(services, tokens=tokens)) as client:
            headers = {"Authorization": f"Bearer {tokens.create('admin', 'registrar')}"}
            first = client.get("/outbox", params={"limit": 2}, headers=headers)
            assert first.status_code == 200, first.text
            body = first.json()
            assert body["counts"] == {"pending": 2, "sent": 0, "failed": 0, "no_address": 1}
            assert [m["student_key"] for m in body["messages"]] == ["ada", "bo"]
            assert body["next_offset"] == 2
            rest = client.get("/outbox", params={"offset": 2}, headers=headers).json()
            assert ([m["student_key"] for m in rest["messages"]], rest["next_offset"]) == (["cy"], None)

            pending = client.get("/outbox", params={"status": "pending"}, headers=headers).json()
            assert {m["status"] for m in pending["messages"]} == {"pending"}
            assert len(pending["messages"]) == 2
            assert pending["messages"][0]["subject"] == "Splash Fall: An administrator changed your registration"

            assert client.get("/outbox", params={"status": "lost"}, headers=headers).status_code == 422
            # Found by schemathesis: an offset past 64 bits overflowed SQLite's integer (a 500).
            assert client.get("/outbox", params={"offset": 2**63}, headers=headers).status_code == 422
            student = {"Authorization": f"Bearer {tokens.create('student', 'splash/ada')}"}
            assert client.get("/outbox", headers=student).status_code == 403
    finally:
        tokens.close()
        services.close()


def test_get_outbox_matches_its_schema_and_never_answers_5xx(dropped, environ, notify_settings):
    assert CliRunner().invoke(cli, ["notify", "run", "--once", "--from-start", "--no-send"]).exit_code == 0
    services = build(notify_settings, follow=False)
    tokens = MemoryTokenStore()
    headers = {"Authorization": f"Bearer {tokens.create('admin', 'fuzzer')}"}
    app = create_app(services, tokens=tokens)
    # As tests/http/test_schemathesis.py: negative_data_rejection counts unknown (ignored) query
    # parameters as negative data; no 5xx, statuses and response schemas are all checked.
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/outbox$")
        [operation] = [result.ok() for result in schema.get_all_operations()]
        with asgi.get_client(app) as session:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=50,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                    derandomize=True,
                )
                def call(case: Any) -> None:
                    case.call_and_validate(session=session, headers=headers, excluded_checks=[negative_data_rejection])

                call()
    finally:
        services.close()
