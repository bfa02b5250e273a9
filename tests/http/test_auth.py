"""Bearer tokens: hashed storage, revocation, 401/403 with nothing written, actor from the token."""

from __future__ import annotations

import hashlib
from uuid import uuid4

import pytest

from regledger.adapters.auth import build_token_store
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import program_id, student_id


def test_a_token_is_stored_only_as_the_hash_of_its_secret(store_settings):
    store = build_token_store(store_settings)
    try:
        token = store.create("student", "splash/s1")
        token_id, secret = token.removeprefix("rl_").split(".", 1)
        [record] = store.list()
        assert record.token_id == token_id
        assert record.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert all(secret not in str(value) for value in vars(record).values())
        principal = store.lookup(token)
        assert principal is not None
        assert (principal.role, principal.actor) == ("student", "student:splash/s1")
    finally:
        store.close()


def test_the_sqlite_file_never_contains_the_plaintext_secret(sqlite_settings):
    store = build_token_store(sqlite_settings)
    token = store.create("admin", "alice")
    secret = token.split(".", 1)[1]
    assert secret.encode() not in sqlite_settings.sqlite_path.read_bytes()
    assert store.lookup(token) is not None


def test_tokens_survive_a_new_store_instance_and_revocation_is_durable(api_settings):
    store_settings = api_settings
    first = build_token_store(store_settings)
    token = first.create("admin", "alice")
    first.close()
    second = build_token_store(store_settings)
    try:
        assert second.lookup(token) is not None
        assert second.revoke(token.split(".")[0]) is True
        assert second.revoke(token) is False
    finally:
        second.close()
    third = build_token_store(store_settings)
    try:
        assert third.lookup(token) is None
    finally:
        third.close()


@pytest.mark.parametrize(
    "presented",
    ["", "rl_", "rl_0123456789abcdef", "rl_0123456789abcdef.", "xx_0123456789abcdef.secret", "Bearer rl_x.y"],
)
def test_malformed_tokens_are_not_valid(memory_settings, presented):
    store = build_token_store(memory_settings)
    store.create("admin", "alice")
    assert store.lookup(presented) is None


def test_a_token_with_one_changed_character_is_not_valid(memory_settings):
    store = build_token_store(memory_settings)
    token = store.create("admin", "alice")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert store.lookup(tampered) is None
    assert store.lookup(token) is not None


@pytest.mark.parametrize(
    ("role", "subject"), [("root", "alice"), ("admin", "a/b"), ("student", "no-slash"), ("student", "splash/bad key")]
)
def test_tokens_need_a_known_role_and_a_well_formed_subject(memory_settings, role, subject):
    store = build_token_store(memory_settings)
    with pytest.raises(InvalidInputError):
        store.create(role, subject)
    assert store.list() == []


# -- over HTTP ---------------------------------------------------------------------------------


def _assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_requests_without_a_valid_token_get_401_and_write_nothing(api, world):
    before = api.head()
    url = "/programs/splash/students/s1/registrations"
    body = {"section_id": world.sections["b2a"]}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}):
        response = api.client.post(url, json=body, headers=headers)
        _assert_error(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    _assert_error(api.client.get("/programs/splash/counts"), 401, "unauthenticated")
    assert api.head() == before


def test_a_revoked_token_gets_401(api, world, profile):
    profile("s1")
    token = api.tokens.create("student", "splash/s1")
    api.tokens.revoke(token)
    response = api.client.post(
        "/programs/splash/students/s1/registrations",
        json={"section_id": world.sections["b2a"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    _assert_error(response, 401, "unauthenticated")


def _student_calls(world):
    section, other, subject = world.sections["b2a"], world.sections["b2b"], world.subjects["B2"]
    base = "/programs/splash/students/s2"
    return [
        ("PUT", f"{base}/profile", {"name": "Mallory", "graduation_year": 2029}),
        ("POST", f"{base}/registrations", {"section_id": section}),
        ("DELETE", f"{base}/registrations/{section}", None),
        ("POST", f"{base}/switch", {"from_section_id": section, "to_section_id": other}),
        ("POST", f"{base}/waitlist", {"section_id": section}),
        ("PUT", f"{base}/stars/{subject}", None),
        ("DELETE", f"{base}/stars/{subject}", None),
        ("PUT", f"{base}/priorities/{world.timeslots[0]}", {"ranks": {"1": subject}}),
        ("POST", f"{base}/confirmation", None),
        ("GET", f"{base}/schedule", None),
        ("GET", f"{base}/history", None),
    ]


def test_a_student_token_cannot_act_for_another_student_and_nothing_is_written(api, world, profile):
    profile("s1")
    profile("s2")
    api.ok("POST", "/programs/splash/students/s2/registrations", json={"section_id": world.sections["b2a"]})
    before = api.head()
    for method, url, body in _student_calls(world):
        response = api.client.request(method, url, json=body, headers=api.student("s1"))
        detail = _assert_error(response, 403, "forbidden")["detail"]
        assert detail == {"slug": "splash", "student_key": "s2"}, (method, url)
    assert api.head() == before


def test_a_student_token_is_bound_to_its_program(api, world):
    before = api.head()
    response = api.client.put(
        "/programs/splash/students/s1/profile",
        json={"name": "S", "graduation_year": 2029},
        headers=api.student("s1", slug="other"),
    )
    _assert_error(response, 403, "forbidden")
    assert api.head() == before


def test_a_student_token_cannot_call_admin_endpoints_and_nothing_is_written(api, world):
    section, subject, slot = world.sections["m1a"], world.subjects["M1"], world.timeslots[0]
    calls = [
        ("POST", "/programs", {"slug": "mine", "title": "Mine", "school_year": 2027}),
        (
            "POST",
            "/programs/splash/timeslots",
            {"label": "x", "start": "2026-11-22T09:00:00Z", "end": "2026-11-22T10:00:00Z"},
        ),
        ("PUT", "/programs/splash/settings", {"waitlist_enabled": True}),
        ("PUT", "/programs/splash/windows/classes", {"opens": None, "closes": None}),
        ("POST", "/programs/splash/subjects", {"code": "Z9", "title": "Z"}),
        ("PUT", f"/subjects/{subject}/status", {"status": "rejected"}),
        ("POST", f"/subjects/{subject}/sections", {"timeslot_ids": [slot]}),
        ("PUT", f"/sections/{section}/capacity", {"max_class_capacity": 99}),
        ("PUT", f"/sections/{section}/timeslots", {"timeslot_ids": [slot]}),
        ("POST", f"/sections/{section}/close", None),
        ("POST", f"/sections/{section}/cancel", None),
        ("POST", "/programs/splash/constraints", {"label": "c", "condition": {}, "requirement": {}}),
        ("DELETE", f"/programs/splash/constraints/{uuid4()}", None),
        ("POST", "/programs/splash/lunch-constraints", {"lunch_timeslot_ids": [slot]}),
        ("GET", f"/sections/{section}/roster", None),
        ("GET", "/registration-types?category=student&include=Hacked", None),
    ]
    before = api.head()
    for method, url, body in calls:
        response = api.client.request(method, url, json=body, headers=api.student("s1"))
        _assert_error(response, 403, "forbidden")
    assert api.head() == before


def test_only_admins_may_override_and_overrides_need_a_reason(api, world, profile):
    profile("s1")
    before = api.head()
    url = "/programs/splash/students/s1/registrations"
    body = {"section_id": world.sections["b2a"], "override": True, "reason": "I want it"}
    _assert_error(api.client.post(url, json=body, headers=api.student("s1")), 403, "forbidden")
    no_reason = {"section_id": world.sections["b2a"], "override": True}
    detail = _assert_error(api.client.post(url, json=no_reason, headers=api.admin), 422, "invalid_input")["detail"]
    assert detail["fields"] == ["body"]
    _assert_error(
        api.client.delete(f"{url}/{world.sections['b2a']}?override=true", headers=api.admin), 422, "invalid_input"
    )
    assert api.head() == before


def _last_events(api, count):
    recorder, mapper = api.services.app.recorder, api.services.app.mapper
    head = api.head()
    return [mapper.to_domain_event(n) for n in recorder.select_notifications(head - count + 1, count)]


def test_the_actor_on_every_event_comes_from_the_token(api, world, profile):
    profile("s1")
    response = api.client.post(
        "/programs/splash/students/s1/registrations",
        json={"section_id": world.sections["b2a"], "actor": "mallory"},
        headers=api.student("s1"),
    )
    _assert_error(response, 422, "invalid_input")
    before = api.head()
    api.ok(
        "POST",
        "/programs/splash/students/s1/registrations",
        headers=api.student("s1"),
        json={"section_id": world.sections["b2a"], "reason": "keen"},
    )
    events = _last_events(api, api.head() - before)
    assert events
    assert {(e.actor, e.reason) for e in events} == {("student:splash/s1", "keen")}
    before = api.head()
    api.ok(
        "POST",
        "/programs/splash/students/s1/registrations",
        json={"section_id": world.sections["c3a"], "override": True, "reason": "teacher asked"},
    )
    events = _last_events(api, api.head() - before)
    assert {(e.actor, e.reason) for e in events} == {("admin:alice", "teacher asked")}
    student = api.services.app.get_student(program_id("splash"), "s1")
    assert student.id == student_id(program_id("splash"), "s1")
