"""Program logs on PostgreSQL: one events table per program, beside the shared one.

Why: every save takes its events table's EXCLUSIVE lock (insert order = commit order, which the
log's followers rely on), so with one table the writes of all programs commit one at a time.
A program is the partition key (no command touches two programs), so each program can have
its own table and lock (`docs/per-program-logs.md`).

How: a program's table INHERITS the shared events table. It takes its columns, and its
`notification_id` default draws from the shared table's sequence, so positions stay unique
across every log, and the shared table read without ONLY is still the whole log: reads by
aggregate id, heads and history need no routing. Only writers (`recorders`) and the log's
followers, which must read each table on its own because ids across tables are not in commit
order, name a program's table.

The routing table `<events table>_program_logs` says which programs have their own table. A
program gets one when it is created (`create`, an admin act: DDL never runs on a student's
command). A program created before has none and stays in the shared table.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from regledger.adapters.postgres.recorders import ddl_lock_key


class ProgramLogs:
    """Which programs write their own events table, and creating those tables (see module doc)."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        self.schema = self.datastore.schema
        self.shared_table = recorder.events_table_name
        self.routing_table = f"{self.shared_table}_program_logs"
        # A program's table never changes once it exists (`split` is offline). A program has its
        # table, or not, before any of its aggregates is saved: for a program that exists, "none"
        # is kept too, so a program in the shared table costs no lookup per save.
        self._tables: dict[UUID, str | None] = {}
        self._lock = threading.Lock()
        routing = SQL("{}.{}").format(Identifier(self.schema), Identifier(self.routing_table))
        self._create_routing = SQL(
            "CREATE TABLE IF NOT EXISTS {routing} (program_id uuid PRIMARY KEY, "
            "events_table text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())"
        ).format(routing=routing)
        self._select_one = SQL("SELECT events_table FROM {routing} WHERE program_id = %s").format(routing=routing)
        self._select_all = SQL("SELECT program_id, events_table FROM {routing} ORDER BY created_at, program_id").format(
            routing=routing
        )
        self._insert = SQL(
            "INSERT INTO {routing} (program_id, events_table) VALUES (%s, %s) ON CONFLICT DO NOTHING"
        ).format(routing=routing)

    def table_name(self, program_id: UUID) -> str:
        """The name of a program's own table (fits PostgreSQL's 63 characters with its indexes)."""
        return f"{self.shared_table}_{program_id.hex[:16]}"

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._create_routing, prepare=False)

    def create(self, program_id: UUID) -> str:
        """The program's own table, created if it has none yet (idempotent, safe across processes)."""
        existing = self.table_of(program_id)
        if existing is not None:
            return existing
        with self.datastore.transaction(commit=True) as curs:
            table = self._create_in(curs, program_id)
        with self._lock:
            self._tables[program_id] = table
        return table

    def split(self, program_id: UUID, aggregate_ids: Sequence[UUID]) -> tuple[str, int]:
        """Move a program's events (those of `aggregate_ids`) from the shared table into a table
        of its own, in one transaction; their positions do not change. Nothing may write the
        shared table meanwhile: its lock is held throughout. Returns the table, events moved."""
        if self.table_of(program_id) is not None:
            raise ValueError("the program has its own table already")
        shared = SQL("{}.{}").format(Identifier(self.schema), Identifier(self.shared_table))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("LOCK TABLE ONLY {} IN EXCLUSIVE MODE").format(shared))
            table = self._create_in(curs, program_id)
            own = SQL("{}.{}").format(Identifier(self.schema), Identifier(table))
            ids = list(aggregate_ids)
            curs.execute(
                SQL("INSERT INTO {} SELECT * FROM ONLY {} WHERE originator_id = ANY(%s)").format(own, shared), (ids,)
            )
            moved = curs.rowcount
            curs.execute(SQL("DELETE FROM ONLY {} WHERE originator_id = ANY(%s)").format(shared), (ids,))
            if curs.rowcount != moved:  # pragma: no cover - one statement's rows, under the lock
                raise RuntimeError(f"moved {moved} events but deleted {curs.rowcount}")
        with self._lock:
            self._tables[program_id] = table
        return table, moved

    def _create_in(self, curs: Any, program_id: UUID) -> str:
        """The program's table and its routing row, in the caller's transaction."""
        table = self.table_name(program_id)
        qualified = SQL("{}.{}").format(Identifier(self.schema), Identifier(table))
        # One at a time per schema: concurrent DDL on the same parent can fail with "tuple
        # concurrently updated".
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (ddl_lock_key(self.schema),))
        curs.execute(
            SQL("CREATE TABLE IF NOT EXISTS {table} () INHERITS ({shared})").format(
                table=qualified, shared=SQL("{}.{}").format(Identifier(self.schema), Identifier(self.shared_table))
            ),
            prepare=False,
        )
        # Inheritance copies no index or key: the table gets the shared table's own.
        curs.execute(
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} (originator_id, originator_version)").format(
                name=Identifier(f"{table}_pkey"), table=qualified
            ),
            prepare=False,
        )
        curs.execute(
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} (notification_id)").format(
                name=Identifier(f"{table}_notification_id_idx"), table=qualified
            ),
            prepare=False,
        )
        curs.execute(self._insert, (program_id, table))
        return table

    def table_of(self, program_id: UUID, *, exists: bool = False) -> str | None:
        """The program's own table, None when it writes the shared one; `exists`: the program is
        known to exist (its aggregates are being saved), so a None answer is final."""
        if program_id in self._tables:
            return self._tables[program_id]
        row = self._fetch_one(program_id)
        if row is not None or exists:
            with self._lock:
                self._tables[program_id] = row
        return row

    def tables(self) -> dict[UUID, str]:
        """Every program with its own table, in the order they were created."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            rows: list[tuple[Any, ...]] = curs.execute(self._select_all).fetchall()
        found = {UUID(str(program_id)): str(table) for program_id, table in rows}
        with self._lock:
            self._tables.update(found)
        return found

    def _fetch_one(self, program_id: UUID) -> str | None:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            row = curs.execute(self._select_one, (program_id,), prepare=True).fetchone()
        return None if row is None else str(row[0])


__all__ = ["ProgramLogs"]
