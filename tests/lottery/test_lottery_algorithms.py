"""Runs record their algorithm (id/version) and numpy's version; replay uses the recorded one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import numpy as np
import pytest

from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.lottery import algorithms
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.algorithms import (
    ALGORITHMS,
    known_algorithms,
    recorded_algorithm,
    resolve_algorithm,
)
from regledger.domain.lottery.model import LotteryInput, LotteryParameters, LotteryResult
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.values import CommandContext

SMALL = {"students": 40, "sections": 24, "classes": 18, "timeslots": 4, "days": 1}


def admin() -> CommandContext:
    return CommandContext(actor="admin")


def one_seat_fewer(inp: LotteryInput, params: LotteryParameters, seed: int) -> LotteryResult:
    """A stand-in second algorithm: ESP's result without its last seat (so a different one)."""
    return LotteryResult(compute_assignment(inp, params, seed).assignments[:-1])


@pytest.fixture
def app(store_settings: Settings, make_app: Any) -> Registration:
    registration: Registration = make_app(store_settings, Registration)
    return registration


@pytest.fixture
def program(app: Registration) -> Any:
    return store_synthetic_program(app, generate_program(7, **SMALL), admin()).program_id


@pytest.fixture
def second_algorithm(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(ALGORITHMS, "mirror/1", one_seat_fewer)
    return "mirror/1"


def start(app: Registration, program: Any, **kwargs: Any) -> LotteryRun:
    return app.load_run(UUID(app.start_lottery(program, admin(), seed=kwargs.pop("seed", 5), **kwargs).ids["run_id"]))


def test_a_run_records_esps_algorithm_and_numpys_version_by_default(app, program):
    run = start(app, program)
    assert run.parameters["algorithm"] == "esp-weighted/1"
    assert run.parameters["numpy"] == np.__version__
    assert LotteryParameters.from_dict(run.parameters) == LotteryParameters()
    report = app.replay_lottery(run.id)
    assert report.identical
    assert (report.algorithm, report.recorded_numpy, report.replayed_numpy) == ("esp-weighted/1", *[np.__version__] * 2)


def test_short_names_mean_the_latest_version_and_unknown_names_are_refused(monkeypatch):
    assert resolve_algorithm(None) == "esp-weighted/1"
    assert resolve_algorithm("esp-weighted") == "esp-weighted/1"
    monkeypatch.setitem(ALGORITHMS, "esp-weighted/2", compute_assignment)
    monkeypatch.setitem(ALGORITHMS, "esp-weighted/10", compute_assignment)
    assert resolve_algorithm("esp-weighted") == "esp-weighted/10"
    assert resolve_algorithm("esp-weighted/1") == "esp-weighted/1"
    with pytest.raises(RegistrationError) as refused:
        resolve_algorithm("fairest")
    assert refused.value.code == "invalid_input"
    assert "esp-weighted/1" in refused.value.message
    assert refused.value.detail["known"] == known_algorithms()


def test_the_chosen_algorithm_is_recorded_and_used_by_replay_and_the_assignment(app, program, second_algorithm):
    esp = start(app, program)
    mirror = start(app, program, algorithm="mirror")
    assert recorded_algorithm(mirror.parameters) == second_algorithm
    assert mirror.assignment_digest != esp.assignment_digest
    assert app.replay_lottery(mirror.id).identical
    assert app.lottery_assignment(mirror.id).digest() == mirror.assignment_digest
    preview = app.what_if(program, None, 5, algorithm="mirror")
    assert preview.assignment_digest == mirror.assignment_digest
    assert preview.parameters["algorithm"] == second_algorithm
    rows = dict(app.compare_runs([esp.id, mirror.id]).rows)
    assert rows["Algorithm"] == ("esp-weighted/1", "mirror/1")
    assert "algorithm" not in rows["Parameters"][1]


def test_a_start_with_an_unknown_algorithm_writes_nothing(app, program):
    head = app.position()
    with pytest.raises(RegistrationError) as refused:
        app.start_lottery(program, admin(), seed=1, algorithm="nope")
    assert refused.value.code == "invalid_input"
    assert app.position() == head


def test_replay_refuses_a_run_whose_algorithm_this_build_lacks(app, program, monkeypatch, second_algorithm):
    run = start(app, program, algorithm=second_algorithm)
    monkeypatch.delitem(ALGORITHMS, second_algorithm)
    for read in (app.replay_lottery, app.lottery_assignment):
        with pytest.raises(RegistrationError) as refused:
            read(run.id)
        assert refused.value.code == "lottery_algorithm_unavailable"
        assert refused.value.detail["algorithm"] == second_algorithm


def test_a_run_recorded_before_algorithms_were_recorded_means_esps(app, program):
    recorded = start(app, program)
    old = LotteryRun(
        program_id=recorded.program_id,
        parameters=LotteryParameters().as_dict(),  # no algorithm, no numpy: as stored before
        seed=recorded.seed,
        input_position=recorded.input_position,
        input_digest=recorded.input_digest,
        actor="admin",
        command_id="old-run",
        reason="",
    )
    old.record_computed(recorded.assignment_digest or "", recorded.stats, recorded.assignments, admin().audit())
    app.save(old)
    report = app.replay_lottery(old.id)
    assert report.identical
    assert (report.algorithm, report.recorded_numpy) == ("esp-weighted/1", "")
    assert dict(app.compare_runs([old.id]).rows)["numpy"] == ("(not recorded)",)


def test_the_registry_names_esps_algorithm():
    assert algorithms.ALGORITHMS["esp-weighted/1"] is compute_assignment
