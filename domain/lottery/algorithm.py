"""The reference lottery: weighted section filling, priorities first, then interest.

Behaviour follows ESP's `LotteryAssignmentController` (see docs/esp-reference.md §4.3):

* Eligible sections have at least one timeslot and are not lunch sections. Lunch sections only
  mark which timeslots are lunch; the reference never assigns them (a separate script does),
  so neither do we, and a preference for one is ignored.
* Capacity is the full capacity: the lottery is a full reassignment.
* For each priority level, sections are filled longest first, shuffled within a length; then
  interest fills the least demanded sections (interested students / capacity) first.
* Over-subscribed sections draw winners without replacement, with probability proportional to
  each student's weight; winners' weights are divided by Kp (priority) or Ki (interest).
* `max_timeslots` is compared with the slots filled *before* an assignment, as the reference
  does, so a long section may take a student past it.
* A program cap (`program_size_max`) of None or 0 means no cap, as in the reference.
* With grade-range exceptions the input has one more level after N (the reference's
  `effective = real + 1`), filled like a priority (Kp) but without the grade check.

Unlike the reference, all randomness comes from one PCG64 stream seeded by the caller, and
shuffles and draws are built from uniform doubles only (no library sampling routines), so one
input and seed give a byte-identical result on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery._arrays import build_arrays
from regledger.domain.lottery._low_priorities import fill_low_priorities
from regledger.domain.lottery.checks import check_assignments
from regledger.domain.lottery.model import Assignment, LotteryResult

if TYPE_CHECKING:
    from regledger.domain.lottery._arrays import (
        BoolArray,
        FloatArray,
        IntArray,
        ProgramArrays,
    )
    from regledger.domain.lottery.model import LotteryInput, LotteryParameters

PRIORITY_UTILITY = 1.5
INTEREST_UTILITY = 1.0


def compute_assignment(inp: LotteryInput, params: LotteryParameters, seed: int) -> LotteryResult:
    """Assign seats; the same input, parameters and seed always give the same result."""
    params.validate()
    inp.validate()
    if seed < 0:
        raise InvalidInputError("seed must not be negative", seed=seed)
    rng = np.random.Generator(np.random.PCG64(seed))
    arrays = build_arrays(inp)
    priority = arrays.priority
    if params.fill_low_priorities:
        priority = fill_low_priorities(arrays, rng)
    run = _Run(arrays, params, inp.program_size_max or 0, rng)
    for level, matrix in enumerate(priority, start=1):
        run.fill_all(_priority_order(arrays, rng), _candidates(matrix), level)
    run.fill_all(_interest_order(arrays), _candidates(arrays.interest), 0)
    result = LotteryResult(run.assignments())
    check_assignments(inp, params, result)
    return result


def _candidates(matrix: BoolArray) -> list[IntArray]:
    """Per section, the sorted indices of the students who want it."""
    rows, cols = np.nonzero(matrix.T)
    counts = np.bincount(rows, minlength=matrix.shape[1])
    return np.split(cols.astype(np.int64), np.cumsum(counts)[:-1])


def _priority_order(arrays: ProgramArrays, rng: np.random.Generator) -> IntArray:
    # Sorting on fresh uniform keys is a shuffle; lexsort keeps length as the primary key.
    sections = np.flatnonzero(arrays.eligible)
    keys = rng.random(sections.size)
    return sections[np.lexsort((keys, -arrays.length[sections]))]


def _interest_order(arrays: ProgramArrays) -> IntArray:
    sections = np.flatnonzero(arrays.eligible)
    demand = arrays.interest[:, sections].sum(axis=0).astype(np.float64)
    capacity = arrays.capacity[sections]
    ratio = np.full(sections.size, np.inf)
    np.divide(demand, capacity, out=ratio, where=capacity > 0)
    return sections[np.argsort(ratio, kind="stable")]


def weighted_draw(rng: np.random.Generator, weights: FloatArray, count: int) -> IntArray:
    """Pick `count` distinct indices, each draw proportional to weight among those left.

    Draws from the full distribution and rejects repeats (which is the same distribution as
    removing winners), rebuilding the cumulative sums only when a batch runs dry.
    """
    taken = np.zeros(weights.size, dtype=bool)
    need = count
    while need > 0:
        cumulative = np.cumsum(np.where(taken, 0.0, weights))
        points = rng.random(2 * need) * cumulative[-1]
        picks = np.minimum(np.searchsorted(cumulative, points, side="right"), weights.size - 1)
        picks = picks[~taken[picks]]
        _, first = np.unique(picks, return_index=True)
        fresh = picks[np.sort(first)][:need]
        taken[fresh] = True
        need -= fresh.size
    return np.flatnonzero(taken).astype(np.int64)


@dataclass
class _Run:
    """Mutable state of one run: who sits where, and each student's weight and utility."""

    arrays: ProgramArrays
    params: LotteryParameters
    program_cap: int
    rng: np.random.Generator
    occupied: BoolArray = field(init=False)
    subjects_taken: BoolArray = field(init=False)
    section_count: IntArray = field(init=False)
    filled: IntArray = field(init=False)
    weight: FloatArray = field(init=False)
    seats: IntArray = field(init=False)
    enrolled: int = 0
    granted: list[tuple[IntArray, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n_students = len(self.arrays.student_ids)
        self.occupied = np.zeros((n_students, self.arrays.incidence.shape[1]), dtype=bool)
        self.subjects_taken = np.zeros((n_students, self.arrays.n_subjects), dtype=bool)
        self.section_count = np.zeros(n_students, dtype=np.int64)
        self.filled = np.zeros(n_students, dtype=np.int64)
        self.weight = np.ones(n_students, dtype=np.float64)
        self.seats = np.zeros(len(self.arrays.section_ids), dtype=np.int64)

    def fill_all(self, order: IntArray, candidates: list[IntArray], level: int) -> None:
        for section in order.tolist():
            if candidates[section].size and not self.arrays.blocks_lunch[section]:
                self.fill_section(section, candidates[section], level)

    def fill_section(self, section: int, candidates: IntArray, level: int) -> None:
        spaces = int(self.arrays.capacity[section] - self.seats[section])
        if self.program_cap:
            spaces = min(spaces, self.program_cap - self.enrolled)
        if spaces <= 0:
            return
        able = candidates[self._able(section, candidates, level)]
        if able.size > spaces:
            able = able[weighted_draw(self.rng, self.weight[able], spaces)]
        if able.size:
            self._seat(section, able, level)

    def _able(self, section: int, candidates: IntArray, level: int) -> BoolArray:
        arrays, params = self.arrays, self.params
        ok: BoolArray = ~self.subjects_taken[candidates, arrays.subject[section]]
        ok &= ~self.occupied[np.ix_(candidates, arrays.must_free[section])].any(axis=1)
        if params.check_grade and not (arrays.grade_free_level and level == arrays.grade_free_level):
            grades = arrays.grades[candidates]
            ok &= (grades >= arrays.grade_min[section]) & (grades <= arrays.grade_max[section])
        if params.max_sections:
            ok &= self.section_count[candidates] < params.max_sections
        if params.max_timeslots:
            ok &= self.filled[candidates] < params.max_timeslots
        return ok

    def _seat(self, section: int, winners: IntArray, level: int) -> None:
        arrays = self.arrays
        self.enrolled += int(np.count_nonzero(self.section_count[winners] == 0))
        self.occupied[np.ix_(winners, arrays.slots[section])] = True
        self.subjects_taken[winners, arrays.subject[section]] = True
        self.section_count[winners] += 1
        self.filled[winners] += arrays.length[section]
        self.weight[winners] /= self.params.kp if level else self.params.ki
        self.seats[section] += winners.size
        self.granted.append((winners, section, level))

    def assignments(self) -> tuple[Assignment, ...]:
        """All seats, already in canonical order (both axes are sorted by UUID)."""
        if not self.granted:
            return ()
        students = np.concatenate([w for w, _, _ in self.granted])
        sections = np.concatenate([np.full(w.size, j) for w, j, _ in self.granted])
        levels = np.concatenate([np.full(w.size, level) for w, _, level in self.granted])
        order = np.lexsort((sections, students))
        student_ids, section_ids = self.arrays.student_ids, self.arrays.section_ids
        return tuple(
            Assignment(student_ids[s], section_ids[j], level)
            for s, j, level in zip(
                students[order].tolist(),
                sections[order].tolist(),
                levels[order].tolist(),
                strict=True,
            )
        )
