"""Worked examples of `lsf-repair/1`: a repair move, a rescue, replay across processes, scale."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.lsf_repair import compute_lsf_repair, run_lsf_repair
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
from tests.lottery.test_lottery_algorithm import DAY0, uid

SEEDS = range(24)


def slots(count: int) -> tuple[LotteryTimeslot, ...]:
    return tuple(
        LotteryTimeslot(uid(1, k), DAY0 + timedelta(hours=9 + k), DAY0 + timedelta(hours=9 + k, minutes=50))
        for k in range(count)
    )


def section(n: int, times: tuple[LotteryTimeslot, ...], capacity: int) -> LotterySection:
    return LotterySection(uid(2, n), uid(3, n), tuple(t.id for t in times), capacity, 7, 12)


def seats(result: LotteryResult, inp: LotteryInput) -> dict[int, set[int]]:
    """Student number -> section numbers held."""
    held: dict[int, set[int]] = {s.id.int & 0xFFFF: set() for s in inp.students}
    for a in result.assignments:
        held[a.student_id.int & 0xFFFF].add(a.section_id.int & 0xFFFF)
    return held


def repair_example() -> LotteryInput:
    # Student 0 ranks X (2 slots, 1 seat) and two uncontested 1-slot sections at priority 1;
    # student 1 ranks only X. X is the longest, so the level-1 pass fills it first, while both
    # hold no seat: a uniform draw. When student 0 wins, B1 moves X to student 1.
    times = slots(4)
    x, y, z = section(0, times[:2], 1), section(1, times[2:3], 5), section(2, times[3:], 5)
    students = (
        LotteryStudent(uid(4, 0), 9, (frozenset({x.id, y.id, z.id}),)),
        LotteryStudent(uid(4, 1), 9, (frozenset({x.id}),)),
    )
    return LotteryInput(times, (x, y, z), students, 1)


def test_repair_moves_a_contested_priority_seat_to_the_student_left_without_one():
    inp = repair_example()
    moved = 0
    for seed in SEEDS:
        run = run_lsf_repair(inp, LotteryParameters(), seed, stages=True)
        moved += seats(run.after_passes, inp)[0] == {0, 1, 2}
        assert seats(run.after_priority_repair, inp) == {0: {1, 2}, 1: {0}}
        assert run.result == run.after_priority_repair
    assert 0 < moved < len(SEEDS)  # the draw went both ways, and repair fixed the bad ones


def test_esp_leaves_the_same_example_uneven_for_some_seeds():
    inp = repair_example()
    uneven = [seed for seed in SEEDS if seats(compute_assignment(inp, LotteryParameters(), seed), inp)[1] == set()]
    assert uneven


def rescue_example() -> LotteryInput:
    # X (1 seat) is ranked at priority 1 by both; student 0 also stars Y. If student 0 wins X,
    # it holds X (priority) and Y (star): one priority seat, so B1 sees no gap of 2, and B2 may
    # move only star-held seats, which student 1 does not want. Rescue takes X from student 0
    # (2 seats, a request no stronger) for student 1, who would otherwise hold nothing.
    times = slots(2)
    x, y = section(0, times[:1], 1), section(1, times[1:], 3)
    students = (
        LotteryStudent(uid(4, 0), 9, (frozenset({x.id}),), frozenset({y.id})),
        LotteryStudent(uid(4, 1), 9, (frozenset({x.id}),)),
    )
    return LotteryInput(times, (x, y), students, 1)


def test_rescue_gives_a_seat_to_a_student_repair_could_not_help():
    inp = rescue_example()
    rescued = 0
    for seed in SEEDS:
        run = run_lsf_repair(inp, LotteryParameters(), seed, stages=True)
        rescued += seats(run.after_repair, inp)[1] == set()
        assert seats(run.result, inp) == {0: {1}, 1: {0}}
    assert 0 < rescued < len(SEEDS)


def test_stars_on_a_section_held_at_priority_1_leave_a_student_at_zero():
    # The known hole: a star cannot displace a priority seat, even from a student with 2 seats.
    times = slots(2)
    x, y = section(0, times[:1], 1), section(1, times[1:], 3)
    students = (
        LotteryStudent(uid(4, 0), 9, (frozenset({x.id, y.id}),)),
        LotteryStudent(uid(4, 1), 9, (), frozenset({x.id})),
    )
    inp = LotteryInput(times, (x, y), students, 1)
    result = compute_lsf_repair(inp, LotteryParameters(), 0)
    assert seats(result, inp) == {0: {0, 1}, 1: set()}
    assert compute_stats(inp, LotteryParameters(), result).known_hole_students == 1


REPLAY = textwrap.dedent(
    """
    from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
    from regledger.domain.lottery.lsf_repair import compute_lsf_repair
    from regledger.domain.lottery.model import LotteryParameters
    shape = {"students": 300, "sections": 70, "classes": 60, "timeslots": 12, "days": 2}
    inp = to_lottery_input(generate_program(1, **shape))
    print(compute_lsf_repair(inp, LotteryParameters(fill_low_priorities=True), 77).digest())
    """
)


def test_replay_is_identical_across_processes_and_hash_seeds():
    digests = set()
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", REPLAY], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    shape = {"students": 300, "sections": 70, "classes": 60, "timeslots": 12, "days": 2}
    inp = to_lottery_input(generate_program(1, **shape))
    here = compute_lsf_repair(inp, LotteryParameters(fill_low_priorities=True), 77).digest()
    assert digests == {here}


@pytest.mark.slow
def test_at_splash_scale_lsf_keeps_priority_1_and_lifts_the_worst_decile():
    inp = to_lottery_input(generate_program(0))
    params = LotteryParameters()
    esp = compute_stats(inp, params, compute_assignment(inp, params, 11))
    result = compute_lsf_repair(inp, params, 11)
    lsf = compute_stats(inp, params, result)
    assert esp.levels[0].ratio is not None
    assert lsf.levels[0].ratio is not None
    assert lsf.levels[0].ratio >= esp.levels[0].ratio - 0.01
    assert esp.worst_decile_classes is not None
    assert lsf.worst_decile_classes is not None
    assert lsf.worst_decile_classes >= esp.worst_decile_classes + 1.0
    assert lsf.students_with_zero_classes == 0
    assert lsf.utility_gini < esp.utility_gini


@pytest.mark.parametrize("exceptions", [False, True])
def test_a_grade_range_exception_is_the_only_way_outside_the_range(exceptions):
    # Section 0 is for grades 7-8; the grade-11 student ranks it at level 1 and, with an
    # exception, at level 2 (the grade-free level when exceptions are on).
    times = slots(1)
    young = LotterySection(uid(2, 0), uid(3, 0), (times[0].id,), 5, 7, 8)
    student = LotteryStudent(uid(4, 0), 11, (frozenset({young.id}), frozenset({young.id})))
    inp = LotteryInput(times, (young,), (student,), 1, grade_range_exceptions=exceptions)
    result = compute_lsf_repair(inp, LotteryParameters(), 3)
    expected = (Assignment(student.id, young.id, 2),) if exceptions else ()
    assert result.assignments == expected
