"""The registration views on PostgreSQL (tables in the settings' schema)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

import psycopg
from psycopg_pool import ConnectionPool

from regledger.adapters.views_sql import BulkOp, Cursor, Dialect, SqlViews

POSTGRES = Dialect(
    name="postgres",
    placeholder="%s",
    types={"uuid": "uuid", "ts": "timestamptz", "bool": "boolean"},
    encode=lambda v: v,
)


class PostgresViews(SqlViews):
    """One writer connection (the projector's) and a small pool for queries.

    The writer sets synchronous_commit=off: a crash may lose the last view commits, but the
    tracking position is lost with them, so they are simply applied again (still exactly once).
    """

    def __init__(self, conninfo: str, schema: str, *, prefix: str = "rv_", pool_size: int = 4) -> None:
        super().__init__(POSTGRES, qualified_prefix=f'"{schema}".{prefix}', prefix=prefix)
        self.conninfo = conninfo
        self.schema = schema
        self._writer: psycopg.Connection[Any] | None = None
        self._pool = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True, name="regledger-views"
        )

    def _connection(self) -> psycopg.Connection[Any]:
        if self._writer is None or self._writer.closed:
            self._writer = psycopg.connect(self.conninfo, autocommit=True)
            self._writer.execute("SET synchronous_commit = off")
        return self._writer

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            yield cur

    def _pipeline(self) -> AbstractContextManager[Any]:
        return self._connection().pipeline()

    def _bulk(self, cur: Cursor, op: BulkOp, rows: list[tuple[Any, ...]]) -> None:
        """All rows in one statement: one array per column, joined with `unnest`."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        cast(psycopg.Cursor[Any], cur).execute(self.sql(op.set_sql), columns, prepare=True)

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._pool.connection() as conn:
            return conn.execute(statement, params, prepare=True).fetchall()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._pool.close()
