from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery.algorithm import compute_assignment, weighted_draw
from regledger.domain.lottery.checks import LotteryInvariantError, check_assignments
from regledger.domain.lottery.model import (
    Assignment,
    LotteryInput,
    LotteryParameters,
    LotteryResult,
    LotterySection,
    LotteryStudent,
    LotteryTimeslot,
)
from regledger.domain.lottery.stats import compute_stats

DAY0 = datetime(2027, 2, 13)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def uid(kind: int, n: int) -> UUID:
    return UUID(int=(kind << 64) + n)


@st.composite
def instances(draw: st.DrawFn, cap: bool = True) -> LotteryInput:
    days = draw(st.integers(1, 2))
    per_day = draw(st.integers(2, 4))
    timeslots = [
        LotteryTimeslot(
            uid(1, d * 10 + k),
            DAY0 + timedelta(days=d, hours=9 + k),
            DAY0 + timedelta(days=d, hours=9 + k, minutes=50),
        )
        for d in range(days)
        for k in range(per_day)
    ]
    sections = []
    for d in range(days):
        for k in draw(st.sets(st.integers(0, per_day - 1), max_size=2)):
            sections.append(
                LotterySection(uid(2, 900 + d * 10 + k), uid(3, 99), (uid(1, d * 10 + k),), 99, 0, 99, True)
            )
    for j in range(draw(st.integers(1, 8))):
        d = draw(st.integers(0, days - 1))
        start = draw(st.integers(0, per_day - 1))
        length = draw(st.integers(0, min(2, per_day - start)))
        low = draw(st.integers(7, 12))
        sections.append(
            LotterySection(
                id=uid(2, j),
                subject_id=uid(3, draw(st.integers(0, 4))),
                timeslot_ids=tuple(uid(1, d * 10 + start + i) for i in range(length)),
                capacity=draw(st.integers(0, 4)),
                grade_min=low,
                grade_max=draw(st.integers(low, 12)),
                is_lunch=False,
            )
        )
    section_ids = [s.id for s in sections]
    limit = draw(st.integers(0, 3))
    pick = st.frozensets(st.sampled_from(section_ids), max_size=3)
    students = [
        LotteryStudent(
            id=uid(4, i),
            grade=draw(st.integers(6, 13)),
            priorities=tuple(draw(pick) for _ in range(draw(st.integers(0, limit + 1)))),
            interested=draw(st.frozensets(st.sampled_from(section_ids), max_size=5)),
        )
        for i in range(draw(st.integers(1, 12)))
    ]
    size_max = draw(st.none() | st.integers(0, 8)) if cap else None
    return LotteryInput(tuple(timeslots), tuple(sections), tuple(students), limit, size_max)


parameters = st.builds(
    LotteryParameters,
    kp=st.floats(1.0, 3.0),
    ki=st.floats(1.0, 3.0),
    check_grade=st.booleans(),
    max_sections=st.integers(0, 3),
    max_timeslots=st.integers(0, 3),
    fill_low_priorities=st.booleans(),
)
seeds = st.integers(0, 2**32)


def run(inp: LotteryInput, params: LotteryParameters, seed: int) -> list[Assignment]:
    return list(compute_assignment(inp, params, seed).assignments)


def schedule(inp: LotteryInput, seats: list[Assignment]) -> dict[UUID, list[LotterySection]]:
    sections = {s.id: s for s in inp.sections}
    mine: defaultdict[UUID, list[LotterySection]] = defaultdict(list)
    for a in seats:
        mine[a.student_id].append(sections[a.section_id])
    return mine


def lunch_slots_by_day(inp: LotteryInput) -> dict[object, set[UUID]]:
    day = {t.id: t.start.date() for t in inp.timeslots}
    lunch: defaultdict[object, set[UUID]] = defaultdict(set)
    for s in inp.sections:
        if s.is_lunch:
            for t in s.timeslot_ids:
                lunch[day[t]].add(t)
    return lunch


@FAST
@given(instances(), parameters, seeds)
def test_no_section_is_ever_over_capacity(inp, params, seed):
    counts = Counter(a.section_id for a in run(inp, params, seed))
    capacity = {s.id: s.capacity for s in inp.sections}
    assert all(n <= capacity[sid] for sid, n in counts.items())


@FAST
@given(instances(), parameters, seeds)
def test_no_student_is_in_two_places_at_once(inp, params, seed):
    for sections in schedule(inp, run(inp, params, seed)).values():
        slots = [t for s in sections for t in s.timeslot_ids]
        assert len(slots) == len(set(slots))


@FAST
@given(instances(), parameters, seeds)
def test_grade_ranges_are_respected_when_checked(inp, params, seed):
    grade = {s.id: s.grade for s in inp.students}
    sections = {s.id: s for s in inp.sections}
    for a in run(inp, params, seed):
        s = sections[a.section_id]
        if params.check_grade:
            assert s.grade_min <= grade[a.student_id] <= s.grade_max


@FAST
@given(instances(), parameters, seeds)
def test_only_requested_lottery_sections_are_assigned(inp, params, seed):
    students = {s.id: s for s in inp.students}
    sections = {s.id: s for s in inp.sections}
    for a in run(inp, params, seed):
        student = students[a.student_id]
        assert a.section_id in student.interested.union(*student.priorities[: inp.priority_limit])
        assert not sections[a.section_id].is_lunch
        assert sections[a.section_id].timeslot_ids
        if a.level and not params.fill_low_priorities:
            assert a.section_id in student.priorities[a.level - 1]


@FAST
@given(instances(), parameters, seeds)
def test_a_student_gets_at_most_one_section_of_a_class(inp, params, seed):
    for sections in schedule(inp, run(inp, params, seed)).values():
        subjects = [s.subject_id for s in sections]
        assert len(subjects) == len(set(subjects))


@FAST
@given(instances(), parameters, seeds)
def test_every_student_keeps_a_lunch_slot_free_each_day(inp, params, seed):
    lunch = lunch_slots_by_day(inp)
    for sections in schedule(inp, run(inp, params, seed)).values():
        busy = {t for s in sections for t in s.timeslot_ids}
        assert all(not slots <= busy for slots in lunch.values())


@FAST
@given(instances(), parameters, seeds)
def test_the_program_cap_is_respected(inp, params, seed):
    enrolled = {a.student_id for a in run(inp, params, seed)}
    if inp.program_size_max:
        assert len(enrolled) <= inp.program_size_max


@FAST
@given(instances(), parameters, seeds)
def test_per_student_caps_are_respected(inp, params, seed):
    for sections in schedule(inp, run(inp, params, seed)).values():
        if params.max_sections:
            assert len(sections) <= params.max_sections
        if params.max_timeslots:
            # The cap is checked before each seat, so only the last seat may cross it.
            filled = sum(len(s.timeslot_ids) for s in sections)
            longest = max(len(s.timeslot_ids) for s in sections)
            assert filled - longest < params.max_timeslots


def blocked(inp, params, student, section, mine, seats) -> bool:
    busy = {t for s in mine for t in s.timeslot_ids}
    lunch = lunch_slots_by_day(inp)
    own = set(section.timeslot_ids)
    lunch_reasons = [slots <= own or (own & slots and (slots - own) & busy) for slots in lunch.values()]
    return bool(
        seats[section.id] >= section.capacity
        or (params.check_grade and not section.grade_min <= student.grade <= section.grade_max)
        or own & busy
        or section.subject_id in {s.subject_id for s in mine}
        or any(lunch_reasons)
        or (params.max_sections and len(mine) >= params.max_sections)
        or (params.max_timeslots and len(busy) >= params.max_timeslots)
    )


@FAST
@given(instances(cap=False), parameters, seeds)
def test_every_request_not_granted_is_full_or_blocked_for_a_reason(inp, params, seed):
    seats_list = run(inp, params, seed)
    seats = Counter(a.section_id for a in seats_list)
    mine = schedule(inp, seats_list)
    granted = {(a.student_id, a.section_id) for a in seats_list}
    sections = {s.id: s for s in inp.sections if s.timeslot_ids and not s.is_lunch}
    for student in inp.students:
        wanted = student.interested.union(*student.priorities[: inp.priority_limit])
        for sid in wanted & sections.keys():
            if (student.id, sid) not in granted:
                assert blocked(inp, params, student, sections[sid], mine[student.id], seats)


@FAST
@given(instances(), parameters, seeds)
def test_the_same_seed_gives_the_same_result_and_digest(inp, params, seed):
    first = compute_assignment(inp, params, seed)
    shuffled = LotteryInput(
        inp.timeslots[::-1],
        inp.sections[::-1],
        inp.students[::-1],
        inp.priority_limit,
        inp.program_size_max,
    )
    second = compute_assignment(shuffled, params, seed)
    assert first == second
    assert first.digest() == second.digest()


def contested(students: int = 40, capacity: int = 5) -> LotteryInput:
    slot = LotteryTimeslot(uid(1, 0), DAY0, DAY0 + timedelta(minutes=50))
    section = LotterySection(uid(2, 0), uid(3, 0), (slot.id,), capacity, 7, 12)
    people = tuple(LotteryStudent(uid(4, i), 9, (frozenset({section.id}),)) for i in range(students))
    return LotteryInput((slot,), (section,), people, 1)


def test_different_seeds_give_different_results_on_a_contested_section():
    digests = {compute_assignment(contested(), LotteryParameters(), s).digest() for s in range(8)}
    assert len(digests) == 8


def test_a_contested_section_is_filled_exactly_to_capacity():
    result = compute_assignment(contested(students=40, capacity=5), LotteryParameters(), 11)
    assert len(result.assignments) == 5
    assert {a.level for a in result.assignments} == {1}


def test_a_single_lunch_slot_is_never_given_away():
    lunch_slot = LotteryTimeslot(uid(1, 0), DAY0 + timedelta(hours=12), DAY0 + timedelta(hours=13))
    lunch = LotterySection(uid(2, 9), uid(3, 9), (lunch_slot.id,), 99, 7, 12, is_lunch=True)
    noon_class = LotterySection(uid(2, 0), uid(3, 0), (lunch_slot.id,), 10, 7, 12)
    student = LotteryStudent(uid(4, 0), 9, (frozenset({noon_class.id, lunch.id}),))
    inp = LotteryInput((lunch_slot,), (lunch, noon_class), (student,), 1)
    assert compute_assignment(inp, LotteryParameters(), 0).assignments == ()


def test_two_lunch_slots_allow_a_class_in_one_of_them_only():
    slots = tuple(
        LotteryTimeslot(uid(1, k), DAY0 + timedelta(hours=11 + k), DAY0 + timedelta(hours=12 + k)) for k in range(2)
    )
    lunches = tuple(
        LotterySection(uid(2, 90 + k), uid(3, 9), (slots[k].id,), 99, 7, 12, is_lunch=True) for k in range(2)
    )
    classes = tuple(LotterySection(uid(2, k), uid(3, k), (slots[k].id,), 10, 7, 12) for k in range(2))
    student = LotteryStudent(uid(4, 0), 9, (frozenset(c.id for c in classes),))
    inp = LotteryInput(slots, lunches + classes, (student,), 1)
    assert len(compute_assignment(inp, LotteryParameters(), 0).assignments) == 1


def test_winners_weights_make_them_less_likely_to_win_again():
    rng = np.random.Generator(np.random.PCG64(5))
    wins = Counter(int(weighted_draw(rng, np.array([1.0, 3.0]), 1)[0]) for _ in range(4000))
    assert 0.72 < wins[1] / 4000 < 0.78


def test_a_weighted_draw_returns_distinct_indices():
    rng = np.random.Generator(np.random.PCG64(1))
    picks = weighted_draw(rng, np.linspace(0.1, 2.0, 30), 29)
    assert len(set(picks.tolist())) == 29


def test_the_self_check_rejects_an_over_capacity_result():
    inp = contested(students=3, capacity=1)
    seats = tuple(Assignment(s.id, inp.sections[0].id, 1) for s in inp.students)
    with pytest.raises(LotteryInvariantError):
        check_assignments(inp, LotteryParameters(), LotteryResult(seats))


def test_a_preference_for_an_unknown_section_is_refused():
    inp = contested(students=1)
    stray = LotteryStudent(uid(4, 99), 9, interested=frozenset({uid(2, 77)}))
    bad = LotteryInput(inp.timeslots, inp.sections, (*inp.students, stray), 1)
    with pytest.raises(InvalidInputError):
        compute_assignment(bad, LotteryParameters(), 0)


@pytest.mark.parametrize(
    "params",
    [LotteryParameters(kp=0), LotteryParameters(ki=-1.0), LotteryParameters(max_sections=-1)],
)
def test_invalid_parameters_are_refused(params):
    with pytest.raises(InvalidInputError):
        compute_assignment(contested(), params, 0)


@FAST
@given(instances(), parameters, seeds)
def test_stats_agree_with_the_result(inp, params, seed):
    result = compute_assignment(inp, params, seed)
    stats = compute_stats(inp, params, result)
    assert stats.num_registrations == len(result.assignments)
    assert sum(stats.timeslots_filled.values()) == len(inp.students)
    assert stats.num_enrolled_students == len({a.student_id for a in result.assignments})
    assert stats.students_with_zero_classes + stats.num_enrolled_students == len(inp.students)
    ratios = [lv.ratio for lv in stats.levels] + [stats.interest_ratio, stats.fill_rate]
    assert all(r is None or 0 <= r <= 1 for r in ratios)
    for level in stats.levels:
        assert sum(level.histogram.values()) == len(inp.students)
        assert level.assigned <= level.requested
    assert 0 <= stats.priority_gini <= 1
    assert type(stats).from_dict(stats.as_dict()) == stats
