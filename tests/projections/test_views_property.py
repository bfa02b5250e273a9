"""Property: after random commands and a catch-up, every view equals an independent oracle.

The oracle is the write side itself: each Student's `registrations`/`stars` and each Section's
`enrolled`/`waitlist`/`capacity` now, and for as-of answers the Student aggregates replayed to
the version in force at the instant (`repository.get(id, version=v)`). All three stores must
also produce the same tables row for row, and a rebuild must equal the live tables.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regledger.adapters.projector import Projector
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, TimeslotId, student_id
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import ENROLLED, PRIORITY_PREFIX, CommandContext, priority_level_of
from regledger.projections.changes import fold_batch

N_STUDENTS, N_SECTIONS = 3, 4
_slugs = itertools.count()

adds = st.tuples(
    st.just("add"),
    st.integers(0, N_STUDENTS - 1),
    st.integers(0, N_SECTIONS - 1),
    st.sampled_from(["Enrolled", "Enrolled", "Interested", "Applied"]),
)
ops = st.one_of(
    adds,
    adds,
    st.tuples(st.just("switch"), st.integers(0, N_STUDENTS - 1), st.integers(0, N_SECTIONS - 1)),
    st.tuples(st.just("drop"), st.integers(0, N_STUDENTS - 1), st.integers(0, N_SECTIONS - 1)),
    st.tuples(st.just("switch"), st.integers(0, N_STUDENTS - 1), st.integers(0, N_SECTIONS - 1)),
    st.tuples(st.just("waitlist"), st.integers(0, N_STUDENTS - 1), st.integers(0, N_SECTIONS - 1)),
    st.tuples(st.just("star"), st.integers(0, N_STUDENTS - 1), st.integers(0, 1)),
    st.tuples(st.just("unstar"), st.integers(0, N_STUDENTS - 1), st.integers(0, 1)),
    st.tuples(
        st.just("rank"),
        st.integers(0, N_STUDENTS - 1),
        st.integers(0, 1),
        st.lists(st.sampled_from([0, 1, None]), min_size=1, max_size=2),
    ),
    st.tuples(st.just("cancel"), st.integers(0, N_SECTIONS - 1)),
    st.tuples(st.just("capacity"), st.integers(0, N_SECTIONS - 1), st.integers(0, 3)),
    st.tuples(st.just("open"), st.integers(0, N_SECTIONS - 1), st.booleans()),
    st.tuples(st.just("check_in"), st.integers(0, N_STUDENTS - 1), st.booleans()),
)


def ctx() -> CommandContext:
    return CommandContext(actor="tester", reason="because")


class World:
    """One program: 2 timeslots, 2 classes with a section in each timeslot, 3 students."""

    def __init__(self, app: Registration, use_priority: bool) -> None:
        self.app = app
        slug = f"p{next(_slugs)}"
        settings_ = {"require_profile": False, "waitlist_enabled": True, "use_priority": use_priority}
        self.pid = ProgramId(
            UUID(app.create_program(slug, slug, ctx(), school_year=2026, settings=settings_).ids["program_id"])
        )
        t0 = datetime(2027, 2, 13, 9, tzinfo=UTC)
        self.slots = [
            TimeslotId(
                UUID(
                    app.add_timeslot(
                        self.pid, f"T{i}", t0 + timedelta(hours=i), t0 + timedelta(hours=i, minutes=50), ctx()
                    ).ids["timeslot_id"]
                )
            )
            for i in range(2)
        ]
        self.subjects = [
            SubjectId(UUID(app.add_subject(self.pid, f"C{i}", f"Class {i}", ctx()).ids["subject_id"])) for i in range(2)
        ]
        self.sections = [
            SectionId(UUID(app.create_section(subj, [slot], ctx(), max_class_capacity=2).ids["section_id"]))
            for subj in self.subjects
            for slot in self.slots
        ]
        self.keys = [f"k{i}" for i in range(N_STUDENTS)]
        for key in self.keys:
            app.submit_profile(self.pid, key, key, 2030, {}, ctx())

    def run(self, op: tuple[Any, ...]) -> None:
        app, pid = self.app, self.pid
        try:
            match op:
                case ("add", s, sec, verb):
                    app.add_section(pid, self.keys[s], self.sections[sec], ctx(), verb)
                case ("drop", s, sec):
                    app.drop_section(pid, self.keys[s], self.sections[sec], ctx())
                case ("switch", s, sec):
                    # From whichever section of this class the student holds (if any) to the other.
                    held = app.find(Student, student_id(pid, self.keys[s]))
                    if held is not None and held.enrolled_in(self.sections[sec ^ 1]):
                        sec ^= 1
                    app.switch_sections(pid, self.keys[s], self.sections[sec], self.sections[sec ^ 1], ctx())
                case ("waitlist", s, sec):
                    app.join_waitlist(pid, self.keys[s], self.sections[sec], ctx())
                case ("star", s, subj):
                    app.star(pid, self.keys[s], self.subjects[subj], ctx())
                case ("unstar", s, subj):
                    app.unstar(pid, self.keys[s], self.subjects[subj], ctx())
                case ("rank", s, slot, choices):
                    ranking = {i + 1: (None if c is None else self.subjects[c]) for i, c in enumerate(choices)}
                    app.rank_priorities(pid, self.keys[s], self.slots[slot], ranking, ctx())
                case ("cancel", sec):
                    app.cancel_section(self.sections[sec], ctx())
                case ("capacity", sec, cap):
                    app.change_capacity(self.sections[sec], ctx(), max_class_capacity=cap)
                case ("open", sec, is_open):
                    app.set_section_open(self.sections[sec], is_open, ctx())
                case ("check_in", s, undo):
                    (app.undo_check_in if undo else app.check_in)(pid, self.keys[s], ctx())
        except RegistrationError:
            pass  # refusals write nothing


def check_against_oracle(world: World, views: Any) -> None:
    app, pid = world.app, world.pid
    students = [app.get_student(pid, k) for k in world.keys]
    sections = [app.load_section(s) for s in world.sections]
    # current registrations, schedules, stars
    all_rows = views.current_registrations(pid)
    expected_rows = sorted(
        (str(s.id), str(sec), verb, reg.cause) for s in students for (sec, verb), reg in s.registrations.items()
    )
    assert sorted((str(r.student_id), str(r.section_id), r.verb, r.cause) for r in all_rows) == expected_rows
    assert all(r.program_id == pid for r in all_rows)
    for s in students:
        held = {(sec, verb) for (sec, verb) in s.registrations}
        assert {(e.section_id, e.verb) for e in views.sections(s.id, pid)} == held
        assert views.enrolled_sections(s.id) == sorted({sec for sec, v in held if v == ENROLLED}, key=str)
        assert views.stars_of(s.id) == sorted(s.stars, key=str)
        applied = {
            r.section.subject_id
            for (_, v), r in s.registrations.items()
            if v in ("Enrolled", "Applied") or v.startswith(PRIORITY_PREFIX)
        }
        assert views.applied_classes(s.id) == sorted(applied, key=str)
        history = views.history(student_id=s.id)
        assert [i.valid_from for i in history] == sorted(i.valid_from for i in history)
        assert all(i.valid_to is None or i.valid_from <= i.valid_to for i in history)
    named = views.student_views(s.id for s in students).values()
    checked_in = {v.student_id: v.checked_in_at is not None for v in named}
    assert checked_in == {s.id: s.checked_in for s in students}
    for subj in world.subjects:
        assert views.stargazers(subj) == sorted((s.id for s in students if subj in s.stars), key=str)
    # rosters, seats, waitlists, demand, verb counts (from the Section and Student aggregates)
    counts = {c.section_id: c for c in views.seat_counts(pid)}
    for section in sections:
        assert views.students(section.id) == sorted(section.enrolled, key=str)
        assert views.waitlist(section.id) == list(section.waitlist)
        places = views.waitlist_places(section.id)
        assert [p.student_id for p in places] == list(section.waitlist)
        assert {p.student_id: p.passed_over_code for p in places if p.passed_over_code} == section.passed_over
        c = counts[section.id]
        assert (c.capacity, c.taken, c.waitlisted) == (section.capacity, len(section.enrolled), len(section.waitlist))
        assert (c.is_open, c.is_cancelled) == (section.is_open, section.is_cancelled)
        verbs: dict[str, int] = {}
        for s in students:
            for sec, verb in s.registrations:
                if sec == section.id:
                    verbs[verb] = verbs.get(verb, 0) + 1
        assert views.verb_counts(section.id) == verbs
        demand = views.demand(section.id)
        assert demand.stars == sum(1 for s in students if section.subject_id in s.stars)
        levels = {priority_level_of(v): n for v, n in verbs.items() if priority_level_of(v) is not None}
        assert demand.priorities == levels
    # students in the program: anyone who ever registered or starred (folded from the events)
    joined = set()
    for s in students:
        for e in app.repository.event_store.get(s.id):
            if isinstance(e, (Student.SectionRegistered, Student.SectionSwitched, Student.SubjectStarred)) or (
                isinstance(e, Student.PrioritiesRanked) and any(r is not None for r in e.ranked)
            ):
                joined.add(s.id)
    assert views.students_in_program(pid) == len(joined)
    check_as_of(world, views, students, sections)


def check_as_of(world: World, views: Any, students: list[Student], sections: list[Section]) -> None:
    """At each instant an event happened (and just before the first): replayed aggregates agree."""
    app = world.app
    timelines = {
        s.id: [(e.timestamp, e.originator_version) for e in app.repository.event_store.get(s.id)] for s in students
    }
    instants = sorted({t for tl in timelines.values() for t, _ in tl})
    instants = [instants[0] - timedelta(microseconds=1), *instants]
    for at in instants:
        roster: dict[UUID, set[UUID]] = {sec.id: set() for sec in sections}
        for s in students:
            versions = [v for t, v in timelines[s.id] if t <= at]
            held: set[tuple[UUID, str]] = set()
            if versions:
                past = app.repository.get(s.id, version=max(versions))
                held = set(past.registrations)
            assert {(e.section_id, e.verb) for e in views.sections(s.id, as_of=at)} == held, at
            for sec, verb in held:
                if verb == ENROLLED:
                    roster[sec].add(s.id)
        for sec in sections:
            assert views.roster_as_of(sec.id, at) == sorted(roster[sec.id], key=str), at


@pytest.mark.parametrize("use_priority", [False, True], ids=["fcfs", "priority"])
def test_views_equal_the_write_side_after_random_commands(
    store_settings: Any, make_app: Any, make_views: Any, use_priority: bool
) -> None:
    app = make_app(store_settings, Registration)
    views = make_views(store_settings)
    rebuilt = make_views(store_settings, prefix="rb_")
    projector = Projector(app, views, batch_size=7)  # small batches: many batch boundaries

    examples = 6 if store_settings.store == "postgres" else 25

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(ops, min_size=4, max_size=30))
    def run(commands: list[tuple[Any, ...]]) -> None:
        world = World(app, use_priority)
        for op in commands:
            world.run(op)
        projector.catch_up()
        assert views.position() == app.recorder.max_notification_id()
        check_against_oracle(world, views)

    run()
    # A rebuild from zero (under another prefix) equals the live tables, row for row.
    Projector(app, rebuilt, batch_size=1000).rebuild()
    live, again = views.dump(), rebuilt.dump()
    assert again == live
    assert len(live["intervals"]) > 0


def test_all_stores_build_identical_tables(
    make_app: Any, make_views: Any, memory_settings: Any, sqlite_settings: Any, per_change: Any
) -> None:
    """The same events give the same rows on memory, SQLite and the oracle applying one change at
    a time (PostgreSQL: see the crash test)."""
    app = make_app(memory_settings, Registration)
    world = World(app, use_priority=True)
    script = [
        ("add", 0, 0, "Enrolled"),
        ("add", 1, 0, "Enrolled"),
        ("waitlist", 2, 0),
        ("star", 0, 1),
        ("rank", 1, 1, [1, 0]),
        ("switch", 0, 0),
        ("drop", 1, 0),
        ("cancel", 1),
        ("unstar", 0, 1),
    ]
    for op in script:
        world.run(op)
    mem, sql = make_views(memory_settings), make_views(sqlite_settings)
    Projector(app, mem, batch_size=3).catch_up()
    Projector(app, sql, batch_size=5).catch_up()
    oracle = per_change.PerChangeViews()
    page = app.recorder.select_notifications(0, 10_000, inclusive_of_start=False)
    oracle.apply(fold_batch([(n.id, app.mapper.to_domain_event(n)) for n in page]))
    assert mem.dump() == sql.dump() == oracle.dump()
    assert len(mem.dump()["intervals"]) >= 4
