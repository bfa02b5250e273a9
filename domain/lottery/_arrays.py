"""The lottery input as dense numpy arrays, every axis in canonical (sorted) order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from datetime import date
    from uuid import UUID

    from regledger.domain.lottery.model import LotteryInput, LotterySection

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ProgramArrays:
    """Students on axis 0 and sections on axis 1, both sorted by UUID; timeslots by start."""

    student_ids: tuple[UUID, ...]
    section_ids: tuple[UUID, ...]
    grades: IntArray
    eligible: BoolArray
    capacity: IntArray
    grade_min: IntArray
    grade_max: IntArray
    subject: IntArray
    n_subjects: int
    length: IntArray
    start_slot: IntArray
    slots: tuple[IntArray, ...]
    must_free: tuple[IntArray, ...]
    blocks_lunch: BoolArray
    incidence: BoolArray
    # One matrix per level filled, top first; with grade-range exceptions the last one is
    # that level (`grade_free_level`, 1-based; 0 when there is none).
    priority: tuple[BoolArray, ...]
    interest: BoolArray
    grade_free_level: int = 0


def build_arrays(inp: LotteryInput) -> ProgramArrays:
    timeslots = sorted(inp.timeslots, key=lambda t: (t.start, t.end, t.id))
    slot_index = {t.id: k for k, t in enumerate(timeslots)}
    days = [t.day for t in timeslots]
    sections = sorted(inp.sections, key=lambda s: s.id)
    students = sorted(inp.students, key=lambda s: s.id)
    slots = tuple(np.array(sorted(slot_index[t] for t in s.timeslot_ids), dtype=np.int64) for s in sections)
    lunch_by_day = _lunch_slots_by_day(sections, slots, days)
    subjects = {sid: k for k, sid in enumerate(sorted({s.subject_id for s in sections}))}
    eligible = np.array([len(s.timeslot_ids) > 0 and not s.is_lunch for s in sections], dtype=bool)
    incidence = np.zeros((len(sections), len(timeslots)), dtype=bool)
    for j, own in enumerate(slots):
        incidence[j, own] = True
    # Keyed by the UUID's integer: hashing ints is far cheaper than UUID.__hash__.
    section_index = {s.id.int: j for j, s in enumerate(sections)}
    priority = tuple(
        _preference_matrix(
            [s.priorities[level] if level < len(s.priorities) else frozenset() for s in students],
            section_index,
            eligible,
        )
        for level in range(inp.levels)
    )
    return ProgramArrays(
        student_ids=tuple(s.id for s in students),
        section_ids=tuple(s.id for s in sections),
        grades=np.array([s.grade for s in students], dtype=np.int64),
        eligible=eligible,
        capacity=np.array([s.capacity for s in sections], dtype=np.int64),
        grade_min=np.array([s.grade_min for s in sections], dtype=np.int64),
        grade_max=np.array([s.grade_max for s in sections], dtype=np.int64),
        subject=np.array([subjects[s.subject_id] for s in sections], dtype=np.int64),
        n_subjects=len(subjects),
        length=np.array([own.size for own in slots], dtype=np.int64),
        start_slot=np.array([int(own[0]) if own.size else -1 for own in slots], dtype=np.int64),
        slots=slots,
        must_free=tuple(_must_free(own, lunch_by_day, days) for own in slots),
        blocks_lunch=np.array([_blocks_lunch(own, lunch_by_day) for own in slots], dtype=bool),
        incidence=incidence,
        priority=priority,
        interest=_preference_matrix([s.interested for s in students], section_index, eligible),
        grade_free_level=inp.grade_free_level,
    )


def _preference_matrix(wanted: list[frozenset[UUID]], section_index: dict[int, int], eligible: BoolArray) -> BoolArray:
    rows = [i for i, ids in enumerate(wanted) for _ in ids]
    cols = [section_index[sid.int] for ids in wanted for sid in ids]
    matrix = np.zeros((len(wanted), eligible.size), dtype=bool)
    matrix[np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)] = True
    # Lunch and unscheduled sections are never lottery seats, so a wish for one is inert.
    matrix &= eligible[np.newaxis, :]
    return matrix


def _lunch_slots_by_day(
    sections: list[LotterySection], slots: tuple[IntArray, ...], days: list[date]
) -> dict[date, frozenset[int]]:
    by_day: defaultdict[date, set[int]] = defaultdict(set)
    for section, own in zip(sections, slots, strict=True):
        if section.is_lunch:
            for k in own.tolist():
                by_day[days[k]].add(k)
    return {day: frozenset(ks) for day, ks in by_day.items()}


def _must_free(own: IntArray, lunch_by_day: dict[date, frozenset[int]], days: list[date]) -> IntArray:
    # Taking a lunch slot is allowed only if every other lunch slot that day stays free.
    required = set(own.tolist())
    for k in own.tolist():
        lunch = lunch_by_day.get(days[k], frozenset())
        if k in lunch:
            required |= lunch
    return np.array(sorted(required), dtype=np.int64)


def _blocks_lunch(own: IntArray, lunch_by_day: dict[date, frozenset[int]]) -> bool:
    mine = set(own.tolist())
    return any(lunch <= mine for lunch in lunch_by_day.values())
