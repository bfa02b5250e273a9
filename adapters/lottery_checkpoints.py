"""Where the lottery fold's checkpoints are kept (`projections.lottery_input.FoldCheckpoints`).

A table `regledger_lottery_inputs` (program, log position, fold signature, state as orjson
bytes) in the SQLite file or the PostgreSQL schema of the event store; a dict for the memory
store. The newest `KEEP` checkpoints of a program are kept. They are a cache of a fold of the
log: dropping the table only makes the next cold start fold from zero.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from regledger.domain.ids import ProgramId

TABLE = "regledger_lottery_inputs"
KEEP = 8

_COLUMNS = "program_id TEXT NOT NULL, position BIGINT NOT NULL, signature TEXT NOT NULL, state {blob} NOT NULL"
_KEY = "PRIMARY KEY (program_id, signature, position)"


class MemoryCheckpoints:
    """In process (the memory store): a fresh process starts without any."""

    def __init__(self) -> None:
        self._saved: dict[tuple[ProgramId, str], dict[int, bytes]] = {}
        self._lock = threading.Lock()

    def latest(self, program_id: ProgramId, at_most: int, signature: str) -> dict[str, Any] | None:
        with self._lock:
            saved = self._saved.get((program_id, signature), {})
            positions = [p for p in saved if p <= at_most]
            return orjson.loads(saved[max(positions)]) if positions else None

    def save(self, program_id: ProgramId, position: int, signature: str, state: dict[str, Any]) -> None:
        data = orjson.dumps(state)
        with self._lock:
            saved = self._saved.setdefault((program_id, signature), {})
            saved[position] = data
            for old in sorted(saved)[:-KEEP]:
                del saved[old]


class SqliteCheckpoints:
    """The table in the store's SQLite file (one short-lived connection per call)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._connection() as conn, conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({_COLUMNS.format(blob='BLOB')}, {_KEY})")

    def _connection(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path, timeout=30))

    def latest(self, program_id: ProgramId, at_most: int, signature: str) -> dict[str, Any] | None:
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT state FROM {TABLE} WHERE program_id = ? AND signature = ? AND position <= ? "  # noqa: S608
                "ORDER BY position DESC LIMIT 1",
                (str(program_id), signature, at_most),
            ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def save(self, program_id: ProgramId, position: int, signature: str, state: dict[str, Any]) -> None:
        key = (str(program_id), signature)
        with self._connection() as conn, conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} (program_id, signature, position, state) VALUES (?, ?, ?, ?)",  # noqa: S608
                (*key, position, orjson.dumps(state)),
            )
            conn.execute(
                f"DELETE FROM {TABLE} WHERE program_id = ? AND signature = ? AND position NOT IN "  # noqa: S608
                f"(SELECT position FROM {TABLE} WHERE program_id = ? AND signature = ? "
                "ORDER BY position DESC LIMIT ?)",
                (*key, *key, KEEP),
            )


class PostgresCheckpoints:
    """The table in the event store's schema, through the library's connection pool."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.table = Identifier(datastore.schema, TABLE)
        self._created = False

    def _create(self) -> None:
        if self._created:
            return
        with self.datastore.transaction(commit=True) as curs:
            # Concurrent CREATE ... IF NOT EXISTS can fail with "tuple concurrently updated".
            curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"regledger.{TABLE}",))
            curs.execute(
                SQL("CREATE TABLE IF NOT EXISTS {t} (" + _COLUMNS.format(blob="BYTEA") + ", " + _KEY + ")").format(
                    t=self.table
                )
            )
        self._created = True

    def latest(self, program_id: ProgramId, at_most: int, signature: str) -> dict[str, Any] | None:
        self._create()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT state FROM {t} WHERE program_id = %s AND signature = %s AND position <= %s "
                    "ORDER BY position DESC LIMIT 1"
                ).format(t=self.table),
                (str(program_id), signature, at_most),
            )
            row = curs.fetchone()
        return None if row is None else orjson.loads(row["state"])

    def save(self, program_id: ProgramId, position: int, signature: str, state: dict[str, Any]) -> None:
        self._create()
        key = (str(program_id), signature)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {t} (program_id, signature, position, state) VALUES (%s, %s, %s, %b) "
                    "ON CONFLICT (program_id, signature, position) DO UPDATE SET state = EXCLUDED.state"
                ).format(t=self.table),
                (*key, position, orjson.dumps(state)),
            )
            curs.execute(
                SQL(
                    "DELETE FROM {t} WHERE program_id = %s AND signature = %s AND position NOT IN "
                    "(SELECT position FROM {t} WHERE program_id = %s AND signature = %s "
                    "ORDER BY position DESC LIMIT %s)"
                ).format(t=self.table),
                (*key, *key, KEEP),
            )


__all__ = ["KEEP", "TABLE", "MemoryCheckpoints", "PostgresCheckpoints", "SqliteCheckpoints"]
