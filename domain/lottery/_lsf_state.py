"""The mutable seat state of the `lsf-repair/1` lottery: who sits where, and what each may take.

Axes are those of `ProgramArrays` (students and sections in canonical id order). Unlike the
reference lottery's state, seats can be taken back (repair and rescue move them), so every
per-student count is kept exact under removal as well as addition.

`strength[s, j]` is the request strength: the lowest priority level L (1..N) at which student s
ranked section j, N+1 for a star (interest) only, 0 for no request. A seat is a priority seat
when its strength is at most N.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from regledger.domain.lottery._arrays import BoolArray, IntArray, ProgramArrays
    from regledger.domain.lottery.model import LotteryParameters


def strength_matrix(priority: tuple[BoolArray, ...], interest: BoolArray) -> IntArray:
    """str[s, j]: the lowest level ranking j (1..N), else N+1 if starred, else 0."""
    levels = len(priority)
    strength = interest.astype(np.int64) * (levels + 1)
    for level in range(levels, 0, -1):  # lowest level last, so it wins
        np.copyto(strength, level, where=priority[level - 1])
    return strength


@dataclass
class LsfState:
    """Seats, per-student counts and per-section holders; `add`/`remove` keep them consistent."""

    arrays: ProgramArrays
    params: LotteryParameters
    program_cap: int
    strength: IntArray
    levels: int
    # The reference's grade-range exception level (1-based; 0: none) and its requests.
    grade_free_level: int = 0
    grade_exception: BoolArray | None = None
    lottery: BoolArray = field(init=False)
    grade_ok: BoolArray = field(init=False)
    must_free: BoolArray = field(init=False)
    occupied: BoolArray = field(init=False)
    subjects_taken: BoolArray = field(init=False)
    held: BoolArray = field(init=False)
    cnt: IntArray = field(init=False)
    prio: IntArray = field(init=False)
    filled: IntArray = field(init=False)
    seats: IntArray = field(init=False)
    holders: IntArray = field(init=False)
    wants: list[IntArray] = field(init=False)
    _pairs: tuple[IntArray, IntArray, IntArray] = field(init=False)
    enrolled: int = 0

    def __post_init__(self) -> None:
        arrays = self.arrays
        n_students, n_sections = len(arrays.student_ids), len(arrays.section_ids)
        n_slots = arrays.incidence.shape[1]
        # Lunch-blocking sections are never filled (as in the reference), so never wanted here.
        self.lottery = arrays.eligible & ~arrays.blocks_lunch
        grades = arrays.grades[:, np.newaxis]
        self.grade_ok = (grades >= arrays.grade_min[np.newaxis, :]) & (grades <= arrays.grade_max[np.newaxis, :])
        if not self.params.check_grade:
            self.grade_ok[:] = True
        elif self.grade_free_level and self.grade_exception is not None:
            # An exception is the only way to a seat outside the grade range, so such a seat
            # is held at the exception level, where the grade is not checked.
            outside = self.grade_exception & ~self.grade_ok
            np.copyto(self.strength, self.grade_free_level, where=outside)
            self.grade_ok |= outside
        self.must_free = np.zeros((n_sections, n_slots), dtype=bool)
        for j, slots in enumerate(arrays.must_free):
            self.must_free[j, slots] = True
        self.occupied = np.zeros((n_students, n_slots), dtype=bool)
        self.subjects_taken = np.zeros((n_students, arrays.n_subjects), dtype=bool)
        self.held = np.zeros((n_students, n_sections), dtype=bool)
        self.cnt = np.zeros(n_students, dtype=np.int64)
        self.prio = np.zeros(n_students, dtype=np.int64)
        self.filled = np.zeros(n_students, dtype=np.int64)
        self.seats = np.zeros(n_sections, dtype=np.int64)
        room = int(arrays.capacity[self.lottery].max()) if self.lottery.any() else 0
        self.holders = np.full((n_sections, max(room, 1)), -1, dtype=np.int64)
        rows, cols = np.nonzero((self.strength > 0) & self.lottery[np.newaxis, :])
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        self._pairs = (rows, cols, self.strength[rows, cols])
        self.wants = self.wishes(self.levels + 1)

    def wishes(self, high: int) -> list[IntArray]:
        """Per student, the lottery sections wanted at strength 1..high, strongest first
        (equal strengths in section order)."""
        students, sections, strength = self.pairs(high)
        order = np.argsort(students * (self.levels + 2) + strength, kind="stable")
        counts = np.bincount(students, minlength=self.cnt.size)
        return np.split(sections[order], np.cumsum(counts)[:-1])

    def wanters(self, high: int) -> list[IntArray]:
        """Per section, the students wanting it at strength 1..high, in id order."""
        students, sections, _ = self.pairs(high)
        order = np.argsort(sections, kind="stable")
        counts = np.bincount(sections, minlength=self.seats.size)
        return np.split(students[order], np.cumsum(counts)[:-1])

    def pairs(self, high: int) -> tuple[IntArray, IntArray, IntArray]:
        """Every (student, section, strength) wish at strength 1..high, by student then section."""
        students, sections, strength = self._pairs
        if high > self.levels:
            return students, sections, strength
        keep = strength <= high
        return students[keep], sections[keep], strength[keep]

    def student_may_grow(self, student: int) -> bool:
        """The caps that depend on the student only (sections, timeslots, program cap)."""
        params = self.params
        if params.max_sections and self.cnt[student] >= params.max_sections:
            return False
        if params.max_timeslots and self.filled[student] >= params.max_timeslots:
            return False
        return not (self.program_cap and self.cnt[student] == 0 and self.enrolled >= self.program_cap)

    def able(self, student: int, sections: IntArray) -> BoolArray:
        """Whether the student could take each section now, ignoring whether it is full."""
        if not self.student_may_grow(student):
            return np.zeros(sections.size, dtype=bool)
        arrays = self.arrays
        ok: BoolArray = ~self.subjects_taken[student, arrays.subject[sections]]
        ok &= ~(self.must_free[sections] & self.occupied[student]).any(axis=1)
        ok &= self.grade_ok[student, sections]
        return ok

    def able_candidates(self, section: int, candidates: IntArray, check_grade: bool = True) -> BoolArray:
        """Whether each candidate could take the section now (the reference's filter)."""
        arrays, params = self.arrays, self.params
        ok: BoolArray = ~self.subjects_taken[candidates, arrays.subject[section]]
        ok &= ~self.occupied[np.ix_(candidates, arrays.must_free[section])].any(axis=1)
        if check_grade and params.check_grade:
            grades = arrays.grades[candidates]
            ok &= (grades >= arrays.grade_min[section]) & (grades <= arrays.grade_max[section])
        if params.max_sections:
            ok &= self.cnt[candidates] < params.max_sections
        if params.max_timeslots:
            ok &= self.filled[candidates] < params.max_timeslots
        return ok

    def full(self, sections: IntArray) -> BoolArray:
        return self.seats[sections] >= self.arrays.capacity[sections]

    def add(self, student: int, section: int) -> None:
        arrays = self.arrays
        if self.cnt[student] == 0:
            self.enrolled += 1
        self.occupied[student, arrays.slots[section]] = True
        self.subjects_taken[student, arrays.subject[section]] = True
        self.held[student, section] = True
        self.cnt[student] += 1
        self.prio[student] += int(self.strength[student, section] <= self.levels)
        self.filled[student] += arrays.length[section]
        row = self.holders[section]
        row[int(np.argmax(row < 0))] = student
        self.seats[section] += 1

    def add_many(self, students: IntArray, section: int) -> None:
        arrays = self.arrays
        self.enrolled += int(np.count_nonzero(self.cnt[students] == 0))
        self.occupied[np.ix_(students, arrays.slots[section])] = True
        self.subjects_taken[students, arrays.subject[section]] = True
        self.held[students, section] = True
        self.cnt[students] += 1
        self.prio[students] += self.strength[students, section] <= self.levels
        self.filled[students] += arrays.length[section]
        row = self.holders[section]
        row[np.flatnonzero(row < 0)[: students.size]] = students
        self.seats[section] += students.size

    def remove(self, student: int, section: int) -> None:
        arrays = self.arrays
        self.occupied[student, arrays.slots[section]] = False
        self.subjects_taken[student, arrays.subject[section]] = False
        self.held[student, section] = False
        self.cnt[student] -= 1
        self.prio[student] -= int(self.strength[student, section] <= self.levels)
        self.filled[student] -= arrays.length[section]
        row = self.holders[section]
        row[int(np.argmax(row == student))] = -1
        self.seats[section] -= 1
        if self.cnt[student] == 0:
            self.enrolled -= 1

    def refill(self, student: int) -> int | None:
        """Give the student its strongest free wish it can take; returns the section, if any."""
        wanted = self.wants[student]
        free = wanted[~self.full(wanted)]
        if not free.size:
            return None
        free = free[self.able(student, free)]
        if not free.size:
            return None
        section = int(free[0])
        self.add(student, section)
        return section

    def held_by(self, student: int) -> IntArray:
        return np.flatnonzero(self.held[student]).astype(np.int64)

    def seat_list(self) -> tuple[IntArray, IntArray]:
        """Every seat as (holder, section), in section order."""
        sections, places = np.nonzero(self.holders >= 0)
        return self.holders[sections, places], sections.astype(np.int64)
