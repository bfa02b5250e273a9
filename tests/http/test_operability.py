"""Operator endpoints on the real app: /health, /ready (lag and an unreachable store), /metrics, offline /docs."""

from __future__ import annotations

import os
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from regledger.adapters.auth import MemoryTokenStore
from regledger.adapters.bootstrap import Services, build
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.values import CommandContext

with warnings.catch_warnings():
    # starlette asks for httpx2 instead of httpx; the project pins httpx (as tests/http/conftest.py).
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

SLUG = "splash"
STUDENT = f"/programs/{SLUG}/students"


@contextmanager
def client_for(services: Services, tokens: MemoryTokenStore | None = None) -> Iterator[TestClient]:
    app = create_app(services, tokens=tokens or MemoryTokenStore())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def unfollowed(settings: Settings, **overrides: Any) -> Iterator[Services]:
    """Services whose views move only when the test says (no projector thread)."""
    services = build(settings.model_copy(update=overrides), follow=False)
    try:
        yield services
    finally:
        services.close()


def create_program(app: Registration) -> int:
    return app.create_program(SLUG, "Splash", CommandContext(actor="admin:test"), school_year=2027).position


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# -- /health and /ready -------------------------------------------------------------------


def test_health_answers_ok_without_a_token(api):
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "process": os.getpid()}


def test_ready_reports_the_views_caught_up_with_the_log(api, world):
    api.services.wait_for(api.head())
    response = api.client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["log_head"] == api.head() == body["views_position"]
    assert body["lag_events"] == 0
    assert body["lag_seconds"] == 0
    assert body["problems"] == []


def test_ready_is_503_while_the_views_lag_more_events_than_allowed(api_settings):
    with unfollowed(api_settings, ready_max_lag_events=0) as services, client_for(services) as client:
        assert client.get("/ready").status_code == 200  # an empty log: nothing to lag behind
        head = create_program(services.app)
        response = client.get("/ready")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["database"] == "ok"
        assert body["log_head"] == head
        assert body["lag_events"] == head - body["views_position"] >= 1
        assert body["lag_seconds"] >= 0
        assert body["max_lag_events"] == 0
        assert any("events behind" in problem for problem in body["problems"])

        services.projector.catch_up()
        response = client.get("/ready")
        assert response.status_code == 200, response.text
        assert response.json()["lag_events"] == 0


def test_ready_is_503_when_the_oldest_unprojected_event_is_older_than_allowed(api_settings):
    with unfollowed(api_settings, ready_max_lag_seconds=0.0) as services, client_for(services) as client:
        create_program(services.app)
        time.sleep(0.01)  # lag_seconds is rounded to the millisecond
        body = client.get("/ready").json()
        assert body["status"] == "not_ready"
        assert body["lag_seconds"] > 0
        assert any(" s behind" in problem for problem in body["problems"])
        services.projector.catch_up()
        assert client.get("/ready").status_code == 200


def _drop_event_table(services: Services) -> None:
    table = services.app.recorder.events_table_name
    settings = services.settings
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_path) as conn:
            conn.execute(f"DROP TABLE {table}")
    else:
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
            conn.execute(f"DROP TABLE {table} CASCADE")  # with the programs' own tables, if any


def test_ready_is_503_and_health_still_200_when_the_event_store_is_gone(api_settings):
    with unfollowed(api_settings) as services, client_for(services) as client:
        create_program(services.app)
        services.projector.catch_up()
        assert client.get("/ready").status_code == 200
        _drop_event_table(services)
        response = client.get("/ready")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["database"] == "unreachable"
        assert body["log_head"] is None
        assert body["problems"]
        assert client.get("/health").json() == {"status": "ok", "process": os.getpid()}


@pytest.mark.postgres
def test_ready_is_503_when_the_store_does_not_answer_in_time(postgres_settings, postgres_server):
    with unfollowed(postgres_settings, ready_timeout=0.5) as services, client_for(services) as client:
        assert client.get("/ready").status_code == 200
        with postgres_server.connect() as conn, conn.transaction():
            # The views' position cannot be read until this transaction ends (or lock_timeout).
            conn.execute(f'LOCK TABLE "{postgres_settings.postgres_schema}".rv_tracking IN ACCESS EXCLUSIVE MODE')
            started = time.monotonic()
            response = client.get("/ready")
            waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["database"] == "timeout"
        assert waited < 3
        assert client.get("/health").status_code == 200


# -- /metrics -----------------------------------------------------------------------------


def test_metrics_need_an_admin_or_the_metrics_token(api):
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers={"Authorization": "Bearer rl_nope"}).status_code == 401
    student = api.client.get("/metrics", headers=api.student("s1"))
    assert student.status_code == 403
    assert student.json()["code"] == "forbidden"
    response = api.client.get("/metrics", headers=api.admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


def test_the_metrics_token_reads_metrics_and_nothing_else(api_settings):
    with (
        unfollowed(api_settings, metrics_token=SecretStr("scrape-me-0123456789")) as services,
        client_for(services) as client,
    ):
        scraper = {"Authorization": "Bearer scrape-me-0123456789"}
        assert client.get("/metrics", headers=scraper).status_code == 200
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me-wrong"}).status_code == 401
        assert client.post("/programs", headers=scraper, json={"slug": "x", "title": "X"}).status_code == 401


def test_metrics_count_commands_refusals_token_failures_and_requests(api, world, profile):
    profile("s1")
    profile("s2")
    m1a = world.sections["m1a"]
    api.ok("POST", f"{STUDENT}/s1/registrations", headers=api.student("s1"), json={"section_id": m1a})
    refused = api.client.post(f"{STUDENT}/s2/registrations", headers=api.student("s2"), json={"section_id": m1a})
    assert refused.json()["code"] == "section_full"
    assert api.client.get(f"/sections/{m1a}/roster").status_code == 401  # no token
    assert api.client.post("/programs", headers=api.student("s1"), json={}).status_code == 403  # not admin
    assert api.client.post("/programs", json={}).status_code == 401  # refused before its body is read
    assert api.client.post("/programs", headers={"Authorization": "Bearer rl_x.y"}, json={}).status_code == 401
    api.services.wait_for(api.head())

    response = api.client.get("/metrics", headers=api.admin)
    assert response.status_code == 200
    found = samples(response.text)

    assert value(found, "regledger_commands_total", command="add_section", outcome="applied", code="") == 1
    assert value(found, "regledger_commands_total", command="add_section", outcome="refused", code="section_full") == 1
    assert value(found, "regledger_commands_total", command="submit_profile", outcome="applied", code="") == 2
    assert value(found, "regledger_command_duration_seconds_count", command="add_section") == 2
    assert value(found, "regledger_token_failures_total", code="unauthenticated", reason="missing") == 2
    assert value(found, "regledger_token_failures_total", code="unauthenticated", reason="invalid") == 1
    assert value(found, "regledger_token_failures_total", code="forbidden", reason="admin_only") == 1
    route = "/programs/{slug}/students/{key}/registrations"
    assert value(found, "regledger_http_requests_total", method="POST", route=route, status="201") == 1
    assert value(found, "regledger_http_requests_total", method="POST", route=route, status="409") == 1
    assert value(found, "regledger_http_request_duration_seconds_count", method="POST", route=route) == 2
    assert value(found, "regledger_store_up") == 1
    assert value(found, "regledger_log_head_position") == api.head()
    assert value(found, "regledger_projector_position") == api.head()
    assert value(found, "regledger_projector_lag_events") == 0
    assert ("regledger_projector_lag_seconds", ()) in found
    assert ("regledger_command_conflict_retries_total", (("command", "add_section"),)) not in found


def test_two_apps_in_one_process_count_apart(api_settings):
    with unfollowed(api_settings) as services:
        tokens = MemoryTokenStore()
        admin = {"Authorization": f"Bearer {tokens.create('admin', 'alice')}"}
        with client_for(services, tokens) as first, client_for(services, tokens) as second:
            first.get("/health")
            first.get("/health")
            second.get("/health")
            counts = [
                value(
                    samples(c.get("/metrics", headers=admin).text),
                    "regledger_http_requests_total",
                    method="GET",
                    route="/health",
                    status="200",
                )
                for c in (first, second)
            ]
            assert counts == [2, 1]
        assert services.app.runner.observers == []  # each app removed its observer on shutdown


# -- /docs offline ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(api, page):
    response = api.client.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(r"""url:\s*'([^']+)'""", html)
    assert urls, html
    assert not [u for u in urls if "//" in u], "a page that loads from another host does not work offline"
    assert "cdn" not in html.lower()
    assets = [u for u in urls if u.startswith("/docs-assets/")]
    assert assets
    for url in assets:
        asset = api.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert api.client.get("/openapi.json").status_code == 200
