"""Student commands: profile, add, drop, switch, waitlist. Each loads its aggregates, runs the
reference's checks in order (`rules.py`), records on the aggregates and saves them at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.errors import DifferentClass, InvalidInputError, NotEnrolled, SeatsAvailable, WaitlistDisabled
from regledger.domain.ids import ProgramId, SectionId, student_id
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, STUDENT_CATEGORY, WAITLISTED, CommandContext, SectionRef
from regledger.domain.waitlist import (
    leave_waitlist_for_seat,
    promote_everywhere,
    promote_for_student,
    promote_waitlist,
    queue_ahead_check,
)

if TYPE_CHECKING:
    from regledger.domain.application import Registration


def student_for(app: Registration, program: Program, student_key: str, ctx: CommandContext) -> Student:
    """The student's aggregate in this program, created (unsaved) on first contact."""
    existing = app.find(Student, student_id(program.program_id, student_key))
    return existing or Student(program_id=program.program_id, student_key=student_key, **ctx.audit())


def load_for_section(
    app: Registration, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
) -> tuple[Program, Section, Subject, Student]:
    """The program, section, class and student a command on one section decides on (one read)."""
    app.prefetch(program_id, section_id, app.subject_hint(section_id), student_id(program_id, student_key))
    program = app.load_program(program_id)
    section = app.load_section(section_id, program)
    subject = app.load_subject(section.subject_id, program)
    return program, section, subject, student_for(app, program, student_key, ctx)


def other_sections(app: Registration, subject: Subject, section: Section) -> Callable[[], bool]:
    """Whether another scheduled section of the class could be suggested (asked only to word
    a timeslot conflict)."""

    def exist() -> bool:
        others = (app.find(Section, i) for i in subject.section_ids if i != section.id)
        return any(o is not None and o.is_scheduled and not o.is_cancelled for o in others)

    return exist


@command
def submit_profile(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    name: str,
    graduation_year: int,
    contacts: dict[str, str],
    ctx: CommandContext,
) -> CommandResult:
    app.prefetch(program_id, student_id(program_id, student_key))
    student = student_for(app, app.load_program(program_id), student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    student.submit_profile(name, graduation_year, contacts, ctx.audit())
    return app.commit(ctx, student, ids={"student_id": str(student.id)})


@command
def add_section(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    section_id: SectionId,
    ctx: CommandContext,
    verb: str = ENROLLED,
    replace: bool = False,
) -> CommandResult:
    """Register with a verb; Enrolled takes a seat (or a Priority/N in priority mode).

    `replace` (the reference's replace-on-conflict, §10.2): first drop the Enrolled sections the
    new one conflicts with (same class or a shared timeslot), then add, all in one commit; any
    refusal keeps the old seats. Seats freed go to their waitlists."""
    if verb == WAITLISTED and not replace:
        return app.join_waitlist(program_id, student_key, section_id, ctx)
    if replace and verb != ENROLLED:
        raise InvalidInputError("replace applies to Enrolled only", verb=verb)
    program, section, subject, student = load_for_section(app, program_id, student_key, section_id, ctx)
    if student.has_applied(ctx.command_id):
        event = student.last_event_of(ctx.command_id)
        recorded_verb = getattr(event, "verb", "")
        return app.replay(ctx, student, ids={"student_id": str(student.id), "verb": recorded_verb})
    ref = rules.section_ref(section, subject)
    freed = replace_conflicts(app, program, student, ref, ctx) if replace else []
    others = other_sections(app, subject, section)
    recorded, admitted = rules.check_add(
        program,
        subject,
        section,
        student,
        ctx,
        verb,
        now=app.clock(),
        other_sections_exist=others,
        queue_ahead=queue_ahead_check(app, program, subject, section, student),
    )
    catalogue = app.ensure_verbs([recorded], STUDENT_CATEGORY, ctx)
    if recorded == ENROLLED:
        leave_waitlist_for_seat(student, section, ctx)
    cause = "replace" if freed else rules.cause(ctx)
    student.register(ref, recorded, cause=cause, audit=ctx.audit())
    if recorded == ENROLLED:
        full_text = program.settings.temporarily_full_text
        section.enroll(student.student_id, cause=cause, audit=ctx.audit(), full_text=full_text, override=ctx.override)
    offered, promoted = promote_everywhere(app, program, freed, ctx)
    if freed:
        offered2, promoted2 = promote_for_student(app, program, student, ctx, skip=[s.section_id for s in freed])
        offered, promoted = [*offered, *offered2], [*promoted, *promoted2]
    ids = {"student_id": str(student.id), "verb": recorded}
    if replace:
        ids |= {"replaced": ",".join(str(s.id) for s in freed), "promoted": ",".join(s.student_key for s in promoted)}
    result = app.commit(ctx, student, section, admitted, catalogue, *freed, *offered, *promoted, ids=ids)
    app.remember_verbs([recorded], STUDENT_CATEGORY)
    return result


def replace_conflicts(
    app: Registration, program: Program, student: Student, ref: SectionRef, ctx: CommandContext
) -> list[Section]:
    """End the student's Enrolled seats that conflict with `ref`, on both sides, after the
    replacement's removal check; returns the sections whose seats were freed."""
    conflicts = student.conflicts_with(ref)
    if not conflicts:
        return []
    rules.check_replacement(program, student, [c.section_id for c in conflicts], ref)
    freed: list[Section] = []
    for held in conflicts:
        old = app.load_section(held.section_id, program)
        wanted = [v for v in rules.visible_verbs(program, student, held.section_id, None) if v != WAITLISTED]
        student.end(held.section_id, sorted({ENROLLED, *wanted}), cause="replaced", audit=ctx.audit())
        old.unenroll(student.student_id, cause="replaced", audit=ctx.audit())
        freed.append(old)
    return freed


@command
def complete_registration(
    app: Registration, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
) -> CommandResult:
    """The seed's flow: program cap, then profile, then section checks, then Enrolled."""
    return app.add_section(program_id, student_key, section_id, ctx, ENROLLED)


@command
def drop_section(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    section_id: SectionId,
    ctx: CommandContext,
    verbs: Sequence[str] | None = None,
) -> CommandResult:
    """End the visible verbs (default: the program's, i.e. Enrolled); preferences survive."""
    app.prefetch(program_id, section_id, app.subject_hint(section_id), student_id(program_id, student_key))
    program = app.load_program(program_id)
    section = app.load_section(section_id, program)
    student = student_for(app, program, student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    wanted = rules.check_drop(program, student, section_id, ctx, verbs, app.clock())
    ended = student.end(section_id, wanted, cause="drop", audit=ctx.audit())
    promoted: list[Student] = []
    if ENROLLED in ended:
        section.unenroll(student.student_id, cause="drop", audit=ctx.audit())
        promoted = promote_waitlist(app, program, section, ctx)
    if WAITLISTED in ended:
        section.leave_waitlist(student.student_id, cause="drop", audit=ctx.audit())
    offered: list[Section] = []
    if ENROLLED in ended:
        offered, promoted_elsewhere = promote_for_student(app, program, student, ctx, skip=[section_id])
        promoted.extend(promoted_elsewhere)
    touched = section if (ENROLLED in ended or WAITLISTED in ended) else None
    ids = {"ended": ",".join(ended), "promoted": ",".join(s.student_key for s in promoted)}
    return app.commit(ctx, student, touched, *offered, *promoted, ids=ids)


@command
def switch_sections(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    from_section_id: SectionId,
    to_section_id: SectionId,
    ctx: CommandContext,
) -> CommandResult:
    """Move a seat between sections of one class; the new seat is checked as if the old were
    already given up, and both changes are saved atomically."""
    hints = (app.subject_hint(from_section_id), app.subject_hint(to_section_id))
    app.prefetch(program_id, from_section_id, to_section_id, *hints, student_id(program_id, student_key))
    program = app.load_program(program_id)
    old, new = app.load_section(from_section_id, program), app.load_section(to_section_id, program)
    student = student_for(app, program, student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    if old.subject_id != new.subject_id:
        raise DifferentClass("Sections must be from the same class")
    if not student.enrolled_in(from_section_id):
        message = "You are not enrolled in the section you are switching from."
        raise NotEnrolled(message, section_id=str(from_section_id))
    subject = app.load_subject(new.subject_id, program)
    rules.check_program_grade(program, student, ctx)
    if not ctx.override:
        program.check_window("classes", app.clock())
    leaving = rules.section_ref(old, subject)
    queue_ahead = queue_ahead_check(app, program, subject, new, student)
    others = other_sections(app, subject, new)
    rules.check_seat(program, subject, new, student, ctx, others, leaving=leaving, queue_ahead=queue_ahead)
    rules.check_subject(program, subject, student, ctx)
    leave_waitlist_for_seat(student, new, ctx)
    student.switch(from_section_id, rules.section_ref(new, subject), ctx.audit())
    old.unenroll(student.student_id, cause="switch", audit=ctx.audit())
    full_text = program.settings.temporarily_full_text
    new.enroll(student.student_id, cause="switch", audit=ctx.audit(), full_text=full_text, override=ctx.override)
    promoted = promote_waitlist(app, program, old, ctx)
    offered, elsewhere = promote_for_student(app, program, student, ctx, skip=[from_section_id, to_section_id])
    return app.commit(ctx, student, old, new, *offered, *promoted, *elsewhere)


@command
def join_waitlist(
    app: Registration, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
) -> CommandResult:
    program, section, subject, student = load_for_section(app, program_id, student_key, section_id, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    if not program.settings.waitlist_enabled:
        raise WaitlistDisabled("This program has no waitlists.")
    if section.is_scheduled and section.seats_free > 0:
        raise SeatsAvailable("This section has free seats: add it instead.", seats_free=section.seats_free)
    admitted = rules.check_entry(program, student, ctx, "classes", app.clock())
    ref = rules.section_ref(section, subject)
    refusal = section.status_refusal() or student.conflict_refusal(ref, other_sections_exist=False)
    if refusal is not None and refusal.code != "timeslot_conflict":
        raise refusal
    rules.check_subject(program, subject, student, ctx)
    catalogue = app.ensure_verbs([WAITLISTED], STUDENT_CATEGORY, ctx)
    section.join_waitlist(student.student_id, ctx.audit())
    student.register(ref, WAITLISTED, cause="fcfs", audit=ctx.audit())
    result = app.commit(ctx, student, section, admitted, catalogue, ids={"place": str(len(section.waitlist))})
    app.remember_verbs([WAITLISTED], STUDENT_CATEGORY)
    return result


__all__ = [
    "add_section",
    "complete_registration",
    "drop_section",
    "join_waitlist",
    "promote_waitlist",
    "replace_conflicts",
    "submit_profile",
    "switch_sections",
]
