"""Random command sequences against a small program; the invariants are checked after every step."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import constraint_id
from regledger.domain.rules import promotion_refusal
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import ENROLLED, WAITLISTED, CommandContext
from tests.application.conftest import admin, as_student, build_world

STUDENTS = ("s0", "s1", "s2", "s3", "s4", "s5")
CLASSES = ("c0", "c1", "c2")
# Two sections per class; c2's first section spans two timeslots, so overlaps are partial too.
SECTIONS = {"c0a": ("c0", [0]), "c0b": ("c0", [1]), "c1a": ("c1", [1]), "c1b": ("c1", [2]), "c2a": ("c2", [0, 1]),
            "c2b": ("c2", [2])}  # fmt: skip
SECTION_NAMES = tuple(SECTIONS)

students = st.sampled_from(STUDENTS)
sections = st.sampled_from(SECTION_NAMES)
classes = st.sampled_from(CLASSES)
capacities = st.integers(min_value=0, max_value=3)
reasons = st.sampled_from(["", "teacher's request"])


class RegistrationMachine(RuleBasedStateMachine):
    """Drives one Registration app; subclasses choose the store."""

    store = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="regledger-stateful-"))
        self.apps: list[Registration] = []
        self.loaded: dict[str, Any] = {}
        self.app = self.new_app(cache=True)
        self.world = build_world(self.app, settings={"waitlist_enabled": True, "priority_limit": 3})
        for code in CLASSES:
            self.world.subject(code, class_size_max=2)
        for name, (code, slots) in SECTIONS.items():
            self.world.section(name, code, slots, max_class_capacity=1 if name.endswith("a") else 2)
        for key in STUDENTS:
            self.world.profile(key)
        self.student_ids = {self.world.student_id(key): key for key in STUDENTS}
        # Sections an override may have pushed beyond capacity (cleared once back within it).
        self.override_excess: set[str] = set()
        self.refusals = 0
        self.step_override: str | None = None
        self.snapshot = self.seat_counts()

    # -- plumbing -----------------------------------------------------------------------------

    def new_app(self, *, cache: bool) -> Registration:
        mapping = {"REGLEDGER_STORE": self.store, "REGLEDGER_AGGREGATE_CACHE_SIZE": "10000" if cache else "0"}
        if self.store == "sqlite":
            mapping["REGLEDGER_SQLITE_PATH"] = str(self.tmp / "regledger.sqlite3")
        config = Settings.from_mapping(mapping)
        config.prepare()
        app = build_application(config)
        self.apps.append(app)
        return app

    def teardown(self) -> None:
        for app in self.apps:
            app.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, command: Callable[[], Any], *, override_on: str | None = None) -> bool:
        """Run a command; a refusal must carry a code and write nothing. True if it was applied."""
        before = self.world.position()
        self.loaded.clear()
        self.step_override = None
        refusal: RegistrationError | None = None
        try:
            command()
        except RegistrationError as error:
            refusal = error
        if refusal is not None:
            assert refusal.code, repr(refusal)
            assert refusal.code != "conflict", "a single writer cannot conflict"
            assert refusal.message.strip(), repr(refusal)
            assert self.world.position() == before, f"refused {refusal.code} but wrote events"
            self.refusals += 1
            return False
        if override_on is not None:
            self.override_excess.add(override_on)
            self.step_override = override_on
        return True

    def section(self, name: str) -> Section:
        # Loaded once per step: state only changes in run(), which forgets what was loaded.
        if name not in self.loaded:
            self.loaded[name] = self.world.get_section(name)
        section: Section = self.loaded[name]
        return section

    def seat_counts(self) -> dict[str, int]:
        return {name: len(self.section(name).enrolled) for name in SECTION_NAMES}

    # -- rules ----------------------------------------------------------------------------------

    @rule(key=students, name=sections, verb=st.sampled_from([ENROLLED, ENROLLED, ENROLLED, "Interested"]))
    def add(self, key: str, name: str, verb: str) -> None:
        self.run(lambda: self.world.add(key, name, verb=verb))

    @rule(key=students, name=sections, reason=st.just("staff override"))
    def add_with_override(self, key: str, name: str, reason: str) -> None:
        ctx = CommandContext(actor="admin", override=True, reason=reason)
        self.run(lambda: self.world.add(key, name, ctx), override_on=name)

    @rule(key=students, name=sections, verbs=st.sampled_from([None, [WAITLISTED], ["All"]]))
    def drop(self, key: str, name: str, verbs: list[str] | None) -> None:
        self.run(lambda: self.world.drop(key, name, verbs=verbs))

    @rule(key=students, name=sections)
    def replace(self, key: str, name: str) -> None:
        self.run(lambda: self.world.add(key, name, replace=True))

    @rule(on=st.booleans())
    def toggle_constraint(self, on: bool) -> None:
        """A rule that keeps c2 out of schedules: its removal lets queued students fit again."""
        app, program_id = self.world.app, self.world.program_id
        if on:
            never_c2 = {"op": "not", "item": {"op": "enrolled_in_class", "subject_id": str(self.world.subjects["c2"])}}
            self.run(
                lambda: app.add_constraint(program_id, "no c2", {"op": "constant", "value": True}, never_c2, admin())
            )
        else:
            self.run(lambda: app.remove_constraint(program_id, constraint_id(program_id, "no c2"), admin()))

    @rule(key=students, old=sections, new=sections)
    def switch(self, key: str, old: str, new: str) -> None:
        self.run(lambda: self.world.switch(key, old, new))

    @rule(key=students, name=sections)
    def join_waitlist(self, key: str, name: str) -> None:
        self.run(lambda: self.world.waitlist(key, name))

    @rule(key=students, code=classes, unstar=st.booleans())
    def star(self, key: str, code: str, unstar: bool) -> None:
        if unstar:
            subject = self.world.subjects[code]
            self.run(lambda: self.world.app.unstar(self.world.program_id, key, subject, as_student(key)))
        else:
            self.run(lambda: self.world.star(key, code))

    @rule(
        key=students,
        slot=st.integers(0, 2),
        ranking=st.dictionaries(st.integers(1, 3), st.one_of(st.none(), classes), max_size=3),
    )
    def rank(self, key: str, slot: int, ranking: dict[int, str | None]) -> None:
        self.run(lambda: self.world.rank(key, slot, ranking))

    @rule(name=sections, capacity=capacities, reason=reasons)
    def change_capacity(self, name: str, capacity: int, reason: str) -> None:
        ctx = admin(override=bool(reason), reason=reason)
        section_id = self.world.sections[name]
        self.run(
            lambda: self.world.app.change_capacity(section_id, ctx, max_class_capacity=capacity),
            override_on=name if reason else None,
        )

    @rule(name=sections, is_open=st.booleans())
    def open_or_close(self, name: str, is_open: bool) -> None:
        section_id = self.world.sections[name]
        self.run(lambda: self.world.app.set_section_open(section_id, is_open, admin()))

    @precondition(lambda self: sum(self.section(n).is_cancelled for n in SECTION_NAMES) < 2)
    @rule(name=sections)
    def cancel(self, name: str) -> None:
        section_id = self.world.sections[name]
        self.run(lambda: self.world.app.cancel_section(section_id, admin()))

    # -- the day of the program ------------------------------------------------------------------

    @rule(key=students)
    def check_in(self, key: str) -> None:
        self.run(lambda: self.world.app.check_in(self.world.program_id, key, admin()))

    @rule(slot=st.integers(min_value=0, max_value=2))
    def sweep_no_shows(self, slot: int) -> None:
        timeslot = self.world.timeslots[slot]
        self.run(lambda: self.world.app.unenroll_no_shows(self.world.program_id, timeslot, admin(reason="9:15")))

    @rule(key=students)
    def unenroll_all(self, key: str) -> None:
        self.run(lambda: self.world.app.unenroll_all(self.world.program_id, key, admin(reason="went home")))

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def seats_never_exceed_capacity_without_an_override(self) -> None:
        counts = self.seat_counts()
        for name in SECTION_NAMES:
            section = self.section(name)
            if counts[name] <= section.capacity:
                self.override_excess.discard(name)
            else:
                assert name in self.override_excess, f"{name}: {counts[name]} seats, capacity {section.capacity}"
                # Beyond capacity only the override itself may add a seat (no ordinary add, no promotion).
                assert counts[name] <= self.snapshot[name] or self.step_override == name, name
        self.snapshot = counts

    @invariant()
    def sections_and_students_agree_and_no_double_booking(self) -> None:
        held: dict[str, set[UUID]] = {key: set() for key in STUDENTS}
        waiting: dict[str, set[UUID]] = {key: set() for key in STUDENTS}
        for name in SECTION_NAMES:
            section = self.section(name)
            for student_id in section.enrolled:
                held[self.student_ids[student_id]].add(section.id)
            for student_id in section.waitlist:
                waiting[self.student_ids[student_id]].add(section.id)
            assert len(section.waitlist) == len(set(section.waitlist)), name
            assert not set(section.waitlist) & set(section.enrolled), name
            if section.is_cancelled:
                assert section.enrolled == {}
                assert section.waitlist == []
        for key in STUDENTS:
            student = self.find_student(key)
            enrolled = {s for (s, v) in student.registrations if v == ENROLLED} if student else set()
            waitlisted = {s for (s, v) in student.registrations if v == WAITLISTED} if student else set()
            assert enrolled == held[key], f"{key}: student says {enrolled}, sections say {held[key]}"
            assert waiting[key] == waitlisted, f"{key}: student waits for {waitlisted}, sections {waiting[key]}"
            refs = [student.registrations[(s, ENROLLED)].section for s in enrolled] if student else []
            subjects = [r.subject_id for r in refs]
            assert len(subjects) == len(set(subjects)), f"{key} holds two sections of one class"
            slots = [t for r in refs for t in r.timeslot_ids]
            assert len(slots) == len(set(slots)), f"{key} holds two Enrolled sections sharing a timeslot"

    @invariant()
    def nobody_jumps_the_waitlist(self) -> None:
        """A section open to registration with free seats queues only students who cannot take
        one now (docs/waitlists.md)."""
        program = self.world.app.load_program(self.world.program_id)
        for name in SECTION_NAMES:
            section = self.section(name)
            if not section.waitlist or section.seats_free <= 0 or section.status_refusal() is not None:
                continue
            subject = self.world.app.load_subject(section.subject_id)
            for student_id in section.waitlist:
                student = self.find_student(self.student_ids[student_id])
                assert student is not None
                refusal = promotion_refusal(program, subject, section, student)
                assert refusal is not None, f"{name}: {self.student_ids[student_id]} could take a free seat"
                # ... and was told why when the seat was offered (every path that frees a seat offers it).
                assert student_id in section.passed_over, f"{name}: a free seat was never offered"

    @invariant()
    def state_equals_a_replay_of_the_stored_events(self) -> None:
        for name in SECTION_NAMES:
            live = self.section(name)
            replayed = self.replay(live.id)
            assert isinstance(replayed, Section)
            assert (replayed.enrolled, replayed.waitlist, replayed.capacity) == (
                live.enrolled,
                live.waitlist,
                live.capacity,
            ), name
            assert (replayed.is_open, replayed.is_cancelled, replayed.version) == (
                live.is_open,
                live.is_cancelled,
                live.version,
            ), name
        for key in STUDENTS:
            live_student = self.find_student(key)
            if live_student is None:
                continue
            replayed_student = self.replay(live_student.id)
            assert isinstance(replayed_student, Student)
            assert replayed_student.registrations == live_student.registrations, key
            assert replayed_student.stars == live_student.stars, key
            assert replayed_student.rankings == live_student.rankings, key
            assert replayed_student.version == live_student.version, key
        program = self.world.app.load_program(self.world.program_id)
        assert self.replay(program.id).admitted == program.admitted

    def find_student(self, key: str) -> Student | None:
        if key not in self.loaded:
            try:
                self.loaded[key] = self.world.get_student(key)
            except RegistrationError:
                self.loaded[key] = None
        student: Student | None = self.loaded[key]
        return student

    def replay(self, aggregate_id: UUID) -> Any:
        """The aggregate rebuilt from every stored event: no cache, no snapshot."""
        aggregate = None
        for stored in self.world.app.events.get(aggregate_id):
            aggregate = stored.mutate(aggregate)
        return aggregate


class SqliteRegistrationMachine(RegistrationMachine):
    store = "sqlite"

    @invariant()
    def a_fresh_uncached_application_sees_the_same_state(self) -> None:
        fresh = getattr(self, "fresh", None)
        if fresh is None:
            fresh = self.fresh = self.new_app(cache=False)
        for name in SECTION_NAMES:
            section_id = self.world.sections[name]
            live, loaded = self.world.app.load_section(section_id), fresh.load_section(section_id)
            assert (loaded.enrolled, loaded.waitlist) == (live.enrolled, live.waitlist), name
        for key in STUDENTS:
            live_student = self.find_student(key)
            if live_student is not None:
                loaded_student = fresh.get_student(self.world.program_id, key)
                assert loaded_student.registrations == live_student.registrations, key
                assert loaded_student.stars == live_student.stars, key


STATEFUL = settings(
    settings.default,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestRegistrationOnMemory = RegistrationMachine.TestCase
TestRegistrationOnMemory.settings = settings(STATEFUL, max_examples=30, stateful_step_count=30)

TestRegistrationOnSqlite = SqliteRegistrationMachine.TestCase
TestRegistrationOnSqlite.settings = settings(STATEFUL, max_examples=6, stateful_step_count=25)


def test_the_machine_exercises_refusals_and_successes() -> None:
    """A short fixed run: the rules reach both outcomes, so the invariants are not vacuous."""
    machine = RegistrationMachine()
    try:
        machine.add("s0", "c0a", ENROLLED)
        machine.add("s1", "c0a", ENROLLED)  # full (capacity 1)
        machine.add_with_override("s1", "c0a", "staff override")
        machine.seats_never_exceed_capacity_without_an_override()
        machine.join_waitlist("s2", "c0a")
        machine.drop("s0", "c0a", None)
        machine.switch("s1", "c0a", "c0b")
        machine.change_capacity("c0a", 0, "")
        machine.cancel("c1a")
        machine.seats_never_exceed_capacity_without_an_override()
        machine.sections_and_students_agree_and_no_double_booking()
        machine.state_equals_a_replay_of_the_stored_events()
        assert machine.refusals >= 1
        assert machine.section("c0b").enrolled
    finally:
        machine.teardown()


def test_the_machine_reaches_a_free_seat_only_an_unable_student_queues_for() -> None:
    machine = RegistrationMachine()
    try:
        machine.add("s0", "c0a", ENROLLED)
        machine.join_waitlist("s1", "c0a")
        machine.add("s1", "c2a", ENROLLED)  # c2a meets in c0a's slot
        machine.drop("s0", "c0a", None)
        machine.nobody_jumps_the_waitlist()
        assert machine.section("c0a").passed_over
        assert machine.section("c0a").seats_free == 1
        machine.replace("s1", "c0a")
        machine.nobody_jumps_the_waitlist()
        assert machine.section("c0a").enrolled
        assert not machine.section("c0a").waitlist
        assert machine.section("c2a").enrolled == {}
    finally:
        machine.teardown()
