"""Planning the sections of one class in a catalogue import: their numbers, timeslots and
capacities, created or changed (`catalogue_import.import_catalogue` runs it per class).

A section's capacity follows its class's sizes: when an import changes a class's size, the
sections the catalogue does not list are re-sized too (`resize_unlisted`), as an admin's
change of the class does (`class_commands.change_subject`); their own cells stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from regledger.domain.capacity import CapacityInputs
from regledger.domain.catalogue_entries import (
    MAX_SECTION_NUMBER,
    MAX_SECTION_TIMESLOTS,
    MAX_SIZE,
    ClassEntry,
    SectionEntry,
    section_name,
)
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import SectionId, TimeslotId, section_id, timeslot_id
from regledger.domain.imports import Plan, at_line, plural
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.section_commands import capacity_for, checked_timeslots
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext

if TYPE_CHECKING:
    from regledger.domain.application import Registration


def numbered_sections(entry: ClassEntry, existing: int, plan: Plan) -> list[SectionEntry]:
    """The class's section entries with valid, distinct numbers, in number order. New numbers
    must follow the class's sections without a gap: a class with 2 sections gets 3, then 4."""
    by_number: dict[int, SectionEntry] = {}
    for section in entry.sections:
        name = section_name(entry.code, section.number)
        if not 1 <= section.number <= MAX_SECTION_NUMBER:
            plan.error(section.line, "section", f"section numbers are 1 to {MAX_SECTION_NUMBER}, not {section.number}")
        elif section.number in by_number:
            first = by_number[section.number].line
            plan.error(section.line, "section", f"section {name} is listed twice (first at {at_line(first)})")
        else:
            by_number[section.number] = section
    expected = existing + 1
    for number in sorted(n for n in by_number if n > existing):
        if number == expected:
            expected += 1
            continue
        plan.error(
            by_number[number].line,
            "section",
            f"section {section_name(entry.code, number)} leaves a gap: class {entry.code} has "
            f"{plural(expected - 1, 'section')} before it, so its next new section is number {expected}",
        )
    return [by_number[n] for n in sorted(by_number)]


def section_inputs(
    program: Program, code: str, entry: SectionEntry, plan: Plan
) -> tuple[tuple[TimeslotId, ...], CapacityInputs] | None:
    """The section's timeslots (known to the program or added by this catalogue) and sizes."""
    errors = len(plan.errors)
    ids = []
    for label in entry.timeslots:
        found = timeslot_id(program.program_id, label)
        if found not in program.timeslots:
            plan.error(entry.line, "timeslots", f"unknown timeslot {label!r} (not in the program or the catalogue)")
        ids.append(found)
    if len(entry.timeslots) > MAX_SECTION_TIMESLOTS:
        plan.error(entry.line, "timeslots", f"a section has at most {MAX_SECTION_TIMESLOTS} timeslots")
    for name, value in (("room_capacity", entry.room_capacity), ("max_class_capacity", entry.max_class_capacity)):
        plan.bounded(entry.line, name, value, 0, MAX_SIZE)
    if len(set(ids)) != len(ids):
        plan.error(entry.line, "timeslots", f"section {section_name(code, entry.number)} lists a timeslot twice")
    if len(plan.errors) > errors:
        return None
    inputs = plan.checked(entry.line, "room_capacity", CapacityInputs, entry.max_class_capacity, entry.room_capacity)
    return (checked_timeslots(program, ids), inputs) if inputs is not None else None


def plan_section(
    program: Program,
    cls: ClassEntry,
    subject: Subject | None,
    entry: SectionEntry,
    sections: dict[SectionId, Section],
    plan: Plan,
    ctx: CommandContext,
) -> Section | None:
    """Create or change one section; None when it has errors or its class could not be planned."""
    checked = section_inputs(program, cls.code, entry, plan)
    if checked is None or subject is None:
        return None
    slots, inputs = checked
    name, line = section_name(cls.code, entry.number), entry.line
    capacity = capacity_for(program, subject, inputs)
    section: Section | None
    if entry.number <= len(subject.section_ids):
        section = sections.get(section_id(subject.subject_id, entry.number))
        if section is None:
            plan.error(line, "section", f"section {name} is missing from the store")
            return None
        changed = change_section(section, slots, inputs, capacity, plan, line, ctx)
        if changed is None:
            return None
        plan.record("section", name, "changed" if changed else "unchanged", line, changed)
    elif entry.number != len(subject.section_ids) + 1:
        return None  # a gap, reported by numbered_sections
    else:
        new_id = subject.add_section(ctx.audit())
        section = Section(
            program_id=program.program_id,
            subject_id=subject.subject_id,
            index=entry.number,
            timeslot_ids=slots,
            max_class_capacity=inputs.max_class_capacity,
            room_capacity=inputs.room_capacity,
            capacity=capacity,
            **ctx.audit(),
        )
        assert section.id == new_id
        plan.record("section", name, "created", line)
    if capacity == 0:
        plan.warn(
            line,
            "capacity",
            f"section {name} has capacity 0: every add will be refused as full "
            f"({program.settings.temporarily_full_text!r}); set class_size_max, room_capacity or max_class_capacity",
        )
    return section


def change_section(
    section: Section,
    slots: tuple[TimeslotId, ...],
    inputs: CapacityInputs,
    capacity: int,
    plan: Plan,
    line: int | None,
    ctx: CommandContext,
) -> list[str] | None:
    """Record what differs (timeslots, capacity); None if a change is refused (seats held)."""
    changed = []
    if section.timeslot_ids != slots:
        if not plan.attempt(line, "timeslots", section.assign_timeslots, slots, ctx.audit()):
            return None
        changed.append("timeslots")
    if section.capacity_inputs != inputs or section.capacity != capacity:
        change = section.change_capacity
        if not plan.attempt(line, "max_class_capacity", change, inputs, capacity, ctx.audit(), override=ctx.override):
            return None
        changed.append("capacity")
    return changed


def resize_unlisted(
    app: Registration,
    program: Program,
    classes: Sequence[tuple[ClassEntry, Subject, list[SectionId]]],
    plan: Plan,
    ctx: CommandContext,
) -> list[Section]:
    """Re-size the sections a catalogue does not list of classes whose size it changed (one read
    of the log for all of them); a section left with fewer seats than are taken is an error."""
    app.prefetch(*(i for _, _, ids in classes for i in ids))
    resized = []
    for entry, subject, ids in classes:
        for section in (app.load_section(i) for i in ids):
            capacity = capacity_for(program, subject, section.capacity_inputs)
            if capacity == section.capacity:
                continue
            name = section_name(entry.code, section.index)
            try:
                section.change_capacity(section.capacity_inputs, capacity, ctx.audit(), override=ctx.override)
            except RegistrationError as refusal:
                plan.error(entry.line, "class_size_max", f"{name} (not in the catalogue): {refusal.message}")
                continue
            plan.record("section", name, "changed", entry.line, ("capacity",))
            if capacity == 0:
                plan.warn(entry.line, "capacity", f"section {name} has capacity 0 after its class's new size")
            resized.append(section)
    return resized


def unlisted(entry: ClassEntry, subject: Subject, numbered: Sequence[SectionEntry], plan: Plan) -> list[SectionId]:
    """The class's existing sections the catalogue does not list (noted: left as they are)."""
    listed = {s.number for s in numbered}
    ids = [section_id(subject.subject_id, n) for n in range(1, len(subject.section_ids) + 1) if n not in listed]
    if ids:
        plan.notes.append(
            f"{entry.code}: {plural(len(ids), 'existing section')} not in the catalogue, left as they are "
            "(a capacity follows a changed class size)"
        )
    return ids
