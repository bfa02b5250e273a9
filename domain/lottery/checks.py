"""Self-check of a lottery result, in the spirit of the reference's `check_assignments`."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date
    from uuid import UUID

    from regledger.domain.lottery.model import (
        Assignment,
        LotteryInput,
        LotteryParameters,
        LotteryResult,
        LotterySection,
        LotteryStudent,
    )


class LotteryInvariantError(RuntimeError):
    """A computed assignment broke a rule the algorithm must never break (a bug, not input)."""


def check_assignments(inp: LotteryInput, params: LotteryParameters, result: LotteryResult) -> None:
    """Raise LotteryInvariantError unless every seat respects every lottery rule."""
    sections = {s.id: s for s in inp.sections}
    students = {s.id: s for s in inp.students}
    by_student: defaultdict[UUID, list[Assignment]] = defaultdict(list)
    for assignment in result.assignments:
        if assignment.section_id not in sections or assignment.student_id not in students:
            raise LotteryInvariantError(f"unknown id in {assignment}")
        by_student[assignment.student_id].append(assignment)
    _check_capacity(result, sections)
    cap = inp.program_size_max or 0
    if cap and len(by_student) > cap:
        raise LotteryInvariantError(f"{len(by_student)} students enrolled over cap {cap}")
    lunch = _lunch_by_day(inp)
    for student_id, seats in by_student.items():
        mine = [sections[a.section_id] for a in seats]
        _check_student(students[student_id], seats, mine, params, inp.grade_free_level)
        _check_lunch(student_id, mine, lunch)


def _check_capacity(result: LotteryResult, sections: dict[UUID, LotterySection]) -> None:
    seats = Counter(a.section_id for a in result.assignments)
    for section_id, count in seats.items():
        if count > sections[section_id].capacity:
            raise LotteryInvariantError(f"section {section_id} over capacity")


def _check_student(
    student: LotteryStudent,
    seats: list[Assignment],
    mine: list[LotterySection],
    params: LotteryParameters,
    grade_free_level: int,
) -> None:
    slots = [t for s in mine for t in s.timeslot_ids]
    if len(slots) != len(set(slots)):
        raise LotteryInvariantError(f"student {student.id} has a timeslot conflict")
    if len({s.subject_id for s in mine}) != len(mine):
        raise LotteryInvariantError(f"student {student.id} has two sections of one class")
    wanted = student.interested.union(*student.priorities)
    for assignment, section in zip(seats, mine, strict=True):
        if section.id not in wanted:
            raise LotteryInvariantError(f"student {student.id} got an unrequested section")
        _check_seat(student, assignment, section, params, grade_free_level)
    if params.max_sections and len(mine) > params.max_sections:
        raise LotteryInvariantError(f"student {student.id} has too many sections")
    longest = max(len(s.timeslot_ids) for s in mine)
    if params.max_timeslots and len(slots) - longest >= params.max_timeslots:
        raise LotteryInvariantError(f"student {student.id} has too many timeslots")


def _check_seat(
    student: LotteryStudent,
    assignment: Assignment,
    section: LotterySection,
    params: LotteryParameters,
    grade_free_level: int,
) -> None:
    if section.is_lunch or not section.timeslot_ids:
        raise LotteryInvariantError(f"section {section.id} is not a lottery section")
    grade_checked = params.check_grade and not (grade_free_level and assignment.level == grade_free_level)
    if grade_checked and not section.grade_min <= student.grade <= section.grade_max:
        raise LotteryInvariantError(f"student {student.id} is outside the grade range")
    if assignment.level and not _ranked_or_starred(student, section.id, assignment.level):
        raise LotteryInvariantError(f"student {student.id} got level {assignment.level} wrongly")


def _ranked_or_starred(student: LotteryStudent, section_id: UUID, level: int) -> bool:
    # With fill_low_priorities a starred section may be promoted to a priority level.
    if level <= len(student.priorities) and section_id in student.priorities[level - 1]:
        return True
    return section_id in student.interested


def _lunch_by_day(inp: LotteryInput) -> dict[date, set[UUID]]:
    days = {t.id: t.day for t in inp.timeslots}
    lunch: defaultdict[date, set[UUID]] = defaultdict(set)
    for section in inp.sections:
        if section.is_lunch:
            for slot in section.timeslot_ids:
                lunch[days[slot]].add(slot)
    return lunch


def _check_lunch(student_id: UUID, mine: list[LotterySection], lunch: dict[date, set[UUID]]) -> None:
    busy = {t for s in mine for t in s.timeslot_ids}
    for day, slots in lunch.items():
        if slots <= busy:
            raise LotteryInvariantError(f"student {student_id} has no free lunch on {day}")
