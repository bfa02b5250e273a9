"""Bulk import of a program's catalogue: its timeslots, classes and their sections, in one save.

The entries say what the catalogue should be; the command compares them with the aggregates:
a new timeslot, class or section is created, a changed one gets only the events of what
changed (`Subject.DetailsChanged`, `StatusChanged`, `Section.TimeslotsAssigned`,
`CapacityChanged`), an equal one nothing. Every entry is checked first, with the domain's own
checks, and every error is reported with its line; nothing is written unless there is none.
Sections of a class that the catalogue does not list are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from regledger.domain.audited import AuditedAggregate
from regledger.domain.capacity import CapacityInputs, effective_capacity
from regledger.domain.catalogue_entries import (
    GRADES,
    MAX_CLASSES,
    MAX_SECTION_NUMBER,
    MAX_SECTIONS,
    MAX_SIZE,
    MAX_TIMESLOTS,
    YEARS,
    Catalogue,
    ClassEntry,
    TimeslotEntry,
)
from regledger.domain.class_commands import SIZES
from regledger.domain.ids import ProgramId, SectionId, section_id, subject_id, timeslot_id
from regledger.domain.imports import ImportResult, Plan, at_line
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.section_import import numbered_sections, plan_section, resize_unlisted, section_inputs, unlisted
from regledger.domain.subject import DETAIL_FIELDS, STATUSES, Subject
from regledger.domain.values import CommandContext, check_key, check_text, in_zone
from regledger.domain.waitlist import promote_everywhere

if TYPE_CHECKING:
    from regledger.domain.application import Registration


@command
def import_catalogue(
    app: Registration, program_id_: ProgramId, catalogue: Catalogue, ctx: CommandContext, *, dry_run: bool = False
) -> ImportResult:
    """Create or change the catalogue's timeslots, classes and sections in ONE save; a dry run
    answers the plan and writes nothing. Refused whole (`invalid_input`, every error with its
    line in `detail.errors`) if any entry is invalid."""
    plan = Plan(("timeslot", "class", "section"))
    _check_size(catalogue, plan)
    plan.refuse_if_errors("catalogue")
    with app.bulk_work():
        classes = _distinct_classes(catalogue.classes, plan)
        subjects, sections = _load(app, program_id_, [entry for entry, valid in classes if valid])
        program = app.load_program(program_id_)
        ids = {"program_id": str(program.id)}
        done = next((a for a in (program, *subjects.values(), *sections.values()) if _applied(a, ctx)), None)
        if done is not None:
            plan.notes.append("This Idempotency-Key was used already: nothing was written now.")
            return plan.result(app.replay(ctx, done, ids), dry_run=dry_run, outcome="Imported")
        _plan_timeslots(program, catalogue.timeslots, plan, ctx)
        touched: list[AuditedAggregate] = [program]
        resizes = []
        for entry, valid in classes:
            found = subjects.get(entry.code) if valid else None
            planned, others = _plan_class(program, entry, found, sections, plan, ctx, plannable=valid)
            touched += planned
            if found is not None and others:
                resizes.append((entry, found, others))
        touched += resize_unlisted(app, program, resizes, plan, ctx)
        plan.refuse_if_errors("catalogue")
        if not dry_run:  # seats a re-size added go to the waitlists first
            resized = [a for a in touched if isinstance(a, Section) and a.pending_events]
            _, promoted = promote_everywhere(app, program, resized, ctx)
            touched += promoted
        pending = [a for a in touched if a.pending_events]
        if dry_run or not pending:
            base = CommandResult(ctx.command_id, "DryRun" if dry_run else "Unchanged", app.position(), ids=ids)
            return plan.result(base, dry_run=dry_run)
        return plan.result(app.commit(ctx, pending[0], *pending[1:], ids=ids), dry_run=False, outcome="Imported")


def _applied(aggregate: AuditedAggregate | None, ctx: CommandContext) -> bool:
    return aggregate is not None and aggregate.has_applied(ctx.command_id)


def _check_size(catalogue: Catalogue, plan: Plan) -> None:
    sections = sum(len(c.sections) for c in catalogue.classes)
    for what, count, most in (
        ("timeslots", len(catalogue.timeslots), MAX_TIMESLOTS),
        ("classes", len(catalogue.classes), MAX_CLASSES),
        ("sections", sections, MAX_SECTIONS),
    ):
        if count > most:
            plan.error(None, what, f"a catalogue holds at most {most} {what}, this one {count}")


def _distinct_classes(entries: Sequence[ClassEntry], plan: Plan) -> list[tuple[ClassEntry, bool]]:
    """Each code once (a repeated code is an error), and whether its code is valid: an entry
    with an invalid code is still checked, but never planned."""
    seen: dict[str, int | None] = {}
    kept = []
    for entry in entries:
        valid = plan.attempt(entry.line, "code", check_key, entry.code, "code")
        if valid and entry.code in seen:
            plan.error(entry.line, "code", f"class {entry.code} is listed twice (first at {at_line(seen[entry.code])})")
            continue
        seen[entry.code] = entry.line
        kept.append((entry, valid))
    return kept


def _load(
    app: Registration, program_id_: ProgramId, classes: Sequence[ClassEntry]
) -> tuple[dict[str, Subject], dict[SectionId, Section]]:
    """The classes the catalogue names and the sections its rows name (and the program), in one
    read of the log."""
    subject_ids = {c.code: subject_id(program_id_, c.code) for c in classes}
    section_ids = [
        section_id(subject_ids[c.code], s.number)
        for c in classes
        for s in c.sections
        if 0 < s.number <= MAX_SECTION_NUMBER
    ]
    app.prefetch(program_id_, *subject_ids.values(), *section_ids)
    subjects = {code: s for code, i in subject_ids.items() if (s := app.find(Subject, i)) is not None}
    sections = {i: found for i in section_ids if (found := app.find(Section, i)) is not None}
    return subjects, sections


def _plan_timeslots(program: Program, entries: Sequence[TimeslotEntry], plan: Plan, ctx: CommandContext) -> None:
    zone = program.settings.timezone
    seen: dict[str, int | None] = {}
    for entry in entries:
        label, line = entry.label, entry.line
        if not plan.attempt(line, "label", check_text, label, "label", max_length=200):
            continue
        if label in seen:
            plan.error(line, "label", f"timeslot {label!r} is listed twice (first at {at_line(seen[label])})")
            continue
        seen[label] = line
        start, end = in_zone(entry.start, zone), in_zone(entry.end, zone)
        if not all(YEARS[0] <= t.year <= YEARS[1] for t in (start, end)):
            plan.error(line, "start", f"timeslot {label!r} must be between the years {YEARS[0]} and {YEARS[1]}")
            continue
        new_id = timeslot_id(program.program_id, label)
        existing = program.timeslots.get(new_id)
        if existing is None:
            if plan.attempt(line, "end", program.add_timeslot, new_id, label, start, end, ctx.audit()):
                plan.record("timeslot", label, "created", line)
        elif (existing.start, existing.end) == (start, end):
            plan.record("timeslot", label, "unchanged", line)
        else:
            plan.error(
                line,
                "start",
                f"timeslot {label!r} exists with other times ({existing.start.isoformat()} to "
                f"{existing.end.isoformat()}); a timeslot cannot change once added",
            )


def _class_fields_valid(program: Program, entry: ClassEntry, plan: Plan) -> tuple[int, int] | None:
    """The class's grade range when every field of the entry passes the domain's checks."""
    line, errors = entry.line, len(plan.errors)
    grade_min = program.grade_min if entry.grade_min is None else entry.grade_min
    grade_max = program.grade_max if entry.grade_max is None else entry.grade_max
    plan.attempt(line, "title", check_text, entry.title, "title", max_length=200)
    plan.attempt(line, "category", check_text, entry.category, "category", max_length=64)
    if entry.status not in STATUSES:
        plan.error(line, "status", f"status must be one of {', '.join(STATUSES)}, not {entry.status!r}")
    grades_valid = [plan.bounded(line, n, v, *GRADES) for n, v in (("grade_min", grade_min), ("grade_max", grade_max))]
    if all(grades_valid) and grade_min > grade_max:
        plan.error(line, "grade_min", f"grade_min ({grade_min}) must not exceed grade_max ({grade_max})")
    for name, size in (("class_size_max", entry.class_size_max), ("class_size_optimal", entry.class_size_optimal)):
        plan.bounded(line, name, size, 0, MAX_SIZE)
    if len(plan.errors) > errors:
        return None
    sizes = (entry.class_size_max, entry.class_size_optimal)
    if not plan.attempt(line, "grade_min", Subject.validate, entry.title, grade_min, grade_max, entry.status, *sizes):
        return None
    return grade_min, grade_max


def _plan_class(
    program: Program,
    entry: ClassEntry,
    subject: Subject | None,
    sections: dict[SectionId, Section],
    plan: Plan,
    ctx: CommandContext,
    *,
    plannable: bool = True,
) -> tuple[list[AuditedAggregate], list[SectionId]]:
    """Plan one class and its listed sections: the aggregates it created or may change, and
    the sections it does not list that must follow a changed size."""
    existing = len(subject.section_ids) if subject is not None else 0
    grades = _class_fields_valid(program, entry, plan)
    changed: list[str] = []
    if grades is None or not plannable:
        subject = None  # its sections are still checked, but not planned
    elif subject is None:
        subject = _new_subject(program, entry, grades, ctx)
        plan.record("class", entry.code, "created", entry.line)
    else:
        changed = _change_subject(subject, entry, grades, ctx)
        plan.record("class", entry.code, "changed" if changed else "unchanged", entry.line, changed)
    touched: list[AuditedAggregate] = [subject] if subject is not None else []
    numbered = numbered_sections(entry, existing, plan)
    for section_entry in numbered:
        section = plan_section(program, entry, subject, section_entry, sections, plan, ctx)
        if section is not None:
            touched.append(section)
    for refused in (s for s in entry.sections if not any(s is n for n in numbered)):
        section_inputs(program, entry.code, refused, plan)  # a repeated number: still check the rest
    if subject is not None and not entry.sections and _class_capacity(program, entry) == 0:
        plan.warn(
            entry.line,
            "class_size_max",
            f"class {entry.code} has no class_size_max or class_size_optimal: its sections get capacity 0 "
            "(every add refused as full) unless they set max_class_capacity or room_capacity",
        )
    others = unlisted(entry, subject, numbered, plan) if subject is not None and existing else []
    return touched, others if SIZES & set(changed) else []


def _new_subject(program: Program, entry: ClassEntry, grades: tuple[int, int], ctx: CommandContext) -> Subject:
    return Subject(
        program_id=program.program_id,
        code=entry.code,
        title=entry.title,
        category=entry.category,
        grade_min=grades[0],
        grade_max=grades[1],
        status=entry.status,
        class_size_max=entry.class_size_max,
        class_size_optimal=entry.class_size_optimal,
        is_lunch=entry.is_lunch,
        **ctx.audit(),
    )


def _change_subject(subject: Subject, entry: ClassEntry, grades: tuple[int, int], ctx: CommandContext) -> list[str]:
    """Record only what differs; returns the names of the fields that change."""
    wanted = {
        "title": entry.title,
        "category": entry.category,
        "grade_min": grades[0],
        "grade_max": grades[1],
        "class_size_max": entry.class_size_max,
        "class_size_optimal": entry.class_size_optimal,
        "is_lunch": entry.is_lunch,
    }
    assert set(wanted) == set(DETAIL_FIELDS)
    changed = list(subject.change_details(wanted, ctx.audit()))
    if entry.status != subject.status:
        subject.change_status(entry.status, ctx.audit())
        changed.append("status")
    return changed


def _class_capacity(program: Program, entry: ClassEntry) -> int:
    settings = program.settings
    return effective_capacity(
        CapacityInputs(),
        entry.class_size_max,
        entry.class_size_optimal,
        settings.class_cap_multiplier,
        settings.class_cap_offset,
    )
