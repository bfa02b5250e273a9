"""The big board's aggregates: program-wide counts the registrar watches during a season.

Each is one grouped query over the views (never a query per section or student), so the
board stays cheap at Splash scale while it is polled every few seconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Activity:
    """Enrolments begun and ended in one hour (UTC): an Enrolled interval's start and end."""

    hour: datetime
    enrolments: int
    drops: int


@dataclass(frozen=True)
class ClassLoad:
    """A class's sections that are not cancelled, summed: seats, seats taken, full ones."""

    subject_id: UUID
    code: str
    title: str
    sections: int
    capacity: int
    enrolled: int
    full_sections: int

    @property
    def fill(self) -> float:
        return self.enrolled / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class RecentCommands:
    """The program's latest events since a time, at most a limit of them: the distinct commands
    among them, how many events were read, and the oldest one's time (None if none)."""

    commands: int
    events: int
    oldest: datetime | None


class BoardViews(ABC):
    @abstractmethod
    def waitlisted_students(self, program_id: UUID) -> int:
        """Distinct students holding a place on one of the program's waitlists."""

    @abstractmethod
    def class_loads(self, program_id: UUID) -> list[ClassLoad]:
        """Every class of the program with a section that is not cancelled, by code."""

    @abstractmethod
    def class_stars(self, program_id: UUID) -> dict[UUID, int]:
        """Current stars per class (subject id) of the program; classes without stars left out."""

    @abstractmethod
    def enrolment_activity(self, program_id: UUID) -> list[Activity]:
        """Per hour with any, in time order: Enrolled intervals opened and closed."""

    @abstractmethod
    def recent_commands(self, program_id: UUID, since: datetime, limit: int) -> RecentCommands:
        """The newest `limit` events of the program's audit log at or after `since`, and the
        distinct commands among them (every kind: registrations, stars, priorities, a
        registrar's changes; a lottery commit is one however many events it makes)."""
