"""Every console route, GET and POST, fed hostile values in its path, query and form fields by a
registrar's and a student's session: a 4xx page or a refusal, never a 5xx."""

from __future__ import annotations

import re
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.demo import load_program
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.synthetic import generate_program
from regledger.adapters.web.session import SESSION_COOKIE, csrf_token

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

SLUG = "synthetic-7"
HOSTILE = ["", "x" * 3000, "\x00", "<script>alert(1)</script>", "00000000-0000-0000-0000-000000000000", "9" * 30]
QUERY = ("q", "after", "timeslot", "as_of", "run", "actor", "since", "until", "student", "section", "kind", "verbs")
FORM = (
    "section", "section_id", "from_section_id", "to_section_id", "subject_id", "timeslot_id", "verb", "reason",
    "command_id", "seed", "kp", "ki", "algorithm", "override", "every_verb", "token", "nonce", "priority_1",
)  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Any]]:
    path: Path = tmp_path_factory.mktemp("hostile") / "web.sqlite3"
    services = build(Settings(store="sqlite", sqlite_path=path), follow=True)
    program = generate_program(7, students=12, sections=8, classes=5)
    load_program(services.app, program, SLUG)
    services.wait_for(services.app.position(), timeout=30)
    yield services, program
    services.close()


def _page_routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    for route in routes:
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if hasattr(route, "path") and hasattr(route, "methods"):
            if route.path == "/" or route.path.startswith(("/admin", "/me/", "/sign")):
                yield from ((method, route.path) for method in route.methods if method in ("GET", "POST"))
        elif inner is not None and hasattr(inner, "routes"):
            yield from _page_routes(inner.routes)


@pytest.mark.parametrize("role", ["admin", "student"])
def test_no_console_route_answers_5xx_to_hostile_input(served, role: str) -> None:
    services, program = served
    subject = "registrar" if role == "admin" else f"{SLUG}/{program.students[0].key}"
    token = services.tokens.create(role, subject)
    app = create_app(services)
    routes = sorted(set(_page_routes(app.routes)))
    assert len(routes) >= 30  # the console's pages and forms were found
    failures = []
    with TestClient(app, raise_server_exceptions=False, cookies={SESSION_COOKIE: token}) as client:
        for (method, template), value in ((r, v) for r in routes for v in HOSTILE):
            quoted = urllib.parse.quote(value, safe="") or "x"
            path = re.sub(r"\{key\}", program.students[1].key, template.replace("{slug}", SLUG))
            path = re.sub(r"\{[a-z_]+\}", quoted, path)
            if method == "GET":
                answer = client.get(path, params=dict.fromkeys(QUERY, value))
            else:
                form = dict.fromkeys(FORM, value) | {"csrf": csrf_token(token)}
                answer = client.post(path, data=form, follow_redirects=False)
            if answer.status_code >= 500:
                failures.append((method, path[:80], value[:20], answer.status_code))
    assert not failures
