"""Bearer tokens: roles `admin` and `student`, stored hashed in the configured store.

A token reads `rl_<token_id>.<secret>`. `token_id` (16 hex digits) is not secret and selects the
row; `secret` is `secrets.token_urlsafe(32)` and only its SHA-256 is stored, compared with
`hmac.compare_digest`, so neither a stolen table nor response timing reveals a usable token.
The plaintext is returned once, by `create`, and never stored or logged.

A student token is bound to one (program slug, student key); an admin token to an admin name.
The actor recorded on every event is derived from the token (`Principal.actor`).

Lookups are cached per token id for `cache_ttl` (1 s), found and not found alike, so a client's
requests cost one query a second, not one each; a revocation takes effect at once through the
store that revokes (its entry is dropped) and within `cache_ttl` everywhere else. Repeated
failures from one address are throttled in the HTTP layer (`adapters/http/limits.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import psycopg
from psycopg_pool import ConnectionPool

from regledger.adapters.postgres.db_faults import read_with_retry
from regledger.adapters.settings import Settings
from regledger.domain.errors import InvalidInputError
from regledger.domain.values import check_key

Role = Literal["admin", "student"]
ROLES: tuple[Role, ...] = ("admin", "student")
TOKEN_PREFIX = "rl_"  # noqa: S105 - a format marker, not a secret
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
CACHE_TTL = 1.0  # seconds: how long another process's revocation may go unnoticed
CACHE_MAX = 10_000
POOL_WAIT = 1.5  # seconds a lookup waits for a pooled connection: fail fast in an outage
CONNECT_TIMEOUT = 2  # libpq's smallest effective connect_timeout
# A replacement connection is retried with backoff for this long, then the pool starts afresh
# on the next request: after an outage it reconnects within about a second, not the 8-16 s
# its backoff reaches by then.
RECONNECT_WINDOW = 2.0


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: str
    role: Role
    subject: str  # admin: a name; student: "<program slug>/<student key>"

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.subject}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_for(self, slug: str, student_key: str) -> bool:
        """Admins act for anyone; a student token only for its own (program, student)."""
        return self.is_admin or self.subject == f"{slug}/{student_key}"


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: never the secret, only its hash."""

    token_id: str
    secret_sha256: str
    role: Role
    subject: str
    created_at: str
    revoked_at: str | None = None

    def principal(self) -> Principal:
        return Principal(self.token_id, self.role, self.subject)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, dot, secret = token[len(TOKEN_PREFIX) :].partition(".")
    if not dot or len(token_id) != 16 or not secret or len(secret) > 100:
        return None
    return token_id, secret


def check_role(role: str) -> Role:
    if role == "admin":
        return "admin"
    if role == "student":
        return "student"
    raise InvalidInputError(f"role must be one of {ROLES}", role=role)


def check_subject(role: Role, subject: str) -> str:
    """Admin subjects are names; student subjects are `<slug>/<key>` with safe keys."""
    if role == "admin":
        return check_key(subject, "admin_name")
    slug, slash, key = subject.partition("/")
    if not slash:
        raise InvalidInputError("A student token's subject is '<program slug>/<student key>'", subject=subject)
    check_key(slug, "slug")
    check_key(key, "student_key")
    return subject


class TokenStore(ABC):
    """Create, look up and revoke bearer tokens; rows hold hashes only."""

    cache_ttl: float = CACHE_TTL
    clock: Callable[[], float] = staticmethod(time.monotonic)

    @property
    def _cache(self) -> _LookupCache:
        # Created on first use, so subclasses need not call an __init__ of ours.
        cache = self.__dict__.get("_lookup_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_lookup_cache", _LookupCache())
        return cast(_LookupCache, cache)

    def create(self, role: str, subject: str) -> str:
        """Store a new token and return its plaintext (shown once, never recoverable)."""
        checked = check_role(role)
        check_subject(checked, subject)
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        self._insert(TokenRecord(token_id, _hash(secret), checked, subject, _now()))
        self._cache.drop(token_id)
        return f"{TOKEN_PREFIX}{token_id}.{secret}"

    def lookup(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None for anything else."""
        parts = _split(token)
        if parts is None:
            return None
        token_id, secret = parts
        record = self._cached_get(token_id)
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.secret_sha256, _hash(secret)):
            return None
        return record.principal()

    def _cached_get(self, token_id: str) -> TokenRecord | None:
        cache = self._cache
        now = self.clock()
        hit, record, generation = cache.get(token_id, now)
        if hit:
            return record
        record = self._get(token_id)
        cache.put(token_id, record, now + self.cache_ttl, generation)
        return record

    def revoke(self, token_id: str) -> bool:
        """Revoke by token id (the part before the dot); False if unknown or already revoked."""
        bare = token_id.removeprefix(TOKEN_PREFIX).partition(".")[0]
        try:
            return self._revoke(bare, _now())
        finally:
            self._cache.drop(bare)

    @abstractmethod
    def list(self) -> list[TokenRecord]:
        """Every token ever created, revoked ones included, by creation time."""

    @abstractmethod
    def _insert(self, record: TokenRecord) -> None: ...

    @abstractmethod
    def _get(self, token_id: str) -> TokenRecord | None: ...

    @abstractmethod
    def _revoke(self, token_id: str, when: str) -> bool: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class _LookupCache:
    """token id -> (expiry, record or None). A drop (revoke) outdates lookups already under way:
    each put carries the generation its read started at, and a newer drop discards it."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, TokenRecord | None]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, token_id: str, now: float) -> tuple[bool, TokenRecord | None, int]:
        entry = self._entries.get(token_id)
        if entry is not None and entry[0] > now:
            return True, entry[1], self._generation
        return False, None, self._generation

    def put(self, token_id: str, record: TokenRecord | None, expires: float, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= CACHE_MAX:  # guessed ids must not grow it without bound
                self._entries.clear()
            self._entries[token_id] = (expires, record)

    def drop(self, token_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(token_id, None)


class MemoryTokenStore(TokenStore):
    def __init__(self) -> None:
        self._rows: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()

    def list(self) -> list[TokenRecord]:
        with self._lock:
            return sorted(self._rows.values(), key=lambda r: r.created_at)

    def _insert(self, record: TokenRecord) -> None:
        with self._lock:
            self._rows[record.token_id] = record

    def _get(self, token_id: str) -> TokenRecord | None:
        with self._lock:
            return self._rows.get(token_id)

    def _revoke(self, token_id: str, when: str) -> bool:
        with self._lock:
            record = self._rows.get(token_id)
            if record is None or record.revoked_at is not None:
                return False
            self._rows[token_id] = replace(record, revoked_at=when)
            return True


def _record(row: tuple[Any, ...]) -> TokenRecord:
    return TokenRecord(*row)


class SqliteTokenStore(TokenStore):
    """A `regledger_tokens` table in the SQLite file (one short-lived connection per call)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._connection() as conn:
            conn.execute(_DDL)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            yield conn

    def list(self) -> list[TokenRecord]:
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at").fetchall()  # noqa: S608
        return [_record(r) for r in rows]

    def _insert(self, record: TokenRecord) -> None:
        with self._connection() as conn:
            conn.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", _values(record))  # noqa: S608

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


def _values(record: TokenRecord) -> tuple[Any, ...]:
    return (
        record.token_id,
        record.secret_sha256,
        record.role,
        record.subject,
        record.created_at,
        record.revoked_at,
    )


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

    def list(self) -> list[TokenRecord]:
        def read(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            return conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at").fetchall()  # noqa: S608

        return [_record(r) for r in read_with_retry(self._pool, self.pool_wait, read)]

    def _insert(self, record: TokenRecord) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",  # noqa: S608
                _values(record),
            )

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


def build_token_store(settings: Settings) -> TokenStore:
    """The token store of the configured backend (tables are created if missing)."""
    if settings.store == "postgres":
        return PostgresTokenStore(settings.postgres_conninfo())
    if settings.store == "sqlite":
        settings.prepare()
        return SqliteTokenStore(settings.sqlite_path)
    return MemoryTokenStore()
