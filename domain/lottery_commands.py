"""Lottery runs: start (compute and record), retrieve, replay, what-if, compare, discard.

A run is computed from the event log as of a recorded position with a recorded seed, so its
assignment is never stored: it is recomputed on demand and checked against the recorded
digest. Committing it is in `lottery_commit.py`.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from regledger.domain.app_base import CommandResult, RegistrationBase, command
from regledger.domain.errors import (
    InvalidInputError,
    LotteryDigestMismatch,
    LotteryNotComputed,
)
from regledger.domain.ids import ProgramId
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.model import InputSnapshot, LotteryInput, LotteryParameters, LotteryResult
from regledger.domain.lottery.stats import LotteryStats, compute_stats
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.values import CommandContext

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

    @property
    def identical(self) -> bool:
        return self.recorded_input_digest == self.replayed_input_digest and self.recorded_digest == self.replayed_digest


@dataclass(frozen=True)
class RunComparison:
    """Runs' stats side by side: `rows` are (label, one value per run, in `run_ids` order)."""

    run_ids: tuple[UUID, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]


def _parameters(parameters: dict[str, Any] | None) -> LotteryParameters:
    data = dict(parameters or {})
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


class LotteryCommands(RegistrationBase):
    # -- the input (read from the log by the wired `LotteryInputSource`) -------------------

    def lottery_snapshot(self, program_id: ProgramId, position: int) -> InputSnapshot:
        return self.lottery_inputs.lottery_snapshot(program_id, position)

    def lottery_snapshot_from_zero(self, program_id: ProgramId, position: int) -> InputSnapshot:
        return self.lottery_inputs.lottery_snapshot_from_zero(program_id, position)

    def lottery_input(self, program_id: ProgramId, position: int) -> LotteryInput:
        return self.lottery_snapshot(program_id, position).input

    # -- computing ------------------------------------------------------------------------

    def _compute(
        self, program_id: ProgramId, params: LotteryParameters, seed: int, position: int, *, stats: bool
    ) -> LotteryPreview:
        # A run allocates hundreds of thousands of short-lived objects over a large heap (the
        # folds, the aggregate cache): a full collection then took a third of a warm run (0.51
        # against 0.35 s in the bench) and found nothing.
        with self.bulk_work():
            snapshot = self.lottery_snapshot(program_id, position)
            result = compute_assignment(snapshot.input, params, seed)
            return LotteryPreview(
                program_id=program_id,
                position=position,
                seed=seed,
                parameters=params.as_dict(),
                input_digest=snapshot.input.digest(),
                ignored_priorities=snapshot.ignored_priorities,
                result=result,
                stats=compute_stats(snapshot.input, params, result) if stats else None,
            )

    @property
    def _results(self) -> OrderedDict[UUID, LotteryResult]:
        cache = self.__dict__.setdefault("_lottery_results", OrderedDict())
        return cast(OrderedDict[UUID, LotteryResult], cache)

    def _remember(self, run_id: UUID, result: LotteryResult) -> None:
        """Results of runs whose digest was checked; a run never changes its assignment."""
        self._results[run_id] = result
        self._results.move_to_end(run_id)
        while len(self._results) > CACHED_RESULTS:
            self._results.popitem(last=False)

    def _recompute(self, run: LotteryRun) -> LotteryPreview:
        if run.assignment_digest is None:
            raise LotteryNotComputed("This lottery run has no result yet.", run_id=str(run.id))
        params = LotteryParameters.from_dict(run.parameters)
        return self._compute(run.program_id, params, run.seed, run.input_position, stats=False)

    def load_run(self, run_id: UUID) -> LotteryRun:
        return self.load(LotteryRun, run_id, "lottery_run")

    @staticmethod
    def _run_ids(run: LotteryRun) -> dict[str, str]:
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
        self,
        program_id: ProgramId,
        ctx: CommandContext,
        parameters: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> CommandResult:
        """Compute a run from the log as it stands and record Started + Computed in one save.

        Without a seed one is drawn (`secrets`) and recorded. The run id derives from the
        command id, so retrying the command returns the first run instead of making another.
        """
        params = _parameters(parameters)
        chosen_seed = _seed(seed)
        run_id = LotteryRun.create_id(program_id, ctx.command_id)

        def attempt() -> CommandResult:
            existing = self.find(LotteryRun, run_id)
            if existing is not None:
                return self.replay(ctx, existing, ids=self._run_ids(existing))
            self.load_program(program_id)
            preview = self._compute(program_id, params, chosen_seed, self.position(), stats=True)
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
            ids = {**self._run_ids(run), "ignored_priorities": str(preview.ignored_priorities)}
            outcome = self.commit(ctx, run, ids=ids)
            self._remember(run.id, preview.result)
            return outcome

        return self.execute("start_lottery", ctx, attempt)

    def lottery_assignment(self, run_id: UUID) -> LotteryResult:
        """The run's assignment, recomputed and checked against the recorded digests."""
        run = self.load_run(run_id)
        preview = self._recompute(run)
        if preview.input_digest != run.input_digest or preview.assignment_digest != run.assignment_digest:
            raise LotteryDigestMismatch(
                "Recomputing this lottery run did not reproduce its recorded result.",
                run_id=str(run.id),
                recorded_input_digest=run.input_digest,
                replayed_input_digest=preview.input_digest,
                recorded_digest=run.assignment_digest,
                replayed_digest=preview.assignment_digest,
            )
        self._remember(run.id, preview.result)
        return preview.result

    def replay_lottery(self, run_id: UUID) -> ReplayReport:
        """Recompute a run from its recorded position, seed and parameters; never raises on a
        difference, it reports it."""
        run = self.load_run(run_id)
        preview = self._recompute(run)
        assert run.assignment_digest is not None
        return ReplayReport(
            run_id=run.id,
            position=run.input_position,
            seed=run.seed,
            recorded_input_digest=run.input_digest,
            replayed_input_digest=preview.input_digest,
            recorded_digest=run.assignment_digest,
            replayed_digest=preview.assignment_digest,
        )

    def lottery_stats(self, run_id: UUID) -> LotteryStats:
        run = self.load_run(run_id)
        if not run.stats:
            raise LotteryNotComputed("This lottery run has no result yet.", run_id=str(run.id))
        return LotteryStats.from_dict(run.stats)

    # -- what-if and comparison -----------------------------------------------------------

    def what_if(
        self,
        program_id: ProgramId,
        parameters: dict[str, Any] | None,
        seed: int,
        position: int | None = None,
    ) -> LotteryPreview:
        """Compute an assignment and its stats without recording anything."""
        at = self.position() if position is None else position
        return self._compute(program_id, _parameters(parameters), _seed(seed), at, stats=True)

    def compare_runs(self, run_ids: list[UUID]) -> RunComparison:
        """The recorded stats of several runs, one column per run."""
        runs = [self.load_run(run_id) for run_id in run_ids]
        columns: list[dict[str, str]] = []
        for run in runs:
            column = {
                "Status": run.status,
                "Seed": str(run.seed),
                "Input position": str(run.input_position),
                "Parameters": ", ".join(f"{k}={v}" for k, v in sorted(run.parameters.items())),
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
    def discard_lottery(self, run_id: UUID, ctx: CommandContext) -> CommandResult:
        def attempt() -> CommandResult:
            run = self.load_run(run_id)
            if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Discarded":
                return self.replay(ctx, run, ids=self._run_ids(run))
            run.discard(ctx.audit())
            return self.commit(ctx, run, ids=self._run_ids(run))

        return self.execute("discard_lottery", ctx, attempt)


__all__ = ["LotteryCommands", "LotteryPreview", "ReplayReport", "RunComparison"]
