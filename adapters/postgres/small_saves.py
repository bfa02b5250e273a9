"""Small saves (one command's events) written in ONE round trip to PostgreSQL.

Why: eventsourcing 9.5.6 writes every save in pipeline mode, and psycopg's pipelined
transaction waits for the server four times (BEGIN, the statements, COMMIT and a final Sync),
with the table lock held through every wait. A command saves 2-3 events, so those waits were
most of its write (gain: the package docstring).

What: the library's own statements, in its order, in one query string: ``BEGIN``,
``SET LOCAL lock_timeout``, ``LOCK TABLE ONLY ... IN EXCLUSIVE MODE``, ``NOTIFY``, one ``INSERT ...
VALUES ... RETURNING notification_id`` and ``COMMIT``. So the guarantees stay the library's: all
or nothing, insert order = commit order (the lock is held from before the insert until the
commit), the NOTIFY for followers, a duplicate (id, version) is a unique violation that the
datastore turns into ``eventsourcing`` ``IntegrityError``. A failed statement leaves the
explicit transaction aborted; it is rolled back here before the connection goes back to the pool.

The values are written into the query text, never as parameters (the simple protocol has none),
so each is rendered from a type that cannot carry quotes: UUIDs as their canonical text, the
version as an integer, the state as hex passed to ``decode(..., 'hex')``; topics, which could in
principle hold anything, go through psycopg's literal quoting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Connection
from psycopg.sql import SQL, Identifier, Literal

from regledger.adapters.postgres.library_version import check_eventsourcing_version

check_eventsourcing_version()  # the SQL below is the library's at that version only


class OneTripInsert:
    """Renders and runs a recorder's save as one query (see module doc)."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder
        datastore = recorder.datastore
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(recorder.events_table_name))
        # ONLY: a program's own events table inherits from the shared one (`program_logs`), and
        # a write to the shared table must not lock theirs.
        self._head = SQL(
            "BEGIN; SET LOCAL lock_timeout = '{timeout}s'; LOCK TABLE ONLY {table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES "
        ).format(
            timeout=SQL(str(int(datastore.lock_timeout))),
            table=table,
            channel=Identifier(recorder.channel_name),
        )
        self._head_text: str | None = None
        self._topics: dict[str, str] = {}

    def __call__(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        with self.recorder.datastore.get_connection() as conn:
            query = self._render(conn, stored_events)
            try:
                with conn.cursor() as cur:
                    cur.execute(query, prepare=False)
                    ids = _returned_ids(cur)
            except BaseException:
                # The explicit transaction is aborted (or COMMIT never ran): end it before the
                # connection goes back to the pool. A broken connection cannot, and the pool
                # discards it; the original error is the one to report.
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise
        if len(ids) != len(stored_events):  # pragma: no cover - as the library checks
            msg = f"Couldn't get all notification IDs (got {len(ids)}, expected {len(stored_events)})"
            raise ProgrammingError(msg)
        return ids

    def _render(self, conn: Connection[Any], stored_events: Sequence[StoredEvent]) -> str:
        if self._head_text is None:
            self._head_text = self._head.as_string(conn)
        rows = ",".join(
            f"('{_uuid_text(e.originator_id)}'::uuid,{int(e.originator_version)},"
            f"{self._topic(conn, e.topic)},decode('{e.state.hex()}','hex'))"
            for e in stored_events
        )
        return f"{self._head_text}{rows} RETURNING notification_id; COMMIT"

    def _topic(self, conn: Connection[Any], topic: str) -> str:
        text = self._topics.get(topic)
        if text is None:
            text = self._topics[topic] = Literal(topic).as_string(conn)
        return text


def _uuid_text(value: UUID | str) -> str:
    return str(value if isinstance(value, UUID) else UUID(value))  # a str id is parsed: no quotes get in


def _returned_ids(cur: Any) -> list[int]:
    """The notification ids of the INSERT's result, among the query's several results."""
    ids: list[int] = []
    while True:
        if cur.description is not None:
            ids.extend(row["notification_id"] for row in cur.fetchall())
        if not cur.nextset():
            return ids


__all__ = ["OneTripInsert"]
