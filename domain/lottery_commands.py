"""Lottery runs: start (compute and record), retrieve, replay, what-if, compare, discard, commit.

A run is computed from the event log as of a recorded position with a recorded seed, so its
assignment is never stored: it is recomputed on demand and checked against the recorded
digest. Committing turns the assignment into seats, all in one save, at most once per program.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from regledger.domain.app_base import CommandResult
from regledger.domain.bulk import collector_paused
from regledger.domain.errors import (
    EnrollmentsExist,
    InvalidInputError,
    LotteryAlreadyCommitted,
    LotteryDigestMismatch,
    LotteryNotComputed,
    LotterySeatUnavailable,
    NotFoundError,
    RegistrationError,
)
from regledger.domain.ids import ProgramId, SectionId, StudentId, SubjectId
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.model import LotteryParameters, LotteryResult
from regledger.domain.lottery.stats import LotteryStats, compute_stats
from regledger.domain.lottery_inputs import LotteryInputs
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.student_commands import section_ref
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, CommandContext, SectionRef

LOTTERY_CAUSE = "lottery"
REPLACED_CAUSE = "lottery_replaced"
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


class LotteryCommands(LotteryInputs):
    # -- computing ------------------------------------------------------------------------

    def _compute(
        self, program_id: ProgramId, params: LotteryParameters, seed: int, position: int, *, stats: bool
    ) -> LotteryPreview:
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

    def discard_lottery(self, run_id: UUID, ctx: CommandContext) -> CommandResult:
        def attempt() -> CommandResult:
            run = self.load_run(run_id)
            if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Discarded":
                return self.replay(ctx, run, ids=self._run_ids(run))
            run.discard(ctx.audit())
            return self.commit(ctx, run, ids=self._run_ids(run))

        return self.execute("discard_lottery", ctx, attempt)

    def commit_lottery(self, run_id: UUID, ctx: CommandContext, replace: bool = False) -> CommandResult:
        """Turn a computed run into seats: one Enrolled per assignment, on Student and Section,
        with cause "lottery" and the run id, all in ONE save (all or nothing), at most once.

        Refused (nothing written):
        * `lottery_discarded` / `lottery_already_committed` / `lottery_not_computed` for this run;
        * `lottery_already_committed` if the program has a committed run (this or another one),
          unless `replace=True`;
        * `enrollments_exist` if any student holds a seat in the program (FCFS, override,
          switch, waitlist), unless `replace=True`;
        * `lottery_seat_unavailable` if a section changed since the run's position so that an
          assigned seat no longer exists (capacity lowered, closed, cancelled, unscheduled):
          capacity is never overridden.

        With `replace=True` every seat currently held in the program — the previous run's
        lottery enrolments AND any first-come-first-served enrolments — ends with events on
        both Student and Section (cause "lottery_replaced") in the same save, before the new
        run's enrolments are written (DESIGN.md decision 6; the reference expires every
        Enrolled registration of the program the same way). Lottery preferences survive.
        """

        def attempt() -> CommandResult:
            run = self.load_run(run_id)
            # Only a repeated *commit* is answered from the record (the start's id may be reused).
            if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Committed":
                return self.replay(ctx, run, ids=self._run_ids(run))
            run.check_committable()
            program = self.load_program(run.program_id)
            previous = program.committed_lottery_run_id
            if previous is not None and not replace:
                raise LotteryAlreadyCommitted(
                    "A lottery run is already committed for this program; pass replace to replace it.",
                    committed_run_id=str(previous),
                )
            result = self._results.get(run.id) or self.lottery_assignment(run.id)
            assigned = {StudentId(a.student_id) for a in result.assignments}
            sections, students, subjects = self._program_aggregates(program, assigned)
            held = sorted((s.section_id, student) for s in sections.values() for student in s.enrolled)
            if held and not replace:
                raise EnrollmentsExist(
                    f"{len(held)} seats are already held in this program; pass replace to end them.",
                    seats=len(held),
                )
            for _, student_id in held:
                if student_id not in students:
                    students[student_id] = self.load(Student, student_id, "student")
            audit = ctx.audit()
            for section_id, student_id in held:
                sections[section_id].unenroll(student_id, cause=REPLACED_CAUSE, audit=audit)
                students[student_id].end(section_id, [ENROLLED], cause=REPLACED_CAUSE, audit=audit)
            self._enroll_assigned(program, run, result, sections, students, subjects, audit)
            program.record_lottery_commit(run.id, audit)
            run.commit(len(result.assignments), previous, audit)
            touched = [*sections.values(), *students.values()]
            ids = {**self._run_ids(run), "ended": str(len(held)), "replaced_run_id": str(previous or "")}
            return self.commit(ctx, run, program, *touched, ids=ids)

        with collector_paused():
            return self.execute("commit_lottery", ctx, attempt)

    @classmethod
    def _enroll_assigned(
        cls,
        program: Program,
        run: LotteryRun,
        result: LotteryResult,
        sections: dict[SectionId, Section],
        students: dict[StudentId, Student],
        subjects: dict[SubjectId, Subject],
        audit: dict[str, str],
    ) -> None:
        refs: dict[SectionId, SectionRef] = {}  # frozen, so a section's students share one
        for assignment in result.assignments:
            section_id = SectionId(assignment.section_id)
            section = sections.get(section_id)
            student = students[StudentId(assignment.student_id)]
            if section is None:
                raise LotterySeatUnavailable(
                    "An assigned section is no longer in this program.", section_id=str(assignment.section_id)
                )
            cls._seat(program, run, section, student, audit)
            ref = refs.get(section_id)
            if ref is None:
                ref = refs[section_id] = section_ref(section, subjects[section.subject_id])
            student.register(ref, ENROLLED, cause=LOTTERY_CAUSE, audit=audit, lottery_run_id=run.id)

    @staticmethod
    def _seat(program: Program, run: LotteryRun, section: Section, student: Student, audit: dict[str, str]) -> None:
        try:
            section.enroll(
                student.student_id,
                cause=LOTTERY_CAUSE,
                audit=audit,
                full_text=program.settings.temporarily_full_text,
                lottery_run_id=run.id,
            )
        except RegistrationError as refusal:
            raise LotterySeatUnavailable(
                "A seat this lottery run assigned is no longer available; nothing was committed. "
                "Start a new run from the current state.",
                section_id=str(section.id),
                student_id=str(student.id),
                because=refusal.code,
            ) from None

    def _program_aggregates(
        self, program: Program, student_ids: set[StudentId]
    ) -> tuple[dict[SectionId, Section], dict[StudentId, Student], dict[SubjectId, Subject]]:
        """Every section of the program now, their classes and the given students, read fresh
        in one read of the log through the aggregate cache.

        The program's lottery fold (brought to the head first) names its sections and classes.
        A running server has these aggregates cached, so the read returns only their newer
        events; a cold process gets their whole streams, still in one read. Optimistic
        concurrency at save time catches anything written after the read."""
        section_ids, subject_ids = self.program_members(program.program_id)
        self.prefetch(*section_ids, *subject_ids, *student_ids)
        sections = {SectionId(i): self.load(Section, i, "section") for i in section_ids}
        subjects = {SubjectId(i): self.load(Subject, i, "subject") for i in subject_ids}
        students: dict[StudentId, Student] = {}
        for student_id in student_ids:
            student = self.load(Student, student_id, "student")
            if student.program_id != program.id:
                raise NotFoundError("No such student", student_id=str(student_id))
            students[student_id] = student
        return sections, students, subjects


__all__ = ["LotteryCommands", "LotteryPreview", "ReplayReport", "RunComparison"]
