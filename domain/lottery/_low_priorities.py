"""The `fill_low_priorities` option: synthesise missing lower priorities from stars.

For each level i (top first) and each (student, timeslot) where the student ranked something
covering the slot but has nothing at level i or below (numerically >= i) covering it, pick one
of the student's starred sections that starts in that slot and avoids every slot already
covered at level >= i, uniformly at random, and rank it at level i. Sections the student
already ranked at any level are not picked again, so one section never holds two levels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from regledger.domain.lottery._arrays import BoolArray, IntArray, ProgramArrays


def fill_low_priorities(arrays: ProgramArrays, rng: np.random.Generator) -> tuple[BoolArray, ...]:
    """Every level's matrix, with the synthesised choices added; the grade-range exception
    level (the reference's extra level) is left as it is and not read."""
    real = len(arrays.priority) - bool(arrays.grade_free_level)
    priority = [matrix.copy() for matrix in arrays.priority[:real]]
    if not priority:
        return arrays.priority
    ranked_any = np.logical_or.reduce(priority)
    wanted_slots = _covered(arrays, ranked_any)
    for level in range(len(priority)):
        lower = _covered(arrays, np.logical_or.reduce(priority[level:]))
        for student, slot in zip(*np.nonzero(wanted_slots & ~lower), strict=True):
            if lower[student, slot]:
                continue
            options = _options(arrays, student, ranked_any[student], lower[student], slot)
            if options.size:
                pick = int(options[min(int(rng.random() * options.size), options.size - 1)])
                priority[level][student, pick] = True
                ranked_any[student, pick] = True
                lower[student, arrays.slots[pick]] = True
    return (*priority, *arrays.priority[real:])


def _covered(arrays: ProgramArrays, chosen: BoolArray) -> BoolArray:
    """Students x timeslots: whether any chosen section of the student meets then."""
    # Float products of 0/1 matrices count exactly, and BLAS makes them fast.
    return (chosen.astype(np.float32) @ arrays.incidence.astype(np.float32)) > 0


def _options(arrays: ProgramArrays, student: np.intp, ranked: BoolArray, lower: BoolArray, slot: np.intp) -> IntArray:
    starred = np.flatnonzero(arrays.interest[student] & ~ranked & (arrays.start_slot == slot))
    clear = ~arrays.incidence[np.ix_(starred, np.flatnonzero(lower))].any(axis=1)
    return starred[clear].astype(np.int64)
