"""Tokens over HTTP (issue 11, item 6): admins create, list and revoke; a program's student tokens
in one request and one transaction, as JSON or CSV; bad input changes nothing."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from regledger.adapters.http.tabular import csv_requested as wants_csv
from tests.http.conftest import SLUG, Api

BATCH = f"/programs/{SLUG}/student-tokens"


@pytest.fixture
def program(api: Api) -> str:
    api.ok("POST", "/programs", json={"slug": SLUG, "title": "Splash", "school_year": 2027})
    return SLUG


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count(api: Api) -> int:
    return len(api.tokens.list())


def _keys(n: int) -> list[str]:
    return [f"s{i:05}" for i in range(n)]


def test_an_admin_creates_a_token_that_works_and_is_shown_once(api):
    response = api.client.post("/tokens", headers=api.admin, json={"role": "admin", "subject": "bob"})

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["role"], body["subject"], body["revoked_at"]) == ("admin", "bob", None)
    assert body["token"].startswith(body["token_id"] + ".")
    principal = api.tokens.lookup(body["token"])
    assert principal is not None
    assert principal.actor == "admin:bob"
    assert api.client.get("/tokens", headers=_bearer(body["token"])).status_code == 200


def test_a_student_token_needs_an_existing_program_and_a_well_formed_subject(api, program):
    before = _count(api)

    unknown = api.client.post("/tokens", headers=api.admin, json={"role": "student", "subject": "nope/s1"})
    malformed = api.client.post("/tokens", headers=api.admin, json={"role": "student", "subject": "splash/bad key"})
    no_key = api.client.post("/tokens", headers=api.admin, json={"role": "student", "subject": "splash"})
    admin_with_slash = api.client.post("/tokens", headers=api.admin, json={"role": "admin", "subject": "a/b"})
    good = api.client.post("/tokens", headers=api.admin, json={"role": "student", "subject": "splash/s1"})

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    for refused in (malformed, no_key, admin_with_slash):
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input"), refused.text
    assert good.status_code == 201
    assert _count(api) == before + 1


def test_listing_shows_no_secret_and_pages_and_filters(api, program):
    api.tokens.create("admin", "bob")
    batch = api.ok("POST", BATCH, json={"student_keys": _keys(5)})
    secrets = [t["token"].split(".")[1] for t in batch["tokens"]]

    first = api.ok("GET", "/tokens?limit=4")
    rest = api.ok("GET", f"/tokens?limit=4&offset={first['next_offset']}")
    students = api.ok("GET", f"/tokens?program={SLUG}")
    admins = api.ok("GET", "/tokens?role=admin")

    assert (len(first["tokens"]), first["next_offset"]) == (4, 4)
    assert (len(rest["tokens"]), rest["next_offset"]) == (3, None)  # alice (fixture), bob, five students
    listed = [t["token_id"] for t in first["tokens"] + rest["tokens"]]
    assert len(set(listed)) == 7
    assert sorted(t["subject"] for t in students["tokens"]) == [f"{SLUG}/{k}" for k in _keys(5)]
    assert {t["subject"] for t in admins["tokens"]} == {"alice", "bob"}
    for page in (first, rest, students, admins):
        assert all("token" not in t and "secret_sha256" not in t for t in page["tokens"])
        text = str(page)
        assert not any(secret in text for secret in secrets)


def test_revoking_a_token_stops_it_at_once_and_a_second_revoke_is_not_found(api, program):
    created = api.ok("POST", "/tokens", json={"role": "student", "subject": f"{SLUG}/s1"})
    token_id = created["token_id"]

    revoked = api.client.delete(f"/tokens/{token_id}", headers=api.admin)
    again = api.client.delete(f"/tokens/{token_id}", headers=api.admin)
    unknown = api.client.delete("/tokens/rl_0123456789abcdef", headers=api.admin)
    malformed = api.client.delete("/tokens/not-an-id", headers=api.admin)

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["code"]) == (422, "invalid_input")
    schedule = api.client.get(f"/programs/{SLUG}/students/s1/schedule", headers=_bearer(created["token"]))
    assert schedule.status_code == 401
    active = api.ok("GET", f"/tokens?program={SLUG}&active=true")
    assert active["tokens"] == []


def test_a_student_token_may_not_create_list_or_revoke_tokens(api, program):
    student = api.student("s1")
    other = api.ok("POST", "/tokens", json={"role": "admin", "subject": "bob"})["token_id"]
    before = _count(api)

    answers = [
        api.client.post("/tokens", headers=student, json={"role": "admin", "subject": "mallory"}),
        api.client.get("/tokens", headers=student),
        api.client.delete(f"/tokens/{other}", headers=student),
        api.client.post(BATCH, headers=student, json={"student_keys": ["s2"]}),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "forbidden")] * 4
    assert _count(api) == before
    assert api.tokens.get(other).revoked_at is None


@pytest.mark.slow
def test_3000_student_tokens_in_one_request_each_acting_as_its_student(api, program):
    keys = _keys(3000)

    response = api.client.post(BATCH, headers=api.admin, json={"student_keys": keys})

    assert response.status_code == 201, response.text[:500]
    body = response.json()
    assert (body["slug"], body["created"], body["revoked_token_ids"]) == (SLUG, 3000, [])
    assert [t["student_key"] for t in body["tokens"]] == keys
    for issued in body["tokens"][::250]:
        principal = api.tokens.lookup(issued["token"])
        assert principal is not None
        assert principal.subject == f"{SLUG}/{issued['student_key']}"
        assert f"rl_{principal.token_id}" == issued["token_id"]
    mine, theirs = body["tokens"][7], body["tokens"][8]
    profile = {"name": "Ada", "graduation_year": 2029}
    ok = api.client.put(
        f"/programs/{SLUG}/students/{mine['student_key']}/profile", headers=_bearer(mine["token"]), json=profile
    )
    other = api.client.put(
        f"/programs/{SLUG}/students/{theirs['student_key']}/profile", headers=_bearer(mine["token"]), json=profile
    )
    assert ok.status_code == 200, ok.text
    assert other.status_code == 403
    assert len(api.tokens.list(program=SLUG)) == 3000


@pytest.mark.parametrize(("query", "accept"), [("?format=csv", "application/json"), ("", "text/csv")])
def test_the_batch_answers_csv_when_asked(api, program, query, accept):
    keys = _keys(40)

    response = api.client.post(f"{BATCH}{query}", headers={**api.admin, "Accept": accept}, json={"student_keys": keys})

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert f'filename="{SLUG}-student-tokens.csv"' in response.headers["content-disposition"]
    reader = csv.reader(io.StringIO(response.text, newline=""))
    header, *rows = list(reader)
    assert header == ["student_key", "token_id", "token"]
    assert [row[0] for row in rows] == keys
    for key, token_id, token in rows[::13]:
        principal = api.tokens.lookup(token)
        assert principal is not None
        assert (principal.subject, f"rl_{principal.token_id}") == (f"{SLUG}/{key}", token_id)


def test_format_json_wins_over_an_accept_of_csv(api, program):
    response = api.client.post(
        f"{BATCH}?format=json", headers={**api.admin, "Accept": "text/csv"}, json={"student_keys": ["s1"]}
    )

    assert response.status_code == 201
    assert response.json()["created"] == 1


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ([*_keys(50), "bad key", *_keys(60)[55:]], "body.student_keys.50"),
        ([*_keys(3), "-leading-dash"], "body.student_keys.3"),
        ([*_keys(3), "x" * 65], "body.student_keys.3"),
        (["s1", "s2", "s1"], "body.student_keys"),
        ([], "body.student_keys"),
        (_keys(10_001), "body.student_keys"),
    ],
    ids=["space", "leading-dash", "too-long", "repeated", "empty", "too-many"],
)
def test_a_batch_with_any_bad_key_is_refused_and_creates_nothing(api, program, keys, field):
    before = _count(api)

    response = api.client.post(BATCH, headers=api.admin, json={"student_keys": keys})

    assert response.status_code == 422, response.text[:500]
    assert response.json()["code"] == "invalid_input"
    assert field in response.json()["detail"]["fields"]
    assert _count(api) == before


def test_a_batch_for_an_unknown_program_is_not_found_and_creates_nothing(api, program):
    before = _count(api)

    response = api.client.post("/programs/nope/student-tokens", headers=api.admin, json={"student_keys": ["s1"]})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert _count(api) == before


def test_earlier_tokens_stay_valid_unless_revoke_existing(api, program):
    first = {t["student_key"]: t for t in api.ok("POST", BATCH, json={"student_keys": ["a", "b"]})["tokens"]}
    beside = api.ok("POST", BATCH, json={"student_keys": ["a"]})["tokens"][0]
    assert api.tokens.lookup(first["a"]["token"]) is not None
    assert api.tokens.lookup(beside["token"]) is not None

    replaced = api.ok("POST", BATCH, json={"student_keys": ["a"], "revoke_existing": True})

    assert sorted(replaced["revoked_token_ids"]) == sorted([first["a"]["token_id"], beside["token_id"]])
    assert api.tokens.lookup(first["a"]["token"]) is None
    assert api.tokens.lookup(beside["token"]) is None
    assert api.tokens.lookup(replaced["tokens"][0]["token"]) is not None
    assert api.tokens.lookup(first["b"]["token"]) is not None  # another student's token is untouched


def test_every_token_action_is_logged_with_id_and_actor_never_the_secret(api, program, caplog):
    caplog.set_level(logging.INFO, logger="regledger.tokens")

    issued = api.ok("POST", BATCH, json={"student_keys": ["a", "b"]})["tokens"]
    api.client.delete(f"/tokens/{issued[0]['token_id']}", headers=api.admin)
    api.client.delete(f"/tokens/{issued[0]['token_id']}", headers=api.admin)

    lines = [r.getMessage() for r in caplog.records if r.name == "regledger.tokens"]
    assert any(issued[0]["token_id"] in line and "created" in line and "admin:alice" in line for line in lines)
    assert any(issued[1]["token_id"] in line and "created" in line for line in lines)
    assert any(line.startswith(f"revoked token {issued[0]['token_id']} by admin:alice") for line in lines)
    assert any(line.startswith(f"not revoked: no active token {issued[0]['token_id']}") for line in lines)
    logged = " ".join(lines + [str(vars(r)) for r in caplog.records])
    assert not any(t["token"].split(".")[1] in logged for t in issued)


@pytest.mark.parametrize(
    ("output", "accept", "csv_wanted"),
    [
        (None, None, False),
        (None, "application/json", False),
        (None, "text/csv", True),
        (None, "text/csv; charset=utf-8", True),
        (None, "application/json, text/csv;q=0.5", False),
        (None, "application/json;q=0.2, text/csv", True),
        (None, "text/csv;q=0", False),
        (None, "*/*", False),
        ("csv", "application/json", True),
        ("json", "text/csv", False),
    ],
)
def test_csv_is_chosen_by_format_else_by_accept(output, accept, csv_wanted):
    assert wants_csv(output, accept) is csv_wanted
