"""One round trip for all the aggregates a command reads (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier


class PostgresEventReader:
    """Events after each given version, for many aggregates in one indexed query.

    The join walks the events table's primary key (originator_id, originator_version) once per
    requested aggregate, so it costs what the per-aggregate reads cost minus their round trips.
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
            "JOIN {schema}.{table} e ON e.originator_id = r.id AND e.originator_version > r.v "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name))

    def events_after(self, versions: Mapping[UUID, int]) -> dict[UUID, Sequence[Any]]:
        if not versions:
            return {}
        ids, after = list(versions), [versions[i] for i in versions]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.statement, (ids, after), prepare=True)
            rows = curs.fetchall()
        out: dict[UUID, list[Any]] = {}
        for row in rows:
            stored = StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
            out.setdefault(row["originator_id"], []).append(self.mapper.to_domain_event(stored))
        return dict(out)
