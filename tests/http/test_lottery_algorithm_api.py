"""The lottery's algorithm over HTTP: chosen in the start body, shown on the run and in lists."""

from __future__ import annotations

from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.values import CommandContext

SMALL = {"students": 30, "sections": 16, "classes": 12, "timeslots": 4, "days": 1}
SLUG = "synthetic-7"


def _program(api):
    store_synthetic_program(api.services.app, generate_program(7, **SMALL), CommandContext(actor="admin:test"))


def test_the_start_body_chooses_the_algorithm_and_the_run_shows_it(api):
    _program(api)
    response = api.client.post(
        f"/programs/{SLUG}/lottery-runs", headers=api.admin, json={"seed": 3, "algorithm": "esp-weighted"}
    )
    assert response.status_code == 201, response.text
    started = response.json()["ids"]
    assert started["algorithm"] == "esp-weighted/1"
    run = api.ok("GET", f"/lottery-runs/{started['run_id']}")
    assert run["algorithm"] == "esp-weighted/1"
    assert run["parameters"]["algorithm"] == "esp-weighted/1"
    replay = api.ok("POST", f"/lottery-runs/{started['run_id']}/replay")
    assert replay["identical"]
    assert replay["algorithm"] == "esp-weighted/1"
    assert replay["recorded_numpy"] == replay["replayed_numpy"]
    api.services.wait_for(api.head())
    listed = api.ok("GET", f"/programs/{SLUG}/lottery-runs")["runs"]
    assert [r["algorithm"] for r in listed] == ["esp-weighted/1"]
    compared = api.ok("GET", "/lottery-runs/compare", params={"ids": [started["run_id"]]})
    assert {"label": "Algorithm", "values": ["esp-weighted/1"]} in compared["rows"]


def test_an_unknown_algorithm_is_refused_with_the_known_ones_and_writes_nothing(api):
    _program(api)
    head = api.head()
    response = api.client.post(f"/programs/{SLUG}/lottery-runs", headers=api.admin, json={"algorithm": "fairest"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_input"
    assert "esp-weighted/1" in body["detail"]["known"]
    assert api.head() == head
