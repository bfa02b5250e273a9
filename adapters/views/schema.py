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
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from regledger.adapters.views.audit_schema import AUDIT_BLOCKS, AUDIT_EVENTS, AUDIT_OWNERS
from regledger.adapters.views.tables import TEXT, Column, Index, Table, bigint, boolean, integer, text, ts, uuid
from regledger.domain.ids import uuid_from_hex

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
    AUDIT_OWNERS,
    AUDIT_EVENTS,
    AUDIT_BLOCKS,
    TRACKING,
)

# Raised whenever a table's columns change: tables of another version are dropped and rebuilt
# from the log (`SqlViews.create_tables`), since CREATE TABLE IF NOT EXISTS keeps old columns.
SCHEMA_VERSION = 7  # 6, 7: the audit log's tables

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
