"""`regledger project` warms the lottery's checkpoints: a fresh process then starts from one."""

from __future__ import annotations

from typing import Any

import pytest

from regledger.adapters.bootstrap import build, build_application
from regledger.adapters.checkpoint_warmer import CheckpointWarmer, warm_checkpoints
from regledger.domain.ids import ProgramId
from regledger.projections.lottery_fold_state import fold_signature
from tests.projections import history


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_warmed_checkpoint_serves_the_first_start_of_a_fresh_process(store: str, request: Any) -> None:
    if store == "postgres":
        request.applymarker(pytest.mark.postgres)
    settings = request.getfixturevalue(f"{store}_settings")
    services = build(settings, follow=False)
    try:
        info = history.seed_history(services.app, students=200, subjects=20)  # ~2,600 events the fold reads
        services.app.lottery_inputs.checkpoint_events = 1000  # as a Splash log's 5,000, sooner
        services.projector.catch_up()
        program = ProgramId(info["program_id"])
        head = services.app.position()
        fresh = build_application(settings)
        try:
            assert fresh.lottery_inputs.checkpoints.latest(program, head, fold_signature()) is None
            assert warm_checkpoints(services.app, services.views) == 1
            saved = fresh.lottery_inputs.checkpoints.latest(program, head, fold_signature())
            assert saved is not None
            # The fresh process's input, restored from it, is the fold from zero's.
            assert fresh.lottery_snapshot(program, head) == fresh.lottery_snapshot_from_zero(program, head)
        finally:
            fresh.close()
    finally:
        services.close()


def test_the_warmer_thread_runs_until_stopped(sqlite_settings: Any) -> None:
    services = build(sqlite_settings, follow=False)
    try:
        history.seed_history(services.app, students=3, subjects=2)
        services.projector.catch_up()
        warmer = CheckpointWarmer(services.app, services.views, interval=0.01)
        warmer.start()
        warmer.stop()
        assert not warmer._thread.is_alive()
    finally:
        services.close()
