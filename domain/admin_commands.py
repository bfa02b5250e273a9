"""Admin commands: programs, timeslots, windows, classes, sections, capacity, constraints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from regledger.domain.constraints import ScheduleConstraint, check_label, referenced_ids
from regledger.domain.errors import AlreadyExistsError, InvalidInputError
from regledger.domain.ids import (
    ConstraintId,
    ProgramId,
    SubjectId,
    TimeslotId,
    constraint_id,
    program_id,
    subject_id,
    timeslot_id,
)
from regledger.domain.lunch import lunch_constraints
from regledger.domain.program import Program, ProgramSettings
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.section_commands import resize_program
from regledger.domain.subject import Subject
from regledger.domain.values import (
    APPLIED,
    ENROLLED,
    INTERESTED,
    STUDENT_CATEGORY,
    WAITLISTED,
    CommandContext,
    check_key,
    check_text,
    priority_verb,
)
from regledger.domain.waitlist import promote_program, refused_by

if TYPE_CHECKING:
    from regledger.domain.application import Registration

NO_CLASS_SIZE = (
    "The class has no class_size_max (or optimal size): its sections get capacity 0, and every add is "
    "refused as full, unless a section sets max_class_capacity or room_capacity."
)


# -- programs -------------------------------------------------------------------------


@command
def create_program(
    app: Registration,
    slug: str,
    title: str,
    ctx: CommandContext,
    *,
    grade_min: int = 7,
    grade_max: int = 12,
    school_year: int,
    settings: dict[str, Any] | None = None,
) -> CommandResult:
    check_key(slug, "slug")  # the runner checked it; the program's id is derived from it below
    check_text(title, "title", max_length=200)
    parsed = ProgramSettings.from_dict(settings or {})
    if grade_min > grade_max:
        raise InvalidInputError("grade_min must not exceed grade_max")
    existing = app.find(Program, program_id(slug))
    if existing is not None:
        if replayed := app.replayed(ctx, existing, ids={"program_id": str(existing.id)}):
            return replayed
        raise AlreadyExistsError("A program with this slug exists already", slug=slug)
    program = Program(slug, title, grade_min, grade_max, school_year, parsed.as_dict(), **ctx.audit())
    verbs = [ENROLLED, WAITLISTED, INTERESTED, APPLIED, *map(priority_verb, range(1, parsed.priority_limit + 1))]
    catalogue = app.ensure_verbs(verbs, STUDENT_CATEGORY, ctx)
    result = app.commit(ctx, program, catalogue, ids={"program_id": str(program.id)})
    app.remember_verbs(verbs, STUDENT_CATEGORY)
    return result


def on_program(
    app: Registration,
    program_id_: ProgramId,
    ctx: CommandContext,
    change: Callable[[Program], None],
    ids: dict[str, str] | None = None,
) -> CommandResult:
    """The body of a command that changes only the program: load, replay or change, save."""
    program = app.load_program(program_id_)
    if replayed := app.replayed(ctx, program, ids):
        return replayed
    change(program)
    return app.commit(ctx, program, ids=ids)


@command
def change_settings(
    app: Registration, program_id_: ProgramId, changes: dict[str, Any], ctx: CommandContext
) -> CommandResult:
    """Change settings (only those named). A new `class_cap_multiplier` or `class_cap_offset`
    re-sizes every section of the program in the same commit, as ESP computes capacity on read:
    seats already taken stay taken (a warning counts sections left over capacity), seats gained
    go to the waitlists first."""
    program = app.load_program(program_id_)
    if replayed := app.replayed(ctx, program):
        return replayed
    before = program.settings
    program.change_settings(changes, ctx.audit())
    after = program.settings
    if (after.class_cap_multiplier, after.class_cap_offset) == (before.class_cap_multiplier, before.class_cap_offset):
        return app.commit(ctx, program)
    resized, promoted = resize_program(app, program, ctx)
    ids = {"resized_sections": str(len(resized)), "promoted": ",".join(s.student_key for s in promoted)}
    result = app.commit(ctx, program, *resized, *promoted, ids=ids)
    over = sum(1 for s in resized if len(s.enrolled) > s.capacity)
    if over:
        return replace(
            result,
            warnings=(
                f"{over} sections now hold more students than their capacity; "
                "those seats stay taken, and nobody else can add until some drop.",
            ),
        )
    return result


@command
def add_timeslot(
    app: Registration, program_id_: ProgramId, label: str, start: datetime, end: datetime, ctx: CommandContext
) -> CommandResult:
    new_id = timeslot_id(program_id_, check_text(label, "label", max_length=200))
    return on_program(
        app,
        program_id_,
        ctx,
        lambda p: p.add_timeslot(new_id, label, start, end, ctx.audit()),
        ids={"timeslot_id": str(new_id)},
    )


@command
def set_window(
    app: Registration,
    program_id_: ProgramId,
    kind: str,
    opens: datetime | None,
    closes: datetime | None,
    ctx: CommandContext,
) -> CommandResult:
    return on_program(app, program_id_, ctx, lambda p: p.set_window(kind, opens, closes, ctx.audit()))


# -- constraints ----------------------------------------------------------------------


@command
def add_constraint(
    app: Registration, program_id_: ProgramId, label: str, condition: Any, requirement: Any, ctx: CommandContext
) -> CommandResult:
    new_id = constraint_id(program_id_, check_label(label))
    constraint = ScheduleConstraint.from_json(
        {"id": str(new_id), "label": label, "condition": condition, "requirement": requirement}
    )

    def change(program: Program) -> None:
        check_references(app, program, constraint)
        program.add_constraint(constraint, ctx.audit())

    return on_program(app, program_id_, ctx, change, ids={"constraint_id": str(new_id)})


def check_references(app: Registration, program: Program, constraint: ScheduleConstraint) -> None:
    """Every id an expression names must be a timeslot, class or section of this program."""
    for ref in referenced_ids(constraint.condition) | referenced_ids(constraint.requirement):
        if ref in program.timeslots:
            continue
        found = app.find(Subject, ref) or app.find(Section, ref)
        if found is None or found.program_id != program.id:
            raise InvalidInputError("The constraint names an id outside this program", id=str(ref))


@command
def remove_constraint(
    app: Registration, program_id_: ProgramId, constraint_id_: ConstraintId, ctx: CommandContext
) -> CommandResult:
    """Remove a constraint; queued students it kept out of free seats get them now."""
    program = app.load_program(program_id_)
    if replayed := app.replayed(ctx, program):
        return replayed
    removed = program.constraints.get(constraint_id_)
    program.remove_constraint(constraint_id_, ctx.audit())
    offered, promoted = promote_program(app, program, ctx, was_refused=None if removed is None else refused_by(removed))
    return app.commit(ctx, program, *offered, *promoted, ids={"promoted": ",".join(s.student_key for s in promoted)})


@command
def add_lunch_constraints(
    app: Registration,
    program_id_: ProgramId,
    lunch_timeslot_ids: Sequence[TimeslotId],
    lunch_category: str,
    ctx: CommandContext,
    include_conditions: bool = True,
) -> CommandResult:
    """One constraint per day: students with classes before and after lunch keep a lunch period."""
    check_text(lunch_category, "lunch_category", max_length=64)

    def change(program: Program) -> None:
        slots = [(t.id, t.start, t.end) for t in program.timeslots.values()]
        for label, condition, requirement in lunch_constraints(
            slots, lunch_timeslot_ids, lunch_category, include_conditions
        ):
            new_id = constraint_id(program.program_id, label)
            if new_id not in program.constraints:
                program.add_constraint(ScheduleConstraint(new_id, label, condition, requirement), ctx.audit())

    return on_program(app, program_id_, ctx, change)


# -- classes and sections -------------------------------------------------------------


@command
def add_subject(
    app: Registration,
    program_id_: ProgramId,
    code: str,
    title: str,
    ctx: CommandContext,
    *,
    category: str = "General",
    grade_min: int = 7,
    grade_max: int = 12,
    status: str = "accepted",
    class_size_max: int | None = None,
    class_size_optimal: int | None = None,
    is_lunch: bool = False,
) -> CommandResult:
    check_key(code, "code")
    check_text(category, "category", max_length=64)
    Subject.validate(title, grade_min, grade_max, status, class_size_max, class_size_optimal)
    new_id = subject_id(program_id_, code)

    app.load_program(program_id_)
    existing = app.find(Subject, new_id)
    if existing is not None:
        if existing.has_applied(ctx.command_id):
            return app.replay(ctx, existing, ids={"subject_id": str(new_id)})
        raise AlreadyExistsError("A class with this code exists already", code=code)
    subject = Subject(
        program_id=program_id_,
        code=code,
        title=title,
        category=category,
        grade_min=grade_min,
        grade_max=grade_max,
        status=status,
        class_size_max=class_size_max,
        class_size_optimal=class_size_optimal,
        is_lunch=is_lunch,
        **ctx.audit(),
    )
    result = app.commit(ctx, subject, ids={"subject_id": str(new_id)})
    if not class_size_max and not class_size_optimal:
        return replace(result, warnings=(NO_CLASS_SIZE,))
    return result


@command
def change_subject_status(app: Registration, subject_id_: SubjectId, status: str, ctx: CommandContext) -> CommandResult:
    subject = app.load_subject(subject_id_)
    if subject.has_applied(ctx.command_id):
        return app.replay(ctx, subject)
    subject.change_status(status, ctx.audit())
    return app.commit(ctx, subject)
