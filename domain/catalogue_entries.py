"""What a catalogue import holds: timeslots, classes and their sections, each with its line.

Plain values, built by the adapters from CSV or JSON (`adapters/importing.py`) or by a caller
in memory (the demo); `catalogue_import.import_catalogue` checks and applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Sane bounds: a Splash catalogue is ~12 timeslots, ~520 classes and ~700 sections.
MAX_TIMESLOTS = 1_000
MAX_CLASSES = 10_000
MAX_SECTIONS = 20_000
MAX_SECTION_NUMBER = 999
MAX_SECTION_TIMESLOTS = 50
MAX_SIZE = 100_000  # sizes and capacities, as the HTTP edge bounds them
GRADES = (0, 20)
YEARS = (1900, 2200)


@dataclass(frozen=True)
class TimeslotEntry:
    """A timeslot by label; a time without an offset is read in the program's timezone."""

    label: str
    start: datetime
    end: datetime
    line: int | None = None


@dataclass(frozen=True)
class SectionEntry:
    """Section `number` (1, 2, ...) of its class, its timeslots by label and its capacity inputs."""

    number: int
    timeslots: tuple[str, ...] = ()
    room_capacity: int | None = None
    max_class_capacity: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class ClassEntry:
    """A class as it should be; grades left out (None) are the program's grade range."""

    code: str
    title: str
    category: str = "General"
    grade_min: int | None = None
    grade_max: int | None = None
    status: str = "accepted"
    class_size_max: int | None = None
    class_size_optimal: int | None = None
    is_lunch: bool = False
    sections: tuple[SectionEntry, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Catalogue:
    timeslots: tuple[TimeslotEntry, ...] = ()
    classes: tuple[ClassEntry, ...] = ()


def section_name(code: str, number: int) -> str:
    """The section's code as people say it (`M101s1`, the reference's emailcode)."""
    return f"{code}s{number}"
