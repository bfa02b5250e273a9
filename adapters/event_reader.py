"""One round trip for all the aggregates a command reads (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier


class PostgresEventReader:
    """Events after each given version, for many aggregates in one indexed query.

    Each requested aggregate is one walk of the events table's primary key (originator_id,
    originator_version), so the read costs what the per-aggregate reads cost minus their round
    trips. The walks are a LATERAL subquery behind ``OFFSET 0`` so the planner cannot turn them
    into a join: for a few thousand ids (a lottery commit reads ~4,300) it would otherwise sort
    the whole table for a merge join (0.18 s on a 200k-event log, and growing with the log,
    against 0.02 s for the walks).
    """

    def __init__(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("PostgresEventReader needs a PostgreSQL application recorder")
        self.datastore = recorder.datastore
        self.mapper = app.mapper
        self.statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS r(id, v) "
            "CROSS JOIN LATERAL (SELECT * FROM {schema}.{table} x "
            "WHERE x.originator_id = r.id AND x.originator_version > r.v OFFSET 0) e "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name))

    def events_after(self, versions: Mapping[UUID, int]) -> dict[UUID, Sequence[Any]]:
        if not versions:
            return {}
        ids, after = list(versions), [versions[i] for i in versions]
        # Binary tuples: the state arrives as bytes, not as text to unescape into a dict.
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(self.statement, (ids, after), prepare=True)
            rows = curs.fetchall()
        out: dict[UUID, list[Any]] = {}
        to_domain_event = self.mapper.to_domain_event
        for originator_id, version, topic, state in rows:
            out.setdefault(originator_id, []).append(to_domain_event(StoredEvent(originator_id, version, topic, state)))
        return dict(out)
