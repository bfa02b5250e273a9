"""Day-of (onsite) commands over registrations (ESP's userview `unenroll_student`, §11).

A command here changes one student at a time, atomically, like the student commands, and
offers every seat it frees to the section's waitlist in the same commit (docs/waitlists.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from regledger.domain.errors import InvalidInputError, NotRegistered, NotScheduled
from regledger.domain.ids import ProgramId, SectionId, student_id
from regledger.domain.rules import section_ref
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import ENROLLED, STUDENT_CATEGORY, WAITLISTED, CommandContext
from regledger.domain.waitlist import promote_everywhere

if TYPE_CHECKING:
    from regledger.domain.application import Registration

UNENROLL_CAUSE = "unenroll_all"
ATTENDED = "Attended"


@command
def unenroll_all(app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext) -> CommandResult:
    """End every visible registration (the program's visible verbs, Enrolled by default, and
    waitlist places) of a student in a program, in one save; freed seats go to the waitlists.

    Not gated by windows or removal constraints: it is a registrar's action (the reference's
    `unenroll_student` from the per-student admin page). Refused `not_registered` when the
    student holds nothing visible."""
    if not ctx.reason.strip():
        raise InvalidInputError("Say why: a reason is required to end all of a student's registrations")
    app.prefetch(program_id, student_id(program_id, student_key))
    program = app.load_program(program_id)
    student = app.load(Student, student_id(program_id, student_key), "student")
    if replayed := app.replayed(ctx, student):
        return replayed
    visible = set(program.settings.visible_verbs) | {ENROLLED, WAITLISTED}
    every = "All" in visible  # as for a drop: "All" names every verb
    held = sorted((section_id, verb) for (section_id, verb) in student.registrations if every or verb in visible)
    if not held:
        raise NotRegistered("The student holds no registration to end.", student_key=student_key)
    section_ids = sorted({SectionId(s) for s, _ in held}, key=str)
    app.prefetch(*section_ids)
    sections: dict[SectionId, Section] = {s: app.load_section(s, program) for s in section_ids}
    freed: list[Section] = []
    for section_id in section_ids:
        verbs = [v for s, v in held if s == section_id]
        section = sections[section_id]
        student.end(section_id, verbs, cause=UNENROLL_CAUSE, audit=ctx.audit())
        if ENROLLED in verbs:
            section.unenroll(student.student_id, cause=UNENROLL_CAUSE, audit=ctx.audit())
            freed.append(section)
        if WAITLISTED in verbs:
            section.leave_waitlist(student.student_id, cause=UNENROLL_CAUSE, audit=ctx.audit())
    _, promoted = promote_everywhere(app, program, freed, ctx)
    ids = {
        "ended": str(len(held)),
        "sections": str(len(section_ids)),
        "promoted": ",".join(s.student_key for s in promoted),
    }
    return app.commit(ctx, student, *sections.values(), *promoted, ids=ids)


@command
def check_in(app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext) -> CommandResult:
    """Record that a student arrived; checking in twice records nothing (outcome `Unchanged`)."""
    return _on_student(app, program_id, student_key, ctx, lambda s: s.check_in(ctx.audit()))


@command
def undo_check_in(app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext) -> CommandResult:
    """Take back a check-in recorded by mistake (an event of its own; refused if not checked in)."""
    return _on_student(app, program_id, student_key, ctx, lambda s: s.undo_check_in(ctx.audit()))


def _on_student(
    app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext, change: Callable[[Student], object]
) -> CommandResult:
    """The body of a command on one existing student: load, replay or change, save."""
    app.prefetch(program_id, student_id(program_id, student_key))
    app.load_program(program_id)
    student = app.load(Student, student_id(program_id, student_key), "student")
    if replayed := app.replayed(ctx, student):
        return replayed
    change(student)
    return app.commit(ctx, student, ids={"student_id": str(student.id)})


@command
def record_attendance(
    app: Registration, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
) -> CommandResult:
    """Mark a student present in a section (the verb `Attended`, as the reference's teachers do);
    marking twice records nothing. Attendance is read per day (the day it was marked)."""
    app.prefetch(program_id, section_id, app.subject_hint(section_id), student_id(program_id, student_key))
    program = app.load_program(program_id)
    section = app.load_section(section_id, program)
    subject = app.load_subject(section.subject_id, program)
    student = app.load(Student, student_id(program_id, student_key), "student")
    if replayed := app.replayed(ctx, student):
        return replayed
    if (section_id, ATTENDED) in student.registrations:
        return CommandResult(ctx.command_id, "Unchanged", app.position(), ids={"student_id": str(student.id)})
    if not section.is_scheduled or section.is_cancelled:
        raise NotScheduled(
            "Attendance is taken in a scheduled section that is not cancelled.", section_id=str(section_id)
        )
    catalogue = app.ensure_verbs([ATTENDED], STUDENT_CATEGORY, ctx)
    student.register(section_ref(section, subject), ATTENDED, cause="attendance", audit=ctx.audit())
    result = app.commit(ctx, student, catalogue, ids={"student_id": str(student.id)})
    app.remember_verbs([ATTENDED], STUDENT_CATEGORY)
    return result


__all__ = ["ATTENDED", "UNENROLL_CAUSE", "check_in", "record_attendance", "undo_check_in", "unenroll_all"]
