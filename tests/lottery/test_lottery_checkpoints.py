"""The lottery input's checkpoints: a cold start reads one and folds only the rest of the log,
and the input it gets equals a fold from zero on every store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.lottery_checkpoints import KEEP, MemoryCheckpoints
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId
from regledger.domain.values import CommandContext
from regledger.projections.lottery_fold_state import dump_fold, fold_signature, load_fold
from regledger.projections.lottery_input import LotteryInputFold

SMALL = {"students": 40, "sections": 24, "classes": 18, "timeslots": 4, "days": 1}


def admin() -> CommandContext:
    return CommandContext(actor="admin")


class Spy:
    """Wraps a process's checkpoints: what was read and written."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.read: list[int | None] = []
        self.saved: list[int] = []

    def latest(self, program_id: ProgramId, at_most: int, signature: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.inner.latest(program_id, at_most, signature)
        self.read.append(None if found is None else found["position"])
        return found

    def save(self, program_id: ProgramId, position: int, signature: str, state: dict[str, Any]) -> None:
        self.saved.append(position)
        self.inner.save(program_id, position, signature, state)


def spied(app: Registration) -> Spy:
    """Checkpoint after every event in tests, and watch the fold's checkpoints."""
    fold = app.lottery_inputs
    assert isinstance(fold, LotteryInputFold)
    spy = Spy(fold.checkpoints)
    fold.checkpoints = spy
    fold.checkpoint_events = 1
    return spy


def churn(app: Registration, program_id: ProgramId, stored: Any) -> None:
    """Events the checkpoint has not seen: a closed section, a settings change, new students
    with stars."""
    sections = sorted(stored.section_ids.values())
    app.set_section_open(sections[0], False, admin())
    app.change_settings(program_id, {"priority_limit": 2}, admin())
    subject = app.load_section(sections[1]).subject_id
    for n in range(3):
        key = f"latecomer{n}"
        app.submit_profile(program_id, key, key.title(), 2029, {}, CommandContext(actor=key))
        app.star(program_id, key, subject, CommandContext(actor=key))


def state_of(fold: Any) -> Any:
    """Everything a fold holds, with sets as sets (their iteration order is not state)."""

    def slots(value: Any) -> Any:
        return {name: getattr(value, name) for name in type(value).__slots__}

    return (
        fold.program_id,
        fold.position,
        fold.settings,
        fold.school_year,
        list(fold.timeslots.items()),
        [(k, slots(v)) for k, v in fold.subjects.items()],
        [(k, slots(v)) for k, v in fold.sections.items()],
        [(k, slots(v)) for k, v in fold.students.items()],
    )


@pytest.fixture
def first(store_settings: Settings, make_app: Any) -> Registration:
    app: Registration = make_app(store_settings, Registration)
    return app


def test_a_cold_start_reads_the_checkpoint_and_equals_a_fold_from_zero(store_settings, make_app, first):
    stored = store_synthetic_program(first, generate_program(7, **SMALL), admin())
    pid = stored.program_id
    spy = spied(first)
    run = first.load_run(UUID(first.start_lottery(pid, admin(), seed=3).ids["run_id"]))
    assert spy.saved == [run.input_position]
    churn(first, pid, stored)

    if store_settings.store == "memory":  # the memory store's checkpoints live in its process
        second = first
        second.lottery_inputs.__dict__["_folds"].clear()
    else:
        second = make_app(store_settings, Registration)
    cold = spied(second)
    head = second.position()
    snapshot = second.lottery_snapshot(pid, head)
    assert cold.read == [run.input_position]
    from_zero = second.lottery_snapshot_from_zero(pid, head)
    assert snapshot == from_zero
    assert snapshot.input.digest() == from_zero.input.digest()
    assert snapshot.input.priority_limit == 2
    # The earlier run still replays identically (its position is the checkpoint's).
    assert second.replay_lottery(run.id).identical


def test_a_replay_before_the_latest_checkpoint_folds_from_an_earlier_one(store_settings, make_app, first):
    stored = store_synthetic_program(first, generate_program(7, **SMALL), admin())
    pid = stored.program_id
    spied(first)
    early = first.load_run(UUID(first.start_lottery(pid, admin(), seed=3).ids["run_id"]))
    churn(first, pid, stored)
    first.start_lottery(pid, admin(), seed=4)
    second = make_app(store_settings, Registration) if store_settings.store != "memory" else first
    second.lottery_inputs.__dict__["_folds"].clear()
    cold = spied(second)
    assert second.replay_lottery(early.id).identical
    assert cold.read == [early.input_position]


def test_restored_state_is_the_state_dumped(memory_settings, make_app):
    app = make_app(memory_settings, Registration)
    stored = store_synthetic_program(app, generate_program(7, **SMALL), admin())
    fold = LotteryInputFold(app)
    fold.lottery_snapshot(stored.program_id, app.position())
    state = dump_fold(fold.__dict__["_folds"][stored.program_id])
    restored = load_fold(state)
    assert restored is not None
    assert state_of(restored) == state_of(fold.__dict__["_folds"][stored.program_id])
    assert restored.snapshot(app.position()) == fold.lottery_snapshot_from_zero(stored.program_id, app.position())


def test_a_checkpoint_of_another_shape_or_unreadable_is_not_used(memory_settings, make_app):
    app = make_app(memory_settings, Registration)
    stored = store_synthetic_program(app, generate_program(7, **SMALL), admin())
    pid = stored.program_id
    head = app.position()
    checkpoints = MemoryCheckpoints()
    checkpoints.save(pid, head, "another-shape", {"signature": "another-shape"})
    fold = LotteryInputFold(app, checkpoints=checkpoints)
    assert fold.lottery_snapshot(pid, head) == fold.lottery_snapshot_from_zero(pid, head)
    checkpoints.save(pid, head, fold_signature(), {"signature": fold_signature(), "garbage": True})
    cold = LotteryInputFold(app, checkpoints=checkpoints)
    assert cold.lottery_snapshot(pid, head) == fold.lottery_snapshot_from_zero(pid, head)


def test_only_the_newest_checkpoints_are_kept():
    checkpoints = MemoryCheckpoints()
    pid = ProgramId(UUID(int=1))
    for position in range(KEEP + 3):
        checkpoints.save(pid, position, "s", {"position": position})
    assert checkpoints.latest(pid, 2, "s") is None
    assert checkpoints.latest(pid, 100, "s") == {"position": KEEP + 2}
