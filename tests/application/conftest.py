"""A small standard program for application tests, built through the public commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId, SectionId, SubjectId, TimeslotId, program_id, student_id
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import CommandContext

# Saturday 21 November 2026: three morning slots, 9:00, 10:00 and 11:00, 50 minutes each.
DAY = datetime(2026, 11, 21, 9, tzinfo=UTC)
SCHOOL_YEAR = 2027
GRADE_10 = 2029  # graduation year of a 10th grader in SCHOOL_YEAR


@dataclass
class FakeClock:
    """The application's injected clock; tests move it explicitly."""

    now: datetime = DAY - timedelta(days=7)

    def __call__(self) -> datetime:
        return self.now


def admin(**kwargs: Any) -> CommandContext:
    return CommandContext(actor="admin", **kwargs)


def as_student(key: str, **kwargs: Any) -> CommandContext:
    return CommandContext(actor=key, **kwargs)


@dataclass
class World:
    """One program on one store, with helpers that run the real commands."""

    app: Registration
    clock: FakeClock
    program_id: ProgramId
    timeslots: list[TimeslotId] = field(default_factory=list)
    subjects: dict[str, SubjectId] = field(default_factory=dict)
    sections: dict[str, SectionId] = field(default_factory=dict)

    # -- set-up -------------------------------------------------------------------------

    def subject(self, code: str, title: str | None = None, **kwargs: Any) -> SubjectId:
        """A class; unless told otherwise it has room for 10 per section (None would mean 0)."""
        kwargs.setdefault("class_size_max", 10)
        result = self.app.add_subject(self.program_id, code, title or code.title(), admin(), **kwargs)
        self.subjects[code] = SubjectId(UUID(result.ids["subject_id"]))
        return self.subjects[code]

    def section(self, name: str, subject: str, slots: list[int], **kwargs: Any) -> SectionId:
        result = self.app.create_section(self.subjects[subject], [self.timeslots[i] for i in slots], admin(), **kwargs)
        self.sections[name] = SectionId(UUID(result.ids["section_id"]))
        return self.sections[name]

    def profile(self, key: str, graduation_year: int = GRADE_10) -> None:
        self.app.submit_profile(self.program_id, key, key.title(), graduation_year, {}, as_student(key))

    # -- commands and reads ---------------------------------------------------------------

    def add(self, key: str, section: str, ctx: CommandContext | None = None, **kwargs: Any) -> Any:
        return self.app.add_section(self.program_id, key, self.sections[section], ctx or as_student(key), **kwargs)

    def drop(self, key: str, section: str, ctx: CommandContext | None = None, **kwargs: Any) -> Any:
        return self.app.drop_section(self.program_id, key, self.sections[section], ctx or as_student(key), **kwargs)

    def switch(self, key: str, old: str, new: str, ctx: CommandContext | None = None) -> Any:
        return self.app.switch_sections(
            self.program_id, key, self.sections[old], self.sections[new], ctx or as_student(key)
        )

    def waitlist(self, key: str, section: str, ctx: CommandContext | None = None) -> Any:
        return self.app.join_waitlist(self.program_id, key, self.sections[section], ctx or as_student(key))

    def star(self, key: str, subject: str, ctx: CommandContext | None = None) -> Any:
        return self.app.star(self.program_id, key, self.subjects[subject], ctx or as_student(key))

    def rank(self, key: str, slot: int, ranking: dict[int, str | None], ctx: CommandContext | None = None) -> Any:
        by_id = {rank: (self.subjects[code] if code else None) for rank, code in ranking.items()}
        return self.app.rank_priorities(self.program_id, key, self.timeslots[slot], by_id, ctx or as_student(key))

    def get_section(self, name: str) -> Section:
        return self.app.load_section(self.sections[name])

    def get_student(self, key: str) -> Student:
        return self.app.get_student(self.program_id, key)

    def enrolled_keys(self, section: str) -> set[str]:
        ids = set(self.get_section(section).enrolled)
        return {key for key in self.known_students() if self.student_id(key) in ids}

    def student_id(self, key: str) -> UUID:
        return student_id(self.program_id, key)

    def known_students(self) -> list[str]:
        return ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]

    def verbs(self, key: str, section: str) -> list[str]:
        return self.get_student(key).verbs_on(self.sections[section])

    def position(self) -> int:
        return self.app.recorder.max_notification_id() or 0


def build_world(
    app: Registration,
    *,
    settings: dict[str, Any] | None = None,
    slug: str = "splash",
    timeslots: int = 3,
    grades: tuple[int, int] = (7, 12),
) -> World:
    clock = FakeClock()
    app.clock = clock
    app.create_program(
        slug,
        "Splash",
        admin(),
        school_year=SCHOOL_YEAR,
        settings=settings or {},
        grade_min=grades[0],
        grade_max=grades[1],
    )
    world = World(app=app, clock=clock, program_id=program_id(slug))
    for i in range(timeslots):
        start = DAY + timedelta(hours=i)
        result = app.add_timeslot(world.program_id, f"slot{i}", start, start + timedelta(minutes=50), admin())
        world.timeslots.append(TimeslotId(UUID(result.ids["timeslot_id"])))
    return world


@pytest.fixture
def app(app_settings: Settings, make_app: Any) -> Registration:
    registration: Registration = make_app(app_settings, Registration)
    return registration


@pytest.fixture(params=["memory", "sqlite"])
def local_app(request: pytest.FixtureRequest, make_app: Any) -> Registration:
    """The embedded stores only: for input checks that fail before any I/O, on many cases."""
    registration: Registration = make_app(request.getfixturevalue(f"{request.param}_settings"), Registration)
    return registration


@pytest.fixture
def local_world(local_app: Registration) -> World:
    return standard_world(local_app)


@pytest.fixture
def world(app: Registration) -> World:
    """Program "splash" with 3 timeslots, classes math (sections math1 @0, math2 @1, capacity 2)
    and art (section art1 @0, capacity 1); students alice, bob and carol have 10th-grade profiles."""
    return standard_world(app)


def standard_world(app: Registration) -> World:
    w = build_world(app)
    w.subject("math", "Math", class_size_max=2)
    w.section("math1", "math", [0])
    w.section("math2", "math", [1])
    w.subject("art", "Art", class_size_max=1)
    w.section("art1", "art", [0])
    for key in ("alice", "bob", "carol"):
        w.profile(key)
    return w
