"""The fairness figures of `LotteryStats`: definitions, storage, old runs, both algorithms."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given

from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.lsf_repair import compute_lsf_repair
from regledger.domain.lottery.model import (
    Assignment,
    LotteryInput,
    LotteryParameters,
    LotteryResult,
    LotterySection,
    LotteryStudent,
    LotteryTimeslot,
)
from regledger.domain.lottery.stats import LotteryStats, compute_stats, gini
from tests.lottery.test_lottery_algorithm import DAY0, FAST, instances, parameters, seeds, uid

ALGORITHMS = [compute_assignment, compute_lsf_repair]


def twenty_students() -> tuple[LotteryInput, LotteryResult]:
    """Student i holds i % 4 one-slot sections; the first holds his at priority 1."""
    times = tuple(
        LotteryTimeslot(uid(1, k), DAY0 + timedelta(hours=9 + k), DAY0 + timedelta(hours=9 + k, minutes=50))
        for k in range(3)
    )
    sections = tuple(LotterySection(uid(2, k), uid(3, k), (times[k].id,), 20, 7, 12) for k in range(3))
    all_ids = frozenset(s.id for s in sections)
    students = tuple(LotteryStudent(uid(4, i), 9, (frozenset({sections[0].id}),), all_ids) for i in range(20))
    seats = [
        Assignment(student.id, sections[k].id, 1 if k == 0 else 0)
        for i, student in enumerate(students)
        for k in range(i % 4)
    ]
    return LotteryInput(times, sections, students, 1), LotteryResult(tuple(seats))


def test_the_worst_decile_and_p10_follow_their_definitions():
    inp, result = twenty_students()
    stats = compute_stats(inp, LotteryParameters(), result)
    # Classes per student: 0,1,2,3 five times each; the worst tenth is 2 students, both at 0.
    assert stats.worst_decile_classes == 0.0
    assert stats.worst_decile_priority_classes == 0.0
    assert stats.p10_classes == 0
    assert stats.students_with_zero_classes == 5


def test_the_worst_decile_breaks_ties_on_priority_classes():
    inp, result = twenty_students()
    # Nobody at zero any more: students at 0 get one interest seat in section 2.
    extra = tuple(Assignment(s.id, inp.sections[2].id, 0) for i, s in enumerate(inp.students) if i % 4 == 0)
    stats = compute_stats(inp, LotteryParameters(), LotteryResult(result.assignments + extra))
    # Ten students now hold 1 class: five at priority (section 0) and five not; the worst
    # two are among the latter.
    assert stats.worst_decile_classes == 1.0
    assert stats.worst_decile_priority_classes == 0.0
    assert stats.p10_classes == 1


def test_the_utility_gini_uses_the_reference_utility():
    inp, result = twenty_students()
    stats = compute_stats(inp, LotteryParameters(), result)
    utility = [1.5 * (i % 4 > 0) + 1.0 * max(i % 4 - 1, 0) for i in range(20)]
    assert stats.utility_gini == pytest.approx(gini(utility))
    assert gini([1.0, 1.0, 1.0]) == 0.0
    assert gini([0.0, 0.0, 3.0]) == pytest.approx(2 / 3)


def test_stats_recorded_before_the_fairness_figures_still_read_and_render():
    inp, result = twenty_students()
    data = compute_stats(inp, LotteryParameters(), result).as_dict()
    for key in (
        "worst_decile_classes",
        "worst_decile_priority_classes",
        "p10_classes",
        "utility_gini",
        "known_hole_students",
    ):
        del data[key]
    old = LotteryStats.from_dict(data)
    assert old.worst_decile_classes is None
    assert old.known_hole_students is None
    rows = dict(old.render_rows())
    assert rows["Worst decile: classes"] == "n/a"
    assert rows["Star-only at zero (known hole)"] == "n/a"


def test_the_fairness_figures_are_rendered():
    inp, result = twenty_students()
    rows = dict(compute_stats(inp, LotteryParameters(), result).render_rows())
    assert rows["Worst decile: classes"] == "0.00"
    assert rows["Classes per student, p10"] == "0"
    assert float(rows["Utility Gini"]) > 0


def test_a_star_only_student_is_in_the_known_hole_only_behind_priority_1_seats():
    times = (LotteryTimeslot(uid(1, 0), DAY0, DAY0 + timedelta(minutes=50)),)
    full = LotterySection(uid(2, 0), uid(3, 0), (times[0].id,), 1, 7, 12)
    ranked = LotteryStudent(uid(4, 0), 9, (frozenset({full.id}),))
    starring = LotteryStudent(uid(4, 1), 9, (), frozenset({full.id}))
    inp = LotteryInput(times, (full,), (ranked, starring), 1)
    at_1 = LotteryResult((Assignment(ranked.id, full.id, 1),))
    assert compute_stats(inp, LotteryParameters(), at_1).known_hole_students == 1
    at_star = LotteryResult((Assignment(ranked.id, full.id, 0),))
    assert compute_stats(inp, LotteryParameters(), at_star).known_hole_students == 0


@FAST
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@given(inp=instances(), params=parameters, seed=seeds)
def test_fairness_figures_agree_with_the_result(algorithm, inp, params, seed):
    result = algorithm(inp, params, seed)
    stats = compute_stats(inp, params, result)
    classes = Counter(a.student_id for a in result.assignments)
    per_student = sorted(classes[s.id] for s in inp.students)
    tenth = per_student[: math.ceil(len(per_student) / 10)]
    assert stats.worst_decile_classes == pytest.approx(sum(tenth) / len(tenth))
    assert stats.worst_decile_priority_classes is not None
    assert stats.worst_decile_priority_classes <= stats.worst_decile_classes
    assert stats.p10_classes == tenth[-1]
    assert stats.utility_gini is not None
    assert 0 <= stats.utility_gini <= 1
    assert stats.known_hole_students is not None
    assert stats.known_hole_students <= stats.students_with_zero_classes
    assert LotteryStats.from_dict(stats.as_dict()) == stats
