"""The registration views in SQL: one set of statements for SQLite and PostgreSQL.

Statements use `?` placeholders and `{p}` for a qualified table prefix, `{n}` for an unqualified
one (index names being created), `{q}` for a qualified one (index names being dropped) and
`{uuid}`/`{ts}`/`{bool}` for column types; `Dialect.render` adapts them.
PostgreSQL stores uuid/timestamptz/boolean; SQLite stores TEXT (UUID as str, time as a fixed
width UTC ISO string, so text order is time order) and 0/1.

Tables (all keyed by program): intervals (history and, with valid_to NULL, current
registrations), stars (star intervals), students, subjects, sections, seats, waitlist,
timeslots, and tracking (one row: the last notification id applied). Interval rows are keyed
by (position, seq) -- the opening notification id and the change's index in its event -- so a
rebuild reproduces the live tables row for row.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from regledger.domain.values import ENROLLED, PRIORITY_PREFIX
from regledger.projections import changes as c
from regledger.projections.changes import Batch, ViewChange
from regledger.projections.netting import NetBatch, net
from regledger.projections.views import (
    Demand,
    Interval,
    PositionAlreadyApplied,
    RegistrationRow,
    RegistrationViews,
    ScheduleEntry,
    SeatCount,
)

TRACKING_NAME = "registration_views"
TABLES = ("intervals", "stars", "students", "subjects", "sections", "seats", "waitlist", "timeslots", "tracking")

DDL = (
    """CREATE TABLE IF NOT EXISTS {p}intervals (
        position BIGINT NOT NULL, seq INTEGER NOT NULL,
        program_id {uuid} NOT NULL, student_id {uuid} NOT NULL, section_id {uuid} NOT NULL,
        subject_id {uuid} NOT NULL, verb TEXT NOT NULL,
        valid_from {ts} NOT NULL, valid_to {ts},
        cause TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, command_id TEXT NOT NULL,
        end_cause TEXT, end_actor TEXT, end_reason TEXT, end_command_id TEXT, end_position BIGINT,
        lottery_run_id {uuid},
        PRIMARY KEY (position, seq))""",
    # Current registrations: one open interval per key (also the close statement's lookup).
    "CREATE UNIQUE INDEX IF NOT EXISTS {n}intervals_open ON {p}intervals (student_id, section_id, verb) "
    "WHERE valid_to IS NULL",
    # Rosters now (index-only): students(section, verbs).
    "CREATE INDEX IF NOT EXISTS {n}intervals_roster ON {p}intervals (section_id, verb, student_id) "
    "WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS {n}intervals_student ON {p}intervals (student_id, valid_from)",
    # Rosters as of T (index-only) and a section's history.
    "CREATE INDEX IF NOT EXISTS {n}intervals_section_verb ON {p}intervals "
    "(section_id, verb, valid_from, valid_to, student_id)",
    # Program-wide scans only: with student_id in it, the planner preferred it to intervals_open
    # for a student's schedule and read the student's whole history.
    "CREATE INDEX IF NOT EXISTS {n}intervals_by_program ON {p}intervals (program_id)",
    # Superseded indexes (tables created by earlier versions).
    "DROP INDEX IF EXISTS {q}intervals_open_section",
    "DROP INDEX IF EXISTS {q}intervals_section",
    "DROP INDEX IF EXISTS {q}intervals_program",
    """CREATE TABLE IF NOT EXISTS {p}stars (
        position BIGINT NOT NULL, seq INTEGER NOT NULL,
        program_id {uuid} NOT NULL, student_id {uuid} NOT NULL, subject_id {uuid} NOT NULL,
        valid_from {ts} NOT NULL, valid_to {ts}, actor TEXT NOT NULL, command_id TEXT NOT NULL,
        end_actor TEXT, end_command_id TEXT,
        PRIMARY KEY (position, seq))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS {n}stars_open ON {p}stars (student_id, subject_id) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS {n}stars_subject ON {p}stars (subject_id) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS {n}stars_program ON {p}stars (program_id, student_id)",
    """CREATE TABLE IF NOT EXISTS {p}students (
        student_id {uuid} PRIMARY KEY, program_id {uuid} NOT NULL, student_key TEXT NOT NULL,
        registered_at {ts} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {p}subjects (
        subject_id {uuid} PRIMARY KEY, program_id {uuid} NOT NULL, code TEXT NOT NULL, title TEXT NOT NULL,
        category TEXT NOT NULL, status TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {p}sections (
        section_id {uuid} PRIMARY KEY, program_id {uuid} NOT NULL, subject_id {uuid} NOT NULL,
        idx INTEGER NOT NULL, timeslot_ids TEXT NOT NULL, capacity INTEGER NOT NULL,
        is_open {bool} NOT NULL, is_cancelled {bool} NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {n}sections_program ON {p}sections (program_id)",
    "CREATE INDEX IF NOT EXISTS {n}sections_subject ON {p}sections (subject_id)",
    """CREATE TABLE IF NOT EXISTS {p}seats (
        section_id {uuid} NOT NULL, student_id {uuid} NOT NULL, since {ts} NOT NULL, cause TEXT NOT NULL,
        PRIMARY KEY (section_id, student_id))""",
    """CREATE TABLE IF NOT EXISTS {p}waitlist (
        section_id {uuid} NOT NULL, student_id {uuid} NOT NULL, since {ts} NOT NULL,
        position BIGINT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (section_id, student_id))""",
    """CREATE TABLE IF NOT EXISTS {p}timeslots (
        timeslot_id {uuid} PRIMARY KEY, program_id {uuid} NOT NULL, label TEXT NOT NULL,
        starts {ts} NOT NULL, ends {ts} NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS {p}tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
)

# Indexes only queries need (not the writes' lookups, not a uniqueness rule): a rebuild drops
# them before replaying and creates them after (`defer_indexes`, `optimize`), which is cheaper
# than maintaining them row by row. `create_tables` always creates them.
DEFERRABLE_INDEXES = tuple(re.findall(r"CREATE INDEX IF NOT EXISTS \{n\}(\w+) ON", "\n".join(DDL)))

# The columns the queries filter, join and sort on, per table whose statistics are costly to
# gather (ANALYZE reads a sample of every column): a rebuild gathers only these, autovacuum's
# next ANALYZE the rest. Tables not named here are small and analyzed whole.
STATISTICS_COLUMNS: dict[str, tuple[str, ...]] = {
    "intervals": ("program_id", "student_id", "section_id", "verb", "valid_from", "valid_to"),
    "stars": ("program_id", "student_id", "subject_id", "valid_to"),
    "waitlist": ("section_id", "student_id"),
    "seats": ("section_id", "student_id"),
}

INSERT_TRACKING = "INSERT INTO {p}tracking (name, position) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM {p}tracking)"
# Conditional: a duplicate or lower position, or a batch read after another position, updates
# no row, and the transaction is rolled back.
ADVANCE = "UPDATE {p}tracking SET position = ? WHERE name = ? AND position < ? AND position = COALESCE(?, position)"
POSITION = "SELECT position FROM {p}tracking WHERE name = ?"


def advance_params(batch: Batch) -> tuple[Any, ...]:
    return (batch.position, TRACKING_NAME, batch.position, batch.after)


WRITES: dict[type[Any], str] = {
    c.StudentUpserted: "INSERT INTO {p}students (student_id, program_id, student_key, registered_at) "
    "VALUES (?, ?, ?, ?)",
    c.IntervalOpened: "INSERT INTO {p}intervals (position, seq, program_id, student_id, section_id, subject_id, "
    "verb, valid_from, cause, actor, reason, command_id, lottery_run_id) VALUES "
    "(?, ?, (SELECT program_id FROM {p}students WHERE student_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    c.IntervalClosed: "UPDATE {p}intervals SET valid_to = ?, end_cause = ?, end_actor = ?, end_reason = ?, "
    "end_command_id = ?, end_position = ? "
    "WHERE student_id = ? AND section_id = ? AND verb = ? AND valid_to IS NULL",
    c.StarOpened: "INSERT INTO {p}stars (position, seq, program_id, student_id, subject_id, valid_from, actor, "
    "command_id) VALUES (?, ?, (SELECT program_id FROM {p}students WHERE student_id = ?), ?, ?, ?, ?, ?)",
    c.StarClosed: "UPDATE {p}stars SET valid_to = ?, end_actor = ?, end_command_id = ? "
    "WHERE student_id = ? AND subject_id = ? AND valid_to IS NULL",
    c.SubjectUpserted: "INSERT INTO {p}subjects (subject_id, program_id, code, title, category, status) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    c.SubjectStatusChanged: "UPDATE {p}subjects SET status = ? WHERE subject_id = ?",
    c.SectionUpserted: "INSERT INTO {p}sections (section_id, program_id, subject_id, idx, timeslot_ids, capacity, "
    "is_open, is_cancelled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    c.SectionTimeslotsChanged: "UPDATE {p}sections SET timeslot_ids = ? WHERE section_id = ?",
    c.SeatsChanged: "UPDATE {p}sections SET capacity = ? WHERE section_id = ?",
    c.SectionStatusChanged: "UPDATE {p}sections SET is_open = COALESCE(?, is_open), "
    "is_cancelled = COALESCE(?, is_cancelled) WHERE section_id = ?",
    c.SeatTaken: "INSERT INTO {p}seats (section_id, student_id, since, cause) VALUES (?, ?, ?, ?)",
    c.SeatReleased: "DELETE FROM {p}seats WHERE section_id = ? AND student_id = ?",
    c.WaitlistJoined: "INSERT INTO {p}waitlist (section_id, student_id, since, position, seq) VALUES (?, ?, ?, ?, ?)",
    c.WaitlistLeft: "DELETE FROM {p}waitlist WHERE section_id = ? AND student_id = ?",
    c.TimeslotAdded: "INSERT INTO {p}timeslots (timeslot_id, program_id, label, starts, ends) VALUES (?, ?, ?, ?, ?)",
}

TABLE_OF: dict[type[Any], str] = {
    c.StudentUpserted: "students",
    c.IntervalOpened: "intervals",
    c.IntervalClosed: "intervals",
    c.StarOpened: "stars",
    c.StarClosed: "stars",
    c.SubjectUpserted: "subjects",
    c.SubjectStatusChanged: "subjects",
    c.SectionUpserted: "sections",
    c.SectionTimeslotsChanged: "sections",
    c.SeatsChanged: "sections",
    c.SectionStatusChanged: "sections",
    c.SeatTaken: "seats",
    c.SeatReleased: "seats",
    c.WaitlistJoined: "waitlist",
    c.WaitlistLeft: "waitlist",
    c.TimeslotAdded: "timeslots",
}
WRITE_ORDER = ("students", "subjects", "sections", "timeslots", "seats", "waitlist", "stars", "intervals")


@dataclass(frozen=True)
class BulkOp:
    """One set-based write: `row_sql` takes one row (`executemany`), `set_sql` takes every row at
    once as one array per column (PostgreSQL `unnest`). `program_of` is the index of a
    student_id column whose program the row statement looks up (its value is passed again)."""

    row_sql: str
    set_sql: str
    program_of: int | None = None


def _arrays(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"?::{kind}[]" for _, kind in columns)


def _names(columns: Sequence[tuple[str, str]], alias: str = "") -> str:
    return ", ".join(alias + name for name, _ in columns)


def insert_op(table: str, columns: Sequence[tuple[str, str]], *, with_program: bool = False) -> BulkOp:
    """INSERT of whole rows; `with_program` adds program_id, the student's (students table)."""
    names = _names(columns)
    lookup = "(SELECT program_id FROM {p}students s WHERE s.student_id = %s)"
    if not with_program:
        return BulkOp(
            f"INSERT INTO {{p}}{table} ({names}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608 - fixed fragments
            f"INSERT INTO {{p}}{table} ({names}) SELECT * FROM unnest({_arrays(columns)})",  # noqa: S608 - fixed fragments
        )
    student = [name for name, _ in columns].index("student_id")
    return BulkOp(
        f"INSERT INTO {{p}}{table} ({names}, program_id) VALUES ({', '.join('?' for _ in columns)}, "  # noqa: S608 - fixed fragments
        f"{lookup % '?'})",
        f"INSERT INTO {{p}}{table} ({names}, program_id) SELECT {_names(columns, 'v.')}, {lookup % 'v.student_id'} "  # noqa: S608 - fixed fragments
        f"FROM unnest({_arrays(columns)}) AS v({names})",
        program_of=student,
    )


def update_op(
    table: str,
    sets: Sequence[tuple[str, str]],
    keys: Sequence[tuple[str, str]],
    *,
    merge: bool = False,
    where: str = "",
) -> BulkOp:
    """UPDATE of rows by key; `merge`: a NULL value leaves the column unchanged."""

    def value(name: str, source: str) -> str:
        return f"COALESCE({source}, {name})" if merge else source

    row_set = ", ".join(f"{name} = {value(name, '?')}" for name, _ in sets)
    row_where = " AND ".join(f"{name} = ?" for name, _ in keys)
    set_set = ", ".join(f"{name} = {value('x.' + name, 'v.' + name)}" for name, _ in sets)
    return BulkOp(
        f"UPDATE {{p}}{table} SET {row_set} WHERE {row_where}{where}",  # noqa: S608 - fixed fragments
        f"UPDATE {{p}}{table} x SET {set_set} FROM {_located(table, [*sets, *keys], keys, where)} "  # noqa: S608 - fixed fragments
        "WHERE x.ctid = v.row_id",
    )


def delete_op(table: str, keys: Sequence[tuple[str, str]]) -> BulkOp:
    return BulkOp(
        f"DELETE FROM {{p}}{table} WHERE {' AND '.join(f'{name} = ?' for name, _ in keys)}",  # noqa: S608 - fixed fragments
        f"DELETE FROM {{p}}{table} x USING {_located(table, keys, keys)} WHERE x.ctid = v.row_id",  # noqa: S608 - fixed fragments
    )


def _located(table: str, columns: Sequence[tuple[str, str]], keys: Sequence[tuple[str, str]], where: str = "") -> str:
    """The batch's rows `v`, each with `row_id`, the ctid of the (unique) row its key names.

    A subquery per row finds that row through the key's index. Joined to the table as two sets
    instead, the rows were hashed: without statistics (a rebuild's new tables) the planner
    estimated few open intervals and read all of them once per batch, ever more as they grew."""
    lookup = " AND ".join(f"t.{name} = v.{name}" for name, _ in keys) + where.replace(" AND ", " AND t.")
    return (
        f"(SELECT v.*, (SELECT t.ctid FROM {{p}}{table} t WHERE {lookup}) AS row_id "  # noqa: S608 - fixed fragments
        f"FROM unnest({_arrays(columns)}) AS v({_names(columns)})) v"
    )


U, T, TS, TXT, INT, BIG, BOOL = "uuid", "timestamptz", "timestamptz", "text", "integer", "bigint", "boolean"
PAIR = (("section_id", U), ("student_id", U))
INTERVAL_END = (
    ("valid_to", TS),
    ("end_cause", TXT),
    ("end_actor", TXT),
    ("end_reason", TXT),
    ("end_command_id", TXT),
    ("end_position", BIG),
)
STAR_END = (("valid_to", TS), ("end_actor", TXT), ("end_command_id", TXT))

# In the order they are applied (NetBatch's field order): removals before inserts per table.
BULK: dict[str, BulkOp] = {
    "students": insert_op(
        "students", (("student_id", U), ("program_id", U), ("student_key", TXT), ("registered_at", TS))
    ),
    "subjects": insert_op(
        "subjects",
        (("subject_id", U), ("program_id", U), ("code", TXT), ("title", TXT), ("category", TXT), ("status", TXT)),
    ),
    "subject_status": update_op("subjects", (("status", TXT),), (("subject_id", U),)),
    "sections": insert_op(
        "sections",
        (
            ("section_id", U),
            ("program_id", U),
            ("subject_id", U),
            ("idx", INT),
            ("timeslot_ids", TXT),
            ("capacity", INT),
            ("is_open", BOOL),
            ("is_cancelled", BOOL),
        ),
    ),
    "section_patches": update_op(
        "sections",
        (("timeslot_ids", TXT), ("capacity", INT), ("is_open", BOOL), ("is_cancelled", BOOL)),
        (("section_id", U),),
        merge=True,
    ),
    "timeslots": insert_op(
        "timeslots", (("timeslot_id", U), ("program_id", U), ("label", TXT), ("starts", TS), ("ends", TS))
    ),
    "seat_deletes": delete_op("seats", PAIR),
    "seats": insert_op("seats", (*PAIR, ("since", TS), ("cause", TXT))),
    "waitlist_deletes": delete_op("waitlist", PAIR),
    "waitlist": insert_op("waitlist", (*PAIR, ("since", TS), ("position", BIG), ("seq", INT))),
    "star_closes": update_op("stars", STAR_END, (("student_id", U), ("subject_id", U)), where=" AND valid_to IS NULL"),
    "stars": insert_op(
        "stars",
        (
            ("position", BIG),
            ("seq", INT),
            ("student_id", U),
            ("subject_id", U),
            ("valid_from", TS),
            ("actor", TXT),
            ("command_id", TXT),
            *STAR_END,
        ),
        with_program=True,
    ),
    "interval_closes": update_op(
        "intervals",
        INTERVAL_END,
        (("student_id", U), ("section_id", U), ("verb", TXT)),
        where=" AND valid_to IS NULL",
    ),
    "intervals": insert_op(
        "intervals",
        (
            ("position", BIG),
            ("seq", INT),
            ("student_id", U),
            ("section_id", U),
            ("subject_id", U),
            ("verb", TXT),
            ("valid_from", TS),
            ("cause", TXT),
            ("actor", TXT),
            ("reason", TXT),
            ("command_id", TXT),
            ("lottery_run_id", U),
            *INTERVAL_END,
        ),
        with_program=True,
    ),
}


def net_rows(nb: NetBatch) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The rows of each BULK op for a netted batch (Python values), in BULK's order."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        "students": [(x.student_id, x.program_id, x.student_key, x.at) for x in nb.students.values()],
        "subjects": [(x.subject_id, x.program_id, x.code, x.title, x.category, x.status) for x in nb.subjects.values()],
        "subject_status": [(status, key) for key, status in nb.subject_status.items()],
        "sections": [
            (
                x.section_id,
                x.program_id,
                x.subject_id,
                x.idx,
                join_ids(x.timeslot_ids),
                x.capacity,
                x.is_open,
                x.is_cancelled,
            )
            for x in nb.sections.values()
        ],
        "section_patches": [
            (
                None if x.timeslot_ids is None else join_ids(x.timeslot_ids),
                x.capacity,
                x.is_open,
                x.is_cancelled,
                x.section_id,
            )
            for x in nb.section_patches.values()
        ],
        "timeslots": [(x.timeslot_id, x.program_id, x.label, x.start, x.end) for x in nb.timeslots.values()],
        "seat_deletes": sorted(nb.seat_deletes),
        "seats": [(*key, at, cause) for key, (at, cause) in nb.seats.items()],
        "waitlist_deletes": sorted(nb.waitlist_deletes),
        "waitlist": [(*key, at, position, seq) for key, (at, position, seq) in nb.waitlist.items()],
        "star_closes": [
            (x.valid_to, x.end_actor, x.end_command_id, x.student_id, x.subject_id) for x in nb.star_closes.values()
        ],
        "stars": [
            (
                x.position,
                x.seq,
                x.student_id,
                x.subject_id,
                x.valid_from,
                x.actor,
                x.command_id,
                x.valid_to,
                x.end_actor,
                x.end_command_id,
            )
            for x in nb.stars
        ],
        "interval_closes": [
            (
                x.valid_to,
                x.end_cause,
                x.end_actor,
                x.end_reason,
                x.end_command_id,
                x.end_position,
                x.student_id,
                x.section_id,
                x.verb,
            )
            for x in nb.interval_closes.values()
        ],
        "intervals": [
            (
                x.position,
                x.seq,
                x.student_id,
                x.section_id,
                x.subject_id,
                x.verb,
                x.valid_from,
                x.cause,
                x.actor,
                x.reason,
                x.command_id,
                x.lottery_run_id,
                x.valid_to,
                x.end_cause,
                x.end_actor,
                x.end_reason,
                x.end_command_id,
                x.end_position,
            )
            for x in nb.intervals
        ],
    }
    return [(name, rows[name]) for name in BULK if rows[name]]


INTERVAL_COLUMNS = (
    "program_id, student_id, section_id, subject_id, verb, valid_from, valid_to, cause, actor, reason, "
    "command_id, end_cause, end_actor, end_reason, end_command_id, lottery_run_id, position"
)
ORDER = {
    "intervals": "position, seq",
    "stars": "position, seq",
    "students": "student_id",
    "subjects": "subject_id",
    "sections": "section_id",
    "seats": "section_id, student_id",
    "waitlist": "section_id, position, seq",
    "timeslots": "timeslot_id",
    "tracking": "name",
}


def join_ids(ids: Sequence[UUID]) -> str:
    return " ".join(t.hex for t in ids)


def split_ids(text: str) -> tuple[UUID, ...]:
    return tuple(UUID(t) for t in text.split())


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


def write_params(position: int, seq: int, ch: ViewChange) -> tuple[Any, ...]:
    """The parameters of a change's statement (in WRITES), as Python values."""
    match ch:
        case c.StudentUpserted():
            return (ch.student_id, ch.program_id, ch.student_key, ch.at)
        case c.IntervalOpened():
            return (
                position,
                seq,
                ch.student_id,
                ch.student_id,
                ch.section_id,
                ch.subject_id,
                ch.verb,
                ch.at,
                ch.cause,
                ch.actor,
                ch.reason,
                ch.command_id,
                ch.lottery_run_id,
            )
        case c.IntervalClosed():
            return (
                ch.at,
                ch.cause,
                ch.actor,
                ch.reason,
                ch.command_id,
                position,
                ch.student_id,
                ch.section_id,
                ch.verb,
            )
        case c.StarOpened():
            return (position, seq, ch.student_id, ch.student_id, ch.subject_id, ch.at, ch.actor, ch.command_id)
        case c.StarClosed():
            return (ch.at, ch.actor, ch.command_id, ch.student_id, ch.subject_id)
        case c.SubjectUpserted():
            return (ch.subject_id, ch.program_id, ch.code, ch.title, ch.category, ch.status)
        case c.SubjectStatusChanged():
            return (ch.status, ch.subject_id)
        case c.SectionUpserted():
            return (
                ch.section_id,
                ch.program_id,
                ch.subject_id,
                ch.index,
                join_ids(ch.timeslot_ids),
                ch.capacity,
                True,
                False,
            )
        case c.SectionTimeslotsChanged():
            return (join_ids(ch.timeslot_ids), ch.section_id)
        case c.SeatsChanged():
            return (ch.capacity, ch.section_id)
        case c.SectionStatusChanged():
            return (ch.is_open, ch.is_cancelled, ch.section_id)
        case c.SeatTaken():
            return (ch.section_id, ch.student_id, ch.at, ch.cause)
        case c.SeatReleased():
            return (ch.section_id, ch.student_id)
        case c.WaitlistJoined():
            return (ch.section_id, ch.student_id, ch.at, position, seq)
        case c.WaitlistLeft():
            return (ch.section_id, ch.student_id)
        case c.TimeslotAdded():
            return (ch.timeslot_id, ch.program_id, ch.label, ch.start, ch.end)


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str
    types: dict[str, str]
    encode: Callable[[Any], Any]

    def render(self, statement: str, qualified: str, prefix: str) -> str:
        text = statement.replace("{p}", qualified).replace("{q}", qualified).replace("{n}", prefix)
        for key, value in self.types.items():
            text = text.replace("{" + key + "}", value)
        return text.replace("?", self.placeholder) if self.placeholder != "?" else text


class Cursor(Protocol):
    """The DB-API subset both drivers share (sqlite3 and psycopg cursors)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def executemany(self, query: Any, params_seq: Any) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SqlViews(RegistrationViews):
    """Everything but connections: the dialect-specific subclasses open and lend cursors."""

    def __init__(self, dialect: Dialect, *, qualified_prefix: str, prefix: str) -> None:
        self.dialect = dialect
        # False: the former change-by-change writer (kept as an oracle for tests and benchmarks).
        self.set_based = True
        self.prefix = prefix
        self._q = {k: dialect.render(v, qualified_prefix, prefix) for k, v in WRITES.items()}
        self._sql_cache: dict[str, str] = {}
        self._qualified = qualified_prefix

    def sql(self, statement: str) -> str:
        rendered = self._sql_cache.get(statement)
        if rendered is None:
            rendered = self.dialect.render(statement, self._qualified, self.prefix)
            self._sql_cache[statement] = rendered
        return rendered

    # -- connections (subclasses) ---------------------------------------------------------

    @abstractmethod
    def _transaction(self, changes: int = 0) -> AbstractContextManager[Cursor]:
        """A cursor inside one write transaction: committed on exit, rolled back on error."""

    def _pipeline(self) -> AbstractContextManager[Any]:
        """Where the driver can, send the batch's statements without waiting for each reply."""
        return nullcontext()

    @abstractmethod
    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a read (already rendered) and fetch all rows."""

    def _enc(self, params: Sequence[Any]) -> tuple[Any, ...]:
        encode = self.dialect.encode
        return tuple(encode(v) for v in params)

    def read(self, statement: str, *params: Any) -> list[Any]:
        return self._query(self.sql(statement), self._enc(params))

    # -- lifecycle ------------------------------------------------------------------------

    def _lock_ddl(self, cur: Cursor) -> None:
        """Serialise table creation with other processes starting at once (no-op by default)."""

    def create_tables(self) -> None:
        with self._transaction() as cur:
            self._lock_ddl(cur)
            for statement in DDL:
                cur.execute(self.sql(statement))
            cur.execute(self.sql(INSERT_TRACKING), (TRACKING_NAME,))

    def drop_tables(self) -> None:
        with self._transaction() as cur:
            for table in TABLES:
                cur.execute(self.sql(f"DROP TABLE IF EXISTS {{p}}{table}"))

    def defer_indexes(self) -> None:
        with self._transaction() as cur:
            for index in DEFERRABLE_INDEXES:
                cur.execute(self.sql(f"DROP INDEX IF EXISTS {{q}}{index}"))

    def optimize(self) -> None:
        """After a bulk load: create the deferred indexes and refresh the planner's statistics."""
        self.create_tables()
        with self._transaction() as cur:
            for table in TABLES:
                cur.execute(self.sql(f"ANALYZE {{p}}{table}"))

    def position(self) -> int:
        rows = self._query(self.sql(POSITION), (TRACKING_NAME,))
        return int(rows[0][0]) if rows else 0

    def apply(self, batch: Batch) -> None:
        """Advance the tracking position (conditionally) and write the batch, in one transaction."""
        netted = net(batch) if self.set_based else None  # outside the transaction: keep it short
        with self._transaction(len(batch.changes)) as cur:
            self._advance(cur, batch)
            with self._pipeline():
                if netted is None:
                    self._write(cur, batch)
                else:
                    self._write_net(cur, netted)

    def _advance(self, cur: Cursor, batch: Batch) -> None:
        """Move the tracking position to the batch's or raise PositionAlreadyApplied."""
        cur.execute(self.sql(ADVANCE), advance_params(batch))
        if cur.rowcount != 1:
            raise PositionAlreadyApplied(batch.position, self._position_in(cur))

    def _write_net(self, cur: Cursor, netted: NetBatch) -> None:
        """At most one statement per table and kind of write (see `projections.netting`)."""
        for name, rows in net_rows(netted):
            self._bulk(cur, BULK[name], rows)

    def _bulk(self, cur: Cursor, op: BulkOp, rows: list[tuple[Any, ...]]) -> None:
        """One op's rows; here one `executemany` (SQLite), PostgreSQL sends them as arrays."""
        if op.program_of is not None:
            index = op.program_of
            rows = [(*row, row[index]) for row in rows]
        params = [self._enc(row) for row in rows]
        statement = self.sql(op.row_sql)
        if len(params) == 1:
            cur.execute(statement, params[0])
        else:
            cur.executemany(statement, params)

    def _position_in(self, cur: Cursor) -> int:
        cur.execute(self.sql(POSITION), (TRACKING_NAME,))
        rows = cur.fetchall()
        return int(rows[0][0]) if rows else 0

    def _write(self, cur: Cursor, batch: Batch) -> None:
        """The former writer (`set_based = False`, kept as the oracle of the set-based one): run
        the changes table by table, in order within each table, grouping consecutive changes of
        one kind in one executemany.

        Reordering across tables is safe: a table's rows depend only on its own changes, except
        that intervals and stars read the student's program, and students are only inserted
        (so they go first)."""
        per_table: dict[str, list[tuple[type[Any], tuple[Any, ...]]]] = {t: [] for t in WRITE_ORDER}
        for position, seq, change in batch.changes:
            if isinstance(change, c.SeatTaken):  # a seat taken also leaves the waitlist
                left = c.WaitlistLeft(change.section_id, change.student_id)
                per_table["waitlist"].append((c.WaitlistLeft, self._enc(write_params(position, seq, left))))
            per_table[TABLE_OF[type(change)]].append((type(change), self._enc(write_params(position, seq, change))))
        for table in WRITE_ORDER:
            kind: type[Any] | None = None
            group: list[tuple[Any, ...]] = []
            for change_kind, params in per_table[table]:
                if change_kind is not kind:
                    if group and kind is not None:
                        self._flush(cur, kind, group)
                    kind, group = change_kind, []
                group.append(params)
            if group and kind is not None:
                self._flush(cur, kind, group)

    def _flush(self, cur: Cursor, kind: type[Any], group: list[tuple[Any, ...]]) -> None:
        if len(group) == 1:
            cur.execute(self._q[kind], group[0])
        else:
            cur.executemany(self._q[kind], group)

    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        out: dict[str, list[tuple[object, ...]]] = {}
        for table in TABLES:
            rows = self.read(f"SELECT * FROM {{p}}{table} ORDER BY {ORDER[table]}")  # noqa: S608 - fixed fragments, values are parameters
            out[table] = [tuple(canonical(v) for v in row) for row in rows]
        return out

    # -- registrations --------------------------------------------------------------------

    @staticmethod
    def _verbs(verbs: Sequence[str] | None, column: str = "verb") -> tuple[str, list[str]]:
        if verbs is None:
            return "", []
        if not verbs:
            return " AND 1 = 0", []
        return f" AND {column} IN ({', '.join('?' for _ in verbs)})", list(verbs)

    @staticmethod
    def _when(as_of: datetime | None, alias: str = "") -> tuple[str, list[Any]]:
        if as_of is None:
            return f" AND {alias}valid_to IS NULL", []
        return f" AND {alias}valid_from <= ? AND ({alias}valid_to IS NULL OR {alias}valid_to > ?)", [as_of, as_of]

    def current_registrations(
        self,
        program_id: UUID,
        student_id: UUID | None = None,
        section_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
    ) -> list[RegistrationRow]:
        where, params = "program_id = ? AND valid_to IS NULL", [program_id]
        if student_id is not None:
            where, params = where + " AND student_id = ?", [*params, student_id]
        if section_id is not None:
            where, params = where + " AND section_id = ?", [*params, section_id]
        verb_sql, verb_params = self._verbs(verbs)
        rows = self.read(
            "SELECT program_id, student_id, section_id, subject_id, verb, valid_from, cause FROM {p}intervals "  # noqa: S608 - fixed fragments, values are parameters
            f"WHERE {where}{verb_sql}",
            *params,
            *verb_params,
        )
        out = [
            RegistrationRow(to_uuid(r[0]), to_uuid(r[1]), to_uuid(r[2]), to_uuid(r[3]), r[4], to_dt(r[5]), r[6])
            for r in rows
        ]
        return sorted(out, key=lambda r: (str(r.student_id), str(r.section_id), r.verb))

    def students(
        self, section_id: UUID, verbs: Sequence[str] | None = (ENROLLED,), as_of: datetime | None = None
    ) -> list[UUID]:
        verb_sql, verb_params = self._verbs(verbs)
        when, when_params = self._when(as_of)
        rows = self.read(
            f"SELECT DISTINCT student_id FROM {{p}}intervals WHERE section_id = ?{verb_sql}{when}",  # noqa: S608 - fixed fragments, values are parameters
            section_id,
            *verb_params,
            *when_params,
        )
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def sections(
        self,
        student_id: UUID,
        program_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> list[ScheduleEntry]:
        verb_sql, verb_params = self._verbs(verbs, "i.verb")
        when, when_params = self._when(as_of, "i.")
        program_sql, program_params = ("", []) if program_id is None else (" AND i.program_id = ?", [program_id])
        rows = self.read(
            # A lookup per row (the student has a handful), not a join the planner may hash.
            "SELECT i.section_id, i.subject_id, i.verb, i.valid_from, "  # noqa: S608 - fixed fragments, values are parameters
            "(SELECT s.timeslot_ids FROM {p}sections s WHERE s.section_id = i.section_id) FROM {p}intervals i "
            f"WHERE i.student_id = ?{program_sql}{verb_sql}{when}",
            student_id,
            *program_params,
            *verb_params,
            *when_params,
        )
        out = [ScheduleEntry(to_uuid(r[0]), to_uuid(r[1]), r[2], to_dt(r[3]), split_ids(r[4] or "")) for r in rows]
        return sorted(out, key=lambda e: (str(e.section_id), e.verb))

    def history(self, *, student_id: UUID | None = None, section_id: UUID | None = None) -> list[Interval]:
        if (student_id is None) == (section_id is None):
            raise ValueError("history() needs exactly one of student_id or section_id")
        column, key = ("student_id", student_id) if student_id is not None else ("section_id", section_id)
        rows = self.read(
            f"SELECT {INTERVAL_COLUMNS} FROM {{p}}intervals WHERE {column} = ? ORDER BY valid_from, position, seq",  # noqa: S608 - fixed fragments, values are parameters
            key,
        )
        return [_interval(r) for r in rows]

    def verb_counts(self, section_id: UUID) -> dict[str, int]:
        rows = self.read(
            "SELECT verb, COUNT(*) FROM {p}intervals WHERE section_id = ? AND valid_to IS NULL GROUP BY verb",
            section_id,
        )
        return {r[0]: int(r[1]) for r in rows}

    # -- interest -------------------------------------------------------------------------

    def stars_of(self, student_id: UUID) -> list[UUID]:
        rows = self.read("SELECT subject_id FROM {p}stars WHERE student_id = ? AND valid_to IS NULL", student_id)
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def stargazers(self, subject_id: UUID) -> list[UUID]:
        rows = self.read("SELECT student_id FROM {p}stars WHERE subject_id = ? AND valid_to IS NULL", subject_id)
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def demand(self, section_id: UUID) -> Demand:
        stars = self.read(
            "SELECT COUNT(*) FROM {p}stars st JOIN {p}sections s ON st.subject_id = s.subject_id "
            "WHERE s.section_id = ? AND st.valid_to IS NULL",
            section_id,
        )
        rows = self.read(
            "SELECT verb, COUNT(*) FROM {p}intervals WHERE section_id = ? AND valid_to IS NULL AND verb LIKE ? "
            "GROUP BY verb",
            section_id,
            PRIORITY_PREFIX + "%",
        )
        levels = {int(r[0][len(PRIORITY_PREFIX) :]): int(r[1]) for r in rows if r[0][len(PRIORITY_PREFIX) :].isdigit()}
        return Demand(section_id, int(stars[0][0]), levels)

    # -- counts ---------------------------------------------------------------------------

    def seat_counts(self, program_id: UUID) -> list[SeatCount]:
        rows = self.read(
            "SELECT s.section_id, s.subject_id, s.capacity, "
            "(SELECT COUNT(*) FROM {p}seats x WHERE x.section_id = s.section_id), "
            "(SELECT COUNT(*) FROM {p}waitlist w WHERE w.section_id = s.section_id), s.is_open, s.is_cancelled "
            "FROM {p}sections s WHERE s.program_id = ?",
            program_id,
        )
        out = [
            SeatCount(to_uuid(r[0]), to_uuid(r[1]), int(r[2]), int(r[3]), int(r[4]), bool(r[5]), bool(r[6]))
            for r in rows
        ]
        return sorted(out, key=lambda s: str(s.section_id))

    def waitlist(self, section_id: UUID) -> list[UUID]:
        rows = self.read("SELECT student_id FROM {p}waitlist WHERE section_id = ? ORDER BY position, seq", section_id)
        return [to_uuid(r[0]) for r in rows]

    def students_in_program(self, program_id: UUID) -> int:
        rows = self.read(
            "SELECT COUNT(*) FROM (SELECT student_id FROM {p}intervals WHERE program_id = ? "
            "UNION SELECT student_id FROM {p}stars WHERE program_id = ?) u",
            program_id,
            program_id,
        )
        return int(rows[0][0])


def _interval(r: Sequence[Any]) -> Interval:
    return Interval(
        program_id=to_uuid(r[0]),
        student_id=to_uuid(r[1]),
        section_id=to_uuid(r[2]),
        subject_id=to_uuid(r[3]),
        verb=r[4],
        valid_from=to_dt(r[5]),
        valid_to=None if r[6] is None else to_dt(r[6]),
        cause=r[7],
        actor=r[8],
        reason=r[9],
        command_id=r[10],
        end_cause=r[11],
        end_actor=r[12],
        end_reason=r[13],
        end_command_id=r[14],
        lottery_run_id=None if r[15] is None else to_uuid(r[15]),
        position=int(r[16]),
    )
