"""One round trip for all the aggregates a command reads (PostgreSQL); the API's other log reads.

Reads wait at most `READ_WAIT` for a pooled connection (the library's pool waits
POSTGRES_CONNECT_TIMEOUT, 10 s by default): during an outage a request fails fast and is
answered 503. A read on a broken connection is retried once (`db_faults`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from regledger.adapters.postgres.db_faults import as_persistence_error, note_read, read_with_retry

# Seconds a read waits for a pooled connection before it gives up (see module doc).
READ_WAIT = 1.5
RECONNECT_WINDOW = 2.0

T = TypeVar("T")


class PostgresEventReader:
    """Events after each given version, for many aggregates in one indexed query.

    Each requested aggregate is one walk of the events table's primary key (originator_id,
    originator_version), so the read costs what the per-aggregate reads cost minus their round
    trips. The walks are a LATERAL subquery behind ``OFFSET 0`` so the planner cannot turn them
    into a join: for a few thousand ids (a lottery commit reads ~4,300) it would otherwise sort
    the whole table for a merge join, a cost that grows with the log.
    """

    def __init__(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("PostgresEventReader needs a PostgreSQL application recorder")
        self.datastore = recorder.datastore
        # eventsourcing leaves psycopg_pool's reconnect backoff at 5 minutes: after an outage of
        # a few seconds the API would stay down as long again. See auth.RECONNECT_WINDOW.
        pool = self.datastore.pool
        pool.reconnect_timeout = min(pool.reconnect_timeout, RECONNECT_WINDOW)
        self.mapper = app.mapper
        self.statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS r(id, v) "
            "CROSS JOIN LATERAL (SELECT * FROM {schema}.{table} x "
            "WHERE x.originator_id = r.id AND x.originator_version > r.v OFFSET 0) e "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name))
        table = SQL("{schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name)
        )
        self.head_statement = SQL("SELECT MAX(notification_id) FROM {table}").format(table=table)
        self.first_topic_statement = SQL(
            "SELECT topic FROM {table} WHERE originator_id = %s ORDER BY originator_version LIMIT 1"
        ).format(table=table)

    def _read(self, read: Callable[[psycopg.Connection[Any]], T]) -> T:
        pool = self.datastore.pool
        if pool.closed:  # opened on first use, as the datastore does
            pool.open()
        try:
            return read_with_retry(pool, READ_WAIT, read)
        except psycopg.Error as exc:  # as the library's datastore translates them
            raise as_persistence_error(exc) from exc

    def events_after(self, versions: Mapping[UUID, int]) -> dict[UUID, Sequence[Any]]:
        if not versions:
            return {}
        ids, after = list(versions), [versions[i] for i in versions]

        def read(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            # Binary tuples: the state arrives as bytes, not as text to unescape into a dict.
            with conn.cursor(binary=True, row_factory=tuple_row) as curs:
                curs.execute(self.statement, (ids, after), prepare=True)
                return curs.fetchall()

        rows = self._read(read)
        note_read()
        out: dict[UUID, list[Any]] = {}
        to_domain_event = self.mapper.to_domain_event
        for originator_id, version, topic, state in rows:
            out.setdefault(originator_id, []).append(to_domain_event(StoredEvent(originator_id, version, topic, state)))
        return dict(out)

    def head(self) -> int:
        """The log's last notification id (0 when empty)."""

        def read(conn: psycopg.Connection[Any]) -> int:
            with conn.cursor(row_factory=tuple_row) as curs:  # the pool's connections make dicts
                row = curs.execute(self.head_statement, prepare=True).fetchone()
            return int(row[0] or 0) if row is not None else 0

        return self._read(read)

    def first_topic(self, originator_id: UUID) -> str | None:
        """The topic of an aggregate's first event (its creation), None if it has none."""

        def read(conn: psycopg.Connection[Any]) -> str | None:
            with conn.cursor(row_factory=tuple_row) as curs:
                row = curs.execute(self.first_topic_statement, (originator_id,), prepare=True).fetchone()
            return None if row is None else str(row[0])

        return self._read(read)
