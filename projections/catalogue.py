"""The catalogue read model: programs, timeslots, classes, sections and students with the names
people use, so a client renders a screen from one answer.

Every row comes from the projected views (never from replaying aggregates per request). A
section's `code` is its class's code, `s` and its number (`M101s1`), as the reference's
`emailcode`; `section_id_of_code` turns it back into the section's deterministic id.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from regledger.domain.ids import ProgramId, SectionId, section_id, subject_id

_SECTION_CODE = re.compile(r"(?P<code>.+)s(?P<index>[1-9][0-9]{0,3})")


def section_code(class_code: str, index: int) -> str:
    return f"{class_code}s{index}"


def section_code_parts(code: str) -> tuple[str, int] | None:
    """(class code, section number) of a section code, None if it is not one."""
    found = _SECTION_CODE.fullmatch(code)
    return None if found is None else (found["code"], int(found["index"]))


def section_id_of_code(program: ProgramId, code: str) -> SectionId | None:
    """The id a section code names (whether or not that section exists), None if malformed."""
    parts = section_code_parts(code)
    return None if parts is None else section_id(subject_id(program, parts[0]), parts[1])


@dataclass(frozen=True)
class WindowView:
    kind: str
    opens: datetime | None
    closes: datetime | None


@dataclass(frozen=True)
class ProgramView:
    program_id: UUID
    slug: str
    title: str
    grade_min: int
    grade_max: int
    school_year: int
    created_at: datetime
    settings: dict[str, Any]  # every setting set at creation or since (JSON values)
    windows: tuple[WindowView, ...]

    @property
    def timezone(self) -> str:
        return str(self.settings.get("timezone", "UTC"))


@dataclass(frozen=True)
class TimeslotView:
    timeslot_id: UUID
    program_id: UUID
    label: str
    starts: datetime
    ends: datetime
    has_lunch: bool  # a lunch class meets in it


@dataclass(frozen=True)
class SectionView:
    section_id: UUID
    program_id: UUID
    subject_id: UUID
    index: int
    class_code: str
    class_title: str
    category: str
    class_status: str
    grade_min: int
    grade_max: int
    timeslots: tuple[TimeslotView, ...]
    room_capacity: int | None
    max_class_capacity: int | None
    capacity: int
    enrolled: int
    waitlisted: int
    is_open: bool
    is_cancelled: bool

    @property
    def code(self) -> str:
        return section_code(self.class_code, self.index)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.enrolled)

    @property
    def timeslot_ids(self) -> tuple[UUID, ...]:
        return tuple(t.timeslot_id for t in self.timeslots)


@dataclass(frozen=True)
class ClassView:
    subject_id: UUID
    program_id: UUID
    code: str
    title: str
    category: str
    grade_min: int
    grade_max: int
    status: str
    class_size_max: int | None
    class_size_optimal: int | None
    is_lunch: bool
    sections: tuple[SectionView, ...] = field(default=())


@dataclass(frozen=True)
class StudentView:
    student_id: UUID
    program_id: UUID
    key: str
    registered_at: datetime
    name: str | None  # None until the student submits a profile
    graduation_year: int | None
    email: str | None
    checked_in_at: datetime | None = None  # set while checked in on the day


@dataclass(frozen=True)
class StarInterval:
    """One star on a class: [valid_from, valid_to), valid_to None while it stands."""

    student_id: UUID
    subject_id: UUID
    valid_from: datetime
    valid_to: datetime | None
    actor: str
    end_actor: str | None


@dataclass(frozen=True)
class RunView:
    """A lottery run of a program: its seed and input, and how far it went."""

    run_id: UUID
    program_id: UUID
    seed: int
    input_position: int
    status: str  # started, computed, committed or discarded
    started_at: datetime
    actor: str
    assignment_digest: str | None
    assignments: int | None
    enrolments: int | None
    ended_at: datetime | None


@dataclass(frozen=True)
class CatalogueFilter:
    """Filters of a catalogue listing; None means "any". `grade` keeps classes whose grade range
    holds it; `has_free` keeps sections with a free seat (classes with at least one);
    `statuses` keeps classes in these review statuses; `after` is the last code of the
    previous page."""

    timeslot_id: UUID | None = None
    category: str | None = None
    grade: int | None = None
    has_free: bool | None = None
    subject_ids: tuple[UUID, ...] | None = None  # any of these classes
    statuses: tuple[str, ...] | None = None  # of the class
    after: str | None = None
    limit: int | None = None


class CatalogueViews(ABC):
    """The catalogue's queries (implemented in SQL beside the registration views)."""

    @abstractmethod
    def programs(self) -> list[ProgramView]:
        """Every program, by slug."""

    @abstractmethod
    def program(self, program_id: UUID) -> ProgramView | None: ...

    @abstractmethod
    def timeslots(self, program_id: UUID) -> list[TimeslotView]:
        """The program's timeslots by start (then label)."""

    @abstractmethod
    def section_views(self, program_id: UUID, where: CatalogueFilter | None = None) -> list[SectionView]:
        """Sections by code (class code, then number), filtered and paged by `where`."""

    @abstractmethod
    def section_view(self, section_id: UUID) -> SectionView | None: ...

    @abstractmethod
    def sections_by_id(self, section_ids: Iterable[UUID]) -> dict[UUID, SectionView]:
        """The sections that exist among `section_ids` (to name a schedule's or a run's)."""

    @abstractmethod
    def classes(self, program_id: UUID, where: CatalogueFilter | None = None) -> list[ClassView]:
        """Classes by code with their sections; a class is kept when one of its sections passes
        the section filters (timeslot, has_free) -- or, unfiltered, when it has no section."""

    @abstractmethod
    def class_view(self, subject_id: UUID) -> ClassView | None: ...

    @abstractmethod
    def student_views(self, student_ids: Iterable[UUID]) -> dict[UUID, StudentView]:
        """The named students that exist (unknown ids are left out)."""

    @abstractmethod
    def program_students(
        self, program_id: UUID, *, search: str | None = None, after: str | None = None, limit: int | None = None
    ) -> list[StudentView]:
        """The program's students by key; `search` matches a key or name prefix (any case)."""

    @abstractmethod
    def lottery_runs(self, program_id: UUID) -> list[RunView]:
        """The program's lottery runs, newest first."""

    @abstractmethod
    def star_history(self, student_id: UUID) -> list[StarInterval]:
        """Every star and unstar of the student, in time order."""
