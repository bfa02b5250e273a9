"""`regledger class add|status` and `regledger section add|capacity|open|close|cancel`.

A class without a maximum (or optimal) size gives its sections capacity 0, and every add to
such a section is refused "Class temporarily full": creating one warns, so it is not found out
by the first student.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated
from uuid import UUID

import typer

from regledger.adapters.cli_address import PROGRAM_OPTION_HELP, SECTION_HELP, section_address
from regledger.adapters.cli_common import (
    IdempotencyKeyOption,
    OverrideOption,
    ReasonOption,
    admin_context,
    done,
    parse_grades,
    run_refusable,
    services,
    warn,
)
from regledger.adapters.cli_lookup import section_aggregate, section_name
from regledger.domain.application import Registration
from regledger.domain.capacity import CapacityInputs, effective_capacity
from regledger.domain.ids import SectionId, SubjectId, TimeslotId, program_id, subject_id
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult
from regledger.domain.section import Section
from regledger.domain.subject import STATUSES, Subject
from regledger.domain.values import CommandContext
from regledger.projections.catalogue import section_code

class_cli = typer.Typer(no_args_is_help=True, help="Classes (subjects) of a program.")
section_cli = typer.Typer(no_args_is_help=True, help="Sections of a class: create, capacity, open, close, cancel.")

ProgramOption = Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)]
SectionArgument = Annotated[str, typer.Argument(help=SECTION_HELP)]
SizeOption = Annotated[int | None, typer.Option(min=0)]


def capacity_warning(program: Program, what: str) -> str:
    full = program.settings.temporarily_full_text
    return (
        f"{what} has capacity 0: every add will be refused {full!r} until a capacity is set "
        "(`regledger section capacity SECTION --max-capacity N`, or the class's class_size_max "
        "through `regledger import catalogue`)"
    )


def _subject(app: Registration, slug: str, code: str) -> tuple[Program, Subject]:
    program = run_refusable(lambda: app.load_program(program_id(slug)))
    return program, run_refusable(lambda: app.load_subject(subject_id(program.program_id, code), program))


def _section(app: Registration, section: str, program: str | None) -> tuple[Section, str]:
    """The section and how people name it: `M101s1 Algebra I`."""
    found = section_aggregate(app, section_address(section, program))
    return found, section_name(app, found)


@class_cli.command("add")
def add_class(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    code: Annotated[str, typer.Argument(help="The class code, e.g. M101 (sections become M101s1, M101s2...).")],
    title: Annotated[str, typer.Option("--title", help="Its title.")],
    category: Annotated[str, typer.Option("--category")] = "General",
    grades: Annotated[str | None, typer.Option("--grades", help="e.g. 9-12 (default: the program's).")] = None,
    class_size_max: Annotated[int | None, typer.Option("--class-size-max", min=0, help="Seats per section.")] = None,
    class_size_optimal: Annotated[int | None, typer.Option("--class-size-optimal", min=0)] = None,
    status: Annotated[str, typer.Option("--status", help=f"One of {', '.join(STATUSES)}.")] = "accepted",
    lunch: Annotated[bool, typer.Option("--lunch", help="A lunch period, not a class.")] = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Add a class to a program (its sections are added with `section add`)."""
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        program = run_refusable(lambda: built.app.load_program(program_id(slug)))
        low, high = parse_grades(grades) or (program.grade_min, program.grade_max)
        result = run_refusable(
            lambda: built.app.add_subject(
                program.program_id,
                code,
                title,
                ctx,
                category=category,
                grade_min=low,
                grade_max=high,
                status=status,
                class_size_max=class_size_max,
                class_size_optimal=class_size_optimal,
                is_lunch=lunch,
            )
        )
    sizes = f"class size max {class_size_max if class_size_max is not None else 'unset'}"
    done(
        result,
        f"created class {code} {title!r} in {slug} (id {result.ids['subject_id']}): {category}, "
        f"grades {low}-{high}, {status}, {sizes}",
    )
    settings = program.settings
    seats = effective_capacity(
        CapacityInputs(), class_size_max, class_size_optimal, settings.class_cap_multiplier, settings.class_cap_offset
    )
    if seats == 0:
        warn(capacity_warning(program, f"class {code} has no class size max (and no optimal size), so each section"))


@class_cli.command("status")
def class_status(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    code: Annotated[str, typer.Argument(help="The class code.")],
    status: Annotated[str, typer.Argument(help=f"One of {', '.join(STATUSES)}.")],
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Change a class's review status (only accepted and hidden classes take students)."""
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        _, subject = _subject(built.app, slug, code)
        before = subject.status
        result = run_refusable(lambda: built.app.change_subject_status(SubjectId(subject.id), status, ctx))
    done(result, f"class {code} {subject.title!r} in {slug} (id {subject.id}): status {before} -> {status}")


@class_cli.command("set")
def class_set(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    code: Annotated[str, typer.Argument(help="The class code.")],
    title: Annotated[str | None, typer.Option("--title")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    grades: Annotated[str | None, typer.Option("--grades", help="e.g. 9-12.")] = None,
    class_size_max: Annotated[int | None, typer.Option("--class-size-max", min=0, help="Seats per section.")] = None,
    class_size_optimal: Annotated[int | None, typer.Option("--class-size-optimal", min=0)] = None,
    lunch: Annotated[bool | None, typer.Option("--lunch/--not-lunch")] = None,
    override: Annotated[bool, typer.Option("--override", help="Allow a size below the seats taken.")] = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Change a class's details (only the options given); sections follow a changed size."""
    ctx = replace(admin_context(reason, idempotency_key), override=override)
    grade_range = parse_grades(grades)
    details = {
        "title": title,
        "category": category,
        "grade_min": None if grade_range is None else grade_range[0],
        "grade_max": None if grade_range is None else grade_range[1],
        "class_size_max": class_size_max,
        "class_size_optimal": class_size_optimal,
        "is_lunch": lunch,
    }
    details = {name: value for name, value in details.items() if value is not None}
    if not details:
        raise typer.BadParameter("nothing to change: give at least one option")
    with services(catch_up=False) as built:
        _, subject = _subject(built.app, slug, code)
        result = run_refusable(lambda: built.app.change_subject(SubjectId(subject.id), details, ctx))
    changed = ", ".join(f"{name} {value}" for name, value in details.items())
    done(
        result,
        f"class {code} in {slug} (id {subject.id}): {changed}; {result.ids['resized_sections']} sections resized",
    )
    for warning in result.warnings:
        warn(str(warning))


def _timeslots(program: Program, labels: str) -> list[TimeslotId]:
    """Comma-separated labels (or ids) -> the program's timeslot ids; unknown ones exit 2."""
    by_name = {t.label: t.id for t in program.timeslots.values()} | {str(t): t for t in program.timeslots}
    wanted = [label.strip() for label in labels.split(",") if label.strip()]
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        known = ", ".join(repr(t.label) for t in program.timeslots.values()) or "none yet"
        raise typer.BadParameter(f"no timeslot {', '.join(map(repr, unknown))} in {program.slug} (timeslots: {known})")
    return [by_name[w] for w in wanted]


@section_cli.command("add")
def add_section(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    code: Annotated[str, typer.Argument(help="The class code.")],
    timeslots: Annotated[str, typer.Option("--timeslots", help="Timeslot labels, comma-separated.")] = "",
    room_capacity: Annotated[int | None, typer.Option("--room-capacity", min=0)] = None,
    max_capacity: Annotated[int | None, typer.Option("--max-capacity", min=0, help="Overrides the class size.")] = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Add a section to a class, in the given timeslots (none: not scheduled yet)."""
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        program, subject = _subject(built.app, slug, code)
        slots = _timeslots(program, timeslots)
        result = run_refusable(
            lambda: built.app.create_section(
                SubjectId(subject.id), slots, ctx, max_class_capacity=max_capacity, room_capacity=room_capacity
            )
        )
        section = built.app.load_section(SectionId(UUID(result.ids["section_id"])))
    labels = ", ".join(program.timeslots[t].label for t in section.timeslot_ids) or "not scheduled"
    name = section_code(subject.code, section.index)
    done(
        result,
        f"created section {name} of {subject.code} {subject.title!r} (id {section.id}): {labels}; "
        f"capacity {section.capacity} (room {_unset(room_capacity)}, max {_unset(max_capacity)})",
    )
    if section.capacity == 0:
        warn(capacity_warning(program, f"section {name}"))


def _unset(value: int | None) -> str:
    return "unset" if value is None else str(value)


@section_cli.command("capacity")
def change_capacity(
    section: SectionArgument,
    program: ProgramOption = None,
    room_capacity: Annotated[int | None, typer.Option("--room-capacity", min=0)] = None,
    max_capacity: Annotated[int | None, typer.Option("--max-capacity", min=0, help="Overrides the class size.")] = None,
    override: OverrideOption = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Set a section's room and maximum capacity (unset ones fall back to the class size); below
    the seats taken needs --override."""
    ctx = admin_context(reason, idempotency_key, override=override)
    with services(catch_up=False) as built:
        found, name = _section(built.app, section, program)
        before = found.capacity
        result = run_refusable(
            lambda: built.app.change_capacity(
                found.section_id, ctx, max_class_capacity=max_capacity, room_capacity=room_capacity
            )
        )
        after = built.app.load_section(found.section_id)
        owner = built.app.load_program(found.program_id)
    done(
        result,
        f"capacity of {name} (id {found.id}): {before} -> {after.capacity} "
        f"(room {_unset(room_capacity)}, max {_unset(max_capacity)}; {len(after.enrolled)} enrolled)",
    )
    if after.capacity == 0:
        warn(capacity_warning(owner, f"section {name.split()[0]}"))


def _change_section(
    section: str,
    program: str | None,
    reason: str,
    key: str | None,
    change: Callable[[Registration, SectionId, CommandContext], CommandResult],
) -> tuple[Section, str, CommandResult]:
    """Run `change` on the named section as the admin; the section, its name and the result."""
    ctx = admin_context(reason, key)
    with services(catch_up=False) as built:
        found, name = _section(built.app, section, program)
        result = run_refusable(lambda: change(built.app, found.section_id, ctx))
    return found, name, result


def _set_open(section: str, program: str | None, is_open: bool, reason: str, key: str | None) -> None:
    found, name, result = _change_section(
        section, program, reason, key, lambda app, sid, ctx: app.set_section_open(sid, is_open, ctx)
    )
    done(result, f"{'opened' if is_open else 'closed'} {name} (id {found.id}) for registration")


@section_cli.command("open")
def open_section(
    section: SectionArgument,
    program: ProgramOption = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Open a section for registration."""
    _set_open(section, program, True, reason, idempotency_key)


@section_cli.command("close")
def close_section(
    section: SectionArgument,
    program: ProgramOption = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Close a section for registration (seats already taken are kept)."""
    _set_open(section, program, False, reason, idempotency_key)


@section_cli.command("cancel")
def cancel_section(
    section: SectionArgument,
    program: ProgramOption = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Cancel a section: every seat and waitlist place in it is released."""
    found, name, result = _change_section(
        section, program, reason, idempotency_key, lambda app, sid, ctx: app.cancel_section(sid, ctx)
    )
    done(result, f"cancelled {name} (id {found.id}): {result.ids.get('released', '0')} students released")
