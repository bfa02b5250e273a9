"""Phase Zero over the real app: tickets and groups, a run's round trip, manual admission, undo,
the registration gate, and stable codes."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import SLUG, Api, World, build_world

TICKET = f"/programs/{SLUG}/students/{{key}}/admission"


def _post(api: Api, url: str, key: str | None = None, json: Any = None) -> Any:
    return api.client.post(url, headers=api.student(key) if key else api.admin, json=json if json is not None else {})


def test_tickets_a_run_and_the_gate_round_trip(api: Api, profile: Any) -> None:
    world: World = build_world(api, settings={"phase_zero": True, "admission_group_size": 2})
    for key in ("ada", "bob", "cyd", "dee"):
        profile(key)
    assert _post(api, TICKET.format(key="ada"), "ada").status_code == 201
    assert _post(api, TICKET.format(key="bob") + "/join", "bob", {"target": "ada"}).status_code == 200
    refused = _post(api, TICKET.format(key="cyd") + "/join", "cyd", {"target": "ada"})
    assert (refused.status_code, refused.json()["code"]) == (409, "admission_group_full")
    unknown = _post(api, TICKET.format(key="cyd") + "/join", "cyd", {"target": "zed"})
    assert (unknown.status_code, unknown.json()["code"]) == (409, "admission_target_unknown")
    mine = api.ok("GET", TICKET.format(key="bob"), headers=api.student("bob"))
    assert (mine["group_holder"], mine["members"], mine["admitted"]) == ("ada", ["ada", "bob"], False)
    assert _post(api, TICKET.format(key="cyd"), "cyd").status_code == 201
    other = api.client.get(TICKET.format(key="ada"), headers=api.student("bob"))
    assert other.status_code == 403

    add = {"section_id": world.sections["b2a"]}
    gated = api.client.post(f"/programs/{SLUG}/students/ada/registrations", headers=api.student("ada"), json=add)
    assert (gated.status_code, gated.json()["code"]) == (409, "not_admitted")

    started = _post(api, f"/programs/{SLUG}/admission-runs", json={"grade_caps": {"7-12": 2}, "seed": 3})
    assert started.status_code == 201, started.text
    run_id = started.json()["ids"]["run_id"]
    status = api.ok("GET", f"/admission-runs/{run_id}")
    assert status["parameters"]["kind"] == "admission"
    assert status["stats"]["entrants"] == 3
    winners = api.ok("GET", f"/admission-runs/{run_id}/winners")["admitted"]
    assert winners in (["ada", "bob"], ["cyd"])
    assert api.ok("POST", f"/admission-runs/{run_id}/replay")["result"] == "IDENTICAL"
    committed = api.ok("POST", f"/admission-runs/{run_id}/commit", json={})
    assert committed["ids"]["status"] == "committed"
    api.services.wait_for(committed["position"])
    runs = api.ok("GET", f"/programs/{SLUG}/admission-runs")["runs"]
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_id, "committed")]
    assert api.ok("GET", f"/programs/{SLUG}/lottery-runs")["runs"] == []  # the main lottery's only
    again = _post(api, f"/admission-runs/{run_id}/discard")
    assert (again.status_code, again.json()["code"]) == (409, "lottery_already_committed")
    winner = winners[0]
    ok = api.client.post(f"/programs/{SLUG}/students/{winner}/registrations", headers=api.student(winner), json=add)
    assert ok.status_code == 201, ok.text

    not_entered = _post(api, f"/programs/{SLUG}/admissions", json={"students": ["dee"]})
    assert (not_entered.status_code, not_entered.json()["code"]) == (409, "admission_target_not_entered")
    undone = api.ok("POST", f"/programs/{SLUG}/admissions/undo", json={"students": [winner], "reason": "mistake"})
    assert undone["ids"]["undone"] == "1"
    assert api.ok("GET", TICKET.format(key=winner), headers=api.student(winner))["admitted"] is False


def test_admin_endpoints_need_an_admin_and_bad_caps_are_422(api: Api, profile: Any) -> None:
    build_world(api, settings={"phase_zero": True})
    profile("ada")
    url = f"/programs/{SLUG}/admission-runs"
    forbidden = api.client.post(url, headers=api.student("ada"), json={"grade_caps": {"7-12": 2}})
    assert forbidden.status_code == 403
    bad = _post(api, url, json={"grade_caps": {"7-9": 2, "9-12": 1}})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    missing = api.client.get("/admission-runs/00000000-0000-0000-0000-000000000000", headers=api.admin)
    assert missing.status_code == 404
