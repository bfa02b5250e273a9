"""Class-change requests and runs over the real app: tokens, codes, round trips, refusals."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import SLUG, Api, World


def _enrol(api: Api, world: World, key: str, section: str) -> None:
    url = f"/programs/{SLUG}/students/{key}/registrations"
    api.ok("POST", url, headers=api.student(key), json={"section_id": world.sections[section]})


def _put(api: Api, key: str, requests: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
    return api.client.put(
        f"/programs/{SLUG}/students/{key}/requests",
        headers=headers or api.student(key),
        json={"requests": requests},
    )


def test_requests_round_trip_a_run_and_commit_it(api: Api, world: World, profile: Any) -> None:
    profile("ada")
    profile("bob")
    _enrol(api, world, "ada", "m1a")  # M1 has one seat
    _enrol(api, world, "bob", "b2a")
    assert _put(api, "bob", [{"section": world.sections["m1a"], "priority": 1}]).status_code == 200
    assert _put(api, "ada", [{"section": "B2s1", "priority": None}]).status_code == 200
    mine = api.ok("GET", f"/programs/{SLUG}/students/ada/requests", headers=api.student("ada"))
    assert [(r["code"], r["priority"], r["verb"]) for r in mine["requests"]] == [("B2s1", None, "Request")]

    started = api.client.post(f"/programs/{SLUG}/class-change-runs", headers=api.admin, json={"seed": 7})
    assert started.status_code == 201, started.text
    run_id = started.json()["ids"]["run_id"]
    status = api.ok("GET", f"/class-change-runs/{run_id}")
    assert status["status"] == "computed"
    assert status["parameters"] == {"kind": "class_change", "algorithm": "esp-class-change/1"}
    assert (status["students_changed"], status["seats_moved"]) == (2, 2)

    moves = {m["student_key"]: m for m in api.ok("GET", f"/class-change-runs/{run_id}/assignment")["moves"]}
    assert [s["code"] for s in moves["ada"]["dropped"]] == ["M1s1"]
    assert [(s["code"], s["priority"]) for s in moves["ada"]["added"]] == [("B2s1", None)]
    assert [(s["code"], s["priority"]) for s in moves["bob"]["added"]] == [("M1s1", 1)]
    csv = api.client.get(f"/class-change-runs/{run_id}/assignment?format=csv", headers=api.admin)
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("student_key,change,section_code")

    assert api.ok("POST", f"/class-change-runs/{run_id}/replay")["result"] == "IDENTICAL"
    refused = api.client.post(f"/lottery-runs/{run_id}/commit", headers=api.admin, json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_a_lottery_run"
    committed = api.ok("POST", f"/class-change-runs/{run_id}/commit", json={})
    assert committed["ids"]["status"] == "committed"
    api.services.wait_for(committed["position"])
    runs = api.ok("GET", f"/programs/{SLUG}/class-change-runs")["runs"]
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_id, "committed")]
    assert api.ok("GET", f"/programs/{SLUG}/lottery-runs")["runs"] == []  # the main lottery's only
    assert api.ok("GET", f"/programs/{SLUG}/students/ada/requests", headers=api.student("ada"))["requests"] == []


def test_a_student_may_only_change_their_own_requests(api: Api, world: World, profile: Any) -> None:
    profile("ada")
    before = api.head()
    response = _put(api, "ada", [{"section": "B2s1"}], headers=api.student("bob"))
    assert response.status_code == 403
    assert api.head() == before
    as_admin = _put(api, "ada", [{"section": "B2s1", "priority": 2}], headers=api.admin)
    assert as_admin.status_code == 200, as_admin.text


def test_bad_requests_are_refused_with_stable_codes(api: Api, world: World, profile: Any) -> None:
    profile("ada")
    _enrol(api, world, "ada", "b2a")
    before = api.head()
    cases = [
        ([{"section": "Z9s1"}], 404, "not_found"),
        ([{"section": "C3s1", "priority": 0}], 422, "invalid_input"),
        ([{"section": "C3s1", "priority": 9}], 409, "priority_limit"),
        ([{"section": "B2s2"}], 409, "already_in_class"),
        ([{"section": "C3s1"}, {"section": "C3s1"}], 422, "invalid_input"),
    ]
    for requests, status, code in cases:
        response = _put(api, "ada", requests)
        assert (response.status_code, response.json()["code"]) == (status, code), (requests, response.text)
    assert api.head() == before
    main = api.client.post(f"/programs/{SLUG}/lottery-runs", headers=api.admin, json={"seed": 1})
    wrong = api.client.get(f"/class-change-runs/{main.json()['ids']['run_id']}", headers=api.admin)
    assert (wrong.status_code, wrong.json()["code"]) == (409, "not_a_class_change_run")


def test_a_class_change_run_can_be_discarded(api: Api, world: World) -> None:
    run_id = api.ok("POST", f"/programs/{SLUG}/class-change-runs", json={})["ids"]["run_id"]
    assert api.ok("POST", f"/class-change-runs/{run_id}/discard")["ids"]["status"] == "discarded"
    refused = api.client.post(f"/class-change-runs/{run_id}/commit", headers=api.admin, json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "lottery_discarded")
