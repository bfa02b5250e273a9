"""Phase Zero, the admin's side: admission runs (start, replay, stats, commit, discard), a manual
list of admissions, and undoing admissions.

A run is a `LotteryRun` with parameters {"kind": "admission", "algorithm":
"admission-groups/1", "grade_caps": {...}}: the lottery lifecycle (computed -> committed or
discarded), a recorded seed, input position and digests. Its winners are never stored: they
are recomputed from the log as of the run's position and checked against the digest. The
commit records every winner's admission on `Program` in one event, in one save, at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.domain.admission import AdmissionTicket
from regledger.domain.admission_entry_commands import check_phase_zero, find_ticket
from regledger.domain.admission_input import AdmissionSnapshot, admission_input, changed_since, student_ids
from regledger.domain.errors import (
    AdmissionStale,
    AdmissionTargetNotEntered,
    InvalidInputError,
    LotteryDigestMismatch,
    LotteryNotComputed,
    NotAnAdmissionRun,
)
from regledger.domain.ids import ProgramId
from regledger.domain.lottery.admission import (
    ALGORITHM,
    KIND,
    AdmissionResult,
    caps_as_dict,
    compute_admission,
    parse_caps,
)
from regledger.domain.lottery_commands import ReplayReport, _seed, run_ids
from regledger.domain.lottery_run import COMMITTED, LotteryRun
from regledger.domain.run_kinds import checked_results, load_of_kind, remember
from regledger.domain.runner import CommandResult, command

if TYPE_CHECKING:
    from regledger.domain.application import Registration
    from regledger.domain.program import Program
    from regledger.domain.values import CommandContext

Checked = tuple[AdmissionResult, AdmissionSnapshot]


def is_admission(run: LotteryRun) -> bool:
    return run.parameters.get("kind") == KIND


def load_admission_run(app: Registration, run_id: UUID) -> LotteryRun:
    return load_of_kind(
        app, run_id, KIND, lambda: NotAnAdmissionRun("This run is not an admission run.", run_id=str(run_id))
    )


def _compute(app: Registration, program: Program, caps: dict[str, int], seed: int, position: int) -> Checked:
    with app.bulk_work():
        snapshot = admission_input(app, program, position)
        return compute_admission(snapshot.input, parse_caps(caps), seed), snapshot


def _ids(run: LotteryRun) -> dict[str, str]:
    return {**run_ids(run), "kind": KIND, "winners": str(run.stats.get("winners", 0))}


@command
def start_admission(
    app: Registration, program_id: ProgramId, grade_caps: dict[str, int], ctx: CommandContext, seed: int | None = None
) -> CommandResult:
    """Compute an admission run from the log as it stands and record Started + Computed in one
    save; nobody is admitted until it is committed. The run id derives from the command id."""
    caps = caps_as_dict(parse_caps(grade_caps))
    chosen_seed = _seed(seed)
    existing = app.find(LotteryRun, LotteryRun.create_id(program_id, ctx.command_id))
    if existing is not None:
        return app.replay(ctx, existing, ids=_ids(existing))
    program = app.load_program(program_id)
    check_phase_zero(program)
    position = app.program_position(program_id)
    result, snapshot = _compute(app, program, caps, chosen_seed, position)
    run = LotteryRun(
        program_id=program_id,
        parameters={"kind": KIND, "algorithm": ALGORITHM, "grade_caps": caps},
        seed=chosen_seed,
        input_position=position,
        input_digest=snapshot.input.digest(),
        **ctx.audit(),
    )
    run.record_computed(result.digest(), result.stats, len(result.admitted), ctx.audit())
    outcome = app.commit(ctx, run, ids=_ids(run))
    remember(app, KIND, run.id, (result, snapshot))
    return outcome


def _recompute(app: Registration, run: LotteryRun) -> Checked:
    if run.assignment_digest is None:
        raise LotteryNotComputed("This admission run has no result yet.", run_id=str(run.id))
    program = app.load_program(run.program_id)
    return _compute(app, program, dict(run.parameters["grade_caps"]), run.seed, run.input_position)


def _checked(app: Registration, run: LotteryRun) -> Checked:
    cached: Checked | None = checked_results(app, KIND).get(run.id)
    if cached is not None:
        return cached
    result, snapshot = _recompute(app, run)
    if snapshot.input.digest() != run.input_digest or result.digest() != run.assignment_digest:
        raise LotteryDigestMismatch(
            "Recomputing this admission run did not reproduce its recorded result.",
            run_id=str(run.id),
            recorded_digest=run.assignment_digest,
            replayed_digest=result.digest(),
        )
    remember(app, KIND, run.id, (result, snapshot))
    return result, snapshot


def admission_result(app: Registration, run_id: UUID) -> AdmissionResult:
    """The run's winners, recomputed and checked against the recorded digests."""
    return _checked(app, load_admission_run(app, run_id))[0]


def replay_admission(app: Registration, run_id: UUID) -> ReplayReport:
    """Recompute a run from its recorded position, seed and caps; reports a difference."""
    run = load_admission_run(app, run_id)
    result, snapshot = _recompute(app, run)
    return ReplayReport.of(run, snapshot.input.digest(), result.digest(), algorithm=ALGORITHM)


def admission_stats(app: Registration, run_id: UUID) -> dict[str, Any]:
    run = load_admission_run(app, run_id)
    if not run.stats:
        raise LotteryNotComputed("This admission run has no result yet.", run_id=str(run.id))
    return {**run.stats, "status": run.status, "seed": run.seed, "grade_caps": run.parameters["grade_caps"]}


@command
def commit_admission(app: Registration, run_id: UUID, ctx: CommandContext) -> CommandResult:
    """Admit every member of every winning ticket: one `Program.StudentsAdmitted` event and the
    run's `Committed`, in one save, at most once. Refused, nothing written, with
    `admission_stale` when a winning group or the program's admissions changed since the run's
    position (start a new run), and as any run's commit (`lottery_discarded`, ...)."""
    with app.bulk_work():
        run = load_admission_run(app, run_id)
        if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Committed":
            return app.replay(ctx, run, ids=_ids(run))
        run.check_committable()
        program = app.load_program(run.program_id)
        result, _snapshot = _checked(app, run)
        tickets, admissions = changed_since(app, run.program_id, run.input_position)
        changed = sorted(t for t in result.winners if UUID(t) in tickets)
        if changed or admissions:
            raise AdmissionStale(
                "Entries or admissions changed since this run was computed; nothing was admitted. Start a new run.",
                changed_groups=len(changed),
                admissions_changed=admissions,
            )
        admitted = program.admit_all(student_ids(run.program_id, result.admitted), run.id, ctx.audit())
        entrants = {key for ticket in _snapshot.input.tickets for key, _ in ticket.members}
        left_out = sorted(entrants - set(result.admitted) - set(_snapshot.input.admitted))
        program.decline_all(student_ids(run.program_id, left_out), run.id, ctx.audit())
        run.commit(len(admitted), None, ctx.audit())
        return app.commit(ctx, run, program, ids={**_ids(run), "admitted": str(len(admitted))})


@command
def discard_admission(app: Registration, run_id: UUID, ctx: CommandContext) -> CommandResult:
    load_admission_run(app, run_id)
    return app.discard_lottery(run_id, ctx)


def _keys(student_keys: Sequence[str]) -> list[str]:
    keys = sorted(set(student_keys))
    if not keys:
        raise InvalidInputError("Name at least one student.")
    return keys


@command
def admit_students(
    app: Registration, program_id: ProgramId, student_keys: Sequence[str], ctx: CommandContext, groups: bool = False
) -> CommandResult:
    """An admin's manual list: each student must have entered the lottery; with `groups`, the
    whole group of each is admitted. Caps are not checked (the admin decides)."""
    program = app.load_program(program_id)
    check_phase_zero(program)
    if program.has_applied(ctx.command_id):
        return app.replay(ctx, program)
    chosen: set[str] = set()
    for key in _keys(student_keys):
        ticket = find_ticket(app, program_id, key)
        if ticket is None:
            raise AdmissionTargetNotEntered("That student has not entered the admission lottery.", target=key)
        chosen.add(key)
        if groups:
            group = ticket if ticket.holds_group else app.load(AdmissionTicket, ticket.joined or ticket.id, "ticket")
            chosen.update(group.members)
    admitted = program.admit_all(student_ids(program_id, sorted(chosen)), None, ctx.audit())
    return app.commit(ctx, program, ids={"admitted": str(len(admitted))})


@command
def undo_admissions(
    app: Registration,
    program_id: ProgramId,
    student_keys: Sequence[str],
    ctx: CommandContext,
    run_id: UUID | None = None,
) -> CommandResult:
    """Admissions that no longer hold, as one recorded event (the history keeps the admission):
    the students named, and with `run_id` every student that committed run admitted (ESP's
    "Undo" of a lottery)."""
    program = app.load_program(program_id)
    if program.has_applied(ctx.command_id):
        return app.replay(ctx, program)
    keys = set(student_keys)
    if run_id is not None:
        run = load_admission_run(app, run_id)
        if run.program_id != program_id or run.status != COMMITTED:
            raise InvalidInputError("Only a committed admission run of this program can be undone.", run_id=str(run_id))
        keys.update(_checked(app, run)[0].admitted)
    undone = program.undo_admissions(student_ids(program_id, _keys(sorted(keys))), ctx.audit())
    return app.commit(ctx, program, ids={"undone": str(len(undone))})


__all__ = [
    "admission_result",
    "admission_stats",
    "admit_students",
    "commit_admission",
    "discard_admission",
    "is_admission",
    "load_admission_run",
    "replay_admission",
    "start_admission",
    "undo_admissions",
]
