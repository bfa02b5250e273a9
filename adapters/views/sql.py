"""The views over any SQL driver: one write transaction per batch, the tables' lifecycle, dumps.

Subclasses (`sqlite.py`, `postgres.py`) open the connections and lend cursors; the statements,
written once with `?` placeholders, are adapted to their dialect by `Dialect.render`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from regledger.adapters.views.audit_queries import SqlAuditQueries
from regledger.adapters.views.queries import SqlQueries
from regledger.adapters.views.schema import DDL, DEFERRED_INDEXES, SCHEMA_VERSION, TABLES, TRACKING, canonical
from regledger.adapters.views.writes import (
    ADVANCE,
    INSERT_SCHEMA,
    INSERT_TRACKING,
    POSITION,
    SCHEMA_ROW,
    TRACKING_NAME,
    Write,
    advance_params,
    batch_rows,
)
from regledger.projections.changes import Batch
from regledger.projections.netting import NetBatch, net
from regledger.projections.views import PositionAlreadyApplied

logger = logging.getLogger("regledger.views")


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


class SqlViews(SqlAuditQueries, SqlQueries):
    """Everything but connections: the dialect-specific subclasses open and lend cursors."""

    def __init__(self, dialect: Dialect, *, qualified_prefix: str, prefix: str) -> None:
        self.dialect = dialect
        self.prefix = prefix
        self._sql_cache: dict[str, str] = {}
        self._qualified = qualified_prefix
        # The tracking row this object advances: one per log it follows (`program_log_projector`).
        self.tracking_name = TRACKING_NAME

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
        """Create what is missing; tables of another schema version are dropped first, so the
        projector rebuilds them from the log (their position starts again at 0)."""
        with self._transaction() as cur:
            self._lock_ddl(cur)
            cur.execute(self.sql(TRACKING.ddl()[0]))
            cur.execute(self.sql(POSITION), (SCHEMA_ROW,))
            found = cur.fetchall()
            cur.execute(self.sql(POSITION), (TRACKING_NAME,))
            if cur.fetchall() and (not found or int(found[0][0]) != SCHEMA_VERSION):
                logger.warning(
                    "the views' tables are of schema version %s, this version needs %s: "
                    "dropping them; the projector rebuilds them from the log",
                    found[0][0] if found else 1,
                    SCHEMA_VERSION,
                )
                for table in TABLES:
                    cur.execute(self.sql(f"DROP TABLE IF EXISTS {{p}}{table.name}"))
            for statement in DDL:
                cur.execute(self.sql(statement))
            cur.execute(self.sql(INSERT_TRACKING), (TRACKING_NAME, TRACKING_NAME))
            if self.tracking_name != TRACKING_NAME:
                cur.execute(self.sql(INSERT_TRACKING), (self.tracking_name, self.tracking_name))
            cur.execute(self.sql(INSERT_SCHEMA), (SCHEMA_ROW, SCHEMA_VERSION, SCHEMA_ROW))

    def drop_tables(self) -> None:
        with self._transaction() as cur:
            for table in TABLES:
                cur.execute(self.sql(f"DROP TABLE IF EXISTS {{p}}{table.name}"))

    def defer_indexes(self) -> None:
        with self._transaction() as cur:
            for _, index in DEFERRED_INDEXES:
                cur.execute(self.sql(f"DROP INDEX IF EXISTS {{q}}{index.name}"))

    def optimize(self) -> None:
        """After a bulk load: create the deferred indexes and refresh the planner's statistics."""
        self.create_tables()
        with self._transaction() as cur:
            for table in TABLES:
                cur.execute(self.sql(f"ANALYZE {{p}}{table.name}"))

    def position(self) -> int:
        rows = self._query(self.sql(POSITION), (self.tracking_name,))
        return int(rows[0][0]) if rows else 0

    def set_tracking(self, name: str, position: int) -> None:
        """The tracking row `name` at `position`, made if missing (a log split off another
        continues from that one's position)."""
        with self._transaction() as cur:
            cur.execute(self.sql(INSERT_SCHEMA), (name, position, name))
            cur.execute(self.sql("UPDATE {p}tracking SET position = ? WHERE name = ?"), (position, name))

    def positions(self, names: Sequence[str]) -> dict[str, int]:
        """The positions of these tracking rows (those that exist), in one read."""
        wanted = set(names)
        rows = self._query(self.sql("SELECT name, position FROM {p}tracking"))
        return {str(name): int(position) for name, position in rows if name in wanted}

    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        return {
            table.name: [tuple(canonical(v) for v in row) for row in self.read(table.select_all())] for table in TABLES
        }

    # -- writes ---------------------------------------------------------------------------

    def apply(self, batch: Batch) -> None:
        """Advance the tracking position (conditionally) and write the batch, in one transaction."""
        netted = net(batch)  # outside the transaction: keep it short
        with self._transaction(len(batch.changes)) as cur:
            self._advance(cur, batch)
            self._write_net(cur, netted)

    def _advance(self, cur: Cursor, batch: Batch) -> None:
        """Move the tracking position to the batch's or raise PositionAlreadyApplied."""
        cur.execute(self.sql(ADVANCE), advance_params(batch, self.tracking_name))
        if cur.rowcount != 1:
            raise PositionAlreadyApplied(batch.position, self._position_in(cur))

    def _position_in(self, cur: Cursor) -> int:
        cur.execute(self.sql(POSITION), (self.tracking_name,))
        rows = cur.fetchall()
        return int(rows[0][0]) if rows else 0

    def _write_net(self, cur: Cursor, netted: NetBatch) -> None:
        """At most one statement per table and kind of write (see `projections.netting`)."""
        for write, rows in batch_rows(netted):
            self._bulk(cur, write, rows)

    def _bulk(self, cur: Cursor, write: Write, rows: list[tuple[Any, ...]]) -> None:
        """One write's rows; here one `executemany` (SQLite), PostgreSQL sends them as arrays."""
        if write.repeat is not None:
            index = write.repeat
            rows = [(*row, row[index]) for row in rows]
        params = [self._enc(row) for row in rows]
        statement = self.sql(write.row_sql)
        if len(params) == 1:
            cur.execute(statement, params[0])
        else:
            cur.executemany(statement, params)
