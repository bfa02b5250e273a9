"""Lottery value objects: the frozen input snapshot, the parameters and the result."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast
from uuid import UUID

from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, datetime


def _sha256_json(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _ids(values: Iterable[UUID]) -> list[str]:
    return sorted(str(value) for value in values)


@dataclass(frozen=True)
class LotteryTimeslot:
    id: UUID
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass(frozen=True)
class LotterySection:
    id: UUID
    subject_id: UUID
    timeslot_ids: tuple[UUID, ...]
    capacity: int
    grade_min: int
    grade_max: int
    is_lunch: bool = False


@dataclass(frozen=True)
class LotteryStudent:
    id: UUID
    grade: int
    # Index 0 holds the level-1 (top) choices; each entry is a set of section ids.
    priorities: tuple[frozenset[UUID], ...] = ()
    # Stars are already expanded to every eligible section of the starred class.
    interested: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class LotteryParameters:
    """Tuning knobs of the reference lottery; 0 for a cap means "no cap"."""

    kp: float = 1.2
    ki: float = 1.1
    check_grade: bool = True
    max_sections: int = 0
    max_timeslots: int = 0
    fill_low_priorities: bool = False

    def validate(self) -> None:
        """Weight divisors must be positive finite numbers and caps non-negative."""
        for name in ("kp", "ki"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name} must be a positive number", **{name: value})
        for name in ("max_sections", "max_timeslots"):
            if getattr(self, name) < 0:
                raise InvalidInputError(f"{name} must not be negative", **{name: getattr(self, name)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LotteryParameters:
        params = cls(
            kp=float(data.get("kp", 1.2)),
            ki=float(data.get("ki", 1.1)),
            check_grade=bool(data.get("check_grade", True)),
            max_sections=int(data.get("max_sections", 0)),
            max_timeslots=int(data.get("max_timeslots", 0)),
            fill_low_priorities=bool(data.get("fill_low_priorities", False)),
        )
        params.validate()
        return params


@dataclass(frozen=True)
class LotteryInput:
    """Everything the lottery reads, snapshotted; `program_size_max` None or 0 means no cap."""

    timeslots: tuple[LotteryTimeslot, ...]
    sections: tuple[LotterySection, ...]
    students: tuple[LotteryStudent, ...]
    priority_limit: int
    program_size_max: int | None = None
    # The reference's `use_grade_range_exceptions`: students' priorities then hold one more
    # level, priority_limit + 1, whose seats skip the grade check.
    grade_range_exceptions: bool = False

    @property
    def levels(self) -> int:
        """The priority levels the lottery fills: N, or N + 1 with grade-range exceptions."""
        return self.priority_limit + self.grade_range_exceptions

    @property
    def grade_free_level(self) -> int:
        """The level whose seats skip the grade check (0: none)."""
        return self.priority_limit + 1 if self.grade_range_exceptions else 0

    def validate(self) -> None:
        """Ids are unique and every reference points at something in the snapshot."""
        if self.priority_limit < 0:
            raise InvalidInputError("priority_limit must not be negative")
        if self.program_size_max is not None and self.program_size_max < 0:
            raise InvalidInputError("program_size_max must not be negative")
        timeslot_ids = _unique("timeslot", (t.id for t in self.timeslots))
        section_ids = _unique("section", (s.id for s in self.sections))
        _unique("student", (s.id for s in self.students))
        for section in self.sections:
            _check_section(section, timeslot_ids)
        for student in self.students:
            _check_student(student, section_ids)

    def digest(self) -> str:
        """Order-independent fingerprint of the logical input (computed once per instance)."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = _sha256_json(self._canonical())
            object.__setattr__(self, "_digest", cached)  # a cache, not a field: eq/repr unchanged
        return cast(str, cached)

    def _canonical(self) -> dict[str, Any]:
        # str(UUID) is the cost here (hundreds of thousands of interest ids): each section's
        # text is made once; the text itself, so the digest, is unchanged.
        names = {s.id: str(s.id) for s in self.sections}

        def ids(values: Iterable[UUID]) -> list[str]:
            return sorted([names.get(value) or str(value) for value in values])

        timeslots = sorted([str(t.id), t.start.isoformat(), t.end.isoformat()] for t in self.timeslots)
        sections = sorted(
            [
                names[s.id],
                str(s.subject_id),
                _ids(s.timeslot_ids),
                s.capacity,
                s.grade_min,
                s.grade_max,
                s.is_lunch,
            ]
            for s in self.sections
        )
        students = sorted(
            [str(s.id), s.grade, [ids(level) for level in s.priorities], ids(s.interested)] for s in self.students
        )
        canonical: dict[str, Any] = {
            "timeslots": timeslots,
            "sections": sections,
            "students": students,
            "priority_limit": self.priority_limit,
            "program_size_max": self.program_size_max,
        }
        if self.grade_range_exceptions:
            # Only when on: inputs recorded before the option existed keep their digests.
            canonical["grade_range_exceptions"] = True
        return canonical


def _unique(kind: str, ids: Iterable[UUID]) -> frozenset[UUID]:
    seen: set[UUID] = set()
    for value in ids:
        if value in seen:
            raise InvalidInputError(f"duplicate {kind} id", id=str(value))
        seen.add(value)
    return frozenset(seen)


def _check_section(section: LotterySection, timeslot_ids: frozenset[UUID]) -> None:
    unknown = set(section.timeslot_ids) - timeslot_ids
    if unknown:
        raise InvalidInputError("section meets in an unknown timeslot", section_id=str(section.id))
    if len(set(section.timeslot_ids)) != len(section.timeslot_ids):
        raise InvalidInputError("section lists a timeslot twice", section_id=str(section.id))
    if section.capacity < 0:
        raise InvalidInputError("section capacity must not be negative", id=str(section.id))


def _check_student(student: LotteryStudent, section_ids: frozenset[UUID]) -> None:
    # Like the reference, a preference naming a section outside the snapshot aborts the run.
    wanted = set(student.interested).union(*student.priorities)
    if not wanted <= section_ids:
        raise InvalidInputError(
            "student prefers a section that is not in the lottery",
            student_id=str(student.id),
            section_ids=_ids(wanted - section_ids),
        )


@dataclass(frozen=True, order=True)
class Assignment:
    """One seat: `level` is the priority level that won it (1..N), or 0 for interest."""

    student_id: UUID
    section_id: UUID
    level: int


def _order(assignment: Assignment) -> tuple[int, int, int]:
    return (assignment.student_id.int, assignment.section_id.int, assignment.level)


@dataclass(frozen=True)
class LotteryResult:
    assignments: tuple[Assignment, ...] = field(default=())

    def __post_init__(self) -> None:
        # Canonical order makes equality and the digest independent of how it was built.
        object.__setattr__(self, "assignments", tuple(sorted(self.assignments, key=_order)))

    def digest(self) -> str:
        return _sha256_json([[str(a.student_id), str(a.section_id), a.level] for a in self.assignments])

    def as_dict(self) -> dict[str, Any]:
        return {
            "assignments": [
                {"student_id": str(a.student_id), "section_id": str(a.section_id), "level": a.level}
                for a in self.assignments
            ]
        }


@dataclass(frozen=True)
class InputSnapshot:
    """A lottery input as of a log position, and what the fold saw on the way."""

    input: LotteryInput
    position: int
    # Every section of the program at `position`, eligible or not.
    section_ids: tuple[UUID, ...]
    # Priority/N registrations left out because their section is not in the lottery.
    ignored_priorities: int


class LotteryInputSource(Protocol):
    """Where the lottery reads its input: the log as of a position (a read-side fold, wired by
    the composition root; `regledger.projections.lottery_input`)."""

    def lottery_snapshot(self, program_id: ProgramId, position: int) -> InputSnapshot: ...

    def lottery_snapshot_from_zero(self, program_id: ProgramId, position: int) -> InputSnapshot: ...

    def lottery_participants(self, program_id: ProgramId, position: int) -> set[UUID]: ...

    def program_members(self, program_id: ProgramId) -> tuple[list[UUID], list[UUID]]: ...
