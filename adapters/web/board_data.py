"""The big board's numbers for a program, read from the same views the API reads.

The cards (`Board`) are read on every poll: a handful of grouped queries, none per section.
The season's enrolment series reads every Enrolled interval of the program, so it is kept for
`SERIES_TTL` seconds per program (a chart of the season need not be fresher than that).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from regledger.projections.board import Activity
from regledger.projections.catalogue import SectionView
from regledger.projections.views import RegistrationViews

RECENT = timedelta(minutes=10)  # commands per minute: over the last 10 minutes
TOP = 10  # most popular classes shown
SERIES_TTL = 30.0
DAILY_AFTER = timedelta(days=3)  # a season longer than this is drawn per day, else per hour


@dataclass(frozen=True)
class Popular:
    code: str
    title: str
    sections: int
    enrolled: int
    capacity: int
    stars: int

    @property
    def fill(self) -> int:
        """Percent of the class's seats taken."""
        return round(100 * self.enrolled / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class Board:
    position: int
    students: int
    enrolled: int
    capacity: int
    sections: int
    full_sections: int
    waitlisted: int
    commands_per_minute: float
    popular: list[Popular]

    @property
    def fill(self) -> int:
        return round(100 * self.enrolled / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class Series:
    """Enrolments and drops per bucket; `unit` is "hour" or "day" (UTC)."""

    unit: str
    points: list[Activity]

    @property
    def totals(self) -> tuple[int, int]:
        return sum(p.enrolments for p in self.points), sum(p.drops for p in self.points)


def board(views: RegistrationViews, program: UUID, now: datetime | None = None) -> Board:
    position = views.position()
    live = [s for s in views.section_views(program) if not s.is_cancelled]
    since = (now or datetime.now(UTC)) - RECENT
    commands = views.commands_since(program, since)
    return Board(
        position=position,
        students=views.students_in_program(program),
        enrolled=sum(s.enrolled for s in live),
        capacity=sum(s.capacity for s in live),
        sections=len(live),
        full_sections=sum(1 for s in live if s.capacity and s.enrolled >= s.capacity),
        waitlisted=views.waitlisted_students(program),
        commands_per_minute=round(commands / (RECENT.total_seconds() / 60), 1),
        popular=popular(live, views.class_stars(program)),
    )


def popular(sections: list[SectionView], stars: dict[UUID, int]) -> list[Popular]:
    """Classes by share of seats taken, then stars: what fills first is what is wanted."""
    classes: dict[UUID, list[SectionView]] = {}
    for section in sections:
        classes.setdefault(section.subject_id, []).append(section)
    ranked = [
        Popular(
            code=group[0].class_code,
            title=group[0].class_title,
            sections=len(group),
            enrolled=sum(s.enrolled for s in group),
            capacity=sum(s.capacity for s in group),
            stars=stars.get(subject, 0),
        )
        for subject, group in classes.items()
    ]
    ranked.sort(key=lambda c: (-(c.enrolled / c.capacity if c.capacity else 0), -c.stars, c.code))
    return ranked[:TOP]


def bucketed(points: list[Activity]) -> Series:
    """Hours as they are for a short season; summed per day (UTC) for a longer one."""
    if not points or points[-1].hour - points[0].hour <= DAILY_AFTER:
        return Series("hour", points)
    days: dict[datetime, list[int]] = {}
    for p in points:
        day = p.hour.replace(hour=0)
        totals = days.setdefault(day, [0, 0])
        totals[0] += p.enrolments
        totals[1] += p.drops
    return Series("day", [Activity(day, e, d) for day, (e, d) in sorted(days.items())])


class SeriesCache:
    """The season's series per program, read again once it is `SERIES_TTL` seconds old."""

    def __init__(self, ttl: float = SERIES_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, UUID], tuple[float, Series]] = {}

    def series(self, views: RegistrationViews, program: UUID) -> Series:
        now = time.monotonic()
        key = (id(views), program)  # per store: two apps in one process keep apart
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        fresh = bucketed(views.enrolment_activity(program))
        with self._lock:
            self._kept[key] = (now, fresh)
        return fresh

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()


SERIES = SeriesCache()
