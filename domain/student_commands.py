"""Student commands: profile, add, drop, switch, waitlist. Each loads its aggregates, runs the
reference's checks in order (`rules.py`), records on the aggregates and saves them at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.errors import DifferentClass, NotEnrolled, SeatsAvailable, WaitlistDisabled
from regledger.domain.ids import ProgramId, SectionId, student_id
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, STUDENT_CATEGORY, WAITLISTED, CommandContext

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
) -> CommandResult:
    """Register with a verb; Enrolled takes a seat (or a Priority/N in priority mode)."""
    if verb == WAITLISTED:
        return app.join_waitlist(program_id, student_key, section_id, ctx)
    program, section, subject, student = load_for_section(app, program_id, student_key, section_id, ctx)
    if student.has_applied(ctx.command_id):
        recorded_verb = getattr(student.last_event_of(ctx.command_id), "verb", "")
        return app.replay(ctx, student, ids={"student_id": str(student.id), "verb": recorded_verb})
    others = other_sections(app, subject, section)
    recorded, admitted = rules.check_add(
        program, subject, section, student, ctx, verb, now=app.clock(), other_sections_exist=others
    )
    catalogue = app.ensure_verbs([recorded], STUDENT_CATEGORY, ctx)
    if recorded == ENROLLED:
        leave_waitlist_for_seat(student, section, ctx)
    student.register(rules.section_ref(section, subject), recorded, cause=rules.cause(ctx), audit=ctx.audit())
    if recorded == ENROLLED:
        full_text = program.settings.temporarily_full_text
        section.enroll(
            student.student_id, cause=rules.cause(ctx), audit=ctx.audit(), full_text=full_text, override=ctx.override
        )
    ids = {"student_id": str(student.id), "verb": recorded}
    result = app.commit(ctx, student, section, admitted, catalogue, ids=ids)
    app.remember_verbs([recorded], STUDENT_CATEGORY)
    return result


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
    touched = section if (ENROLLED in ended or WAITLISTED in ended) else None
    ids = {"ended": ",".join(ended), "promoted": ",".join(s.student_key for s in promoted)}
    return app.commit(ctx, student, touched, *promoted, ids=ids)


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
    rules.check_seat(program, subject, new, student, ctx, other_sections(app, subject, new), leaving=leaving)
    rules.check_subject(program, subject, student, ctx)
    leave_waitlist_for_seat(student, new, ctx)
    student.switch(from_section_id, rules.section_ref(new, subject), ctx.audit())
    old.unenroll(student.student_id, cause="switch", audit=ctx.audit())
    full_text = program.settings.temporarily_full_text
    new.enroll(student.student_id, cause="switch", audit=ctx.audit(), full_text=full_text, override=ctx.override)
    promoted = promote_waitlist(app, program, old, ctx)
    return app.commit(ctx, student, old, new, *promoted)


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


def leave_waitlist_for_seat(student: Student, section: Section, ctx: CommandContext) -> None:
    """Taking a seat ends the student's place in that section's queue, on both sides."""
    if (section.section_id, WAITLISTED) in student.registrations:
        student.end(section.section_id, [WAITLISTED], cause="enrolled", audit=ctx.audit())
        section.leave_waitlist(student.student_id, cause="enrolled", audit=ctx.audit())


def promote_waitlist(app: Registration, program: Program, section: Section, ctx: CommandContext) -> list[Student]:
    """Give freed seats to the first waitlisted students whose schedules still allow it."""
    if not program.settings.waitlist_enabled or not section.waitlist or section.status_refusal() is not None:
        return []  # a closed or cancelled section promotes nobody (and must not block the drop)
    subject = app.load_subject(section.subject_id, program)
    promoted: list[Student] = []
    for candidate_id in list(section.waitlist):
        if section.seats_free <= 0:
            break
        candidate = app.find(Student, candidate_id)
        if candidate is None or rules.promotion_refusal(program, subject, section, candidate) is not None:
            continue  # stays queued: a later drop of their own may make room in their schedule
        ref = rules.section_ref(section, subject)
        candidate.end(section.section_id, [WAITLISTED], cause="promoted", audit=ctx.audit())
        section.leave_waitlist(candidate.student_id, cause="promoted", audit=ctx.audit())
        candidate.register(ref, ENROLLED, cause="waitlist", audit=ctx.audit())
        full_text = program.settings.temporarily_full_text
        section.enroll(candidate.student_id, cause="waitlist", audit=ctx.audit(), full_text=full_text)
        promoted.append(candidate)
    return promoted
