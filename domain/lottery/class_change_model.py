"""Class-change lottery values: the frozen input as of a log position, the moves, the stats."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from regledger.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from uuid import UUID

    from regledger.domain.ids import ProgramId
    from regledger.domain.lottery.model import LotteryTimeslot

ALGORITHM = "esp-class-change/1"
KIND = "class_change"
# A request without a priority (ESP's plain `Request`); it is considered after every level.
NO_PRIORITY = 0


def _sha256_json(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChangeSection:
    """A scheduled section of the program as of the run's position.

    `offers_seats` is False for a section that may not take requesters (closed, cancelled,
    class not accepted, lunch); `waitlisted` counts the students queued for it, who are ahead
    of every requester."""

    id: UUID
    subject_id: UUID
    timeslot_ids: tuple[UUID, ...]
    capacity: int
    enrolled: int
    waitlisted: int = 0
    offers_seats: bool = True
    is_lunch: bool = False


@dataclass(frozen=True)
class ChangeStudent:
    """A student with requests: the sections held (Enrolled) and the requests (section, level)."""

    id: UUID
    enrolled: tuple[UUID, ...]
    requests: tuple[tuple[UUID, int], ...]


@dataclass(frozen=True)
class ClassChangeInput:
    timeslots: tuple[LotteryTimeslot, ...]
    sections: tuple[ChangeSection, ...]
    students: tuple[ChangeStudent, ...]
    priority_limit: int

    def validate(self) -> None:
        """Every reference points into the snapshot; levels are 0 (no priority) .. the limit."""
        slots = {t.id for t in self.timeslots}
        sections = {s.id for s in self.sections}
        if len(sections) != len(self.sections) or len(slots) != len(self.timeslots):
            raise InvalidInputError("duplicate section or timeslot in the class-change input")
        for section in self.sections:
            if not section.timeslot_ids or not set(section.timeslot_ids) <= slots:
                raise InvalidInputError("section is unscheduled or meets in an unknown slot", id=str(section.id))
        for student in self.students:
            wanted = {sid for sid, _ in student.requests}
            if not (wanted | set(student.enrolled)) <= sections:
                raise InvalidInputError("student names a section outside the input", student_id=str(student.id))
            if any(not NO_PRIORITY <= level <= self.priority_limit for _, level in student.requests):
                raise InvalidInputError("request level out of range", student_id=str(student.id))

    def digest(self) -> str:
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = _sha256_json(self._canonical())
            object.__setattr__(self, "_digest", cached)
        return cast(str, cached)

    def _canonical(self) -> dict[str, Any]:
        return {
            "timeslots": sorted([str(t.id), t.start.isoformat(), t.end.isoformat()] for t in self.timeslots),
            "sections": sorted(
                [
                    str(s.id),
                    str(s.subject_id),
                    sorted(str(t) for t in s.timeslot_ids),
                    s.capacity,
                    s.enrolled,
                    s.waitlisted,
                    s.offers_seats,
                    s.is_lunch,
                ]
                for s in self.sections
            ),
            "students": sorted(
                [str(s.id), sorted(str(x) for x in s.enrolled), sorted([str(x), lv] for x, lv in s.requests)]
                for s in self.students
            ),
            "priority_limit": self.priority_limit,
        }

    def student(self, student_id: UUID) -> ChangeStudent | None:
        index = self.__dict__.get("_by_id")
        if index is None:
            index = {s.id: s for s in self.students}
            object.__setattr__(self, "_by_id", index)
        return cast("dict[UUID, ChangeStudent]", index).get(student_id)


@dataclass(frozen=True, order=True)
class Move:
    """One student's change: sections added (with the level that won each) and dropped."""

    student_id: UUID
    added: tuple[tuple[UUID, int], ...]
    dropped: tuple[UUID, ...]


@dataclass(frozen=True)
class ClassChangeResult:
    moves: tuple[Move, ...] = field(default=())
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", tuple(sorted(self.moves, key=lambda m: m.student_id.int)))

    def digest(self) -> str:
        return _sha256_json(
            [
                [str(m.student_id), sorted([str(s), lv] for s, lv in m.added), sorted(str(s) for s in m.dropped)]
                for m in self.moves
            ]
        )


@dataclass(frozen=True)
class ClassChangeSnapshot:
    """The input as of a log position, and what the fold left out on the way."""

    input: ClassChangeInput
    position: int
    # Request registrations on sections that are not scheduled (so not in the input).
    ignored_requests: int


class ClassChangeInputSource(Protocol):
    """Where a class-change run reads its input: the log as of a position (the read side's fold)."""

    def class_change_snapshot(self, program_id: ProgramId, position: int) -> ClassChangeSnapshot: ...


__all__ = [
    "ALGORITHM",
    "KIND",
    "NO_PRIORITY",
    "ChangeSection",
    "ChangeStudent",
    "ClassChangeInput",
    "ClassChangeInputSource",
    "ClassChangeResult",
    "ClassChangeSnapshot",
    "Move",
]
