"""Section commands: create, schedule, re-size, open or close, cancel. A change that adds or
frees seats offers them to the section's waitlist in the same commit (`waitlist.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from regledger.domain.capacity import CapacityInputs, effective_capacity
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import SectionId, SubjectId, TimeslotId
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, WAITLISTED, CommandContext
from regledger.domain.waitlist import promote_everywhere, promote_for_student, promote_waitlist

if TYPE_CHECKING:
    from regledger.domain.application import Registration

ZERO_CAPACITY = (
    "The section's capacity is 0: every add is refused as full until its capacity is changed "
    "(set max_class_capacity or room_capacity, or the class's class_size_max)."
)


@command
def create_section(
    app: Registration,
    subject_id_: SubjectId,
    timeslot_ids: Sequence[TimeslotId],
    ctx: CommandContext,
    *,
    max_class_capacity: int | None = None,
    room_capacity: int | None = None,
) -> CommandResult:
    inputs = CapacityInputs(max_class_capacity, room_capacity)

    subject = app.load_subject(subject_id_)
    if subject.has_applied(ctx.command_id):
        # The key may have been used for another command on this class (e.g. its creation).
        added = subject.outcome_of(ctx.command_id) == "SectionAdded"
        return app.replay(ctx, subject, ids={"section_id": str(subject.section_ids[-1])} if added else None)
    program = app.load_program(subject.program_id)
    slots = checked_timeslots(program, timeslot_ids)
    new_id = subject.add_section(ctx.audit())
    section = Section(
        program_id=program.program_id,
        subject_id=subject.subject_id,
        index=len(subject.section_ids),
        timeslot_ids=slots,
        max_class_capacity=inputs.max_class_capacity,
        room_capacity=inputs.room_capacity,
        capacity=capacity_for(program, subject, inputs),
        **ctx.audit(),
    )
    assert section.id == new_id
    result = app.commit(ctx, subject, section, ids={"section_id": str(new_id)})
    return replace(result, warnings=(ZERO_CAPACITY,)) if section.capacity == 0 else result


def checked_timeslots(program: Program, timeslot_ids: Sequence[TimeslotId]) -> tuple[TimeslotId, ...]:
    if len(set(timeslot_ids)) != len(timeslot_ids):
        raise InvalidInputError("A timeslot is listed twice")
    for t in timeslot_ids:
        program.timeslot(t)
    return tuple(sorted(timeslot_ids, key=lambda t: program.timeslots[t].start))


def capacity_for(program: Program, subject: Subject, inputs: CapacityInputs) -> int:
    settings = program.settings
    return effective_capacity(
        inputs,
        subject.class_size_max,
        subject.class_size_optimal,
        settings.class_cap_multiplier,
        settings.class_cap_offset,
    )


def resize_program(app: Registration, program: Program, ctx: CommandContext) -> tuple[list[Section], list[Student]]:
    """Re-size every section of the program to the capacity its inputs give under the program's
    settings now (seats already taken stay taken); returns the sections changed and the students
    their waitlists promoted."""
    section_ids, subject_ids = app.lottery_inputs.program_members(program.program_id)
    app.prefetch(*section_ids, *subject_ids)
    resized: list[Section] = []
    for section_id in section_ids:
        section = app.load_section(SectionId(section_id), program)
        subject = app.load_subject(section.subject_id, program)
        capacity = capacity_for(program, subject, section.capacity_inputs)
        if capacity != section.capacity:
            section.change_capacity(section.capacity_inputs, capacity, ctx.audit(), override=True)
            resized.append(section)
    _, promoted = promote_everywhere(app, program, resized, ctx)
    return resized, promoted


def on_section(
    app: Registration, section_id_: SectionId, ctx: CommandContext, change: Callable[[Section], list[Student] | None]
) -> CommandResult:
    """The body of a command on one section: load, replay or change, save (with the students
    the change promoted from its waitlist)."""
    section = app.load_section(section_id_)
    if replayed := app.replayed(ctx, section):
        return replayed
    promoted = change(section)
    if promoted is None:
        return app.commit(ctx, section)
    return app.commit(ctx, section, *promoted, ids={"promoted": ",".join(s.student_key for s in promoted)})


@command
def schedule_section(
    app: Registration, section_id_: SectionId, timeslot_ids: Sequence[TimeslotId], ctx: CommandContext
) -> CommandResult:
    def change(section: Section) -> None:
        program = app.load_program(section.program_id)
        section.assign_timeslots(checked_timeslots(program, timeslot_ids), ctx.audit())

    return on_section(app, section_id_, ctx, change)


@command
def change_capacity(
    app: Registration,
    section_id_: SectionId,
    ctx: CommandContext,
    *,
    max_class_capacity: int | None = None,
    room_capacity: int | None = None,
) -> CommandResult:
    """Re-size a section; seats it gains go to its waitlist first."""
    inputs = CapacityInputs(max_class_capacity, room_capacity)

    def change(section: Section) -> list[Student]:
        program = app.load_program(section.program_id)
        subject = app.load_subject(section.subject_id)
        section.change_capacity(inputs, capacity_for(program, subject, inputs), ctx.audit(), override=ctx.override)
        return promote_waitlist(app, program, section, ctx)

    return on_section(app, section_id_, ctx, change)


@command
def set_section_open(app: Registration, section_id_: SectionId, is_open: bool, ctx: CommandContext) -> CommandResult:
    """Open or close a section to registration; reopening offers its free seats to its waitlist."""

    def change(section: Section) -> list[Student]:
        section.set_open(is_open, ctx.audit())
        return promote_waitlist(app, app.load_program(section.program_id), section, ctx) if is_open else []

    return on_section(app, section_id_, ctx, change)


@command
def cancel_section(app: Registration, section_id_: SectionId, ctx: CommandContext) -> CommandResult:
    """Cancel, releasing every seat and waitlist place with events on both sides."""

    section = app.load_section(section_id_)
    if replayed := app.replayed(ctx, section):
        return replayed
    affected = section.cancel(ctx.audit())
    students = [app.load(Student, s, "student") for s in affected]
    program = app.load_program(section.program_id)
    offered: list[Section] = []
    promoted: list[Student] = []
    for student in students:
        held = [v for v in (ENROLLED, WAITLISTED) if v in student.verbs_on(section.section_id)]
        student.end(section.section_id, held, cause="cancelled", audit=ctx.audit())
        if ENROLLED in held:  # their slot is free now: the seats they queue for are offered again
            sections, students_promoted = promote_for_student(app, program, student, ctx)
            offered += sections
            promoted += students_promoted
    ids = {"released": str(len(students)), "promoted": ",".join(s.student_key for s in promoted)}
    return app.commit(ctx, section, *students, *offered, *promoted, ids=ids)
