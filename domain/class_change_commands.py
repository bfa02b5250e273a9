"""Class-change runs: start (compute and record), assignment, replay, stats, commit.

A run is a `LotteryRun` with parameters {"kind": "class_change", "algorithm":
"esp-class-change/1"}: the main lottery's lifecycle (computed -> committed or discarded, a
recorded seed, input position and digests), its own algorithm (`lottery/class_change.py`) and
its own commit. Its moves are never stored: they are recomputed from the log as of the run's
position and checked against the recorded digest. Discarding is `discard_lottery`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from regledger.domain.errors import (
    ClassChangeStale,
    InvalidInputError,
    LotteryDigestMismatch,
    LotteryNotComputed,
    NotAClassChangeRun,
    RegistrationError,
)
from regledger.domain.ids import ProgramId, SectionId, StudentId, SubjectId
from regledger.domain.lottery.class_change import compute_class_change
from regledger.domain.lottery.class_change_model import (
    ALGORITHM,
    KIND,
    ClassChangeInput,
    ClassChangeInputSource,
    ClassChangeResult,
    ClassChangeSnapshot,
)
from regledger.domain.lottery_commands import ReplayReport, _seed, run_ids
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.request_commands import current_requests
from regledger.domain.rules import section_ref
from regledger.domain.run_kinds import checked_results, load_of_kind, remember
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, CommandContext
from regledger.domain.waitlist import promote_for_student, promote_waitlist

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

    from regledger.domain.application import Registration
    from regledger.domain.lottery.class_change_model import Move
    from regledger.domain.program import Program

CAUSE = "class_change"
GRANTED = "granted"
PARAMETERS = {"kind": KIND, "algorithm": ALGORITHM}
STALE_NAMED = 10  # how many changed students and sections a stale refusal names


def _source(app: Registration) -> ClassChangeInputSource:
    source = app.lottery_inputs
    if not hasattr(source, "class_change_snapshot"):
        raise RuntimeError("the lottery input source cannot read class-change input (adapters.bootstrap wires one)")
    return cast(ClassChangeInputSource, source)


def _parameters(parameters: dict[str, Any] | None) -> dict[str, Any]:
    given = dict(parameters or {})
    if any(PARAMETERS.get(k, object()) != v for k, v in given.items()):
        raise InvalidInputError(f"A class-change run takes no parameters but {PARAMETERS}", parameters=given)
    return dict(PARAMETERS)


Checked = tuple[ClassChangeResult, ClassChangeInput]


def is_class_change(run: LotteryRun) -> bool:
    return run.parameters.get("kind") == KIND


def load_class_change_run(app: Registration, run_id: UUID) -> LotteryRun:
    message = "This run is a lottery run, not a class-change run."
    return load_of_kind(app, run_id, KIND, lambda: NotAClassChangeRun(message, run_id=str(run_id)))


def class_change_input(app: Registration, program_id: ProgramId, position: int) -> ClassChangeSnapshot:
    """The run's input as of a log position (the read side's fold of the log)."""
    return _source(app).class_change_snapshot(program_id, position)


def _compute(
    app: Registration, program_id: ProgramId, seed: int, position: int
) -> tuple[ClassChangeSnapshot, ClassChangeResult]:
    with app.bulk_work():
        snapshot = class_change_input(app, program_id, position)
        return snapshot, compute_class_change(snapshot.input, seed)


# -- start, assignment, replay, stats ---------------------------------------------------------


@command
def start_class_change(
    app: Registration,
    program_id: ProgramId,
    ctx: CommandContext,
    seed: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> CommandResult:
    """Compute a class-change run from the log as it stands and record Started + Computed in
    one save; nothing moves until it is committed. Without a seed one is drawn and recorded;
    the run id derives from the command id, so a retry returns the first run."""
    params = _parameters(parameters)
    chosen_seed = _seed(seed)
    existing = app.find(LotteryRun, LotteryRun.create_id(program_id, ctx.command_id))
    if existing is not None:
        return app.replay(ctx, existing, ids=run_ids(existing))
    app.load_program(program_id)
    position = app.program_position(program_id)
    snapshot, result = _compute(app, program_id, chosen_seed, position)
    run = LotteryRun(
        program_id=program_id,
        parameters=params,
        seed=chosen_seed,
        input_position=position,
        input_digest=snapshot.input.digest(),
        **ctx.audit(),
    )
    stats = {**result.stats, "ignored_requests": snapshot.ignored_requests}
    run.record_computed(result.digest(), stats, len(result.moves), ctx.audit())
    outcome = app.commit(ctx, run, ids={**run_ids(run), "kind": KIND})
    remember(app, KIND, run.id, (result, snapshot.input))
    return outcome


def class_change_assignment(app: Registration, run_id: UUID) -> ClassChangeResult:
    """The run's moves, recomputed and checked against the recorded digests."""
    return _checked(app, load_class_change_run(app, run_id))[0]


def _checked(app: Registration, run: LotteryRun) -> Checked:
    cached: Checked | None = checked_results(app, KIND).get(run.id)
    if cached is not None:
        return cached
    snapshot, result = _recompute(app, run)
    input_digest = snapshot.input.digest()
    if input_digest != run.input_digest or result.digest() != run.assignment_digest:
        raise LotteryDigestMismatch(
            "Recomputing this class-change run did not reproduce its recorded result.",
            run_id=str(run.id),
            recorded_input_digest=run.input_digest,
            replayed_input_digest=input_digest,
            recorded_digest=run.assignment_digest,
            replayed_digest=result.digest(),
        )
    remember(app, KIND, run.id, (result, snapshot.input))
    return result, snapshot.input


def _recompute(app: Registration, run: LotteryRun) -> tuple[ClassChangeSnapshot, ClassChangeResult]:
    if run.assignment_digest is None:
        raise LotteryNotComputed("This class-change run has no result yet.", run_id=str(run.id))
    return _compute(app, run.program_id, run.seed, run.input_position)


def replay_class_change(app: Registration, run_id: UUID) -> ReplayReport:
    """Recompute a run from its recorded position and seed; reports a difference, never raises on one."""
    run = load_class_change_run(app, run_id)
    snapshot, result = _recompute(app, run)
    algorithm = str(run.parameters.get("algorithm", ""))
    return ReplayReport.of(run, snapshot.input.digest(), result.digest(), algorithm=algorithm)


def class_change_stats(app: Registration, run_id: UUID) -> dict[str, Any]:
    run = load_class_change_run(app, run_id)
    if not run.stats:
        raise LotteryNotComputed("This class-change run has no result yet.", run_id=str(run.id))
    return dict(run.stats)


# -- commit -------------------------------------------------------------------------------------


@command
def commit_class_change(app: Registration, run_id: UUID, ctx: CommandContext) -> CommandResult:
    """Apply a computed run's moves, all in ONE save, at most once: every drop and every new
    seat is an ordinary event on Student and Section (cause "class_change", new seats with the
    run id), each granted request ends (cause "granted"), then every section a mover left
    offers its freed seats to its waitlist. Program.committed_lottery_run_id is untouched.

    Refused, nothing written: `not_a_class_change_run`, `lottery_discarded`,
    `lottery_already_committed`, `lottery_not_computed`; `class_change_stale` when the live
    state moved on since the run's position: a mover's enrolments differ from the run's input,
    a granted request was withdrawn, or a target section can no longer seat its movers (full,
    closed, cancelled, or a waitlist formed). Start a new run then."""
    with app.bulk_work():
        run = load_class_change_run(app, run_id)
        if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Committed":
            return app.replay(ctx, run, ids=run_ids(run))
        run.check_committable()
        program = app.load_program(run.program_id)
        result, inp = _checked(app, run)
        sections, students, subjects = _load(app, program, result.moves)
        _check_fresh(inp, result.moves, sections, students)
        left = _move(program, run, result.moves, (sections, students, subjects), ctx)
        promoted: list[Aggregate] = []
        for section_id in sorted(left, key=lambda s: s.int):
            promoted += promote_waitlist(app, program, sections[section_id], ctx)
        for student in students.values():  # a mover's new schedule may fit a section they queue for
            offered, elsewhere = promote_for_student(app, program, student, ctx)
            promoted += [*offered, *elsewhere]
        seats = sum(len(m.added) for m in result.moves)
        run.commit(seats, None, ctx.audit())
        touched = {id(a): a for a in (*sections.values(), *students.values(), *promoted)}
        return app.commit(ctx, run, *touched.values(), ids={**run_ids(run), "seats_moved": str(seats)})


def _load(
    app: Registration, program: Program, moves: tuple[Move, ...]
) -> tuple[dict[SectionId, Section], dict[StudentId, Student], dict[SubjectId, Subject]]:
    """The movers, the sections they leave and join, and the classes of those they join (one read)."""
    section_ids = sorted({SectionId(s) for m in moves for s in (*m.dropped, *(a for a, _ in m.added))})
    student_ids = [StudentId(m.student_id) for m in moves]
    app.prefetch(*section_ids, *student_ids, *(app.subject_hint(s) for s in section_ids))
    sections = {s: app.load_section(s, program) for s in section_ids}
    students = {s: app.load(Student, s, "student") for s in student_ids}
    targets = {sections[SectionId(a)].subject_id for m in moves for a, _ in m.added}
    subjects = {s: app.load_subject(s, program) for s in sorted(targets)}
    return sections, students, subjects


def _check_fresh(
    inp: ClassChangeInput,
    moves: tuple[Move, ...],
    sections: dict[SectionId, Section],
    students: dict[StudentId, Student],
) -> None:
    changed_students: list[str] = []
    changed_sections: set[SectionId] = set()
    for move in moves:
        student = students[StudentId(move.student_id)]
        recorded = inp.student(move.student_id)
        held = {r.section_id for r in student.holding(ENROLLED)}
        requests = current_requests(student)
        if recorded is None or held != set(recorded.enrolled) or any(s not in requests for s, _ in move.added):
            changed_students.append(student.student_key)
        for section_id, _ in move.added:
            section = sections[SectionId(section_id)]
            if section.waitlist or section.status_refusal() is not None:
                changed_sections.add(section.section_id)
    if changed_students or changed_sections:
        raise ClassChangeStale(
            "Registrations changed since this class-change run was computed; nothing was committed. "
            "Start a new run from the current state.",
            students=sorted(changed_students)[:STALE_NAMED],
            sections=sorted(str(s) for s in changed_sections)[:STALE_NAMED],
        )


def _move(
    program: Program,
    run: LotteryRun,
    moves: tuple[Move, ...],
    loaded: tuple[dict[SectionId, Section], dict[StudentId, Student], dict[SubjectId, Subject]],
    ctx: CommandContext,
) -> set[SectionId]:
    """Every drop first (the seats movers free are the seats other movers take), then every add."""
    sections, students, subjects = loaded
    audit = ctx.audit()
    left: set[SectionId] = set()
    for move in moves:
        student = students[StudentId(move.student_id)]
        for dropped in move.dropped:
            section_id = SectionId(dropped)
            student.end(section_id, [ENROLLED], cause=CAUSE, audit=audit)
            sections[section_id].unenroll(student.student_id, cause=CAUSE, audit=audit)
            left.add(section_id)
    for move in moves:
        student = students[StudentId(move.student_id)]
        requests = current_requests(student)
        for added, _ in move.added:
            section = sections[SectionId(added)]
            student.end(section.section_id, [requests[section.section_id]], cause=GRANTED, audit=audit)
            try:
                section.enroll(
                    student.student_id,
                    cause=CAUSE,
                    audit=audit,
                    full_text=program.settings.temporarily_full_text,
                    lottery_run_id=run.id,
                )
            except RegistrationError as refusal:
                raise ClassChangeStale(
                    "A seat this class-change run gives is no longer available; nothing was committed. "
                    "Start a new run from the current state.",
                    students=[student.student_key],
                    sections=[str(section.id)],
                    because=refusal.code,
                ) from None
            ref = section_ref(section, subjects[section.subject_id])
            student.register(ref, ENROLLED, cause=CAUSE, audit=audit, lottery_run_id=run.id)
    return left


__all__ = [
    "class_change_assignment",
    "class_change_input",
    "class_change_stats",
    "commit_class_change",
    "is_class_change",
    "load_class_change_run",
    "replay_class_change",
    "start_class_change",
]
