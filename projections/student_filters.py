"""Choosing students by what the views know of them: the day-of "saved filter" of a batch
registration (checked in, grades, free in a timeslot), as ESP's user filters do."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from regledger.domain.program import grade_in
from regledger.domain.values import ENROLLED
from regledger.projections.views import RegistrationViews


@dataclass(frozen=True)
class StudentFilter:
    """Every condition given must hold; None means "any"."""

    checked_in: bool | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    free_in_timeslot: UUID | None = None  # holds no Enrolled section meeting then

    def as_dict(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, UUID) else v) for k, v in vars(self).items() if v is not None}


def select_students(views: RegistrationViews, program_id: UUID, where: StudentFilter) -> list[str]:
    """The keys of the program's students the filter selects, in key order."""
    program = views.program(program_id)
    if program is None:
        return []
    busy: set[UUID] = set()
    if where.free_in_timeslot is not None:
        meeting = {s.section_id for s in views.section_views(program_id) if where.free_in_timeslot in s.timeslot_ids}
        rows = views.current_registrations(program_id, verbs=[ENROLLED])
        busy = {r.student_id for r in rows if r.section_id in meeting}
    keys = []
    for student in views.program_students(program_id):
        if where.checked_in is not None and (student.checked_in_at is not None) != where.checked_in:
            continue
        grade = grade_in(program.school_year, student.graduation_year)
        if where.grade_min is not None and grade < where.grade_min:
            continue
        if where.grade_max is not None and grade > where.grade_max:
            continue
        if student.student_id in busy:
            continue
        keys.append(student.key)
    return keys
