"""Lottery-phase commands: star classes, rank priorities per timeslot, confirm preferences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.errors import (
    ClassNotAccepted,
    DuplicateRanking,
    InvalidInputError,
    NotInTimeslot,
    PriorityLimit,
    TooFewStars,
)
from regledger.domain.ids import ProgramId, SubjectId, TimeslotId, student_id
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.student import Student
from regledger.domain.student_commands import student_for
from regledger.domain.subject import STARRABLE_STATUSES
from regledger.domain.values import STUDENT_CATEGORY, CommandContext, SectionRef, priority_verb

if TYPE_CHECKING:
    from regledger.domain.application import Registration


def load_student(
    app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext
) -> tuple[Program, Student]:
    app.prefetch(program_id, student_id(program_id, student_key))
    program = app.load_program(program_id)
    return program, student_for(app, program, student_key, ctx)


@command
def star(
    app: Registration, program_id: ProgramId, student_key: str, subject_id: SubjectId, ctx: CommandContext
) -> CommandResult:
    """Star a class (reference 3.1): unreviewed classes may be starred, grade range applies."""
    app.prefetch(subject_id)
    program, student = load_student(app, program_id, student_key, ctx)
    subject = app.load_subject(subject_id, program)
    if replayed := app.replayed(ctx, student):
        return replayed
    admitted = rules.check_entry(program, student, ctx, "lottery", app.clock())
    if subject.status not in STARRABLE_STATUSES:
        raise ClassNotAccepted("This class cannot be starred.", subject_id=str(subject_id))
    rules.check_grade(program, subject, student, ctx)
    student.star(subject.subject_id, ctx.audit())
    return app.commit(ctx, student, admitted)


@command
def unstar(
    app: Registration, program_id: ProgramId, student_key: str, subject_id: SubjectId, ctx: CommandContext
) -> CommandResult:
    program, student = load_student(app, program_id, student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    if not ctx.override:
        program.check_window("lottery", app.clock())
    student.unstar(subject_id, ctx.audit())
    return app.commit(ctx, student)


@command
def rank_priorities(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    timeslot_id: TimeslotId,
    ranking: Mapping[int, SubjectId | None],
    ctx: CommandContext,
) -> CommandResult:
    """Replace the student's Priority/1..N choices for one timeslot (a new event, never a rewrite)."""
    program, student = load_student(app, program_id, student_key, ctx)
    program.timeslot(timeslot_id)
    if replayed := app.replayed(ctx, student):
        return replayed
    check_ranks(program, ranking)
    admitted = rules.check_entry(program, student, ctx, "lottery", app.clock())
    slots: list[SectionRef | None] = [None] * max(ranking, default=0)
    for rank, subject_id in sorted(ranking.items()):
        if subject_id is not None:
            slots[rank - 1] = ranked_section(app, program, student, timeslot_id, subject_id, ctx)
    verbs = [priority_verb(rank) for rank, ref in enumerate(slots, start=1) if ref is not None]
    catalogue = app.ensure_verbs(verbs, STUDENT_CATEGORY, ctx)
    student.rank(timeslot_id, slots, ctx.audit())
    result = app.commit(ctx, student, admitted, catalogue)
    app.remember_verbs(verbs, STUDENT_CATEGORY)
    return result


def check_ranks(program: Program, ranking: Mapping[int, SubjectId | None]) -> None:
    limit = program.settings.priority_limit
    for rank in ranking:
        if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
            raise InvalidInputError("Ranks start at 1", rank=rank)
        if rank > limit:
            raise PriorityLimit(f"You are only allowed to select up to {limit} top classes", rank=rank)
    chosen = [s for s in ranking.values() if s is not None]
    if len(chosen) != len(set(chosen)):
        raise DuplicateRanking("A class can be ranked only once per timeslot.")


def ranked_section(
    app: Registration,
    program: Program,
    student: Student,
    timeslot_id: TimeslotId,
    subject_id: SubjectId,
    ctx: CommandContext,
) -> SectionRef:
    """The one open section of the class whose first meeting is in this timeslot."""
    subject = app.load_subject(subject_id, program)
    if not subject.is_accepted:
        raise ClassNotAccepted("This class is not accepted.", subject_id=str(subject_id))
    rules.check_grade(program, subject, student, ctx)
    sections = [app.load_section(s) for s in subject.section_ids]
    starting = [s for s in sections if s.timeslot_ids and s.timeslot_ids[0] == timeslot_id and not s.is_cancelled]
    if len(starting) != 1:
        message = "This class has no single section starting in that timeslot."
        raise NotInTimeslot(message, subject_id=str(subject_id), sections=len(starting))
    refusal = starting[0].status_refusal()
    if refusal is not None:
        raise refusal
    return rules.section_ref(starting[0], subject)


@command
def confirm_preferences(
    app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext
) -> CommandResult:
    program, student = load_student(app, program_id, student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    rules.check_program_grade(program, student, ctx)
    if not ctx.override:
        program.check_window("lottery", app.clock())
    needed = program.settings.min_stars
    if len(student.stars) < needed:
        raise TooFewStars(f"You must star at least {needed} classes", stars=len(student.stars))
    student.confirm(ctx.audit())
    return app.commit(ctx, student)
