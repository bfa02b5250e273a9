"""Store a synthetic Splash program (`synthetic.py`) as real events, fast.

The aggregates are built through their own public methods (so every event is exactly what a
command would record: profile, one star per class, one ranking per timeslot) and saved in
batches of many aggregates per `save`, instead of one command per event. For tests, demos
and benchmarks that need a realistic program in a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from regledger.domain.capacity import CapacityInputs
from regledger.domain.ids import ProgramId, SectionId, SubjectId, TimeslotId
from regledger.domain.program import Program, ProgramSettings
from regledger.domain.section import Section
from regledger.domain.section_commands import capacity_for
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import (
    APPLIED,
    ENROLLED,
    INTERESTED,
    STUDENT_CATEGORY,
    WAITLISTED,
    CommandContext,
    SectionRef,
    priority_verb,
)

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

    from regledger.adapters.simulation.synthetic import SyntheticProgram
    from regledger.domain.application import Registration


@dataclass(frozen=True)
class StoredProgram:
    program_id: ProgramId
    events: int
    position: int
    # (class code, generator's section index) -> stored section id. Stored sections are
    # numbered from 1 by `Subject.add_section`, the generator's from 0, so the ids differ.
    section_ids: dict[tuple[str, int], SectionId]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def store_synthetic_program(
    app: Registration, program: SyntheticProgram, ctx: CommandContext, *, batch_events: int = 5000
) -> StoredProgram:
    """Write the program, its classes, sections and students; returns the event count."""
    audit = ctx.audit()
    saved = 0
    pending: list[Aggregate] = []
    pending_events = 0

    def flush() -> None:
        nonlocal pending_events, saved
        if pending:
            app.save(*pending)
            for aggregate in pending:  # as the commands' own saves do: a running server is warm
                app.aggregates.put(aggregate)
            saved += pending_events
            pending.clear()
            pending_events = 0

    def stage(aggregate: Aggregate) -> None:
        nonlocal pending_events
        pending.append(aggregate)
        pending_events += len(aggregate.pending_events)
        if pending_events >= batch_events:
            flush()

    settings = ProgramSettings(priority_limit=program.priority_limit)
    root = Program(
        slug=f"synthetic-{program.seed}",
        title=f"Synthetic Splash {program.seed}",
        grade_min=7,
        grade_max=12,
        school_year=program.school_year,
        settings=settings.as_dict(),
        **audit,
    )
    assert root.id == program.program_id
    for slot in program.timeslots:
        root.add_timeslot(
            TimeslotId(program.timeslot_id(slot.label)), slot.label, _aware(slot.start), _aware(slot.end), audit
        )
    catalogue = app.verb_catalogue(STUDENT_CATEGORY, ctx)
    for verb in (ENROLLED, WAITLISTED, INTERESTED, APPLIED, *(priority_verb(n) for n in range(1, 21))):
        catalogue.ensure(verb, audit)
    stage(root)
    stage(catalogue)

    subjects: dict[str, Subject] = {}
    for cls in program.classes:
        subjects[cls.code] = Subject(
            program_id=root.program_id,
            code=cls.code,
            title=cls.title,
            category=cls.category,
            grade_min=cls.grade_min,
            grade_max=cls.grade_max,
            status="accepted",
            class_size_max=cls.class_size_max,
            class_size_optimal=None,
            is_lunch=cls.is_lunch,
            **audit,
        )
    refs: dict[tuple[str, str], SectionRef] = {}
    sections: list[Section] = []
    section_ids: dict[tuple[str, int], SectionId] = {}
    for spec in program.sections:
        subject = subjects[spec.class_code]
        new_id = subject.add_section(audit)
        slots = tuple(TimeslotId(program.timeslot_id(label)) for label in spec.timeslot_labels)
        section = Section(
            program_id=root.program_id,
            subject_id=subject.subject_id,
            index=len(subject.section_ids),
            timeslot_ids=slots,
            max_class_capacity=None,
            room_capacity=None,
            capacity=capacity_for(root, subject, CapacityInputs(None, None)),
            **audit,
        )
        assert section.id == new_id
        sections.append(section)
        section_ids[(spec.class_code, spec.index)] = SectionId(section.id)
        refs[(spec.class_code, spec.timeslot_labels[0])] = SectionRef(
            SectionId(section.id), SubjectId(subject.id), subject.category, slots
        )
    for aggregate in (*subjects.values(), *sections):
        stage(aggregate)

    for person in program.students:
        student = Student(program_id=root.program_id, student_key=person.key, **audit)
        student.submit_profile(person.key, person.graduation_year, {}, audit)
        for code in person.stars:
            student.star(subjects[code].subject_id, audit)
        for label, codes in sorted(person.priorities.items()):
            ranked = [refs[(code, label)] for code in codes[: program.priority_limit]]
            student.rank(TimeslotId(program.timeslot_id(label)), ranked, audit)
        stage(student)
    flush()
    return StoredProgram(root.program_id, saved, app.position(), section_ids)
