"""A seeded, realistic Splash-style program for tests, demos and benchmarks.

Ids derive from the seed through `regledger.domain.ids`, so one seed always names the same
program. Popularity is Zipf-skewed: a few classes draw most stars, as at real Splash events.
The generator uses numpy's sampling routines, so it is reproducible for one numpy version
(unlike the lottery itself, which promises more).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from regledger.domain import ids
from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery.model import (
    LotteryInput,
    LotterySection,
    LotteryStudent,
    LotteryTimeslot,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from regledger.domain.lottery._arrays import FloatArray, IntArray

SCHOOL_YEAR = 2027
FIRST_DAY = date(2027, 2, 13)
CATEGORIES = (
    ("M", "Math"),
    ("S", "Science"),
    ("H", "Humanities"),
    ("A", "Arts"),
    ("E", "Engineering"),
    ("X", "Miscellaneous"),
)
TOPICS = ("Knots", "Origami", "Cryptography", "Poetry", "Robots", "Stars", "Chess", "Jazz")


@dataclass(frozen=True)
class SyntheticTimeslot:
    label: str
    start: datetime
    end: datetime
    is_lunch: bool


@dataclass(frozen=True)
class SyntheticClass:
    code: str
    title: str
    category: str
    grade_min: int
    grade_max: int
    class_size_max: int
    length: int
    is_lunch: bool = False


@dataclass(frozen=True)
class SyntheticSection:
    class_code: str
    index: int
    timeslot_labels: tuple[str, ...]
    capacity: int


@dataclass(frozen=True)
class SyntheticStudent:
    key: str
    graduation_year: int
    stars: tuple[str, ...]
    # Timeslot label -> class codes ranked 1, 2, ... (possibly fewer than the limit).
    priorities: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class SyntheticProgram:
    seed: int
    school_year: int
    priority_limit: int
    timeslots: tuple[SyntheticTimeslot, ...]
    classes: tuple[SyntheticClass, ...]
    sections: tuple[SyntheticSection, ...]
    students: tuple[SyntheticStudent, ...]

    @property
    def program_id(self) -> ids.ProgramId:
        return ids.program_id(f"synthetic-{self.seed}")

    def timeslot_id(self, label: str) -> UUID:
        return ids.timeslot_id(self.program_id, label)

    def class_id(self, code: str) -> UUID:
        return ids.subject_id(self.program_id, code)

    def section_id(self, code: str, index: int) -> UUID:
        return ids.section_id(ids.subject_id(self.program_id, code), index)

    def student_id(self, key: str) -> UUID:
        return ids.student_id(self.program_id, key)


def generate_program(
    seed: int = 0,
    *,
    students: int = 3000,
    sections: int = 700,
    classes: int = 550,
    timeslots: int = 12,
    days: int = 2,
    priority_limit: int = 3,
    stars_per_timeslot: int = 5,
) -> SyntheticProgram:
    """Build a program; `sections` counts ordinary sections (one lunch section a day is extra)."""
    if days < 1 or timeslots < 2 * days or timeslots % days:
        raise InvalidInputError("need at least two timeslots per day, the same each day")
    if not 1 <= classes <= sections:
        raise InvalidInputError("need 1 <= classes <= sections")
    rng = np.random.Generator(np.random.PCG64(seed))
    slots = _timeslots(timeslots, days)
    made_classes = _classes(rng, classes)
    made_sections = _sections(rng, made_classes, sections, slots)
    lunch_classes, lunch_sections = _lunch(slots, students)
    program = SyntheticProgram(
        seed=seed,
        school_year=SCHOOL_YEAR,
        priority_limit=priority_limit,
        timeslots=slots,
        classes=made_classes + lunch_classes,
        sections=made_sections + lunch_sections,
        students=(),
    )
    people = _students(
        rng,
        program,
        classes=made_classes,
        sections=made_sections,
        count=students,
        stars_per_timeslot=stars_per_timeslot,
    )
    return replace(program, students=people)


def _timeslots(count: int, days: int) -> tuple[SyntheticTimeslot, ...]:
    per_day = count // days
    lunch_at = min(3, per_day - 1)
    made = []
    for day in range(days):
        for k in range(per_day):
            start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time())
            start += timedelta(hours=9 + k)
            label = f"D{day + 1} {start:%H:%M}"
            made.append(SyntheticTimeslot(label, start, start + timedelta(minutes=50), k == lunch_at))
    return tuple(made)


def _classes(rng: np.random.Generator, count: int) -> tuple[SyntheticClass, ...]:
    made = []
    for n in range(count):
        letter, category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        grade_min = int(rng.choice([7, 7, 8, 9, 9, 10, 11]))
        grade_max = int(rng.choice([grade_min, 12, 12, 12, max(grade_min, 10)]))
        length = 2 if rng.random() < 0.15 else 1
        title = f"{TOPICS[n % len(TOPICS)]} {category} {n + 1}"
        size = int(rng.integers(15, 41))
        made.append(SyntheticClass(f"{letter}{n + 1:04d}", title, category, grade_min, grade_max, size, length))
    return tuple(made)


def _sections(
    rng: np.random.Generator,
    classes: tuple[SyntheticClass, ...],
    count: int,
    slots: tuple[SyntheticTimeslot, ...],
) -> tuple[SyntheticSection, ...]:
    extra = rng.integers(len(classes), size=count - len(classes))
    copies = np.bincount(extra, minlength=len(classes)) + 1
    made = []
    for cls, n in zip(classes, copies.tolist(), strict=True):
        starts = _starts(slots, cls.length)
        chosen = rng.permutation(len(starts))[: min(n, len(starts))]
        for index, k in enumerate(sorted(chosen.tolist())):
            labels = tuple(slots[starts[k] + i].label for i in range(cls.length))
            made.append(SyntheticSection(cls.code, index, labels, cls.class_size_max))
    return tuple(made)


def _starts(slots: tuple[SyntheticTimeslot, ...], length: int) -> list[int]:
    """Start indices where `length` consecutive non-lunch slots fit on one day."""
    return [
        k
        for k in range(len(slots) - length + 1)
        if all(not slots[k + i].is_lunch and slots[k + i].start.date() == slots[k].start.date() for i in range(length))
    ]


def _lunch(
    slots: tuple[SyntheticTimeslot, ...], students: int
) -> tuple[tuple[SyntheticClass, ...], tuple[SyntheticSection, ...]]:
    lunch_slots = [s for s in slots if s.is_lunch]
    classes = tuple(
        SyntheticClass(f"L{d + 1:04d}", f"Lunch day {d + 1}", "Lunch", 7, 12, students, 1, True)
        for d in range(len(lunch_slots))
    )
    sections = tuple(
        SyntheticSection(c.code, 0, (s.label,), students) for c, s in zip(classes, lunch_slots, strict=True)
    )
    return classes, sections


def _students(
    rng: np.random.Generator,
    program: SyntheticProgram,
    *,
    classes: tuple[SyntheticClass, ...],
    sections: tuple[SyntheticSection, ...],
    count: int,
    stars_per_timeslot: int,
) -> tuple[SyntheticStudent, ...]:
    popularity = _zipf_weights(rng, len(classes))
    grades = rng.choice(np.arange(7, 13), size=count, p=[0.1, 0.14, 0.19, 0.19, 0.19, 0.19])
    stars: list[set[str]] = [set() for _ in range(count)]
    ranked: list[dict[str, tuple[str, ...]]] = [{} for _ in range(count)]
    starts = {(s.class_code, s.timeslot_labels[0]) for s in sections}
    for slot in program.timeslots:
        offered = [i for i, c in enumerate(classes) if (c.code, slot.label) in starts]
        if not offered:
            continue
        picks = _pick_per_student(
            rng,
            classes,
            offered=offered,
            popularity=popularity,
            grades=grades,
            stars=stars_per_timeslot,
        )
        for student, chosen in enumerate(picks):
            codes = [classes[i].code for i in chosen.tolist()]
            stars[student].update(codes)
            depth = program.priority_limit if rng.random() < 0.85 else 0
            if codes[:depth]:
                ranked[student][slot.label] = tuple(codes[:depth])
    return tuple(
        SyntheticStudent(
            key=f"s{n + 1:05d}",
            graduation_year=12 + program.school_year - int(grades[n]),
            stars=tuple(sorted(stars[n])),
            priorities=ranked[n],
        )
        for n in range(count)
    )


def _zipf_weights(rng: np.random.Generator, count: int) -> FloatArray:
    ranks = rng.permutation(count) + 1
    return 1.0 / ranks.astype(np.float64) ** 1.07


def _pick_per_student(
    rng: np.random.Generator,
    classes: tuple[SyntheticClass, ...],
    *,
    offered: list[int],
    popularity: FloatArray,
    grades: IntArray,
    stars: int,
) -> list[IntArray]:
    """Per student, distinct grade-fitting classes offered then, most wanted first."""
    offered_arr = np.array(offered, dtype=np.int64)
    low = np.array([classes[i].grade_min for i in offered])
    high = np.array([classes[i].grade_max for i in offered])
    fits = (grades[:, None] >= low[None, :]) & (grades[:, None] <= high[None, :])
    # Exponential race: sorting E / w orders a weighted draw without replacement.
    keys = rng.exponential(size=fits.shape) / popularity[offered_arr][None, :]
    keys[~fits] = np.inf
    order = np.argsort(keys, axis=1, kind="stable")
    wanted = np.clip(rng.poisson(stars, size=len(grades)), 1, len(offered))
    return [offered_arr[order[s, : min(int(wanted[s]), int(fits[s].sum()))]] for s in range(len(grades))]


def to_lottery_input(program: SyntheticProgram) -> LotteryInput:
    """Stars expand to every section of the class; a rank names the class's section then."""
    slot_ids = {t.label: program.timeslot_id(t.label) for t in program.timeslots}
    by_class = {c.code: c for c in program.classes}
    sections_of: dict[str, list[UUID]] = {}
    starting: dict[tuple[str, str], UUID] = {}
    lottery_sections = []
    for s in program.sections:
        cls = by_class[s.class_code]
        sid = program.section_id(s.class_code, s.index)
        sections_of.setdefault(s.class_code, []).append(sid)
        starting[(s.class_code, s.timeslot_labels[0])] = sid
        lottery_sections.append(
            LotterySection(
                id=sid,
                subject_id=program.class_id(s.class_code),
                timeslot_ids=tuple(slot_ids[label] for label in s.timeslot_labels),
                capacity=s.capacity,
                grade_min=cls.grade_min,
                grade_max=cls.grade_max,
                is_lunch=cls.is_lunch,
            )
        )
    students = tuple(_lottery_student(program, st, sections_of, starting) for st in program.students)
    return LotteryInput(
        timeslots=tuple(LotteryTimeslot(slot_ids[t.label], t.start, t.end) for t in program.timeslots),
        sections=tuple(lottery_sections),
        students=students,
        priority_limit=program.priority_limit,
        program_size_max=None,
    )


def _lottery_student(
    program: SyntheticProgram,
    student: SyntheticStudent,
    sections_of: dict[str, list[UUID]],
    starting: dict[tuple[str, str], UUID],
) -> LotteryStudent:
    levels: list[set[UUID]] = [set() for _ in range(program.priority_limit)]
    for label, codes in student.priorities.items():
        for rank, code in enumerate(codes[: program.priority_limit]):
            levels[rank].add(starting[(code, label)])
    return LotteryStudent(
        id=program.student_id(student.key),
        grade=12 + program.school_year - student.graduation_year,
        priorities=tuple(frozenset(level) for level in levels),
        interested=frozenset(sid for code in student.stars for sid in sections_of[code]),
    )
