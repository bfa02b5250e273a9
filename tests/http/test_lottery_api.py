"""Lottery run endpoints over the real app: start, stats, assignment, commit, discard, replay, compare."""

from __future__ import annotations

from uuid import uuid4

from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.values import CommandContext

SMALL = {"students": 30, "sections": 16, "classes": 12, "timeslots": 4, "days": 1}


def _program(api, seed=7):
    program = generate_program(seed, **SMALL)
    store_synthetic_program(api.services.app, program, CommandContext(actor="admin:test"))
    return f"synthetic-{seed}", program


def _start(api, slug, **body):
    response = api.client.post(f"/programs/{slug}/lottery-runs", headers=api.admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_start_stats_assignment_replay_commit(api):
    slug, program = _program(api)
    started = _start(api, slug, seed=42, parameters={"kp": 1.5})
    run_id = started["ids"]["run_id"]
    assert started["ids"]["seed"] == "42"

    stats = api.ok("GET", f"/lottery-runs/{run_id}")
    assert stats["status"] == "computed"
    assert stats["seed"] == 42
    assert stats["parameters"]["kp"] == 1.5
    labels = [row["label"] for row in stats["rows"]]
    assert "Priority 1 granted" in labels
    assert "Fill rate" in labels

    assignment = api.ok("GET", f"/lottery-runs/{run_id}/assignment")
    assert len(assignment["assignments"]) == int(started["ids"]["assignments"])
    students = {str(program.student_id(s.key)) for s in program.students}
    assert {a["student_id"] for a in assignment["assignments"]} <= students

    replay = api.ok("POST", f"/lottery-runs/{run_id}/replay")
    assert replay["identical"] is True
    assert replay["recorded_digest"] == replay["replayed_digest"] == assignment["digest"]

    committed = api.ok("POST", f"/lottery-runs/{run_id}/commit", json={})
    assert committed["ids"]["status"] == "committed"
    assert api.ok("GET", f"/lottery-runs/{run_id}")["status"] == "committed"

    again = _start(api, slug, seed=43)
    refused = api.client.post(f"/lottery-runs/{again['ids']['run_id']}/commit", headers=api.admin, json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "lottery_already_committed"
    replaced = api.ok("POST", f"/lottery-runs/{again['ids']['run_id']}/commit", json={"replace": True})
    assert replaced["ids"]["replaced_run_id"] == run_id


def test_a_started_run_is_idempotent_and_can_be_discarded_and_compared(api):
    slug, _ = _program(api)
    key = {"Idempotency-Key": "start-1", **api.admin}
    first = api.client.post(f"/programs/{slug}/lottery-runs", headers=key, json={"seed": 1})
    second = api.client.post(f"/programs/{slug}/lottery-runs", headers=key, json={"seed": 1})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert first.json()["ids"]["run_id"] == second.json()["ids"]["run_id"]
    other = _start(api, slug, seed=2)["ids"]["run_id"]
    run_id = first.json()["ids"]["run_id"]

    comparison = api.client.get("/lottery-runs/compare", headers=api.admin, params=[("ids", run_id), ("ids", other)])
    assert comparison.status_code == 200, comparison.text
    body = comparison.json()
    assert body["run_ids"] == [run_id, other]
    rows = {row["label"]: row["values"] for row in body["rows"]}
    assert rows["Seed"] == ["1", "2"]

    assert api.ok("POST", f"/lottery-runs/{other}/discard")["ids"]["status"] == "discarded"
    refused = api.client.post(f"/lottery-runs/{other}/commit", headers=api.admin, json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "lottery_discarded"


def test_lottery_endpoints_need_an_admin_and_known_runs(api):
    slug, _ = _program(api)
    student = api.student("s00001", slug)
    head = api.head()
    assert api.client.post(f"/programs/{slug}/lottery-runs", headers=student, json={}).status_code == 403
    assert api.client.post(f"/programs/{slug}/lottery-runs", json={}).status_code == 401
    assert api.head() == head
    missing = uuid4()
    for method, url in (
        ("GET", f"/lottery-runs/{missing}"),
        ("GET", f"/lottery-runs/{missing}/assignment"),
        ("POST", f"/lottery-runs/{missing}/replay"),
        ("POST", f"/lottery-runs/{missing}/commit"),
        ("POST", f"/lottery-runs/{missing}/discard"),
    ):
        assert api.client.request(method, url, headers=student).status_code == 403
        response = api.client.request(method, url, headers=api.admin)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["code"] == "not_found"
    bad = api.client.post(f"/programs/{slug}/lottery-runs", headers=api.admin, json={"seed": -1})
    assert bad.status_code == 422
    unknown = api.client.post(f"/programs/{slug}/lottery-runs", headers=api.admin, json={"parameters": {"x": 1}})
    assert unknown.status_code == 422
    assert api.client.post("/programs/nope/lottery-runs", headers=api.admin, json={}).status_code == 404


def test_a_program_lists_its_runs_with_names_in_the_assignment(api):
    slug, program = _program(api)
    first = _start(api, slug, seed=1)["ids"]["run_id"]
    api.ok("POST", f"/lottery-runs/{first}/discard", json={"reason": "wrong seed"})
    second = _start(api, slug, seed=2)
    api.ok("POST", f"/lottery-runs/{second['ids']['run_id']}/commit", json={})
    runs = api.ok("GET", f"/programs/{slug}/lottery-runs", params={"min_position": api.head()})["runs"]
    by_id = {r["run_id"]: r for r in runs}
    assert by_id[first]["status"] == "discarded"
    committed = by_id[second["ids"]["run_id"]]
    assert (committed["status"], committed["seed"]) == ("committed", 2)
    assert committed["enrolments"] == committed["assignments"] == int(second["ids"]["assignments"])
    assignment = api.ok(
        "GET", f"/lottery-runs/{second['ids']['run_id']}/assignment", params={"min_position": api.head()}
    )["assignments"]
    keys = {s.key for s in program.students}
    assert all(a["student_key"] in keys and a["section_code"] for a in assignment)
    assert api.client.get(f"/programs/{slug}/lottery-runs", headers=api.student("x", slug)).status_code == 403
