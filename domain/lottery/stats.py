"""Lottery statistics, as the reference's `compute_stats` reports them (esp-reference §4.5).

A level's "assigned" counts the requested (student, section) pairs of that level that ended up
seated, whichever pass seated them, so every ratio lies in [0, 1]. Only lottery sections
(scheduled, not lunch) count as requests, seats or spaces.

Fairness figures (issue 13), over every lottery student, where a student's *classes* are the
seats they hold and their *priority classes* those held at a priority level (`level` >= 1):

* the worst-served decile: students sorted ascending by (classes, priority classes, id), the
  first ceil(n / 10); its mean classes and mean priority classes;
* p10 of classes: the nearest-rank 10th percentile (the ceil(n / 10)-th smallest);
* the Gini of utility, utility being the reference's (1.5 per priority timeslot held, 1 per
  interest timeslot);
* the known hole of `lsf-repair/1`: students with no class whose wishes are all stars (no
  priority on a lottery section), at least one, every starred lottery section full and every
  seat in it held at priority level 1.

Runs recorded before these figures existed read them as None ("n/a").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.domain.lottery.algorithm import INTEREST_UTILITY, PRIORITY_UTILITY

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from regledger.domain.lottery.model import (
        LotteryInput,
        LotteryParameters,
        LotteryResult,
        LotterySection,
    )

WORST_SERVED = 20


@dataclass(frozen=True)
class LevelStats:
    level: int
    requested: int
    assigned: int
    ratio: float | None
    # Number of seats granted at this level per student -> number of students.
    histogram: dict[int, int]
    # What the level is, when not a plain priority (the grade-range exception level).
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or f"Priority {self.level}"


@dataclass(frozen=True)
class LotteryStats:
    levels: tuple[LevelStats, ...]
    interest_requested: int
    interest_assigned: int
    interest_ratio: float | None
    num_enrolled_students: int
    num_lottery_students: int
    students_with_zero_classes: int
    num_sections: int
    num_registrations: int
    num_full_sections: int
    total_spaces: int
    fill_rate: float | None
    timeslots_filled: dict[int, int]
    overall_utility: float | None
    worst_served: tuple[UUID, ...]
    priority_gini: float
    # Fairness figures; None in stats recorded before they existed.
    worst_decile_classes: float | None = None
    worst_decile_priority_classes: float | None = None
    p10_classes: int | None = None
    utility_gini: float | None = None
    known_hole_students: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only (histogram keys become strings), for storing in an event."""
        data = asdict(self)
        data["levels"] = [{**level, "histogram": _str_keys(level["histogram"])} for level in data["levels"]]
        data["timeslots_filled"] = _str_keys(self.timeslots_filled)
        data["worst_served"] = [str(sid) for sid in self.worst_served]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LotteryStats:
        levels = tuple(LevelStats(**{**level, "histogram": _int_keys(level["histogram"])}) for level in data["levels"])
        return cls(
            **{
                **data,
                "levels": levels,
                "timeslots_filled": _int_keys(data["timeslots_filled"]),
                "worst_served": tuple(UUID(sid) for sid in data["worst_served"]),
            }
        )

    def render_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a two-column table."""
        rows = [(f"{lv.title} granted", f"{lv.assigned}/{lv.requested} ({_pct(lv.ratio)})") for lv in self.levels]
        rows += [
            (
                "Interest granted",
                f"{self.interest_assigned}/{self.interest_requested} ({_pct(self.interest_ratio)})",
            ),
            ("Students enrolled", f"{self.num_enrolled_students}/{self.num_lottery_students}"),
            ("Students with no class", str(self.students_with_zero_classes)),
            ("Sections", str(self.num_sections)),
            ("Full sections", str(self.num_full_sections)),
            ("Registrations", str(self.num_registrations)),
            ("Seats filled", f"{self.num_registrations}/{self.total_spaces}"),
            ("Fill rate", _pct(self.fill_rate)),
            ("Overall utility", _num(self.overall_utility)),
            ("Priority Gini", f"{self.priority_gini:.3f}"),
            ("Worst decile: classes", _num(self.worst_decile_classes, 2)),
            ("Worst decile: priority classes", _num(self.worst_decile_priority_classes, 2)),
            ("Classes per student, p10", _count(self.p10_classes)),
            ("Utility Gini", _num(self.utility_gini)),
            ("Star-only at zero (known hole)", _count(self.known_hole_students)),
        ]
        rows += [
            (f"Students with {n} timeslots filled", str(count)) for n, count in sorted(self.timeslots_filled.items())
        ]
        return rows


def compute_stats(inp: LotteryInput, params: LotteryParameters, result: LotteryResult) -> LotteryStats:
    """Summarise one result against the input it was computed from."""
    del params  # The statistics depend on the outcome only; kept for a stable signature.
    # Keyed by UUID integers throughout: UUID.__hash__ is slow at Splash scale.
    sections = {s.id.int: s for s in inp.sections if _is_lottery_section(s)}
    seated = {(a.student_id.int, a.section_id.int) for a in result.assignments}
    levels = tuple(_level_stats(inp, level, sections, seated) for level in range(1, inp.priority_limit + 1))
    wanted_interest = [(s.id.int, sid.int) for s in inp.students for sid in s.interested if sid.int in sections]
    interest_assigned = sum(pair in seated for pair in wanted_interest)
    per_student = Counter(a.student_id for a in result.assignments)
    seats = Counter(a.section_id.int for a in result.assignments)
    total_spaces = sum(s.capacity for s in sections.values())
    utility, weight = _utilities(inp, result, sections)
    enrolled = len(per_student)
    decile_classes, decile_priority, p10 = _worst_decile(inp, result)
    return LotteryStats(
        levels=levels,
        interest_requested=len(wanted_interest),
        interest_assigned=interest_assigned,
        interest_ratio=_ratio(interest_assigned, len(wanted_interest)),
        num_enrolled_students=enrolled,
        num_lottery_students=len(inp.students),
        students_with_zero_classes=len(inp.students) - enrolled,
        num_sections=len(sections),
        num_registrations=len(result.assignments),
        num_full_sections=sum(1 for j, s in sections.items() if s.capacity > 0 and seats[j] >= s.capacity),
        total_spaces=total_spaces,
        fill_rate=_ratio(len(result.assignments), total_spaces),
        timeslots_filled=_histogram(_filled(inp, result, sections).values()),
        overall_utility=_overall_utility(utility, weight),
        worst_served=_worst_served(utility, weight),
        priority_gini=gini(_granted_priorities(inp, result)),
        worst_decile_classes=decile_classes,
        worst_decile_priority_classes=decile_priority,
        p10_classes=p10,
        utility_gini=gini(list(utility.values())),
        known_hole_students=_known_hole(inp, result, sections, seats),
    )


def _is_lottery_section(section: LotterySection) -> bool:
    return bool(section.timeslot_ids) and not section.is_lunch


def _level_stats(
    inp: LotteryInput,
    level: int,
    sections: dict[int, LotterySection],
    seated: set[tuple[int, int]],
) -> LevelStats:
    granted: Counter[UUID] = Counter()
    requested = 0
    for student in inp.students:
        ranked = student.priorities[level - 1] if level <= len(student.priorities) else ()
        for sid in ranked:
            if sid.int in sections:
                requested += 1
                granted[student.id] += (student.id.int, sid.int) in seated
    assigned = sum(granted.values())
    histogram = _histogram(granted[s.id] for s in inp.students)
    return LevelStats(level, requested, assigned, _ratio(assigned, requested), histogram)


def _filled(inp: LotteryInput, result: LotteryResult, sections: dict[int, LotterySection]) -> dict[int, int]:
    filled = dict.fromkeys((s.id.int for s in inp.students), 0)
    for a in result.assignments:
        filled[a.student_id.int] += len(sections[a.section_id.int].timeslot_ids)
    return filled


def _utilities(
    inp: LotteryInput, result: LotteryResult, sections: dict[int, LotterySection]
) -> tuple[dict[UUID, float], dict[UUID, float]]:
    def length(sid: UUID) -> int:
        section = sections.get(sid.int)
        return len(section.timeslot_ids) if section else 0

    weight = {
        s.id: float(
            sum(length(sid) for sid in s.interested)
            + sum(length(sid) for level in s.priorities[: inp.priority_limit] for sid in level)
        )
        for s in inp.students
    }
    utility = dict.fromkeys(weight, 0.0)
    for a in result.assignments:
        per_slot = PRIORITY_UTILITY if a.level else INTEREST_UTILITY
        utility[a.student_id] += per_slot * length(a.section_id)
    return utility, weight


def _overall_utility(utility: dict[UUID, float], weight: dict[UUID, float]) -> float | None:
    total = sum(math.sqrt(w) for w in weight.values())
    if total == 0:
        return None
    return sum(math.sqrt(utility[s]) * math.sqrt(w) for s, w in weight.items()) / total


def _worst_served(utility: dict[UUID, float], weight: dict[UUID, float]) -> tuple[UUID, ...]:
    def served(sid: UUID) -> tuple[float, int]:
        return ((1 + math.sqrt(utility[sid])) / (1 + math.sqrt(weight[sid])), sid.int)

    return tuple(sorted(weight, key=served)[:WORST_SERVED])


def _granted_priorities(inp: LotteryInput, result: LotteryResult) -> list[int]:
    granted = Counter(a.student_id for a in result.assignments if a.level)
    return [granted[s.id] for s in inp.students]


def _worst_decile(inp: LotteryInput, result: LotteryResult) -> tuple[float | None, float | None, int | None]:
    """(mean classes, mean priority classes) of the worst-served tenth, and p10 of classes."""
    classes = Counter(a.student_id.int for a in result.assignments)
    priority = Counter(a.student_id.int for a in result.assignments if a.level)
    ranked = sorted((classes[s.id.int], priority[s.id.int], s.id.int) for s in inp.students)
    if not ranked:
        return None, None, None
    tenth = ranked[: math.ceil(len(ranked) / 10)]
    return (
        sum(c for c, _, _ in tenth) / len(tenth),
        sum(p for _, p, _ in tenth) / len(tenth),
        tenth[-1][0],
    )


def _known_hole(
    inp: LotteryInput, result: LotteryResult, sections: dict[int, LotterySection], seats: Counter[int]
) -> int:
    """Students at zero whose only wishes are stars on full sections held entirely at priority 1."""
    enrolled = {a.student_id.int for a in result.assignments}
    below_1 = {a.section_id.int for a in result.assignments if a.level != 1}

    def held_at_1(sid: int) -> bool:
        capacity = sections[sid].capacity
        return 0 < capacity <= seats[sid] and sid not in below_1

    count = 0
    for student in inp.students:
        if student.id.int in enrolled:
            continue
        if any(sid.int in sections for level in student.priorities[: inp.priority_limit] for sid in level):
            continue
        starred = [sid.int for sid in student.interested if sid.int in sections]
        count += bool(starred) and all(held_at_1(sid) for sid in starred)
    return count


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 is perfectly even, near 1 all to one."""
    total = sum(values)
    if total == 0:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    ranked = sum((i + 1) * v for i, v in enumerate(ordered))
    return 2 * ranked / (n * total) - (n + 1) / n


def _histogram(values: Iterable[int]) -> dict[int, int]:
    return dict(sorted(Counter(values).items()))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, places: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _str_keys(histogram: dict[int, int]) -> dict[str, int]:
    return {str(k): v for k, v in histogram.items()}


def _int_keys(histogram: dict[str, int]) -> dict[int, int]:
    return {int(k): v for k, v in histogram.items()}
