"""Hostile input at the HTTP edge: a clear 422 (or the rule's 409), a stable code, nothing written.

Runs on SQLite and PostgreSQL; PostgreSQL is where a NUL once stopped the projector for good."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STUDENT = "/programs/splash/students/s1"
NUL = "\u0000"
HOSTILE = [NUL, "\x1b[31m", "\u202e", "\x7f"]
HOSTILE_IDS = ["NUL", "ESC", "RLO", "DEL"]


def refused(api: Any, method: str, url: str, status: int, code: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("headers", api.admin)
    head = api.head()
    response = api.client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "detail"}
    assert api.head() == head, "a refused request wrote events"
    return body


@pytest.mark.parametrize("bad", HOSTILE, ids=HOSTILE_IDS)
def test_control_characters_are_refused_in_student_text(api, world, profile, bad):
    profile("s1")
    me = api.student("s1")
    section = world.sections["b2a"]
    url = f"{STUDENT}/registrations"
    refused(api, "POST", url, 422, "invalid_input", headers=me, json={"section_id": section, "reason": f"r{bad}"})
    refused(api, "POST", url, 422, "invalid_input", headers=me, json={"section_id": section, "verb": f"V{bad}"})
    api.ok("POST", url, headers=me, json={"section_id": section})
    refused(api, "DELETE", f"{url}/{section}", 422, "invalid_input", headers=me, params={"reason": f"r{bad}"})
    refused(
        api,
        "PUT",
        f"{STUDENT}/profile",
        422,
        "invalid_input",
        headers=me,
        json={"name": f"S{bad}", "graduation_year": 2029},
    )


@pytest.mark.parametrize("bad", HOSTILE, ids=HOSTILE_IDS)
def test_control_characters_are_refused_in_admin_text(api, world, bad):
    subjects = "/programs/splash/subjects"
    refused(api, "POST", subjects, 422, "invalid_input", json={"code": "X1", "title": f"T{bad}"})
    refused(api, "POST", subjects, 422, "invalid_input", json={"code": "X1", "title": "T", "category": f"C{bad}"})
    slot = {"label": f"Sun{bad}", "start": "2026-11-22T09:00:00Z", "end": "2026-11-22T09:50:00Z"}
    refused(api, "POST", "/programs/splash/timeslots", 422, "invalid_input", json=slot)
    refused(api, "GET", "/registration-types", 422, "invalid_input", params={"category": f"c{bad}", "include": "Z"})


def test_a_reason_may_span_lines(api, world, profile):
    profile("s1")
    body = {"section_id": world.sections["b2a"], "reason": "line one\n\tline two"}
    api.ok("POST", f"{STUDENT}/registrations", headers=api.student("s1"), json=body)


def test_a_student_cannot_record_an_arbitrary_verb(api, world, profile):
    profile("s1")
    before = api.ok("GET", "/registration-types")
    url, section = f"{STUDENT}/registrations", world.sections["b2a"]
    refused(
        api, "POST", url, 409, "verb_not_allowed", headers=api.student("s1"), json={"section_id": section, "verb": "x"}
    )
    assert api.ok("GET", "/registration-types") == before


def test_a_student_cannot_rank_through_registrations(api, world, profile):
    profile("s1")
    url = f"{STUDENT}/registrations"
    for name in ("b2a", "m1a"):
        body = {"section_id": world.sections[name], "verb": "Priority/1"}
        refused(api, "POST", url, 409, "verb_not_allowed", headers=api.student("s1"), json=body)


def test_an_idempotency_key_reused_for_another_request_is_refused(api, world, profile):
    profile("s1")
    me = {**api.student("s1"), "Idempotency-Key": "K"}
    url = f"{STUDENT}/registrations"
    api.ok("POST", url, headers=me, json={"section_id": world.sections["b2a"]})
    for method, path, kwargs in (
        ("POST", url, {"json": {"section_id": world.sections["c3a"]}}),
        ("DELETE", f"{url}/{world.sections['b2a']}", {}),
        (
            "POST",
            f"{STUDENT}/switch",
            {"json": {"from_section_id": world.sections["b2a"], "to_section_id": world.sections["b2b"]}},
        ),
        ("PUT", f"{STUDENT}/profile", {"json": {"name": "Other", "graduation_year": 2029}}),
    ):
        body = refused(api, method, path, 422, "idempotency_key_reused", headers=me, **kwargs)
        assert "Idempotency-Key" in body["message"]
    again = api.client.post(url, headers=me, json={"section_id": world.sections["b2a"]})
    assert again.status_code == 200
    assert again.json()["replayed"] is True


@pytest.mark.parametrize("as_of", ["1700000000", "1700000000.5", "yesterday", "2026-11-21"])
def test_an_instant_must_be_iso_8601(api, world, as_of):
    refused(api, "GET", f"/sections/{world.sections['b2a']}/roster", 422, "invalid_input", params={"as_of": as_of})


def test_an_instant_without_an_offset_is_read_in_the_programs_timezone(api, world):
    url = f"/sections/{world.sections['b2a']}/roster"
    local = api.client.get(url, headers=api.admin, params={"as_of": "2026-11-21T09:00:00"})
    assert local.status_code == 200, local.text
    assert local.json()["as_of"] == "2026-11-21T09:00:00Z"  # the program's zone: UTC by default
    offset = api.client.get(url, headers=api.admin, params={"as_of": "2026-11-21T09:00:00+01:00"})
    assert offset.json()["as_of"] == "2026-11-21T09:00:00+01:00"


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_a_boolean_in_a_body_must_be_a_json_boolean(api, world, profile, value):
    profile("s1")
    body = {"section_id": world.sections["b2a"], "override": value, "reason": "r"}
    refused(api, "POST", f"{STUDENT}/registrations", 422, "invalid_input", json=body)


@pytest.mark.parametrize("value", ["1", "0", "yes", "on"])
def test_a_boolean_in_a_query_must_be_true_or_false(api, world, profile, value):
    profile("s1")
    section = world.sections["b2a"]
    api.ok("POST", f"{STUDENT}/registrations", headers=api.student("s1"), json={"section_id": section})
    params = {"override": value, "reason": "r"}
    refused(api, "DELETE", f"{STUDENT}/registrations/{section}", 422, "invalid_input", params=params)


@pytest.mark.parametrize("opens", [1, 1.5, "1"])
def test_a_window_instant_is_not_an_epoch(api, world, opens):
    refused(api, "PUT", "/programs/splash/windows/classes", 422, "invalid_input", json={"opens": opens})


# Text with every kind of character hostile clients send: controls, surrogates, bidi, NUL.
hostile_text = st.text(
    alphabet=st.one_of(st.characters(codec=None), st.sampled_from("\x00\x1b\u202e\ud800\r\n\t")), max_size=12
)


def test_whatever_text_is_accepted_the_views_can_store(api, world, profile):
    """On PostgreSQL a NUL accepted once stopped the projector for good; here every text field
    gets arbitrary text, and whatever is accepted must reach the views."""
    profile("s1")
    me = api.student("s1")

    @given(text=hostile_text, n=st.integers(0, 10**9))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def accepted_or_refused(text: str, n: int) -> None:
        requests = [
            ("POST", "/programs/splash/subjects", api.admin, {"code": f"Z{n}", "title": text or "t", "category": text}),
            (
                "POST",
                f"{STUDENT}/registrations",
                me,
                {"section_id": world.sections["c3a"], "reason": text, "verb": "Interested"},
            ),
            (
                "PUT",
                f"{STUDENT}/profile",
                me,
                {"name": text or "n", "graduation_year": 2029, "contacts": {"email": text}},
            ),
        ]
        for method, url, auth, body in requests:
            # json.dumps escapes lone surrogates as \ud800, as a hostile client would send them.
            content = json.dumps(body).encode()
            headers = {**auth, "Content-Type": "application/json"}
            response = api.client.request(method, url, headers=headers, content=content)
            assert response.status_code < 500, response.text
            if response.status_code in (200, 201):
                api.services.wait_for(response.json()["position"], timeout=10)
            if method == "POST" and url.endswith("/registrations") and response.status_code in (200, 201):
                api.client.delete(f"{url}/{world.sections['c3a']}", headers=me, params={"verbs": "Interested"})

    accepted_or_refused()
    api.services.wait_for(api.head(), timeout=10)
    assert api.services.views.position() == api.head()
