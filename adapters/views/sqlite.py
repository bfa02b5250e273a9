"""The registration views on SQLite: a file of their own beside the events file, or memory.

A separate file keeps the view writer from contending with command writers for SQLite's one
write lock. WAL mode lets queries from any thread read while the projector writes.

The `memory` store's views are the same tables in an in-memory database (`MemoryViews`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from regledger.adapters.views.schema import DDL, TABLES, fmt_ts
from regledger.adapters.views.sql import Cursor, Dialect, SqlViews
from regledger.projections.views import RegistrationViews

# Where a rebuild builds its tables before they are swapped in: `<prefix>rebuild_<table>`.
ASIDE = "rebuild_"


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return fmt_ts(value)
    return value


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    types={"uuid": "TEXT", "ts": "TEXT", "bool": "INTEGER", "binary": ""},
    encode=_encode,
)


def views_path(events_path: Path) -> Path:
    """Where the views of an events file live: `<name>.views<suffix>` beside it."""
    return events_path.with_name(f"{events_path.stem}.views{events_path.suffix or '.sqlite3'}")


class SqliteViews(SqlViews):
    """`busy_timeout`: how long a write waits for a lock another connection holds on the file
    before it fails (`sqlite3.OperationalError`, which the projector retries)."""

    def __init__(self, path: Path | str, *, prefix: str = "rv_", busy_timeout: float = 30.0) -> None:
        super().__init__(SQLITE, qualified_prefix=prefix, prefix=prefix)
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self, _changes: int = 0) -> Iterator[Cursor]:
        with self._write_lock:
            cur = self._writer.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._reader().execute(statement, params).fetchall()

    def aside(self) -> SqliteViews:
        """Views beside these (`<prefix>rebuild_` tables, same file) for a rebuild, then `swap_in`."""
        return SqliteViews(self.path, prefix=self.prefix + ASIDE, busy_timeout=self.busy_timeout)

    def swap_in(self, aside: RegistrationViews) -> None:
        """Replace these tables by `aside`'s, in one transaction. SQLite cannot rename an index:
        the renamed tables' indexes are built again under these names."""
        assert isinstance(aside, SqliteViews)
        with self._transaction() as cur:
            for table in TABLES:
                cur.execute(self.sql(f"DROP TABLE IF EXISTS {{p}}{table.name}"))
                cur.execute(f'ALTER TABLE "{aside.prefix}{table.name}" RENAME TO "{self.prefix}{table.name}"')
            live = [self.prefix + table.name for table in TABLES]
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608 - placeholders only
                f"AND tbl_name IN ({', '.join('?' for _ in live)})",
                live,
            )
            for (name,) in cur.fetchall():
                if name.startswith(aside.prefix):
                    cur.execute(f'DROP INDEX "{name}"')
            for statement in DDL:
                cur.execute(self.sql(statement))

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class MemoryViews(SqliteViews):
    """The views in an in-memory SQLite database (the `memory` store): one connection, since
    another would open another database, so reads wait for the write transaction. A rebuild's
    aside tables share it (`aside`)."""

    def __init__(self, *, prefix: str = "rv_", beside: MemoryViews | None = None) -> None:
        self._beside = beside
        super().__init__(":memory:", prefix=prefix)
        if beside is not None:
            self._write_lock = beside._write_lock

    def _connect(self) -> sqlite3.Connection:
        return super()._connect() if self._beside is None else self._beside._writer

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._write_lock:
            return self._writer.execute(statement, params).fetchall()

    def aside(self) -> MemoryViews:
        return MemoryViews(prefix=self.prefix + ASIDE, beside=self)
