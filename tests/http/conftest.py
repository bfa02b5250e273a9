"""The real HTTP app over real stores (SQLite and PostgreSQL), with tokens, views and a projector."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from regledger.adapters.auth import TokenStore, build_token_store
from regledger.adapters.bootstrap import Services, build
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings

with warnings.catch_warnings():
    # starlette asks for httpx2 instead of httpx; the project pins httpx (pyproject dev extra).
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

SLUG = "splash"
T0 = "2026-11-21T09:00:00Z"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("postgres_per_program", id="per_program", marks=pytest.mark.postgres),
    ]
)
def api_settings(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture
def services(api_settings: Settings) -> Iterator[Services]:
    # Following on PostgreSQL too: the projector runs in-process instead of `regledger project`.
    services = build(api_settings, follow=True)
    yield services
    services.close()


@pytest.fixture
def tokens(api_settings: Settings) -> Iterator[TokenStore]:
    store = build_token_store(api_settings)
    yield store
    store.close()


@dataclass
class Api:
    """A TestClient on the real app plus handles to check what was (not) written."""

    client: TestClient
    services: Services
    tokens: TokenStore
    admin_token: str
    headers_by_key: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def student(self, key: str, slug: str = SLUG) -> dict[str, str]:
        """Headers with a token bound to (slug, key), created on first use."""
        if (slug, key) not in self.headers_by_key:
            token = self.tokens.create("student", f"{slug}/{key}")
            self.headers_by_key[(slug, key)] = {"Authorization": f"Bearer {token}"}
        return self.headers_by_key[(slug, key)]

    def head(self) -> int:
        """The event log's max notification id: unchanged means nothing was written."""
        return self.services.app.recorder.max_notification_id() or 0

    def ok(self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.client.request(method, url, headers=headers or self.admin, **kwargs)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(services: Services, tokens: TokenStore) -> Iterator[Api]:
    app = create_app(services, tokens=tokens)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, services, tokens, tokens.create("admin", "alice"))


@dataclass
class World:
    """A program built through the API: two timeslots, classes and sections (ids as strings)."""

    timeslots: list[str]
    subjects: dict[str, str]
    sections: dict[str, str]


def build_world(api: Api, *, settings: dict[str, Any] | None = None) -> World:
    api.ok("POST", "/programs", json={"slug": SLUG, "title": "Splash", "school_year": 2027, "settings": settings or {}})
    slots = [
        api.ok(
            "POST",
            f"/programs/{SLUG}/timeslots",
            json={
                "label": f"Sat {9 + i}:00",
                "start": f"2026-11-21T{9 + i:02}:00:00Z",
                "end": f"2026-11-21T{9 + i:02}:50:00Z",
            },
        )["ids"]["timeslot_id"]
        for i in range(2)
    ]
    subjects: dict[str, str] = {}
    for code, size in (("M1", 1), ("B2", 5), ("C3", 5)):
        body = api.ok("POST", f"/programs/{SLUG}/subjects", json={"code": code, "title": code, "class_size_max": size})
        subjects[code] = body["ids"]["subject_id"]
    sections: dict[str, str] = {}
    for name, code, slot in (("m1a", "M1", 0), ("b2a", "B2", 0), ("b2b", "B2", 1), ("c3a", "C3", 1)):
        body = api.ok("POST", f"/subjects/{subjects[code]}/sections", json={"timeslot_ids": [slots[slot]]})
        sections[name] = body["ids"]["section_id"]
    return World(slots, subjects, sections)


@pytest.fixture
def world(api: Api) -> World:
    return build_world(api)


@pytest.fixture
def profile(api: Api) -> Any:
    """profile(key, graduation_year=2029): the student submits a profile with their own token."""

    def submit(key: str, graduation_year: int = 2029) -> None:
        api.ok(
            "PUT",
            f"/programs/{SLUG}/students/{key}/profile",
            headers=api.student(key),
            json={"name": key.title(), "graduation_year": graduation_year},
        )

    return submit
