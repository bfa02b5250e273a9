"""The view changes of the catalogue: programs, their settings and windows, timeslots, classes,
sections and the students' names. Each carries whole rows (or whole values of the columns it
sets), so applying one never needs what the view held before: `changes.fold` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(slots=True)
class StudentUpserted:
    student_id: UUID
    program_id: UUID
    student_key: str
    at: datetime


@dataclass(slots=True)
class StudentProfiled:
    """The student's name, graduation year and e-mail, as their latest profile says."""

    student_id: UUID
    name: str
    graduation_year: int
    email: str | None


@dataclass(slots=True)
class StudentCheckedIn:
    """The student checked in on the day (`at`), or the check-in was undone (None)."""

    student_id: UUID
    checked_in_at: datetime | None


@dataclass(slots=True)
class ProgramCreated:
    program_id: UUID
    slug: str
    title: str
    grade_min: int
    grade_max: int
    school_year: int
    created_at: datetime


@dataclass(slots=True)
class ProgramSettingSet:
    """One setting's value, as JSON text (a program's settings are these rows merged)."""

    program_id: UUID
    name: str
    value: str


@dataclass(slots=True)
class WindowSet:
    program_id: UUID
    kind: str
    opens: datetime | None
    closes: datetime | None


@dataclass(slots=True)
class SubjectUpserted:
    subject_id: UUID
    program_id: UUID
    code: str
    title: str
    category: str
    status: str
    grade_min: int = 7
    grade_max: int = 12
    class_size_max: int | None = None
    class_size_optimal: int | None = None
    is_lunch: bool = False


@dataclass(slots=True)
class SubjectStatusChanged:
    subject_id: UUID
    status: str


@dataclass(slots=True)
class SubjectDetailsChanged:
    """Every detail column of the class, as they are after the change."""

    subject_id: UUID
    title: str
    category: str
    grade_min: int
    grade_max: int
    class_size_max: int | None
    class_size_optimal: int | None
    is_lunch: bool


@dataclass(slots=True)
class SectionUpserted:
    section_id: UUID
    program_id: UUID
    subject_id: UUID
    index: int
    timeslot_ids: tuple[UUID, ...]
    capacity: int
    room_capacity: int | None = None
    max_class_capacity: int | None = None


@dataclass(slots=True)
class SectionTimeslotsChanged:
    section_id: UUID
    timeslot_ids: tuple[UUID, ...]


@dataclass(slots=True)
class SeatsChanged:
    """The section's capacity and the sizes it came from (seats taken are counted from the seat
    rows)."""

    section_id: UUID
    capacity: int
    room_capacity: int | None = None
    max_class_capacity: int | None = None


@dataclass(slots=True)
class SectionStatusChanged:
    section_id: UUID
    is_open: bool | None = None
    is_cancelled: bool | None = None


@dataclass(slots=True)
class TimeslotAdded:
    program_id: UUID
    timeslot_id: UUID
    label: str
    start: datetime
    end: datetime


@dataclass(slots=True)
class RunStarted:
    run_id: UUID
    program_id: UUID
    seed: int
    input_position: int
    status: str
    started_at: datetime
    actor: str
    # Set by later events (`RunPatch`); a run started and finished in one batch is one row.
    assignment_digest: str | None = None
    assignments: int | None = None
    enrolments: int | None = None
    ended_at: datetime | None = None


@dataclass(slots=True)
class RunPatch:
    """A run's new status and what came with it (None: unchanged)."""

    run_id: UUID
    status: str | None = None
    assignment_digest: str | None = None
    assignments: int | None = None
    enrolments: int | None = None
    ended_at: datetime | None = None
