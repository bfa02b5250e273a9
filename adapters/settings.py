"""Deployment settings (REGLEDGER_* variables) and the one env dict handed to eventsourcing.

eventsourcing builds an application's environment as ``Application.env`` (class) <
``os.environ`` < the ``env=`` constructor argument, and looks up ``<APPNAME>_<KEY>`` before
``<KEY>``. So ``eventsourcing_env()`` returns a *complete* persistence configuration (every key
the chosen backend reads) and is always passed explicitly: a stray ``PERSISTENCE_MODULE`` or
``POSTGRES_GET_PASSWORD_TOPIC`` in the shell cannot switch backends or credentials. Pass
``names=[App.name, ...]`` to also pin the name-prefixed keys (``REGISTRATION_PERSISTENCE_MODULE``),
which would otherwise still beat our unprefixed ones. Keys that belong to an application class
(transcoder, mapper, cipher, snapshotting) are deliberately left to that class.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, Self

import platformdirs
from psycopg.conninfo import make_conninfo
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from regledger.adapters.database_urls import REDACTED, mask_url_password, parse_database_url

ENV_PREFIX = "REGLEDGER_"
APP_NAME = "regledger"
SQLITE_FILE = "regledger.sqlite3"
PERSISTENCE_MODULES = {
    "memory": "eventsourcing.popo",
    "sqlite": "eventsourcing.sqlite",
    "postgres": "eventsourcing.postgres",
}
_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")

logger = logging.getLogger("regledger.database")

# Set only while from_mapping() builds an instance, so os.environ is never consulted then.
_explicit_environ: ContextVar[Mapping[str, str] | None] = ContextVar("regledger_explicit_environ", default=None)


def _var(field: str) -> str:
    return ENV_PREFIX + field.upper()


class _MappingEnvSource(EnvSettingsSource):
    """The env-var source, parsing a given mapping instead of os.environ (same rules)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


@contextmanager
def _reading(environ: Mapping[str, str]) -> Iterator[None]:
    token = _explicit_environ.set(environ)
    try:
        yield
    finally:
        _explicit_environ.reset(token)


def default_home() -> Path:
    """The per-user data directory: ~/.local/share/regledger on Linux (XDG_DATA_HOME honoured)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _default_sqlite_path(fields: dict[str, Any]) -> Path:
    # Not under the current directory: a command run from elsewhere must open the same file.
    home = fields.get("home") or default_home()
    return Path(home) / SQLITE_FILE


class Settings(BaseSettings):
    """Deployment settings; built once in the composition root and passed down (never global)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    store: Literal["memory", "sqlite", "postgres"] = "sqlite"
    # The directory of the SQLite files when sqlite_path is not set (default: default_home()).
    home: Path | None = None
    sqlite_path: Path = Field(default_factory=_default_sqlite_path, validate_default=True)
    # Overrides postgres_host/port/db/user/password (each part that the URL contains).
    database_url: str | None = Field(default=None, repr=False)
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_db: str = "regledger"
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_schema: str = "public"
    postgres_pool_size: int = 5
    postgres_max_overflow: int = 10
    postgres_lock_timeout: int = 5
    # Seconds to open a connection, and the longest a save waits for a pooled one (fail fast).
    postgres_connect_timeout: int = 2
    # 0 disables the repository cache (eventsourcing would read 0 as "unbounded").
    aggregate_cache_size: int = 10000
    # GET /ready answers 503 past either lag (events not yet in the views; age in seconds of the
    # oldest of them) or when the store does not answer within ready_timeout seconds.
    ready_max_lag_events: int = Field(default=10000, ge=0)
    ready_max_lag_seconds: float = Field(default=30.0, ge=0)
    ready_timeout: float = Field(default=2.0, gt=0)
    # A bearer token only for scraping GET /metrics (admin tokens are accepted too).
    metrics_token: SecretStr | None = Field(default=None, repr=False)
    # Request bodies above this many bytes are refused with 413 before they are read whole.
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    # The notifier (`regledger notify run`, docs/notifications.md): SMTP server, TLS, login,
    # sender; no host: e-mails wait in the outbox. A webhook URL also gets every message as JSON.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = Field(default=None, repr=False)
    smtp_from: str = "regledger@localhost"
    # A CA bundle to verify the SMTP server's certificate by (default: the system's).
    smtp_ca_file: Path | None = None
    smtp_timeout: float = Field(default=10.0, gt=0)
    webhook_url: str | None = Field(default=None, repr=False)
    # A failed delivery is retried after notify_backoff_seconds, doubling, at most an hour
    # apart; after notify_max_attempts it is `failed`.
    notify_backoff_seconds: float = Field(default=30.0, gt=0)
    notify_max_attempts: int = Field(default=8, ge=1)
    # Read replicas (docs/read-replicas.md): streaming standbys, postgresql://... URLs separated
    # by commas, whose views the HTTP queries read; a `min_position` query waits at most
    # read_replica_wait s for one, then reads the primary; a failed one is left out for
    # read_replica_retry s.
    read_database_url: str | None = Field(default=None, repr=False)
    read_replica_wait: float = Field(default=1.0, ge=0)
    read_replica_retry: float = Field(default=5.0, gt=0)
    # per_program: each program created from now on writes its own events table, followed on its
    # own (docs/per-program-logs.md); shared: one table for all. PostgreSQL only.
    log_layout: Literal["shared", "per_program"] = "shared"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _explicit_environ.get()
        if environ is not None:
            return (init_settings, _MappingEnvSource(settings_cls, environ))
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)

    @classmethod
    def from_mapping(cls, environ: Mapping[str, str], **overrides: Any) -> Self:
        """Build from an explicit environ (same parsing as real env vars); os.environ is ignored."""
        with _reading(dict(environ)):
            return cls(**overrides)

    @model_validator(mode="before")
    @classmethod
    def _apply_database_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("database_url"):
            return {**data, **parse_database_url(str(data["database_url"]), _var("database_url"))}
        return data

    @model_validator(mode="after")
    def _postgres_only(self) -> Self:
        for name, used in (("read_database_url", bool(self.read_database_url)), ("log_layout", self.per_program)):
            if used and self.store != "postgres":  # an empty variable is unset
                raise ValueError(f"{_var(name)} needs {_var('store')}=postgres")
        if self.read_database_url and self.per_program:  # replicas wait on one position
            raise ValueError(f"{_var('read_database_url')} needs {_var('log_layout')}=shared")
        if self.read_database_url:
            self.read_replica_conninfos()  # every URL parses
        return self

    @property
    def per_program(self) -> bool:
        return self.log_layout == "per_program"

    @field_validator("sqlite_path")
    @classmethod
    def _absolute_sqlite_path(cls, value: Path) -> Path:
        # Resolved once, here, so a later chdir cannot move the database.
        if str(value).strip() in ("", ".") or str(value).startswith(":memory:"):
            raise ValueError(
                f"{_var('sqlite_path')} must be a file path (use REGLEDGER_STORE=memory "
                f"for an in-memory store), got {str(value)!r}"
            )
        path = value.expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if path.is_dir():
            raise ValueError(f"{_var('sqlite_path')} is a directory, not a file: {path}")
        return path

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if str(value).strip() in ("", "."):
            raise ValueError(f"{_var('home')} must be a directory path, got {str(value)!r}")
        path = value.expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if path.exists() and not path.is_dir():
            raise ValueError(f"{_var('home')} is not a directory: {path}")
        return path

    @field_validator("postgres_port")
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError(f"{_var('postgres_port')} must be between 1 and 65535, got {value}")
        return value

    @field_validator("postgres_host", "postgres_db", "postgres_user")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError(f"{_var(str(info.field_name))} must not be empty")
        return value.strip()

    @field_validator("postgres_schema")
    @classmethod
    def _schema_identifier(cls, value: str) -> str:
        if not _SCHEMA_RE.fullmatch(value) or value.startswith("pg_"):
            raise ValueError(
                f"{_var('postgres_schema')} must be a lower-case SQL identifier "
                f"(letters, digits, _; not starting with a digit or pg_; at most 63 chars), "
                f"got {value!r}"
            )
        return value

    @field_validator("postgres_pool_size", "postgres_connect_timeout")
    @classmethod
    def _at_least_one(cls, value: int, info: ValidationInfo) -> int:
        if value < 1:
            raise ValueError(f"{_var(str(info.field_name))} must be >= 1, got {value}")
        return value

    @field_validator("postgres_max_overflow", "postgres_lock_timeout", "aggregate_cache_size")
    @classmethod
    def _not_negative(cls, value: int, info: ValidationInfo) -> int:
        if value < 0:
            raise ValueError(f"{_var(str(info.field_name))} must be >= 0, got {value}")
        return value

    def prepare(self) -> None:
        """Create what the store needs on disk (the SQLite file and its directory); idempotent.

        Creating the file says so, once: a new empty database in an unexpected place is the
        mistake an operator must be able to see."""
        if self.store != "sqlite":
            return
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: of processes starting together exactly one creates it (and reports it).
            os.close(os.open(self.sqlite_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return
        # An empty file is a valid empty SQLite database.
        logger.warning("created a new database at %s", self.sqlite_path, extra={"path": str(self.sqlite_path)})

    def eventsourcing_env(self, *, names: Iterable[str] = ()) -> dict[str, str]:
        """Complete persistence env for eventsourcing (also pinned as `<NAME>_<KEY>` per name)."""
        env = {
            "PERSISTENCE_MODULE": PERSISTENCE_MODULES[self.store],
            "CREATE_TABLE": "y",
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size or ""),
            "AGGREGATE_CACHE_FASTFORWARD": "y",
            # Unsafe in 9.5.6 (lost and misrouted events): never anything but "n".
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            # The library's JSON format, parsed with orjson (adapters/orjson_transcoder.py).
            "TRANSCODER_TOPIC": "regledger.adapters.orjson_transcoder:OrjsonDecodingTranscoder",
        }
        if self.store == "sqlite":
            env |= {
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SINGLE_ROW_TRACKING": "t",
                "ORIGINATOR_ID_TYPE": "uuid",
            }
        elif self.store == "postgres":
            env |= self._postgres_env()
        base = dict(env)
        for name in names:
            env |= {f"{name.upper()}_{key}": value for key, value in base.items()}
        return env

    def _postgres_env(self) -> dict[str, str]:
        return {
            "POSTGRES_DBNAME": self.postgres_db,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            # Empty: a stray topic in os.environ would otherwise replace the password.
            "POSTGRES_GET_PASSWORD_TOPIC": "",
            "POSTGRES_SCHEMA": self.postgres_schema,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_LOCK_TIMEOUT": str(self.postgres_lock_timeout),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
            # The library's own defaults, pinned so the shell cannot change them.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
            "POSTGRES_MAX_WAITING": "0",
            "POSTGRES_CONN_MAX_AGE": "3600",
            "POSTGRES_PRE_PING": "n",
            "SINGLE_ROW_TRACKING": "t",
            "ORIGINATOR_ID_TYPE": "uuid",
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            # Large saves (a lottery commit) leave pipeline mode, which deadlocks above ~8 MB.
            "APPLICATION_RECORDER_TOPIC": "regledger.adapters.postgres.recorders:LargeSavePostgresApplicationRecorder",
        }

    def postgres_conninfo(self) -> str:
        """libpq conninfo for our own SQL (views, projections), with search_path = our schema."""
        params: dict[str, Any] = {
            "host": self.postgres_host,
            "port": self.postgres_port,
            "dbname": self.postgres_db,
            "user": self.postgres_user,
            "connect_timeout": self.postgres_connect_timeout,
            "application_name": "regledger",
            "options": (f"-c search_path={self.postgres_schema} -c lock_timeout={self.postgres_lock_timeout * 1000}"),
        }
        password = self.postgres_password.get_secret_value()
        if password:  # else libpq may still use PGPASSWORD or ~/.pgpass
            params["password"] = password
        return make_conninfo("", **params)

    def read_replica_conninfos(self) -> list[tuple[str, str]]:
        """(host:port/db, libpq conninfo) of each read replica, in the primary's schema."""
        where = _var("read_database_url")
        urls = [url.strip() for url in (self.read_database_url or "").split(",") if url.strip()]
        if self.read_database_url and not urls:
            raise ValueError(f"{where} is set but names no URL")
        replicas = []
        for url in urls:
            parts = parse_database_url(url, where)
            if "postgres_password" in parts:
                parts["postgres_password"] = SecretStr(parts["postgres_password"])
            merged = self.model_copy(update=parts | {"read_database_url": None, "database_url": None})
            name = f"{merged.postgres_host}:{merged.postgres_port}/{merged.postgres_db}"
            replicas.append((name, merged.postgres_conninfo()))
        return replicas

    def redacted(self) -> dict[str, Any]:
        """The settings as plain values for logs, with every password masked."""
        data = self.model_dump(mode="json")
        data["postgres_password"] = REDACTED if self.postgres_password.get_secret_value() else ""
        data["metrics_token"] = REDACTED if self.metrics_token else None
        data["smtp_password"] = REDACTED if self.smtp_password else None
        data["webhook_url"] = REDACTED if self.webhook_url else None
        if self.database_url:
            data["database_url"] = mask_url_password(self.database_url)
        if self.read_database_url:
            urls = self.read_database_url.split(",")
            data["read_database_url"] = ",".join(mask_url_password(url.strip()) for url in urls)
        return data
