from __future__ import annotations

import json

import pytest

from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.model import LotteryInput, LotteryParameters
from regledger.domain.lottery.stats import compute_stats

SMALL = {"students": 30, "sections": 20, "classes": 16, "timeslots": 4, "days": 2}


def reorder(inp: LotteryInput) -> LotteryInput:
    students = tuple(
        type(s)(s.id, s.grade, s.priorities, frozenset(sorted(s.interested, reverse=True)))
        for s in reversed(inp.students)
    )
    sections = tuple(
        type(s)(s.id, s.subject_id, s.timeslot_ids[::-1], s.capacity, s.grade_min, s.grade_max, s.is_lunch)
        for s in reversed(inp.sections)
    )
    return LotteryInput(inp.timeslots[::-1], sections, students, inp.priority_limit, None)


def test_the_input_digest_does_not_depend_on_order():
    inp = to_lottery_input(generate_program(3, **SMALL))
    assert reorder(inp).digest() == inp.digest()


def test_the_input_digest_changes_when_a_capacity_changes():
    inp = to_lottery_input(generate_program(3, **SMALL))
    first = inp.sections[0]
    changed = type(first)(
        first.id,
        first.subject_id,
        first.timeslot_ids,
        first.capacity + 1,
        first.grade_min,
        first.grade_max,
        first.is_lunch,
    )
    other = LotteryInput(inp.timeslots, (changed, *inp.sections[1:]), inp.students, 3, None)
    assert other.digest() != inp.digest()


def test_parameters_round_trip_through_json():
    params = LotteryParameters(
        kp=1.5, ki=1.3, check_grade=False, max_sections=4, max_timeslots=6, fill_low_priorities=True
    )
    assert LotteryParameters.from_dict(json.loads(json.dumps(params.as_dict()))) == params


@pytest.mark.parametrize("field", ["kp", "ki"])
def test_non_positive_weight_divisors_are_refused(field):
    with pytest.raises(InvalidInputError):
        LotteryParameters(**{field: 0.0}).validate()


def test_the_generator_is_deterministic_per_seed():
    assert generate_program(5, **SMALL) == generate_program(5, **SMALL)
    assert generate_program(5, **SMALL) != generate_program(6, **SMALL)


def test_a_small_generated_program_has_the_requested_shape():
    program = generate_program(1, **SMALL)
    lunch = [c for c in program.classes if c.is_lunch]
    assert len(program.students) == 30
    assert len(program.timeslots) == 4
    assert len(lunch) == 2
    assert len(program.sections) - len(lunch) <= 20
    assert all(7 <= c.grade_min <= c.grade_max <= 12 for c in program.classes)


def test_generated_priorities_name_a_section_starting_in_that_timeslot():
    program = generate_program(2, **SMALL)
    starts = {(s.class_code, s.timeslot_labels[0]) for s in program.sections}
    for student in program.students:
        for label, codes in student.priorities.items():
            assert all((code, label) in starts for code in codes)
            assert set(codes) <= set(student.stars)


def test_a_converted_program_uses_each_students_grade():
    program = generate_program(4, **SMALL)
    inp = to_lottery_input(program)
    grades = {program.student_id(s.key): 12 + 2027 - s.graduation_year for s in program.students}
    assert {s.id: s.grade for s in inp.students} == grades
    assert all(7 <= g <= 12 for g in grades.values())


@pytest.mark.parametrize("fill_low", [False, True])
def test_a_small_generated_program_runs_end_to_end(fill_low):
    inp = to_lottery_input(generate_program(8, **SMALL))
    params = LotteryParameters(fill_low_priorities=fill_low)
    result = compute_assignment(inp, params, 8)
    stats = compute_stats(inp, params, result)
    assert stats.num_registrations == len(result.assignments) > 0


@pytest.mark.slow
def test_a_full_scale_program_is_assigned_the_same_way_twice():
    inp = to_lottery_input(generate_program(0))
    assert len(inp.students) == 3000
    result = compute_assignment(inp, LotteryParameters(), 0)
    assert result == compute_assignment(inp, LotteryParameters(), 0)
    assert len(result.assignments) > 10_000
