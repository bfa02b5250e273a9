"""A netted batch written with one statement per table and kind of write, and the tracking row.

Each write takes the rows of one `NetBatch` field (`projections.netting`), in the fields' order:
deletes and closes of earlier rows before inserts, per table. A row is an object with attributes
named after the table's columns, or a tuple of all of them in the table's order (`tuples`; for
deletes, of the key). The statements are derived from the table's declaration (`schema.py`):
`row_sql` takes one row per execution (SQLite, `executemany`), `set_sql` every row at once, one
array per column (PostgreSQL, `unnest`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from regledger.adapters.views.audit_schema import AUDIT_BLOCKS, AUDIT_EVENTS, AUDIT_OWNERS
from regledger.adapters.views.schema import (
    INTERVALS,
    LOTTERY_RUNS,
    PASSED_OVER,
    PROGRAM_SETTINGS,
    PROGRAMS,
    SEATS,
    SECTIONS,
    STARS,
    STUDENTS,
    SUBJECTS,
    TIMESLOTS,
    WAITLIST,
    WINDOWS,
    join_ids,
)
from regledger.adapters.views.tables import Column, Index, Table
from regledger.projections import changes as c
from regledger.projections.changes import Batch
from regledger.projections.netting import IntervalClose, NetBatch, SectionPatch, StarClose

TRACKING_NAME = "registration_views"
INSERT_TRACKING = (
    "INSERT INTO {p}tracking (name, position) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM {p}tracking WHERE name = ?)"
)
# The tables' schema version, kept as a tracking row (`schema.SCHEMA_VERSION`).
SCHEMA_ROW = "schema_version"
INSERT_SCHEMA = (
    "INSERT INTO {p}tracking (name, position) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM {p}tracking WHERE name = ?)"
)
# Conditional: a duplicate or lower position, or a batch read after another position, updates
# no row, and the transaction is rolled back.
ADVANCE = "UPDATE {p}tracking SET position = ? WHERE name = ? AND position < ? AND position = COALESCE(?, position)"
POSITION = "SELECT position FROM {p}tracking WHERE name = ?"

# The program of an inserted row's student (tables with `program_of_student`).
PROGRAM_OF = "(SELECT program_id FROM {p}students s WHERE s.student_id = %s)"


def advance_params(batch: Batch, name: str = TRACKING_NAME) -> tuple[Any, ...]:
    return (batch.position, name, batch.position, batch.after)


@dataclass(frozen=True)
class Write:
    field: str  # of NetBatch
    row_sql: str
    set_sql: str
    params: Callable[[Any], tuple[Any, ...]]  # a row -> its parameters (Python values)
    # The index of the student_id parameter that `row_sql` takes again (to look up the program).
    repeat: int | None = None


def insert(field: str, table: Table, *, tuples: bool = False) -> Write:
    columns = [col for col in table.columns if not (table.program_of_student and col.name == "program_id")]
    names = ", ".join(col.name for col in columns)
    params = tuple if tuples else _params(columns)
    if not table.program_of_student:
        return Write(
            field,
            f"INSERT INTO {{p}}{table.name} ({names}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608 - fixed fragments
            f"INSERT INTO {{p}}{table.name} ({names}) SELECT * FROM unnest({_arrays(columns)})",  # noqa: S608 - fixed fragments
            params,
        )
    values = ", ".join("v." + col.name for col in columns)
    return Write(
        field,
        f"INSERT INTO {{p}}{table.name} ({names}, program_id) "  # noqa: S608 - fixed fragments
        f"VALUES ({', '.join('?' for _ in columns)}, {PROGRAM_OF % '?'})",
        f"INSERT INTO {{p}}{table.name} ({names}, program_id) SELECT {values}, {PROGRAM_OF % 'v.student_id'} "  # noqa: S608 - fixed fragments
        f"FROM unnest({_arrays(columns)}) AS v({names})",
        params,
        repeat=[col.name for col in columns].index("student_id"),
    )


def insert_owned(field: str, table: Table) -> Write:
    """INSERT of rows (tuples of every column but `program_id`) whose program is their
    aggregate's, looked up in `audit_owners`: a row whose aggregate has no owner is not inserted."""
    columns = [col for col in table.columns if col.name != "program_id"]
    names = ", ".join(col.name for col in columns)
    owner = "{p}audit_owners o"
    return Write(
        field,
        f"INSERT INTO {{p}}{table.name} ({names}, program_id) "  # noqa: S608 - fixed fragments
        f"SELECT {', '.join('?' for _ in columns)}, o.program_id FROM {owner} WHERE o.aggregate_id = ?",
        f"INSERT INTO {{p}}{table.name} ({names}, program_id) SELECT v.*, o.program_id "  # noqa: S608 - fixed fragments
        f"FROM unnest({_arrays(columns)}) AS v({names}) JOIN {owner} ON o.aggregate_id = v.aggregate_id",
        tuple,
        repeat=[col.name for col in columns].index("aggregate_id"),
    )


def widen(field: str, table: Table) -> Write:
    """INSERT of (key, first, last) rows, or where the key is present, widening its
    [first, last] to include theirs."""
    key, first, last = (col.name for col in table.columns)
    names = f"{key}, {first}, {last}"
    merge = (
        f" ON CONFLICT ({key}) DO UPDATE SET "
        f"{first} = CASE WHEN excluded.{first} < {{p}}{table.name}.{first} THEN excluded.{first} "
        f"ELSE {{p}}{table.name}.{first} END, "
        f"{last} = CASE WHEN excluded.{last} > {{p}}{table.name}.{last} THEN excluded.{last} "
        f"ELSE {{p}}{table.name}.{last} END"
    )
    return Write(
        field,
        f"INSERT INTO {{p}}{table.name} ({names}) VALUES (?, ?, ?){merge}",  # noqa: S608 - fixed fragments
        f"INSERT INTO {{p}}{table.name} ({names}) SELECT * FROM unnest({_arrays(list(table.columns))}){merge}",  # noqa: S608 - fixed fragments
        tuple,
    )


def update(field: str, table: Table, row: type[Any], *, by: Index | None = None, merge: bool = False) -> Write:
    """UPDATE of the row each key names (the primary key, or a unique index `by`), setting the
    row class's other fields; `merge`: a NULL value leaves the column unchanged."""
    key = by.columns if by is not None else table.key
    where = by.where() if by is not None else ""
    sets = [table.column(f.name) for f in fields(row) if f.name not in key]
    keys = [table.column(name) for name in key]

    def value(name: str, source: str) -> str:
        return f"COALESCE({source}, {name})" if merge else source

    row_set = ", ".join(f"{col.name} = {value(col.name, '?')}" for col in sets)
    set_set = ", ".join(f"{col.name} = {value('x.' + col.name, 'v.' + col.name)}" for col in sets)
    return Write(
        field,
        f"UPDATE {{p}}{table.name} SET {row_set} WHERE {_equal(keys)}{where}",  # noqa: S608 - fixed fragments
        f"UPDATE {{p}}{table.name} x SET {set_set} "  # noqa: S608 - fixed fragments
        f"FROM {_located(table, [*sets, *keys], keys, by)} WHERE x.ctid = v.row_id",
        _params([*sets, *keys]),
    )


def delete(field: str, table: Table) -> Write:
    """DELETE by primary key; the rows are key tuples."""
    keys = [table.column(name) for name in table.key]
    return Write(
        field,
        f"DELETE FROM {{p}}{table.name} WHERE {_equal(keys)}",  # noqa: S608 - fixed fragments
        f"DELETE FROM {{p}}{table.name} x USING {_located(table, keys, keys)} WHERE x.ctid = v.row_id",  # noqa: S608 - fixed fragments
        tuple,
    )


def _equal(keys: list[Column]) -> str:
    return " AND ".join(f"{col.name} = ?" for col in keys)


def _arrays(columns: list[Column]) -> str:
    return ", ".join(f"?::{col.type}[]" for col in columns)


def _located(table: Table, columns: list[Column], keys: list[Column], by: Index | None = None) -> str:
    """The batch's rows `v`, each with `row_id`, the ctid of the (unique) row its key names.

    A subquery per row finds that row through the key's index. Joined to the table as two sets
    instead, the rows were hashed: without statistics (a rebuild's new tables) the planner
    estimated few open intervals and read all of them once per batch, ever more as they grew."""
    lookup = " AND ".join(f"t.{col.name} = v.{col.name}" for col in keys) + (by.where("t.") if by else "")
    names = ", ".join(col.name for col in columns)
    return (
        f"(SELECT v.*, (SELECT t.ctid FROM {{p}}{table.name} t WHERE {lookup}) AS row_id "  # noqa: S608 - fixed fragments
        f"FROM unnest({_arrays(columns)}) AS v({names})) v"
    )


def _params(columns: list[Column]) -> Callable[[Any], tuple[Any, ...]]:
    """A row's parameters: one attribute load per column, compiled once per write (the loads
    Python specialises, about twice as fast as `attrgetter`); `ids` columns stored as text."""
    values = [
        f"None if row.{col.name} is None else join_ids(row.{col.name})" if col.ids else f"row.{col.name}"
        for col in columns
    ]
    getter: Callable[[Any], tuple[Any, ...]] = eval(  # noqa: S307 - column names from the schema
        f"lambda row: ({', '.join(values)},)", {"join_ids": join_ids}
    )
    return getter


# In NetBatch's field order.
WRITES = (
    insert("students", STUDENTS),
    update("student_profiles", STUDENTS, c.StudentProfiled),
    update("student_check_ins", STUDENTS, c.StudentCheckedIn),
    insert("programs", PROGRAMS),
    delete("setting_deletes", PROGRAM_SETTINGS),
    insert("settings", PROGRAM_SETTINGS),
    delete("window_deletes", WINDOWS),
    insert("windows", WINDOWS),
    insert("subjects", SUBJECTS),
    update("subject_status", SUBJECTS, c.SubjectStatusChanged),
    update("subject_details", SUBJECTS, c.SubjectDetailsChanged),
    insert("sections", SECTIONS),
    update("section_patches", SECTIONS, SectionPatch, merge=True),
    update("section_capacity", SECTIONS, c.SeatsChanged),
    insert("runs", LOTTERY_RUNS),
    update("run_patches", LOTTERY_RUNS, c.RunPatch, merge=True),
    insert("timeslots", TIMESLOTS),
    delete("seat_deletes", SEATS),
    insert("seats", SEATS, tuples=True),
    delete("waitlist_deletes", WAITLIST),
    insert("waitlist", WAITLIST, tuples=True),
    delete("passed_over_deletes", PASSED_OVER),
    insert("passed_over", PASSED_OVER),
    update("star_closes", STARS, StarClose, by=STARS.index("stars_open")),
    insert("stars", STARS),
    update("interval_closes", INTERVALS, IntervalClose, by=INTERVALS.index("intervals_open")),
    insert("intervals", INTERVALS),
    insert("owners", AUDIT_OWNERS),
    insert_owned("audit", AUDIT_EVENTS),
    widen("audit_blocks", AUDIT_BLOCKS),
)


def batch_rows(netted: NetBatch) -> list[tuple[Write, list[tuple[Any, ...]]]]:
    """Each write with rows in the batch, and their parameters."""
    out: list[tuple[Write, list[tuple[Any, ...]]]] = []
    for write in WRITES:
        rows = getattr(netted, write.field)
        if rows:
            ordered = rows.values() if isinstance(rows, dict) else sorted(rows) if isinstance(rows, set) else rows
            out.append((write, list(map(write.params, ordered))))
    return out
