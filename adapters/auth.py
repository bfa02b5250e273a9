"""Bearer tokens: roles `admin` and `student`, stored hashed in the configured store.

A token reads `rl_<token_id>.<secret>`. `token_id` (16 hex digits) is not secret and selects the
row; `secret` is `secrets.token_urlsafe(32)` and only its SHA-256 is stored, compared with
`hmac.compare_digest`, so neither a stolen table nor response timing reveals a usable token.
The plaintext is returned once, by `create` or `create_many`, and never stored or logged; every
creation and revocation is logged with the token id and the actor (`regledger.tokens`).

A student token is bound to one (program slug, student key); an admin token to an admin name.
The actor recorded on every event is derived from the token (`Principal.actor`).

Lookups are cached per token id for `cache_ttl` (1 s), found and not found alike, so a client's
requests cost one query a second, not one each; a revocation takes effect at once through the
store that revokes (its entry is dropped) and within `cache_ttl` everywhere else. Repeated
failures from one address are throttled in the HTTP layer (`adapters/http/limits.py`).
The SQL stores live in `token_stores.py`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, cast

from regledger.adapters.settings import Settings
from regledger.adapters.token_cache import LookupCache
from regledger.domain.errors import InvalidInputError
from regledger.domain.values import check_key

Role = Literal["admin", "student"]
ROLES: tuple[Role, ...] = ("admin", "student")
TOKEN_PREFIX = "rl_"  # noqa: S105 - a format marker, not a secret
CACHE_TTL = 1.0  # seconds: how long another process's revocation may go unnoticed
MAX_BATCH = 10_000  # tokens one create_many may create: a large program's students, with room
SYSTEM_ACTOR = "system"  # the actor logged when the caller names none (tests, scripts)
CSV_COLUMNS = ("student_key", "token_id", "token")

logger = logging.getLogger("regledger.tokens")


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

    @property
    def public_id(self) -> str:
        """The id as people and clients see it: `rl_<16 hex>`."""
        return f"{TOKEN_PREFIX}{self.token_id}"


# Names the stores' `list` method cannot shadow in their class bodies.
TokenRecords = list[TokenRecord]
TokenIds = list[str]


@dataclass(frozen=True)
class TokenQuery:
    """Which tokens a listing answers (see `TokenStore.list`)."""

    role: Role | None = None
    program: str | None = None
    active: bool | None = None
    offset: int = 0
    limit: int | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A token just created, with its plaintext: the only time the plaintext exists."""

    record: TokenRecord
    token: str

    @property
    def student_key(self) -> str:
        return self.record.subject.partition("/")[2]


@dataclass(frozen=True)
class TokenBatch:
    """What one `create_many` did: the new tokens in the order asked, and the revoked ids."""

    tokens: list[IssuedToken]
    revoked: list[str]


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


def _verified(record: TokenRecord | None, secret: str) -> Principal | None:
    """The principal of an unrevoked record whose hash matches the secret; None otherwise."""
    if record is None or record.revoked_at is not None:
        return None
    return record.principal() if hmac.compare_digest(record.secret_sha256, _hash(secret)) else None


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {ROLES}", role=role)
    return role


def bare_id(token_id: str) -> str:
    """`rl_<id>`, `<id>` or a whole token -> `<id>`."""
    return token_id.removeprefix(TOKEN_PREFIX).partition(".")[0]


def _check_batch(role: Role, subjects: Sequence[str]) -> None:
    if not 1 <= len(subjects) <= MAX_BATCH:
        raise InvalidInputError(f"A batch creates 1 to {MAX_BATCH} tokens", count=len(subjects))
    for subject in subjects:
        check_subject(role, subject)
    repeated = [subject for subject, n in Counter(subjects).items() if n > 1]
    if repeated:
        raise InvalidInputError("A batch names each subject once", duplicates=repeated[:20], count=len(repeated))


def student_tokens_csv(tokens: Sequence[IssuedToken], lineterminator: str = "\r\n") -> str:
    """`student_key,token_id,token`, one row per token (RFC 4180 line ends unless told)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow(CSV_COLUMNS)
    writer.writerows((t.student_key, t.record.public_id, t.token) for t in tokens)
    return out.getvalue()


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
    def _cache(self) -> LookupCache[TokenRecord]:
        # Created on first use, so subclasses need not call an __init__ of ours.
        cache = self.__dict__.get("_lookup_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_lookup_cache", LookupCache[TokenRecord]())
        return cast(LookupCache[TokenRecord], cache)

    def create(self, role: str, subject: str, *, actor: str = SYSTEM_ACTOR) -> str:
        """Store a new token and return its plaintext (shown once, never recoverable)."""
        return self.create_many(role, [subject], actor=actor).tokens[0].token

    def create_many(
        self, role: str, subjects: Sequence[str], *, actor: str = SYSTEM_ACTOR, revoke_existing: bool = False
    ) -> TokenBatch:
        """One new token per subject, in one transaction: all are stored or none.

        Every subject is checked first; a subject named twice is refused. A subject's earlier
        tokens stay valid beside the new one, unless `revoke_existing`: then its earlier active
        tokens are revoked in the same transaction."""
        checked = check_role(role)
        _check_batch(checked, subjects)
        when = _now()
        issued = []
        for subject in subjects:
            token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
            record = TokenRecord(token_id, _hash(secret), checked, subject, when)
            issued.append(IssuedToken(record, f"{TOKEN_PREFIX}{token_id}.{secret}"))
        revoked = self._insert_many([t.record for t in issued], subjects if revoke_existing else (), when)
        # Drops any cached "not found" for a new id and any cached record of a revoked one.
        self._cache.clear()
        for token_id in revoked:
            logger.info("revoked token %s%s (replaced) by %s", TOKEN_PREFIX, token_id, actor, extra={"actor": actor})
        for token in issued:
            record = token.record
            logger.info(
                "created %s token %s for %s by %s",
                record.role,
                record.public_id,
                record.subject,
                actor,
                extra={"token_id": record.public_id, "role": record.role, "subject": record.subject, "actor": actor},
            )
        return TokenBatch(issued, [f"{TOKEN_PREFIX}{token_id}" for token_id in revoked])

    def lookup(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None for anything else."""
        parts = _split(token)
        return None if parts is None else _verified(self._cached_get(parts[0]), parts[1])

    def cached_principal(self, token: str) -> Principal | None:
        """`lookup` answered from the cache alone (no I/O, so an event loop may call it): the
        principal of a token cached as valid; None when that needs the store, or it is not."""
        parts = _split(token)
        if parts is None:
            return None
        hit, record, _ = self._cache.get(parts[0], self.clock())
        return _verified(record, parts[1]) if hit else None

    def _cached_get(self, token_id: str) -> TokenRecord | None:
        cache = self._cache
        now = self.clock()
        hit, record, generation = cache.get(token_id, now)
        if hit:
            return record
        record = self._get(token_id)
        cache.put(token_id, record, now + self.cache_ttl, generation)
        return record

    def revoke(self, token_id: str, *, actor: str = SYSTEM_ACTOR) -> bool:
        """Revoke by token id (the part before the dot); False if unknown or already revoked."""
        bare = bare_id(token_id)
        try:
            done = self._revoke(bare, _now())
        finally:
            self._cache.drop(bare)
        shown = f"{TOKEN_PREFIX}{bare}"
        if done:
            logger.info("revoked token %s by %s", shown, actor, extra={"token_id": shown, "actor": actor})
        else:
            logger.info("not revoked: no active token %s (asked by %s)", shown, actor, extra={"actor": actor})
        return done

    def get(self, token_id: str) -> TokenRecord | None:
        """The stored record (never the secret), read now rather than from the lookup cache."""
        return self._get(bare_id(token_id))

    def list(
        self,
        *,
        role: Role | None = None,
        program: str | None = None,
        active: bool | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> TokenRecords:
        """Tokens by creation time (then id): all, or of a role, of one program's students, active
        (True) or revoked (False) only; `offset`/`limit` page through them."""
        return self._list(TokenQuery(role, program, active, offset, limit))

    @abstractmethod
    def _list(self, query: TokenQuery) -> TokenRecords: ...

    @abstractmethod
    def _insert_many(self, records: Sequence[TokenRecord], revoke: Sequence[str], when: str) -> TokenIds:
        """Insert every record and revoke the active student tokens of `revoke` (subjects) at
        `when`, in one transaction; the ids revoked."""

    @abstractmethod
    def _get(self, token_id: str) -> TokenRecord | None: ...

    @abstractmethod
    def _revoke(self, token_id: str, when: str) -> bool: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryTokenStore(TokenStore):
    def __init__(self) -> None:
        self._rows: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()

    def _list(self, query: TokenQuery) -> TokenRecords:
        prefix = None if query.program is None else f"{query.program}/"
        with self._lock:
            rows = [
                r
                for r in self._rows.values()
                if (query.role is None or r.role == query.role)
                and (prefix is None or (r.role == "student" and r.subject.startswith(prefix)))
                and (query.active is None or (r.revoked_at is None) == query.active)
            ]
        rows.sort(key=lambda r: (r.created_at, r.token_id))
        start, limit = query.offset, query.limit
        return rows[start:] if limit is None else rows[start : start + limit]

    def _insert_many(self, records: Sequence[TokenRecord], revoke: Sequence[str], when: str) -> TokenIds:
        subjects = set(revoke)
        with self._lock:
            revoked = [
                r.token_id
                for r in self._rows.values()
                if r.role == "student" and r.revoked_at is None and r.subject in subjects
            ]
            for token_id in revoked:
                self._rows[token_id] = replace(self._rows[token_id], revoked_at=when)
            self._rows.update((r.token_id, r) for r in records)
        return revoked

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


def build_token_store(settings: Settings) -> TokenStore:
    """The token store of the configured backend (tables are created if missing)."""
    # Imported here: the SQL stores subclass TokenStore from this module.
    from regledger.adapters.token_stores import PostgresTokenStore, SqliteTokenStore

    if settings.store == "postgres":
        return PostgresTokenStore(settings.postgres_conninfo())
    if settings.store == "sqlite":
        settings.prepare()
        return SqliteTokenStore(settings.sqlite_path)
    return MemoryTokenStore()
