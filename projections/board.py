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


class BoardViews(ABC):
    @abstractmethod
    def waitlisted_students(self, program_id: UUID) -> int:
        """Distinct students holding a place on one of the program's waitlists."""

    @abstractmethod
    def class_stars(self, program_id: UUID) -> dict[UUID, int]:
        """Current stars per class (subject id) of the program; classes without stars left out."""

    @abstractmethod
    def enrolment_activity(self, program_id: UUID) -> list[Activity]:
        """Per hour with any, in time order: Enrolled intervals opened and closed."""

    @abstractmethod
    def commands_since(self, program_id: UUID, since: datetime) -> int:
        """Distinct commands that opened or closed a registration of the program at or after `since`."""
