"""The SQL token stores: a `regledger_tokens` table in the SQLite file or the PostgreSQL schema.

A batch (`_insert_many`) is one transaction: the optional revocation of the subjects' earlier
tokens (one UPDATE ... RETURNING) and every insert (one executemany) commit together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from regledger.adapters.auth import TokenIds, TokenQuery, TokenRecord, TokenRecords, TokenStore
from regledger.adapters.postgres.db_faults import read_with_retry

TABLE = "regledger_tokens"

_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    token_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)"""
_COLUMNS = "token_id, secret_sha256, role, subject, created_at, revoked_at"
_NO_LIMIT = 2**62  # LIMIT needs a number in SQLite; OFFSET alone is refused there
POOL_WAIT = 1.5  # seconds a lookup waits for a pooled connection: fail fast in an outage
CONNECT_TIMEOUT = 2  # libpq's smallest effective connect_timeout
# A replacement connection is retried with backoff for this long, then the pool starts afresh
# on the next request: after an outage it reconnects within about a second, not the 8-16 s
# its backoff reaches by then.
RECONNECT_WINDOW = 2.0
Rows = list[tuple[Any, ...]]


def _record(row: tuple[Any, ...]) -> TokenRecord:
    return TokenRecord(*row)


def _values(record: TokenRecord) -> tuple[Any, ...]:
    return (
        record.token_id,
        record.secret_sha256,
        record.role,
        record.subject,
        record.created_at,
        record.revoked_at,
    )


def _select(mark: str, query: TokenQuery) -> tuple[str, list[Any]]:
    """The listing query with `mark` as the placeholder (`?` or `%s`) and its arguments."""
    where: list[str] = []
    args: list[Any] = []
    if query.role is not None:
        where.append(f"role = {mark}")
        args.append(query.role)
    if query.program is not None:
        where.append(f"role = 'student' AND substr(subject, 1, length({mark})) = {mark}")
        args += [f"{query.program}/"] * 2
    if query.active is not None:
        where.append("revoked_at IS NULL" if query.active else "revoked_at IS NOT NULL")
    sql = f"SELECT {_COLUMNS} FROM {TABLE}"  # noqa: S608 - constants; values are parameters
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY created_at, token_id LIMIT {mark} OFFSET {mark}"
    return sql, [*args, _NO_LIMIT if query.limit is None else query.limit, query.offset]


class SqliteTokenStore(TokenStore):
    """A `regledger_tokens` table in the SQLite file (one short-lived connection per call)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._connection() as conn:
            conn.execute(_DDL)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # `with conn`: one transaction, committed on success and rolled back on an error.
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            yield conn

    def _list(self, query: TokenQuery) -> TokenRecords:
        sql, args = _select("?", query)
        with self._connection() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [_record(r) for r in rows]

    def _insert_many(self, records: Sequence[TokenRecord], revoke: Sequence[str], when: str) -> TokenIds:
        with self._connection() as conn:
            revoked: TokenIds = []
            if revoke:
                cur = conn.execute(
                    f"UPDATE {TABLE} SET revoked_at = ? WHERE role = 'student' AND revoked_at IS NULL "  # noqa: S608
                    "AND subject IN (SELECT value FROM json_each(?)) RETURNING token_id",
                    (when, json.dumps(list(revoke))),
                )
                revoked = [row[0] for row in cur.fetchall()]
            conn.executemany(
                f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                [_values(r) for r in records],
            )
        return revoked

    def _get(self, token_id: str) -> TokenRecord | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE token_id = ?", (token_id,)).fetchone()  # noqa: S608
        return None if row is None else _record(row)

    def _revoke(self, token_id: str, when: str) -> bool:
        with self._connection() as conn:
            cur = conn.execute(
                f"UPDATE {TABLE} SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",  # noqa: S608
                (when, token_id),
            )
            return cur.rowcount == 1


class PostgresTokenStore(TokenStore):
    """A `regledger_tokens` table in the settings' schema, read through a small pool."""

    def __init__(self, conninfo: str, *, pool_size: int = 4, pool_wait: float = POOL_WAIT) -> None:
        # No `check=` callback: a broken connection is found by the lookup that uses it, which
        # then drops every dead one and retries once (db_faults.read_with_retry); the check
        # loop would sleep a second after the second dead connection.
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            open=True,
            name="regledger-tokens",
            timeout=pool_wait,
            reconnect_timeout=RECONNECT_WINDOW,
        )
        self.pool_wait = pool_wait
        with self._pool.connection() as conn, conn.transaction():
            # Concurrent CREATE ... IF NOT EXISTS can fail with "tuple concurrently updated".
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"regledger.{TABLE}",))
            conn.execute(_DDL)

    def _list(self, query: TokenQuery) -> TokenRecords:
        sql, args = _select("%s", query)

        def read(conn: psycopg.Connection[Any]) -> Rows:
            return conn.execute(sql, args).fetchall()

        return [_record(r) for r in read_with_retry(self._pool, self.pool_wait, read)]

    def _insert_many(self, records: Sequence[TokenRecord], revoke: Sequence[str], when: str) -> TokenIds:
        with self._pool.connection() as conn, conn.transaction():
            revoked: TokenIds = []
            if revoke:
                cur = conn.execute(
                    f"UPDATE {TABLE} SET revoked_at = %s WHERE role = 'student' AND revoked_at IS NULL "  # noqa: S608
                    "AND subject = ANY(%s) RETURNING token_id",
                    (when, list(revoke)),
                )
                revoked = [row[0] for row in cur.fetchall()]
            with conn.cursor() as cur:  # executemany pipelines the inserts: one round trip, not one each
                cur.executemany(
                    f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",  # noqa: S608
                    [_values(r) for r in records],
                )
        return revoked

    def _get(self, token_id: str) -> TokenRecord | None:
        def read(conn: psycopg.Connection[Any]) -> tuple[Any, ...] | None:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE token_id = %s",  # noqa: S608
                (token_id,),
                prepare=True,
            ).fetchone()

        row = read_with_retry(self._pool, self.pool_wait, read)
        return None if row is None else _record(row)

    def _revoke(self, token_id: str, when: str) -> bool:
        with self._pool.connection() as conn:
            cur = conn.execute(
                f"UPDATE {TABLE} SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",  # noqa: S608
                (when, token_id),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self._pool.close()
