"""The view changes of registrations, stars, seats and waitlist places (`changes.fold` makes
them; `changes` explains what each means for a view that already holds rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(slots=True)
class IntervalOpened:
    """A registration begins. The program is the student's (resolved by the view)."""

    student_id: UUID
    section_id: UUID
    subject_id: UUID
    verb: str
    at: datetime
    cause: str
    actor: str
    reason: str
    command_id: str
    lottery_run_id: UUID | None


@dataclass(slots=True)
class IntervalClosed:
    student_id: UUID
    section_id: UUID
    verb: str
    at: datetime
    cause: str
    actor: str
    reason: str
    command_id: str


@dataclass(slots=True)
class StarOpened:
    student_id: UUID
    subject_id: UUID
    at: datetime
    actor: str
    command_id: str


@dataclass(slots=True)
class StarClosed:
    student_id: UUID
    subject_id: UUID
    at: datetime
    actor: str
    command_id: str


@dataclass(slots=True)
class SeatTaken:
    """A seat is taken; the student also leaves the section's waitlist if on it (the aggregate's
    `enroll` does both, and the event does not say whether the student was waitlisted)."""

    section_id: UUID
    student_id: UUID
    at: datetime
    cause: str


@dataclass(slots=True)
class SeatReleased:
    section_id: UUID
    student_id: UUID


@dataclass(slots=True)
class WaitlistJoined:
    section_id: UUID
    student_id: UUID
    at: datetime


@dataclass(slots=True)
class PassedOver:
    """A queued student could not take a free seat (the latest reason per place; a reason older
    than the student's place is a past place's, and the queries ignore it)."""

    section_id: UUID
    student_id: UUID
    code: str
    message: str
    at: datetime


@dataclass(slots=True)
class WaitlistLeft:
    """A no-op when the student is not on the waitlist."""

    section_id: UUID
    student_id: UUID
