"""Committing a lottery run: its assignment turned into seats, all in one save, at most once."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from regledger.domain.errors import (
    EnrollmentsExist,
    LotteryAlreadyCommitted,
    LotterySeatUnavailable,
    NotALotteryRun,
    NotFoundError,
    RegistrationError,
)
from regledger.domain.ids import SectionId, StudentId, SubjectId
from regledger.domain.lottery.model import LotteryResult
from regledger.domain.lottery_commands import run_ids
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.program import Program
from regledger.domain.rules import section_ref
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, CommandContext, SectionRef
from regledger.domain.waitlist import promote_everywhere

if TYPE_CHECKING:
    from regledger.domain.application import Registration

LOTTERY_CAUSE = "lottery"
REPLACED_CAUSE = "lottery_replaced"


@command
def commit_lottery(app: Registration, run_id: UUID, ctx: CommandContext, replace: bool = False) -> CommandResult:
    """Turn a computed run into seats: one Enrolled per assignment, on Student and Section,
    with cause "lottery" and the run id, all in ONE save (all or nothing), at most once.

    Refused (nothing written):
    * `not_a_lottery_run` for a class-change run (`commit_class_change` commits those);
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

    with app.bulk_work():
        run = app.load_run(run_id)
        # Only a repeated *commit* is answered from the record (the start's id may be reused).
        if run.has_applied(ctx.command_id) and run.outcome_of(ctx.command_id) == "Committed":
            return app.replay(ctx, run, ids=run_ids(run))
        if run.parameters.get("kind") == "class_change":
            raise NotALotteryRun("This is a class-change run: commit it as one.", run_id=str(run.id))
        run.check_committable()
        program = app.load_program(run.program_id)
        previous = program.committed_lottery_run_id
        if previous is not None and not replace:
            message = "A lottery run is already committed for this program; pass replace to replace it."
            raise LotteryAlreadyCommitted(message, committed_run_id=str(previous))
        result = app.lottery_results.get(run.id) or app.lottery_assignment(run.id)
        assigned = {StudentId(a.student_id) for a in result.assignments}
        sections, students, subjects = _program_aggregates(app, program, assigned)
        held = _end_held_seats(app, sections, students, replace, ctx.audit())
        _enroll_assigned(program, run, result, sections, students, subjects, ctx.audit())
        _, promoted = promote_everywhere(app, program, sections.values(), ctx)  # seats left free
        program.record_lottery_commit(run.id, ctx.audit())
        run.commit(len(result.assignments), previous, ctx.audit())
        run.record_unplaced(_unplaced(app, run, assigned), ctx.audit())
        ids = {**run_ids(run), "ended": str(held), "replaced_run_id": str(previous or "")}
        ids["unplaced"] = str(run.unplaced)
        if promoted:
            ids["promoted"] = str(len(promoted))
        return app.commit(ctx, run, program, *sections.values(), *students.values(), *promoted, ids=ids)


def _unplaced(app: Registration, run: LotteryRun, assigned: set[StudentId]) -> tuple[StudentId, ...]:
    """The students who had starred or ranked classes at the run's input position (eligible
    or not) and whom it seated nowhere, in id order."""
    chose = app.lottery_inputs.lottery_participants(run.program_id, run.input_position)
    return tuple(StudentId(s) for s in sorted(chose - assigned, key=lambda s: s.int))


def _end_held_seats(
    app: Registration,
    sections: dict[SectionId, Section],
    students: dict[StudentId, Student],
    replace: bool,
    audit: dict[str, str],
) -> int:
    """End every seat held in the program (with `replace`; refused otherwise); returns how many."""
    held = sorted((s.section_id, student) for s in sections.values() for student in s.enrolled)
    if held and not replace:
        message = f"{len(held)} seats are already held in this program; pass replace to end them."
        raise EnrollmentsExist(message, seats=len(held))
    for section_id, student_id in held:
        if student_id not in students:
            students[student_id] = app.load(Student, student_id, "student")
        sections[section_id].unenroll(student_id, cause=REPLACED_CAUSE, audit=audit)
        students[student_id].end(section_id, [ENROLLED], cause=REPLACED_CAUSE, audit=audit)
    return len(held)


def _enroll_assigned(
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
        _seat(program, run, section, student, audit)
        ref = refs.get(section_id)
        if ref is None:
            ref = refs[section_id] = section_ref(section, subjects[section.subject_id])
        student.register(ref, ENROLLED, cause=LOTTERY_CAUSE, audit=audit, lottery_run_id=run.id)


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
    app: Registration, program: Program, student_ids: set[StudentId]
) -> tuple[dict[SectionId, Section], dict[StudentId, Student], dict[SubjectId, Subject]]:
    """Every section of the program now, their classes and the given students, read fresh
    in one read of the log through the aggregate cache.

    The program's lottery fold (brought to the head first) names its sections and classes.
    A running server has these aggregates cached, so the read returns only their newer
    events; a cold process gets their whole streams, still in one read. Optimistic
    concurrency at save time catches anything written after the read."""
    section_ids, subject_ids = app.lottery_inputs.program_members(program.program_id)
    app.prefetch(*section_ids, *subject_ids, *student_ids)
    sections = {SectionId(i): app.load(Section, i, "section") for i in section_ids}
    subjects = {SubjectId(i): app.load(Subject, i, "subject") for i in subject_ids}
    students: dict[StudentId, Student] = {}
    for student_id in student_ids:
        student = app.load(Student, student_id, "student")
        if student.program_id != program.id:
            raise NotFoundError("No such student", student_id=str(student_id))
        students[student_id] = student
    return sections, students, subjects


__all__ = ["LOTTERY_CAUSE", "REPLACED_CAUSE", "commit_lottery"]
