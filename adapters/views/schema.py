"""The view tables, each declared once: columns, key, indexes, dump order, rebuild statistics.

The DDL, the batch writes (`writes.py`), the dumps and the rebuild's deferred indexes are derived
from these declarations. Statements use placeholders `Dialect.render` fills: `{p}` a qualified
table prefix, `{n}` an unqualified one (index names created), `{q}` a qualified one (index names
dropped), and the column types `{uuid}`/`{ts}`/`{bool}`. PostgreSQL stores uuid/timestamptz/
boolean; SQLite stores TEXT (a UUID as str, a time as fixed-width UTC ISO text, so text order is
time order) and 0/1.

Every table is keyed by program, directly or through its section or student. Interval and star
rows are keyed by (position, seq) -- the opening notification id and the change's index in its
event -- so a rebuild reproduces the live tables row for row; `valid_to` NULL marks the current
ones. `tracking` holds one row: the last notification id applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from regledger.domain.ids import uuid_from_hex

UUID_, TS, BOOL, TEXT, INT, BIG = "{uuid}", "{ts}", "{bool}", "TEXT", "INTEGER", "BIGINT"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQL; `{uuid}`, `{ts}` and `{bool}` are filled in per dialect
    null: bool = False
    ids: bool = False  # a tuple of UUIDs, stored as text (`join_ids`)


@dataclass(frozen=True)
class Index:
    """A unique index is a rule the writes rely on (and their lookups); the others serve queries
    only, so a rebuild creates them after loading (`deferred`)."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    current: bool = False  # only rows still current (valid_to IS NULL)

    @property
    def deferred(self) -> bool:
        return not self.unique

    def where(self, alias: str = "") -> str:
        return f" AND {alias}valid_to IS NULL" if self.current else ""

    def ddl(self, table: str) -> str:
        unique = "UNIQUE " if self.unique else ""
        where = " WHERE valid_to IS NULL" if self.current else ""
        return f"CREATE {unique}INDEX IF NOT EXISTS {{n}}{self.name} ON {{p}}{table} ({', '.join(self.columns)}){where}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    order: tuple[str, ...] = ()  # of dumps; the key by default
    # The columns queries filter, join and sort on, where gathering statistics on every column
    # is costly (ANALYZE samples them all): a rebuild gathers only these. Empty: all of them.
    statistics: tuple[str, ...] = ()
    # program_id is the student's, looked up in `students` as a row is inserted.
    program_of_student: bool = False
    superseded: tuple[str, ...] = ()  # indexes of earlier versions, dropped

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")

    def index(self, name: str) -> Index:
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"{self.name} has no index {name}")

    def ddl(self) -> list[str]:
        """CREATE TABLE, its indexes, and the drops of superseded ones (all idempotent)."""
        inline = len(self.key) == 1
        columns = [
            f"{c.name} {c.type}" + (" PRIMARY KEY" if inline and c.name in self.key else "" if c.null else " NOT NULL")
            for c in self.columns
        ]
        if not inline:
            columns.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return [
            f"CREATE TABLE IF NOT EXISTS {{p}}{self.name} ({', '.join(columns)})",
            *(index.ddl(self.name) for index in self.indexes),
            *(f"DROP INDEX IF EXISTS {{q}}{name}" for name in self.superseded),
        ]

    def select_all(self) -> str:
        """Every row, in a store-independent order (dumps)."""
        return f"SELECT * FROM {{p}}{self.name} ORDER BY {', '.join(self.order or self.key)}"  # noqa: S608 - fixed fragments


def uuid(name: str, *, null: bool = False) -> Column:
    return Column(name, UUID_, null)


def ts(name: str, *, null: bool = False) -> Column:
    return Column(name, TS, null)


def text(name: str, *, null: bool = False) -> Column:
    return Column(name, TEXT, null)


def integer(name: str, *, null: bool = False) -> Column:
    return Column(name, INT, null)


def bigint(name: str, *, null: bool = False) -> Column:
    return Column(name, BIG, null)


def boolean(name: str) -> Column:
    return Column(name, BOOL)


INTERVALS = Table(
    "intervals",
    (
        bigint("position"),
        integer("seq"),
        uuid("program_id"),
        uuid("student_id"),
        uuid("section_id"),
        uuid("subject_id"),
        text("verb"),
        ts("valid_from"),
        ts("valid_to", null=True),
        text("cause"),
        text("actor"),
        text("reason"),
        text("command_id"),
        text("end_cause", null=True),
        text("end_actor", null=True),
        text("end_reason", null=True),
        text("end_command_id", null=True),
        bigint("end_position", null=True),
        uuid("lottery_run_id", null=True),
    ),
    key=("position", "seq"),
    indexes=(
        # Current registrations: one per key (also what a close looks up).
        Index("intervals_open", ("student_id", "section_id", "verb"), unique=True, current=True),
        # Rosters now (index-only): students(section, verbs).
        Index("intervals_roster", ("section_id", "verb", "student_id"), current=True),
        Index("intervals_student", ("student_id", "valid_from")),
        # Rosters as of T (index-only) and a section's history.
        Index("intervals_section_verb", ("section_id", "verb", "valid_from", "valid_to", "student_id")),
        # Program-wide scans only: with student_id in it, the planner preferred it to
        # intervals_open for a student's schedule and read the student's whole history.
        Index("intervals_by_program", ("program_id",)),
    ),
    statistics=("program_id", "student_id", "section_id", "verb", "valid_from", "valid_to"),
    program_of_student=True,
    superseded=("intervals_open_section", "intervals_section", "intervals_program"),
)

STARS = Table(
    "stars",
    (
        bigint("position"),
        integer("seq"),
        uuid("program_id"),
        uuid("student_id"),
        uuid("subject_id"),
        ts("valid_from"),
        ts("valid_to", null=True),
        text("actor"),
        text("command_id"),
        text("end_actor", null=True),
        text("end_command_id", null=True),
    ),
    key=("position", "seq"),
    indexes=(
        Index("stars_open", ("student_id", "subject_id"), unique=True, current=True),
        Index("stars_subject", ("subject_id",), current=True),
        Index("stars_program", ("program_id", "student_id")),
    ),
    statistics=("program_id", "student_id", "subject_id", "valid_to"),
    program_of_student=True,
)

STUDENTS = Table(
    "students",
    (
        uuid("student_id"),
        uuid("program_id"),
        text("student_key"),
        ts("registered_at"),
        # From the latest profile (NULL until one is submitted).
        text("name", null=True),
        integer("graduation_year", null=True),
        text("email", null=True),
        ts("checked_in_at", null=True),  # NULL unless checked in on the day
    ),
    key=("student_id",),
    indexes=(Index("students_key", ("program_id", "student_key")),),
)

PROGRAMS = Table(
    "programs",
    (
        uuid("program_id"),
        text("slug"),
        text("title"),
        integer("grade_min"),
        integer("grade_max"),
        integer("school_year"),
        ts("created_at"),
    ),
    key=("program_id",),
)

# A program's settings, one row per setting ever set: the value as JSON text.
PROGRAM_SETTINGS = Table(
    "program_settings",
    (uuid("program_id"), text("name"), text("value")),
    key=("program_id", "name"),
)

WINDOWS = Table(
    "windows",
    (uuid("program_id"), text("kind"), ts("opens", null=True), ts("closes", null=True)),
    key=("program_id", "kind"),
)

SUBJECTS = Table(
    "subjects",
    (
        uuid("subject_id"),
        uuid("program_id"),
        text("code"),
        text("title"),
        text("category"),
        text("status"),
        integer("grade_min"),
        integer("grade_max"),
        integer("class_size_max", null=True),
        integer("class_size_optimal", null=True),
        boolean("is_lunch"),
    ),
    key=("subject_id",),
    indexes=(Index("subjects_code", ("program_id", "code")),),
)

SECTIONS = Table(
    "sections",
    (
        uuid("section_id"),
        uuid("program_id"),
        uuid("subject_id"),
        integer("idx"),
        Column("timeslot_ids", TEXT, ids=True),
        integer("capacity"),
        boolean("is_open"),
        boolean("is_cancelled"),
        integer("room_capacity", null=True),
        integer("max_class_capacity", null=True),
    ),
    key=("section_id",),
    indexes=(Index("sections_program", ("program_id",)), Index("sections_subject", ("subject_id",))),
)

SEATS = Table(
    "seats",
    (uuid("section_id"), uuid("student_id"), ts("since"), text("cause")),
    key=("section_id", "student_id"),
    statistics=("section_id", "student_id"),
)

WAITLIST = Table(
    "waitlist",
    (uuid("section_id"), uuid("student_id"), ts("since"), bigint("position"), integer("seq")),
    key=("section_id", "student_id"),
    order=("section_id", "position", "seq"),
    statistics=("section_id", "student_id"),
)

# Why a queued student was last passed over for a free seat (`Section.WaitlistPassedOver`).
PASSED_OVER = Table(
    "passed_over",
    (uuid("section_id"), uuid("student_id"), text("code"), text("message"), ts("at")),
    key=("section_id", "student_id"),
)

TIMESLOTS = Table(
    "timeslots",
    (uuid("timeslot_id"), uuid("program_id"), text("label"), ts("starts"), ts("ends")),
    key=("timeslot_id",),
)

LOTTERY_RUNS = Table(
    "lottery_runs",
    (
        uuid("run_id"),
        uuid("program_id"),
        bigint("seed"),
        bigint("input_position"),
        text("status"),
        ts("started_at"),
        text("actor"),
        text("assignment_digest", null=True),
        integer("assignments", null=True),
        integer("enrolments", null=True),
        ts("ended_at", null=True),
    ),
    key=("run_id",),
    indexes=(Index("lottery_runs_program", ("program_id", "started_at")),),
)

TRACKING = Table("tracking", (text("name"), bigint("position")), key=("name",))

TABLES = (
    INTERVALS,
    STARS,
    STUDENTS,
    PROGRAMS,
    PROGRAM_SETTINGS,
    WINDOWS,
    SUBJECTS,
    SECTIONS,
    SEATS,
    WAITLIST,
    PASSED_OVER,
    TIMESLOTS,
    LOTTERY_RUNS,
    TRACKING,
)

# Raised whenever a table's columns change: tables of another version are dropped and rebuilt
# from the log (`SqlViews.create_tables`), since CREATE TABLE IF NOT EXISTS keeps old columns.
SCHEMA_VERSION = 5

DDL = tuple(statement for table in TABLES for statement in table.ddl())

# Dropped before a rebuild replays (`defer_indexes`) and created after (`optimize`): cheaper
# than maintaining them row by row. `create_tables` always creates them.
DEFERRED_INDEXES = tuple((table, index) for table in TABLES for index in table.indexes if index.deferred)


# -- column values ------------------------------------------------------------------------


def join_ids(ids: Sequence[UUID]) -> str:
    return " ".join(t.hex for t in ids)


def split_ids(stored: str) -> tuple[UUID, ...]:
    # Shared UUIDs: a catalogue read splits the same dozen timeslot ids for every section.
    return tuple(map(uuid_from_hex, stored.split()))


def to_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def to_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def fmt_ts(value: datetime) -> str:
    """Fixed-width UTC ISO text: its text order is time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def canonical(value: Any) -> Any:
    """A store-independent form of a column value (for dumps)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return fmt_ts(value)
    return value
