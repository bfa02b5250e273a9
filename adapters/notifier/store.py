"""The notifier's tables: its log position, contacts, names and the outbox (SQLite or PostgreSQL).

`apply` writes a batch's outbox rows, contacts and names and moves the position, in ONE
transaction, and only if the position is still the one the batch was read after: a crash
before the commit loses nothing (the batch is read again), after it duplicates nothing.

An outbox row is keyed by (position, student_id, channel): position is the first notification
id of the commit that gave the notices, so a commit gives a student at most one message per
channel. Status: `pending` (due at `next_attempt_at`), `sent`, `failed` (refused for good, or
out of attempts) or `no_address` (an e-mail for a student without an address: counted, never
sent). On SQLite the tables live in their own file beside the events (`<name>.notifier.sqlite3`),
on PostgreSQL in the settings' schema as `nt_*`.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from regledger.adapters.settings import Settings
from regledger.adapters.views.postgres import POSTGRES
from regledger.adapters.views.schema import to_dt, to_uuid
from regledger.adapters.views.sql import Cursor, Dialect
from regledger.adapters.views.sqlite import SQLITE
from regledger.projections.notices import Contact, Name
from regledger.projections.views import PositionAlreadyApplied

PREFIX = "nt_"
STATUSES = ("pending", "sent", "failed", "no_address")
EMAIL, WEBHOOK = "email", "webhook"
MAX_BACKOFF = 3600.0

DDL = (
    "CREATE TABLE IF NOT EXISTS {p}tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {p}contacts (student_id {uuid} PRIMARY KEY, program_id {uuid} NOT NULL, "
    "student_key TEXT NOT NULL, name TEXT, email TEXT)",
    "CREATE TABLE IF NOT EXISTS {p}names (id {uuid} PRIMARY KEY, parent_id {uuid}, code TEXT NOT NULL, "
    "title TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {p}outbox (position BIGINT NOT NULL, student_id {uuid} NOT NULL, "
    "channel TEXT NOT NULL, command_id TEXT NOT NULL, program_id {uuid}, student_key TEXT, recipient TEXT, "
    "kind TEXT NOT NULL, subject TEXT NOT NULL, body_text TEXT NOT NULL, body_html TEXT NOT NULL, "
    "status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, created_at {ts} NOT NULL, "
    "next_attempt_at {ts}, sent_at {ts}, PRIMARY KEY (position, student_id, channel))",
    "CREATE INDEX IF NOT EXISTS {n}outbox_due ON {p}outbox (channel, status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS {n}outbox_status ON {p}outbox (status, position)",
)
POSITION = "SELECT position FROM {p}tracking WHERE name = ?"
INSERT_TRACKING = "INSERT INTO {p}tracking (name, position) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
ADVANCE = "UPDATE {p}tracking SET position = ? WHERE name = ? AND position = ?"
FOLLOWER = "notifier"  # the tracking row of the (shared) log's follower
UPSERT_CONTACT = (
    "INSERT INTO {p}contacts (student_id, program_id, student_key, name, email) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (student_id) DO UPDATE SET program_id = excluded.program_id, "
    "student_key = excluded.student_key, name = excluded.name, email = excluded.email"
)
UPSERT_NAME = (
    "INSERT INTO {p}names (id, parent_id, code, title) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, code = excluded.code, title = excluded.title"
)


@dataclass(frozen=True)
class OutboxRow:
    position: int
    student_id: UUID
    channel: str
    command_id: str
    program_id: UUID | None
    student_key: str | None
    recipient: str | None
    kind: str
    subject: str
    body_text: str
    body_html: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None

    @property
    def key(self) -> tuple[int, UUID, str]:
        return (self.position, self.student_id, self.channel)

    @property
    def message_id(self) -> str:
        """The Message-ID header: the same on every attempt, so receivers can drop a repeat."""
        return f"<{self.position}.{self.student_id.hex}.{self.channel}@regledger>"


COLUMNS = tuple(f.name for f in fields(OutboxRow))
INSERT_MESSAGE = (
    f"INSERT INTO {{p}}outbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "  # noqa: S608 - fixed
    "ON CONFLICT (position, student_id, channel) DO NOTHING"
)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM {{p}}outbox"  # noqa: S608 - fixed fragments
KEY = "position = ? AND student_id = ? AND channel = ?"


def backoff(attempts: int, base: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, doubling, at most an hour."""
    return timedelta(seconds=min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1)))


class OutboxStore(ABC):
    """The SQL of both stores; the subclasses own the connection."""

    def __init__(self, dialect: Dialect, qualified: str) -> None:
        self.dialect = dialect
        self._qualified = qualified
        self._lock = threading.RLock()

    def sql(self, statement: str) -> str:
        return self.dialect.render(statement, self._qualified, PREFIX)

    def _enc(self, params: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(self.dialect.encode(v) for v in params)

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Cursor]: ...

    @abstractmethod
    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]: ...

    @abstractmethod
    def close(self) -> None: ...

    def _read(self, statement: str, *params: Any) -> list[Any]:
        return self._query(self.sql(statement), self._enc(params))

    # -- the follower's side ----------------------------------------------------------------

    def create_tables(self, *, quiet_until: int | None = None) -> None:
        """Create what is missing. The notifier's first start (`quiet_until` given) records its
        position (0) and the events up to `quiet_until`, history that gives no messages; later
        starts keep what was recorded. Readers pass nothing."""
        with self._transaction() as cur:
            for statement in DDL:
                cur.execute(self.sql(statement))
            if quiet_until is not None:
                cur.execute(self.sql(INSERT_TRACKING), (FOLLOWER, 0))
                cur.execute(self.sql(INSERT_TRACKING), ("quiet_until", quiet_until))

    def _tracked(self, name: str) -> int:
        rows = self._read(POSITION, name)
        return int(rows[0][0]) if rows else 0

    def track(self, name: str, at: int | None = None) -> None:
        """A tracking row for one more log's follower (a program's table): new ones at 0, or
        set to `at` (a table split off the shared one continues from its position)."""
        with self._transaction() as cur:
            cur.execute(self.sql(INSERT_TRACKING), (name, at or 0))
            if at is not None:
                cur.execute(self.sql("UPDATE {p}tracking SET position = ? WHERE name = ?"), (at, name))

    def position(self, name: str = FOLLOWER) -> int:
        return self._tracked(name)

    def quiet_until(self) -> int:
        return self._tracked("quiet_until")

    def contacts(self) -> dict[UUID, Contact]:
        rows = self._read("SELECT student_id, program_id, student_key, name, email FROM {p}contacts")
        return {to_uuid(r[0]): Contact(to_uuid(r[0]), to_uuid(r[1]), r[2], r[3], r[4]) for r in rows}

    def names(self) -> dict[UUID, Name]:
        rows = self._read("SELECT id, parent_id, code, title FROM {p}names")
        return {to_uuid(r[0]): Name(to_uuid(r[0]), None if r[1] is None else to_uuid(r[1]), r[2], r[3]) for r in rows}

    def apply(
        self,
        after: int,
        position: int,
        contacts: Sequence[Contact],
        names: Sequence[Name],
        messages: Sequence[OutboxRow],
        *,
        name: str = FOLLOWER,
    ) -> None:
        """Everything a batch read after `after` gives, and the position `position`, at once."""
        with self._transaction() as cur:
            cur.execute(self.sql(ADVANCE), (position, name, after))
            if cur.rowcount != 1:
                cur.execute(self.sql(POSITION), (name,))
                raise PositionAlreadyApplied(position, int(cur.fetchall()[0][0]))
            self._many(cur, UPSERT_CONTACT, [astuple(c) for c in contacts])
            self._many(cur, UPSERT_NAME, [astuple(n) for n in names])
            self._many(cur, INSERT_MESSAGE, [astuple(m) for m in messages])

    def _many(self, cur: Cursor, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            cur.executemany(self.sql(statement), [self._enc(r) for r in rows])

    # -- the sender's side ------------------------------------------------------------------

    def due(self, channel: str, now: datetime, limit: int = 100) -> list[OutboxRow]:
        return self._rows(
            f"{SELECT} WHERE channel = ? AND status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY position, student_id LIMIT ?",
            channel,
            now,
            limit,
        )

    def mark_sent(self, row: OutboxRow, now: datetime) -> None:
        with self._transaction() as cur:
            cur.execute(
                self.sql(
                    f"UPDATE {{p}}outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, "  # noqa: S608
                    f"next_attempt_at = NULL WHERE {KEY}"
                ),
                self._enc((now, *row.key)),
            )

    def mark_failed(
        self, row: OutboxRow, error: str, now: datetime, *, base: float, max_attempts: int, permanent: bool = False
    ) -> str:
        """Record a failed attempt: retried after the backoff, or `failed`; returns the status."""
        attempts = row.attempts + 1
        status = "failed" if permanent or attempts >= max_attempts else "pending"
        retry = None if status == "failed" else now + backoff(attempts, base)
        with self._transaction() as cur:
            cur.execute(
                self.sql(
                    f"UPDATE {{p}}outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ? "  # noqa: S608
                    f"WHERE {KEY}"
                ),
                self._enc((status, attempts, error[:1000], retry, *row.key)),
            )
        return status

    def requeue_failed(self, now: datetime) -> int:
        """Make every `failed` message due again (after the server or the address is mended);
        their attempts start again from 0. Returns how many."""
        with self._transaction() as cur:
            cur.execute(
                self.sql(
                    "UPDATE {p}outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'failed'"
                ),
                self._enc((now,)),
            )
            return int(cur.rowcount)

    # -- queries ------------------------------------------------------------------------------

    def _rows(self, statement: str, *params: Any) -> list[OutboxRow]:
        return [_row(r) for r in self._read(statement, *params)]

    def list(self, *, status: str | None = None, limit: int = 100, offset: int = 0) -> list[OutboxRow]:
        where = " WHERE status = ?" if status else ""
        params = (status,) if status else ()
        return self._rows(
            f"{SELECT}{where} ORDER BY position, student_id, channel LIMIT ? OFFSET ?", *params, limit, offset
        )

    def counts(self) -> dict[str, int]:
        rows = self._read("SELECT status, COUNT(*) FROM {p}outbox GROUP BY status")
        return dict.fromkeys(STATUSES, 0) | {r[0]: int(r[1]) for r in rows}


def _row(values: Sequence[Any]) -> OutboxRow:
    v = list(values)
    v[1] = to_uuid(v[1])
    v[4] = None if v[4] is None else to_uuid(v[4])
    for i in (14, 15, 16):
        v[i] = None if v[i] is None else to_dt(v[i])
    return OutboxRow(*v)


class SqliteOutbox(OutboxStore):
    """One connection (the follower and the sender each open their own store); WAL mode."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        super().__init__(SQLITE, PREFIX)
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self._conn.cursor()
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

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._conn.execute(statement, params).fetchall()

    def close(self) -> None:
        self._conn.close()


class PostgresOutbox(OutboxStore):
    """One connection, opened again after a drop; commits are synchronous (unlike the views')."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(POSTGRES, f'"{schema}".{PREFIX}')
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        with self._lock:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                yield cur

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._connection().execute(statement, params).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def outbox_path(events_path: Path) -> Path:
    """Where the notifier's tables of an events file live: `<name>.notifier<suffix>` beside it."""
    return events_path.with_name(f"{events_path.stem}.notifier{events_path.suffix or '.sqlite3'}")


def open_outbox(settings: Settings) -> OutboxStore:
    """The configured store's outbox (memory: an in-memory SQLite database of this process)."""
    if settings.store == "postgres":
        return PostgresOutbox(settings.postgres_conninfo(), settings.postgres_schema)
    if settings.store == "sqlite":
        settings.prepare()
        return SqliteOutbox(outbox_path(settings.sqlite_path))
    return SqliteOutbox(":memory:")
