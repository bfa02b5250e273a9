"""Lottery runs: start (compute and record), retrieve, replay, what-if, compare, discard.

A run is computed from the event log as of a recorded position with a recorded seed, so its
assignment is never stored: it is recomputed on demand and checked against the recorded
digest. Committing it is in `lottery_commit.py`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.domain.errors import (
    InvalidInputError,
    LotteryDigestMismatch,
    LotteryNotComputed,
    NotALotteryRun,
)
from regledger.domain.ids import ProgramId
from regledger.domain.lottery.algorithms import (
    ALGORITHM_KEY,
    NUMPY_KEY,
    algorithm_for,
    numpy_version,
    recorded_algorithm,
    resolve_algorithm,
)
from regledger.domain.lottery.exception_stats import with_exception_level
from regledger.domain.lottery.model import InputSnapshot, LotteryInput, LotteryParameters, LotteryResult
from regledger.domain.lottery.stats import LotteryStats, compute_stats
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.runner import CommandResult, command
from regledger.domain.values import CommandContext

if TYPE_CHECKING:
    from regledger.domain.application import Registration

SEED_LIMIT = 2**63
CACHED_RESULTS = 4


@dataclass(frozen=True)
class LotteryPreview:
    """A computed assignment that is not (or not yet) a run: what-if and recomputation."""

    program_id: ProgramId
    position: int
    seed: int
    parameters: dict[str, Any]
    input_digest: str
    ignored_priorities: int
    result: LotteryResult
    stats: LotteryStats | None

    @property
    def assignment_digest(self) -> str:
        return self.result.digest()


@dataclass(frozen=True)
class ReplayReport:
    """A recorded run recomputed from its position, seed and parameters."""

    run_id: UUID
    position: int
    seed: int
    recorded_input_digest: str
    replayed_input_digest: str
    recorded_digest: str
    replayed_digest: str
    algorithm: str = ""
    # The numpy versions of the run and of this replay ("" when the run predates recording it).
    recorded_numpy: str = ""
    replayed_numpy: str = ""

    @classmethod
    def of(cls, run: LotteryRun, replayed_input_digest: str, replayed_digest: str, **more: str) -> ReplayReport:
        """A run of any kind recomputed: its recorded figures beside the replayed digests."""
        assert run.assignment_digest is not None
        return cls(
            run_id=run.id,
            position=run.input_position,
            seed=run.seed,
            recorded_input_digest=run.input_digest,
            replayed_input_digest=replayed_input_digest,
            recorded_digest=run.assignment_digest,
            replayed_digest=replayed_digest,
            **more,
        )

    @property
    def identical(self) -> bool:
        return self.recorded_input_digest == self.replayed_input_digest and self.recorded_digest == self.replayed_digest


@dataclass(frozen=True)
class RunComparison:
    """Runs' stats side by side: `rows` are (label, one value per run, in `run_ids` order)."""

    run_ids: tuple[UUID, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]


def _parameters(parameters: dict[str, Any] | None) -> LotteryParameters:
    """The knobs; a run's recorded `algorithm` and `numpy` keys are accepted and left out."""
    data = {k: v for k, v in (parameters or {}).items() if k not in (ALGORITHM_KEY, NUMPY_KEY)}
    unknown = set(data) - set(LotteryParameters().as_dict())
    if unknown:
        raise InvalidInputError(f"Unknown lottery parameters: {sorted(unknown)}")
    return LotteryParameters.from_dict(data)


def _seed(seed: int | None) -> int:
    if seed is None:
        return secrets.randbelow(SEED_LIMIT)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise InvalidInputError("A seed is an integer in [0, 2**63)", seed=seed)
    return seed


# -- the input (read from the log by the wired `LotteryInputSource`) -------------------


def lottery_snapshot(app: Registration, program_id: ProgramId, position: int) -> InputSnapshot:
    return app.lottery_inputs.lottery_snapshot(program_id, position)


def lottery_snapshot_from_zero(app: Registration, program_id: ProgramId, position: int) -> InputSnapshot:
    return app.lottery_inputs.lottery_snapshot_from_zero(program_id, position)


def lottery_input(app: Registration, program_id: ProgramId, position: int) -> LotteryInput:
    return lottery_snapshot(app, program_id, position).input


# -- computing ------------------------------------------------------------------------


def _compute(
    app: Registration,
    program_id: ProgramId,
    params: LotteryParameters,
    seed: int,
    position: int,
    *,
    stats: bool,
    algorithm: str,
) -> LotteryPreview:
    """`algorithm` is a registered id (`algorithms.ALGORITHMS`); the preview's parameters
    record it with this numpy version."""
    compute = algorithm_for({ALGORITHM_KEY: algorithm})
    # A run allocates hundreds of thousands of short-lived objects over a large heap (the
    # folds, the aggregate cache): a full collection then took a third of a warm run (0.51
    # against 0.35 s in the bench) and found nothing.
    with app.bulk_work():
        snapshot = lottery_snapshot(app, program_id, position)
        inp = snapshot.input
        result = compute(inp, params, seed)
        return LotteryPreview(
            program_id=program_id,
            position=position,
            seed=seed,
            parameters={**params.as_dict(), ALGORITHM_KEY: algorithm, NUMPY_KEY: numpy_version()},
            input_digest=inp.digest(),
            ignored_priorities=snapshot.ignored_priorities,
            result=result,
            stats=with_exception_level(compute_stats(inp, params, result), inp, result) if stats else None,
        )


def _remember(app: Registration, run_id: UUID, result: LotteryResult) -> None:
    """Results of runs whose digest was checked; a run never changes its assignment."""
    app.lottery_results[run_id] = result
    app.lottery_results.move_to_end(run_id)
    while len(app.lottery_results) > CACHED_RESULTS:
        app.lottery_results.popitem(last=False)


def check_main_lottery(run: LotteryRun) -> None:
    """A class-change run has its own algorithm, reads and commit (`class_change_commands`)."""
    if run.parameters.get("kind") in ("class_change", "admission"):
        raise NotALotteryRun(f"This is a {run.parameters['kind']} run; read it as one.", run_id=str(run.id))


def _recompute(app: Registration, run: LotteryRun) -> LotteryPreview:
    check_main_lottery(run)
    if run.assignment_digest is None:
        raise LotteryNotComputed("This lottery run has no result yet.", run_id=str(run.id))
    params = LotteryParameters.from_dict(run.parameters)
    algorithm = recorded_algorithm(run.parameters)
    algorithm_for(run.parameters)  # refuses before any fold when this build lacks it
    return _compute(app, run.program_id, params, run.seed, run.input_position, stats=False, algorithm=algorithm)


def load_run(app: Registration, run_id: UUID) -> LotteryRun:
    return app.load(LotteryRun, run_id, "lottery_run")


def run_ids(run: LotteryRun) -> dict[str, str]:
    return {
        "run_id": str(run.id),
        "seed": str(run.seed),
        "input_position": str(run.input_position),
        "assignments": str(run.assignments),
        "status": run.status,
    }


# -- start, retrieve, replay ----------------------------------------------------------


@command
def start_lottery(
    app: Registration,
    program_id: ProgramId,
    ctx: CommandContext,
    parameters: dict[str, Any] | None = None,
    seed: int | None = None,
    algorithm: str | None = None,
) -> CommandResult:
    """Compute a run from the log as it stands and record Started + Computed in one save.

    Without a seed one is drawn (`secrets`) and recorded. The run id derives from the
    command id, so retrying the command returns the first run instead of making another.
    `algorithm` is a registered id or short name (default ESP's); the id is recorded.
    """
    params = _parameters(parameters)
    chosen_seed = _seed(seed)
    algorithm_id = resolve_algorithm(algorithm or (parameters or {}).get(ALGORITHM_KEY))
    run_id = LotteryRun.create_id(program_id, ctx.command_id)

    existing = app.find(LotteryRun, run_id)
    if existing is not None:
        return app.replay(
            ctx, existing, ids={**run_ids(existing), "algorithm": recorded_algorithm(existing.parameters)}
        )
    app.load_program(program_id)
    preview = _compute(
        app, program_id, params, chosen_seed, app.program_position(program_id), stats=True, algorithm=algorithm_id
    )
    assert preview.stats is not None
    run = LotteryRun(
        program_id=program_id,
        parameters=preview.parameters,
        seed=chosen_seed,
        input_position=preview.position,
        input_digest=preview.input_digest,
        **ctx.audit(),
    )
    run.record_computed(
        preview.assignment_digest, preview.stats.as_dict(), len(preview.result.assignments), ctx.audit()
    )
    ids = {**run_ids(run), "ignored_priorities": str(preview.ignored_priorities), "algorithm": algorithm_id}
    outcome = app.commit(ctx, run, ids=ids)
    _remember(app, run.id, preview.result)
    return outcome


def lottery_assignment(app: Registration, run_id: UUID) -> LotteryResult:
    """The run's assignment, recomputed and checked against the recorded digests."""
    run = load_run(app, run_id)
    preview = _recompute(app, run)
    if preview.input_digest != run.input_digest or preview.assignment_digest != run.assignment_digest:
        raise LotteryDigestMismatch(
            "Recomputing this lottery run did not reproduce its recorded result.",
            run_id=str(run.id),
            recorded_input_digest=run.input_digest,
            replayed_input_digest=preview.input_digest,
            recorded_digest=run.assignment_digest,
            replayed_digest=preview.assignment_digest,
        )
    _remember(app, run.id, preview.result)
    return preview.result


def replay_lottery(app: Registration, run_id: UUID) -> ReplayReport:
    """Recompute a run from its recorded position, seed and parameters; never raises on a
    difference, it reports it."""
    run = load_run(app, run_id)
    preview = _recompute(app, run)
    return ReplayReport.of(
        run,
        preview.input_digest,
        preview.assignment_digest,
        algorithm=recorded_algorithm(run.parameters),
        recorded_numpy=str(run.parameters.get(NUMPY_KEY, "")),
        replayed_numpy=numpy_version(),
    )


def lottery_stats(app: Registration, run_id: UUID) -> LotteryStats:
    run = load_run(app, run_id)
    check_main_lottery(run)
    if not run.stats:
        raise LotteryNotComputed("This lottery run has no result yet.", run_id=str(run.id))
    return LotteryStats.from_dict(run.stats)


# -- what-if and comparison -----------------------------------------------------------


def what_if(
    app: Registration,
    program_id: ProgramId,
    parameters: dict[str, Any] | None,
    seed: int,
    position: int | None = None,
    algorithm: str | None = None,
) -> LotteryPreview:
    """Compute an assignment and its stats without recording anything; a run's recorded
    parameters (with its algorithm) may be passed back as they are."""
    at = app.program_position(program_id) if position is None else position
    chosen = resolve_algorithm(algorithm or (parameters or {}).get(ALGORITHM_KEY))
    return _compute(app, program_id, _parameters(parameters), _seed(seed), at, stats=True, algorithm=chosen)


def compare_runs(app: Registration, run_ids: list[UUID]) -> RunComparison:
    """The recorded stats of several runs, one column per run."""
    runs = [load_run(app, run_id) for run_id in run_ids]
    columns: list[dict[str, str]] = []
    for run in runs:
        column = {
            "Status": run.status,
            "Seed": str(run.seed),
            "Input position": str(run.input_position),
            "Algorithm": recorded_algorithm(run.parameters),
            "numpy": str(run.parameters.get(NUMPY_KEY, "(not recorded)")),
            "Parameters": ", ".join(
                f"{k}={v}" for k, v in sorted(run.parameters.items()) if k not in (ALGORITHM_KEY, NUMPY_KEY)
            ),
        }
        if run.stats:
            column.update(LotteryStats.from_dict(run.stats).render_rows())
        columns.append(column)
    labels: list[str] = []
    for column in columns:
        labels += [label for label in column if label not in labels]
    rows = tuple((label, tuple(column.get(label, "") for column in columns)) for label in labels)
    return RunComparison(tuple(run.id for run in runs), rows)


# -- discard and commit ---------------------------------------------------------------


@command
def discard_lottery(app: Registration, run_id: UUID, ctx: CommandContext) -> CommandResult:
    run = load_run(app, run_id)
    if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Discarded":
        return app.replay(ctx, run, ids=run_ids(run))
    run.discard(ctx.audit())
    return app.commit(ctx, run, ids=run_ids(run))


__all__ = ["LotteryPreview", "ReplayReport", "RunComparison", "run_ids"]
