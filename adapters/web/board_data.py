"""The big board's numbers for a program, read from the same views the API reads.

The cards (`Board`) are read on every poll: a handful of grouped queries, none per section.
The slow part (`Season`: the enrolment series, which reads every Enrolled interval of the
program, and the stars per class, every current star) is kept per program and read again in
the background once `SEASON_TTL` seconds old: a chart of the season and the stars that rank
classes need not be fresher than that, and no page waits for them but the first.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from regledger.projections.board import Activity, ClassLoad
from regledger.projections.views import RegistrationViews

logger = logging.getLogger("regledger.web")

RECENT = timedelta(minutes=10)  # commands per minute: over the last 10 minutes...
RECENT_EVENTS = 5000  # ...or the newest this many events (a bound on the rows read)
TOP = 10  # most popular classes shown: by share of seats taken, then stars
SEASON_TTL = 30.0
DAILY_AFTER = timedelta(days=3)  # a season longer than this is drawn per day, else per hour


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
    popular: list[tuple[ClassLoad, int]]  # with its stars

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


@dataclass(frozen=True)
class Season:
    series: Series
    stars: dict[UUID, int]  # current stars per class


def season(views: RegistrationViews, program: UUID) -> Season:
    return Season(bucketed(views.enrolment_activity(program)), views.class_stars(program))


def board(views: RegistrationViews, program: UUID, stars: dict[UUID, int], now: datetime | None = None) -> Board:
    """The cards; `stars` per class (from the kept `Season`) rank the classes that fill alike."""
    position = views.position()
    classes = views.class_loads(program)
    now = now or datetime.now(UTC)
    return Board(
        position=position,
        students=views.students_in_program(program),
        enrolled=sum(c.enrolled for c in classes),
        capacity=sum(c.capacity for c in classes),
        sections=sum(c.sections for c in classes),
        full_sections=sum(c.full_sections for c in classes),
        waitlisted=views.waitlisted_students(program),
        commands_per_minute=commands_per_minute(views, program, now),
        popular=[
            (c, stars.get(c.subject_id, 0))
            for c in sorted(classes, key=lambda c: (-c.fill, -stars.get(c.subject_id, 0), c.code))[:TOP]
        ],
    )


def commands_per_minute(views: RegistrationViews, program: UUID, now: datetime) -> float:
    """Over the last 10 minutes; or, if the program had more than `RECENT_EVENTS` events in
    them, over the time its newest `RECENT_EVENTS` took (at least a minute: a lottery commit's
    thousands of events in a second are one command, not sixty a minute)."""
    recent = views.recent_commands(program, now - RECENT, RECENT_EVENTS)
    minutes = RECENT.total_seconds() / 60
    if recent.events >= RECENT_EVENTS and recent.oldest is not None:
        minutes = max((now - recent.oldest).total_seconds() / 60, 1.0)
    return round(recent.commands / minutes, 1)


def bucketed(points: list[Activity]) -> Series:
    """Hours for a short season, days (UTC) for a longer one; quiet buckets between the first
    and the last are zeros, and a lone bucket gets a quiet one either side, so lines read."""
    if not points:
        return Series("hour", [])
    unit, step = ("hour", timedelta(hours=1))
    if points[-1].hour - points[0].hour > DAILY_AFTER:
        unit, step = ("day", timedelta(days=1))
    totals: dict[datetime, list[int]] = {}
    for p in points:
        at = p.hour if unit == "hour" else p.hour.replace(hour=0)
        kept = totals.setdefault(at, [0, 0])
        kept[0] += p.enrolments
        kept[1] += p.drops
    first, last = min(totals), max(totals)
    if first == last:
        first, last = first - step, last + step
    filled = []
    at = first
    while at <= last:
        enrolments, drops = totals.get(at, (0, 0))
        filled.append(Activity(at, enrolments, drops))
        at += step
    return Series(unit, filled)


class SeasonCache:
    """One app's `Season` per program. A page reads it from here; once it is `ttl` seconds old
    one worker thread reads it again while pages still show the kept one (only the first page of
    a program waits for the read). Closed with the app (`Api.owned`)."""

    def __init__(self, views: RegistrationViews, ttl: float = SEASON_TTL) -> None:
        self.views = views
        self.ttl = ttl
        self._lock = threading.Lock()
        self._kept: dict[UUID, tuple[float, Season]] = {}
        self._refreshing: set[UUID] = set()
        # One thread, reused: a SQLite store opens a reader connection per thread.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="board-season")

    def season(self, program: UUID) -> Season:
        with self._lock:
            kept = self._kept.get(program)
            stale = kept is not None and time.monotonic() - kept[0] >= self.ttl and program not in self._refreshing
            if stale:
                self._refreshing.add(program)
        if kept is None:
            return self._read(program)
        if stale:
            self._worker.submit(self._refresh, program)
        return kept[1]

    def _read(self, program: UUID) -> Season:
        started = time.monotonic()
        fresh = season(self.views, program)
        with self._lock:
            self._kept[program] = (started, fresh)
        return fresh

    def _refresh(self, program: UUID) -> None:
        try:
            self._read(program)
        except Exception:  # the kept series stays; the next page asks again
            logger.exception("reading the board's season of %s failed", program)
        finally:
            with self._lock:
                self._refreshing.discard(program)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
