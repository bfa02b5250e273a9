"""The class-change algorithm alone: worked examples and properties over random programs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regledger.domain.errors import InvalidInputError
from regledger.domain.lottery.class_change import compute_class_change, problems
from regledger.domain.lottery.class_change_model import (
    ChangeSection,
    ChangeStudent,
    ClassChangeInput,
    ClassChangeResult,
    Move,
)
from regledger.domain.lottery.model import LotteryTimeslot

DAY = datetime(2026, 11, 21, 9, tzinfo=UTC)


def slots(n: int, days: int = 1) -> tuple[LotteryTimeslot, ...]:
    per_day = -(-n // days)
    return tuple(
        LotteryTimeslot(
            UUID(int=1000 + k),
            DAY + timedelta(days=k // per_day, hours=k % per_day),
            DAY + timedelta(days=k // per_day, hours=k % per_day, minutes=50),
        )
        for k in range(n)
    )


def sid(n: int) -> UUID:
    return UUID(int=2000 + n)


def stid(n: int) -> UUID:
    return UUID(int=3000 + n)


def section(n: int, slot_numbers: list[int], capacity: int, enrolled: int, **kw: object) -> ChangeSection:
    return ChangeSection(
        id=sid(n),
        subject_id=UUID(int=4000 + int(kw.pop("subject", n))),  # type: ignore[call-overload]
        timeslot_ids=tuple(UUID(int=1000 + k) for k in slot_numbers),
        capacity=capacity,
        enrolled=enrolled,
        **kw,  # type: ignore[arg-type]
    )


def test_a_swap_of_two_full_sections_is_granted() -> None:
    inp = ClassChangeInput(
        slots(1),
        (section(0, [0], 1, 1), section(1, [0], 1, 1)),
        (ChangeStudent(stid(0), (sid(0),), ((sid(1), 1),)), ChangeStudent(stid(1), (sid(1),), ((sid(0), 1),))),
        priority_limit=3,
    )
    result = compute_class_change(inp, seed=5)
    assert result.moves == (
        Move(stid(0), ((sid(1), 1),), (sid(0),)),
        Move(stid(1), ((sid(0), 1),), (sid(1),)),
    )
    assert problems(inp, result) == []


def test_a_student_who_gets_nothing_keeps_their_section_and_the_winner_is_sent_back() -> None:
    # s0 holds section 0 and wants section 2 (full, its holder stays); s1 wants section 0.
    inp = ClassChangeInput(
        slots(1),
        (section(0, [0], 1, 1), section(1, [0], 9, 1), section(2, [0], 1, 1)),
        (ChangeStudent(stid(0), (sid(0),), ((sid(2), 1),)), ChangeStudent(stid(1), (sid(1),), ((sid(0), 1),))),
        priority_limit=3,
    )
    result = compute_class_change(inp, seed=1)
    assert result.moves == ()
    assert result.stats["pushed_back"] == 1


def test_a_long_section_is_granted_only_if_it_covers_what_it_replaces() -> None:
    # s0 holds a 2-slot section and asks for a 1-slot one: slot 1 would be lost.
    inp = ClassChangeInput(
        slots(2),
        (section(0, [0, 1], 5, 1), section(1, [0], 5, 0)),
        (ChangeStudent(stid(0), (sid(0),), ((sid(1), 1),)),),
        priority_limit=3,
    )
    assert compute_class_change(inp, seed=3).moves == ()


def test_a_lunch_slot_is_not_taken_when_it_is_the_last_free_one() -> None:
    inp = ClassChangeInput(
        slots(3),
        (
            section(0, [1, 2], 99, 0, is_lunch=True, offers_seats=False),
            section(1, [1], 5, 1),
            section(2, [2], 5, 0),
        ),
        (ChangeStudent(stid(0), (sid(1),), ((sid(2), 0),)),),
        priority_limit=3,
    )
    result = compute_class_change(inp, seed=3)
    assert result.moves == ()
    assert problems(inp, result) == []


def test_a_waitlisted_section_offers_no_seat() -> None:
    inp = ClassChangeInput(
        slots(1),
        (section(0, [0], 3, 1, waitlisted=1), section(1, [0], 3, 1)),
        (ChangeStudent(stid(0), (sid(1),), ((sid(0), 1),)),),
        priority_limit=3,
    )
    result = compute_class_change(inp, seed=3)
    assert result.moves == ()
    assert result.stats["requests_unavailable"] == 1


def test_problems_names_every_broken_guarantee() -> None:
    inp = ClassChangeInput(
        slots(2),
        (section(0, [0], 1, 1), section(1, [0], 1, 1), section(2, [1], 1, 0, waitlisted=1)),
        (ChangeStudent(stid(0), (sid(0),), ((sid(1), 1),)),),
        priority_limit=3,
    )
    bad = ClassChangeResult((Move(stid(0), ((sid(1), 1), (sid(2), 0)), ()),))
    found = problems(inp, bad)
    assert any("unrequested" in p for p in found)
    assert any("offers none" in p for p in found)
    assert any("timeslot conflict" in p for p in found)
    assert any("capacity" in p for p in found)
    worse = ClassChangeResult((Move(stid(0), (), (sid(0),)),))
    assert any("worse off" in p for p in problems(inp, worse))


def test_bad_input_is_refused() -> None:
    inp = ClassChangeInput(slots(1), (section(0, [0], 1, 0),), (ChangeStudent(stid(0), (), ((sid(9), 1),)),), 3)
    with pytest.raises(InvalidInputError):
        compute_class_change(inp, seed=1)


# -- properties ------------------------------------------------------------------------------


def random_input(seed: int, n_students: int, n_sections: int, n_slots: int, days: int) -> ClassChangeInput:
    rnd = random.Random(seed)
    timeslots = slots(n_slots, days)
    per_day = -(-n_slots // days)
    sections: list[ChangeSection] = []
    lunch = rnd.random() < 0.6
    for d in range(days if lunch else 0):
        day_slots = list(range(d * per_day, min(n_slots, (d + 1) * per_day)))[1:3]
        if day_slots:
            sections.append(section(900 + d, day_slots, 500, 0, is_lunch=True, offers_seats=False, subject=900))
    for n in range(n_sections):
        start = rnd.randrange(n_slots)
        length = 2 if rnd.random() < 0.2 and (start + 1) % per_day and start + 1 < n_slots else 1
        sections.append(section(n, list(range(start, start + length)), rnd.randint(0, 4), 0, subject=n // 2))
    by_id = {s.id: s for s in sections}
    enrolled = {s.id: 0 for s in sections}
    students: list[ChangeStudent] = []
    regular = [s for s in sections if not s.is_lunch]
    for i in range(n_students):
        held: list[UUID] = []
        taken: set[UUID] = set()
        classes: set[UUID] = set()
        for s in rnd.sample(regular, k=min(len(regular), rnd.randint(0, 4))):
            if enrolled[s.id] < s.capacity and not taken & set(s.timeslot_ids) and s.subject_id not in classes:
                held.append(s.id)
                taken |= set(s.timeslot_ids)
                classes.add(s.subject_id)
                enrolled[s.id] += 1
        wanted = [s for s in rnd.sample(regular, k=min(len(regular), rnd.randint(0, 3))) if s.id not in held]
        requests = tuple(sorted((s.id, rnd.choice([0, 1, 2])) for s in wanted if s.subject_id not in classes))
        students.append(ChangeStudent(stid(i), tuple(sorted(held)), requests))
    final_sections = tuple(
        ChangeSection(
            s.id,
            s.subject_id,
            s.timeslot_ids,
            s.capacity,
            enrolled[s.id],
            waitlisted=1 if rnd.random() < 0.1 else 0,
            offers_seats=s.offers_seats and rnd.random() < 0.95,
            is_lunch=s.is_lunch,
        )
        for s in by_id.values()
    )
    return ClassChangeInput(timeslots, final_sections, tuple(s for s in students if s.requests), priority_limit=2)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_students=st.integers(1, 30),
    n_sections=st.integers(1, 16),
    n_slots=st.integers(1, 6),
    days=st.integers(1, 2),
    draw_seed=st.integers(0, 2**63 - 1),
)
def test_nobody_is_worse_off_and_every_guarantee_holds(
    seed: int, n_students: int, n_sections: int, n_slots: int, days: int, draw_seed: int
) -> None:
    inp = random_input(seed, n_students, n_sections, n_slots, min(days, n_slots))
    result = compute_class_change(inp, draw_seed)
    assert problems(inp, result) == []
    assert compute_class_change(inp, draw_seed).digest() == result.digest()
    stats = result.stats
    assert stats["students_changed"] + stats["students_unchanged"] == len(inp.students)
    assert sum(level["granted"] for level in stats["levels"]) == stats["seats_moved"]


def test_swaps_do_happen_on_random_programs() -> None:
    moved = sum(len(compute_class_change(random_input(s, 30, 16, 4, 1), s).moves) for s in range(30))
    assert moved > 0


def test_problems_names_a_second_section_of_a_held_class() -> None:
    inp = ClassChangeInput(
        slots(2),
        (section(0, [0], 5, 1), section(3, [1], 5, 0, subject=0)),
        (ChangeStudent(stid(0), (sid(0),), ((sid(3), 1),)),),
        priority_limit=3,
    )
    assert compute_class_change(inp, seed=1).moves == ()
    bad = ClassChangeResult((Move(stid(0), ((sid(3), 1),), ()),))
    assert any("two sections of one class" in p for p in problems(inp, bad))
