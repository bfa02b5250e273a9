"""lsf-repair/1 as a recorded run: chosen on start, replayed, compared with ESP's run."""

from __future__ import annotations

from regledger.domain.lottery import algorithms
from regledger.domain.lottery.lsf_repair import compute_lsf_repair
from tests.lottery.test_lottery_algorithms import app, program, start  # noqa: F401  (fixtures)


def test_the_registry_names_lsf_repair():
    assert algorithms.ALGORITHMS["lsf-repair/1"] is compute_lsf_repair
    assert algorithms.resolve_algorithm("lsf-repair") == "lsf-repair/1"


def test_an_lsf_repair_run_replays_identically_and_compares_with_esps(app, program):  # noqa: F811
    esp = start(app, program)
    lsf = start(app, program, algorithm="lsf-repair")
    assert (esp.parameters["algorithm"], lsf.parameters["algorithm"]) == ("esp-weighted/1", "lsf-repair/1")
    report = app.replay_lottery(lsf.id)
    assert report.identical
    assert report.algorithm == "lsf-repair/1"
    rows = dict(app.compare_runs([esp.id, lsf.id]).rows)
    assert rows["Algorithm"] == ("esp-weighted/1", "lsf-repair/1")
    for label in ("Worst decile: classes", "Worst decile: priority classes", "Utility Gini"):
        assert all(value not in ("", "n/a") for value in rows[label])
