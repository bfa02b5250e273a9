"""The stats row of the grade-range exception level (the reference's extra level N + 1).

`compute_stats` reports levels 1..N; with the option on, the reference's `compute_stats`
reports the extra level like any other, so this adds it (requested, assigned, ratio and the
per-student histogram, counted as `compute_stats` counts a level).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from regledger.domain.lottery.stats import LevelStats, LotteryStats

if TYPE_CHECKING:
    from uuid import UUID

    from regledger.domain.lottery.model import LotteryInput, LotteryResult


def with_exception_level(stats: LotteryStats, inp: LotteryInput, result: LotteryResult) -> LotteryStats:
    """`stats` plus the grade-range exception level's row, when the input has that level."""
    level = inp.grade_free_level
    if not level or any(row.level == level for row in stats.levels):
        return stats
    lottery = {s.id.int for s in inp.sections if s.timeslot_ids and not s.is_lunch}
    seated = {(a.student_id.int, a.section_id.int) for a in result.assignments}
    granted: Counter[UUID] = Counter()
    requested = 0
    for student in inp.students:
        asked = student.priorities[level - 1] if level <= len(student.priorities) else frozenset()
        for sid in asked:
            if sid.int in lottery:
                requested += 1
                granted[student.id] += (student.id.int, sid.int) in seated
    assigned = sum(granted.values())
    histogram = dict(sorted(Counter(granted[s.id] for s in inp.students).items()))
    ratio = assigned / requested if requested else None
    row = LevelStats(level, requested, assigned, ratio, histogram, label="Grade-range exceptions")
    return replace(stats, levels=(*stats.levels, row))


__all__ = ["with_exception_level"]
