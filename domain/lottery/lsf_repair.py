"""The `lsf-repair/1` lottery: ESP's passes, least-served first, then repair and rescue.

Specified in issue 13 §2. In short, with N the number of priority levels:

A. ESP's passes in ESP's order (levels 1..N, sections longest first in a fresh random order per
   level, then interest by interested/capacity), but an over-subscribed section seats the
   candidates holding the fewest seats so far, ties by one uniform draw per candidate.
   `fill_low_priorities` runs first, as in ESP.
B. Repair (`_lsf_repair_passes`): B1 evens out priority seats, B2 evens out seats by moving
   star-held seats only; neither lowers the number of priority-1 seats.
C. Rescue: students still at zero take a free wish, or a seat from a holder of 2 or more seats
   whose request is no stronger.
D. `check_assignments`, then the canonical sorted result.

A seat's `level` is the student's strongest request for the section: its priority level
(1..N), or 0 when only starred. With grade-range exceptions the arrays carry one more level
(`grade_free_level`, the program's priority limit + 1) and N counts it: it is a priority level,
its pass skips the grade check as in ESP, and a seat outside the student's grade range can only
be held at that level.

Decisions where the issue leaves a choice:
* Program cap: a section may seat students who already hold a seat whatever the cap; students
  without one only while fewer than the cap are enrolled (ESP instead stops every section once
  the program is full). Over-subscription, fewest seats first, applies within that.
* Ties between a student's wishes of equal strength go to the lower section index (id order),
  without a draw; ties between holders are drawn uniformly among them in student id order.
* REFILL gives the holder one seat: the strongest free wish it can take, any strength.
* The rescue picks the holder with the most seats; ties go to the rescued student's strongest
  request, then the section in id order, then a draw among that section's tied holders.

All randomness comes from one PCG64 stream seeded by the caller, drawn in this order:
fill_low_priorities, per level the section order, per over-subscribed section (or one with
fewer places left under the program cap than newcomers able to take it) one draw per able
candidate, per repair pass one draw per student and one per move whose holders tie, then one
draw per student at zero with an able wish and one per rescue whose holders tie. Only uniform
doubles are drawn, so one input and seed give a byte-identical result on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery._arrays import build_arrays
from regledger.domain.lottery._low_priorities import fill_low_priorities
from regledger.domain.lottery._lsf_repair_passes import PRIORITY_REPAIR, SEAT_REPAIR, repair, rescue
from regledger.domain.lottery._lsf_state import LsfState, strength_matrix
from regledger.domain.lottery.checks import check_assignments
from regledger.domain.lottery.model import Assignment, LotteryResult

if TYPE_CHECKING:
    from regledger.domain.lottery._arrays import BoolArray, IntArray, ProgramArrays
    from regledger.domain.lottery.model import LotteryInput, LotteryParameters

ALGORITHM_ID = "lsf-repair/1"


@dataclass(frozen=True)
class LsfStages:
    """The seats after each stage, for tests and diagnostics; `result` is the checked output."""

    after_passes: LotteryResult
    after_priority_repair: LotteryResult
    after_repair: LotteryResult
    result: LotteryResult
    repair_passes: tuple[int, int]


def compute_lsf_repair(inp: LotteryInput, params: LotteryParameters, seed: int) -> LotteryResult:
    """Assign seats; the same input, parameters and seed always give the same result."""
    return run_lsf_repair(inp, params, seed).result


def run_lsf_repair(
    inp: LotteryInput, params: LotteryParameters, seed: int, *, fast: bool = True, stages: bool = False
) -> LsfStages:
    """Run every stage. `fast=False` takes the plain reference path (same result, slower);
    `stages=True` also snapshots the seats after A, B1 and B2 (otherwise those equal `result`)."""
    params.validate()
    inp.validate()
    if seed < 0:
        raise InvalidInputError("seed must not be negative", seed=seed)
    rng = np.random.Generator(np.random.PCG64(seed))
    arrays = build_arrays(inp)
    priority = arrays.priority
    if params.fill_low_priorities:
        priority = fill_low_priorities(arrays, rng)
    strength = strength_matrix(priority, arrays.interest)
    free = arrays.grade_free_level
    exception = priority[free - 1] if free else None
    state = LsfState(arrays, params, inp.program_size_max or 0, strength, len(priority), free, exception)
    for level, matrix in enumerate(priority, start=1):
        order = _priority_order(arrays, rng)
        _fill_all(state, rng, order, _candidates(matrix), check_grade=level != free)
    _fill_all(state, rng, _interest_order(arrays), _candidates(arrays.interest))
    after_passes = _result(state) if stages else None
    b1 = repair(state, rng, PRIORITY_REPAIR, fast=fast)
    after_b1 = _result(state) if stages else None
    b2 = repair(state, rng, SEAT_REPAIR, fast=fast)
    after_b2 = _result(state) if stages else None
    rescue(state, rng)
    result = _result(state)
    check_assignments(inp, params, result)
    return LsfStages(after_passes or result, after_b1 or result, after_b2 or result, result, (b1, b2))


def _candidates(matrix: BoolArray) -> list[IntArray]:
    """Per section, the sorted indices of the students who want it."""
    cols, rows = np.nonzero(matrix.T)
    counts = np.bincount(cols, minlength=matrix.shape[1])
    return np.split(rows.astype(np.int64), np.cumsum(counts)[:-1])


def _priority_order(arrays: ProgramArrays, rng: np.random.Generator) -> IntArray:
    """Eligible sections longest first, shuffled within a length by fresh uniform keys."""
    sections = np.flatnonzero(arrays.eligible)
    keys = rng.random(sections.size)
    return sections[np.lexsort((keys, -arrays.length[sections]))].astype(np.int64)


def _interest_order(arrays: ProgramArrays) -> IntArray:
    """Eligible sections by ascending interested/capacity (no capacity: last), stable."""
    sections = np.flatnonzero(arrays.eligible)
    demand = arrays.interest[:, sections].sum(axis=0).astype(np.float64)
    capacity = arrays.capacity[sections]
    ratio = np.full(sections.size, np.inf)
    np.divide(demand, capacity, out=ratio, where=capacity > 0)
    return sections[np.argsort(ratio, kind="stable")].astype(np.int64)


def _fill_all(
    state: LsfState,
    rng: np.random.Generator,
    order: IntArray,
    candidates: list[IntArray],
    *,
    check_grade: bool = True,
) -> None:
    for section in order.tolist():
        if candidates[section].size and state.lottery[section]:
            _fill_section(state, rng, section, candidates[section], check_grade)


def _fill_section(
    state: LsfState, rng: np.random.Generator, section: int, candidates: IntArray, check_grade: bool
) -> None:
    spaces = int(state.arrays.capacity[section] - state.seats[section])
    if spaces <= 0:
        return
    able = candidates[state.able_candidates(section, candidates, check_grade)]
    if not able.size:
        return
    cap = state.program_cap
    room = cap - state.enrolled if cap else able.size
    fresh = int(np.count_nonzero(state.cnt[able] == 0))
    if able.size > spaces or fresh > room:
        draws = rng.random(able.size)
        able = able[np.lexsort((draws, state.cnt[able]))]
        if fresh > room:
            new = state.cnt[able] == 0
            able = able[~new | (np.cumsum(new) <= room)]
        able = np.sort(able[:spaces])
    if able.size:
        state.add_many(able, section)


def _result(state: LsfState) -> LotteryResult:
    students, sections = np.nonzero(state.held)
    strength = state.strength[students, sections]
    levels = np.where(strength <= state.levels, strength, 0)
    student_ids, section_ids = state.arrays.student_ids, state.arrays.section_ids
    return LotteryResult(
        tuple(
            Assignment(student_ids[s], section_ids[j], level)
            for s, j, level in zip(students.tolist(), sections.tolist(), levels.tolist(), strict=True)
        )
    )
