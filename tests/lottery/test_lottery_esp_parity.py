"""The lottery's divergences from ESP, fixed: lunch from every lunch class, grade-range exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, TimeslotId, program_id, student_id
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.exception_stats import with_exception_level
from regledger.domain.lottery.model import (
    LotteryInput,
    LotteryParameters,
    LotterySection,
    LotteryStudent,
    LotteryTimeslot,
)
from regledger.domain.lottery.stats import compute_stats
from regledger.domain.values import GRADE_RANGE_EXCEPTION, CommandContext

DAY = datetime(2026, 11, 21, 11, tzinfo=UTC)
SCHOOL_YEAR = 2027
GRADE_10 = 2029


def admin(**kwargs: Any) -> CommandContext:
    return CommandContext(actor="admin", **kwargs)


def student(key: str, **kwargs: Any) -> CommandContext:
    return CommandContext(actor=key, **kwargs)


@dataclass
class Program:
    app: Registration
    program_id: ProgramId
    slots: list[TimeslotId] = field(default_factory=list)
    subjects: dict[str, SubjectId] = field(default_factory=dict)
    sections: dict[str, SectionId] = field(default_factory=dict)

    def subject(self, code: str, **kwargs: Any) -> None:
        kwargs.setdefault("class_size_max", 10)
        result = self.app.add_subject(self.program_id, code, code.title(), admin(), **kwargs)
        self.subjects[code] = SubjectId(UUID(result.ids["subject_id"]))

    def section(self, name: str, code: str, slots: list[int]) -> None:
        result = self.app.create_section(self.subjects[code], [self.slots[i] for i in slots], admin())
        self.sections[name] = SectionId(UUID(result.ids["section_id"]))

    def profile(self, key: str, graduation_year: int = GRADE_10) -> None:
        self.app.submit_profile(self.program_id, key, key.title(), graduation_year, {}, student(key))

    def star(self, key: str, code: str) -> None:
        self.app.star(self.program_id, key, self.subjects[code], student(key))

    def seats(self, key: str, **what_if: Any) -> dict[SectionId, int]:
        preview = self.app.what_if(self.program_id, None, 5, **what_if)
        mine = student_id(self.program_id, key)
        by_id = {sid: name for name, sid in self.sections.items()}
        return {by_id[a.section_id]: a.level for a in preview.result.assignments if a.student_id == mine}


def build(app: Registration, slug: str = "splash", slots: int = 4, **settings: Any) -> Program:
    app.create_program(slug, "Splash", admin(), school_year=SCHOOL_YEAR, settings=settings, grade_min=7, grade_max=12)
    world = Program(app, program_id(slug))
    for i in range(slots):
        start = DAY + timedelta(hours=i)
        result = app.add_timeslot(world.program_id, f"slot{i}", start, start + timedelta(minutes=50), admin())
        world.slots.append(TimeslotId(UUID(result.ids["timeslot_id"])))
    return world


@pytest.fixture
def app(store_settings: Settings, make_app: Any) -> Registration:
    registration: Registration = make_app(store_settings, Registration)
    return registration


# -- lunch: every lunch class's meeting times, whatever the section's status -----------------------


def lunch_world(app: Registration) -> Program:
    """Lunch is 12:00 and 13:00 (two lunch sections); `noon` meets at 12:00 and `one` at 13:00,
    and alice stars both: she may have one of them, never both."""
    w = build(app)
    w.subject("lunch", is_lunch=True, category="Lunch")
    w.section("lunch1", "lunch", [1])
    w.section("lunch2", "lunch", [2])
    w.subject("noon")
    w.section("noon1", "noon", [1])
    w.subject("one")
    w.section("one1", "one", [2])
    w.profile("alice")
    w.star("alice", "noon")
    w.star("alice", "one")
    return w


@pytest.mark.parametrize("hide", ["closed", "cancelled", "unreviewed", "rejected"], ids=lambda hide: f"lunch-{hide}")
def test_a_lunch_section_outside_the_lottery_still_keeps_lunch_free(app, hide):
    w = lunch_world(app)
    assert len(w.seats("alice")) == 1  # lunch protection with both lunch sections open
    for name in ("lunch1", "lunch2"):
        if hide == "closed":
            app.set_section_open(w.sections[name], False, admin())
        elif hide == "cancelled":
            app.cancel_section(w.sections[name], admin(override=True, reason="no lunch room"))
    if hide in ("unreviewed", "rejected"):
        app.change_subject_status(w.subjects["lunch"], hide, admin())
    inp = app.lottery_input(w.program_id, app.position())
    lunch = {s.id for s in inp.sections if s.is_lunch}
    assert lunch == {w.sections["lunch1"], w.sections["lunch2"]}
    assert len(w.seats("alice")) == 1


def test_a_wish_for_a_closed_lunch_section_is_still_ignored_and_counted(app):
    w = lunch_world(app)
    app.add_section(w.program_id, "alice", w.sections["lunch1"], student("alice"), verb="Interested")
    app.set_section_open(w.sections["lunch1"], False, admin())
    snapshot = app.lottery_snapshot(w.program_id, app.position())
    alice = next(s for s in snapshot.input.students if s.id == student_id(w.program_id, "alice"))
    assert w.sections["lunch1"] not in alice.interested


# -- grade-range exceptions ----------------------------------------------------------------


def exceptions_world(app: Registration, **settings: Any) -> Program:
    """`adv` is for grades 11-12 (one seat at 11:00); bob is in grade 10, carol in grade 11."""
    w = build(app, **settings)
    w.subject("adv", grade_min=11, grade_max=12, class_size_max=1)
    w.section("adv1", "adv", [0])
    w.profile("bob")
    w.profile("carol", graduation_year=GRADE_10 - 1)
    return w


def record_exception(w: Program, key: str, section: str) -> None:
    ctx = admin(override=True, reason="teacher vouched")
    w.app.add_section(w.program_id, key, w.sections[section], ctx, verb=GRADE_RANGE_EXCEPTION)


def test_a_grade_range_exception_seats_a_student_outside_the_grade_at_the_extra_level(app):
    w = exceptions_world(app, use_grade_range_exceptions=True)
    record_exception(w, "bob", "adv1")
    assert w.seats("bob") == {"adv1": 4}  # priority limit 3, so level 4
    inp = app.lottery_input(w.program_id, app.position())
    assert inp.grade_range_exceptions
    assert inp.levels == 4


def test_without_the_setting_a_grade_range_exception_is_not_read(app):
    w = exceptions_world(app)
    record_exception(w, "bob", "adv1")
    assert w.seats("bob") == {}
    inp = app.lottery_input(w.program_id, app.position())
    assert not inp.grade_range_exceptions
    assert all(len(s.priorities) == 3 for s in inp.students)


def test_the_grade_check_is_skipped_only_at_the_exception_level(app):
    w = exceptions_world(app, use_grade_range_exceptions=True)
    # A star outside the grade (an admin's override) is still refused by the lottery's grade check.
    app.star(w.program_id, "bob", w.subjects["adv"], admin(override=True, reason="asked at the desk"))
    assert w.seats("bob") == {}
    record_exception(w, "bob", "adv1")
    assert w.seats("bob") == {"adv1": 4}


def test_priorities_are_filled_before_the_exception_level(app):
    w = exceptions_world(app, use_grade_range_exceptions=True)
    record_exception(w, "bob", "adv1")
    app.change_settings(w.program_id, {"use_priority": True}, admin())
    app.rank_priorities(w.program_id, "carol", w.slots[0], {1: w.subjects["adv"]}, student("carol"))
    for seed in range(5):
        preview = app.what_if(w.program_id, None, seed)
        assert {(a.student_id, a.level) for a in preview.result.assignments} == {(student_id(w.program_id, "carol"), 1)}


def test_a_student_records_the_exception_only_when_the_program_lists_the_verb(app):
    w = exceptions_world(app, use_grade_range_exceptions=True)
    app.ensure_verbs([GRADE_RANGE_EXCEPTION], "student", admin())
    with pytest.raises(RegistrationError) as refused:
        app.add_section(w.program_id, "bob", w.sections["adv1"], student("bob"), verb=GRADE_RANGE_EXCEPTION)
    assert refused.value.code == "verb_not_allowed"
    app.change_settings(w.program_id, {"student_verbs": ["Interested", "Applied", GRADE_RANGE_EXCEPTION]}, admin())
    app.add_section(w.program_id, "bob", w.sections["adv1"], student("bob"), verb=GRADE_RANGE_EXCEPTION)
    assert w.seats("bob") == {"adv1": 4}
    # The verb skips the grade check; any other verb outside the grade is still refused.
    with pytest.raises(RegistrationError) as refused:
        app.add_section(w.program_id, "bob", w.sections["adv1"], student("bob"), verb="Interested")
    assert refused.value.code == "grade_out_of_range"


def test_a_run_reports_the_exception_level_in_its_stats(app):
    w = exceptions_world(app, use_grade_range_exceptions=True)
    record_exception(w, "bob", "adv1")
    result = app.start_lottery(w.program_id, admin(), seed=3)
    stats = app.lottery_stats(UUID(result.ids["run_id"]))
    assert [(lv.level, lv.requested, lv.assigned) for lv in stats.levels][-1] == (4, 1, 1)
    assert ("Grade-range exceptions granted", "1/1 (100.0%)") in stats.render_rows()


# -- the algorithm alone ------------------------------------------------------------------


def _uuid(n: int) -> UUID:
    return UUID(int=n)


def exception_input(*, exceptions: bool) -> LotteryInput:
    slot = LotteryTimeslot(_uuid(1), DAY, DAY + timedelta(minutes=50))
    section = LotterySection(_uuid(10), _uuid(20), (slot.id,), 2, 11, 12)
    levels = 3 + exceptions
    young = LotteryStudent(
        _uuid(30), 9, tuple(frozenset({section.id}) if k == 3 else frozenset() for k in range(levels))
    )
    starred = LotteryStudent(_uuid(31), 9, tuple(frozenset() for _ in range(levels)), frozenset({section.id}))
    return LotteryInput((slot,), (section,), (young, starred), 3, grade_range_exceptions=exceptions)


def test_the_algorithm_skips_the_grade_check_at_the_exception_level_only():
    inp = exception_input(exceptions=True)
    for fill in (False, True):
        params = LotteryParameters(fill_low_priorities=fill)
        result = compute_assignment(inp, params, 7)
        assert [(a.student_id, a.level) for a in result.assignments] == [(_uuid(30), 4)]
        stats = with_exception_level(compute_stats(inp, params, result), inp, result)
        assert (stats.levels[-1].level, stats.levels[-1].requested, stats.levels[-1].assigned) == (4, 1, 1)


def test_the_input_digest_is_unchanged_without_exceptions_and_differs_with_them():
    plain = exception_input(exceptions=False)
    assert "grade_range_exceptions" not in plain._canonical()
    on = exception_input(exceptions=True)
    assert on.digest() != plain.digest()
    assert compute_assignment(plain, LotteryParameters(), 7).assignments == ()
