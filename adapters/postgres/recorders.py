"""A PostgreSQL application recorder that can write very large saves.

Why: eventsourcing 9.5.6 writes every save in pipeline mode as one
``INSERT ... SELECT FROM unnest(%s::stored_event_uuid[]) RETURNING notification_id`` whose one
parameter holds every event. psycopg 3.3.9's ``_pipeline_communicate`` stops flushing libpq's
output buffer once its command queue is empty, without checking that the flush finished. When
the Bind message outgrows the socket buffers (about 8-10 MB on loopback), the rest stays in
libpq's buffer: the client waits for input, the server for the rest of the Bind, with the
transaction open (same shape as psycopg#685). A Splash-scale lottery commit hit it every time.

What: saves above a modest size (events or bytes) leave pipeline mode, in one transaction:
``SET LOCAL lock_timeout``, ``LOCK TABLE ... IN EXCLUSIVE MODE``, ``NOTIFY``, one binary ``COPY``
of every event in order, COMMIT. COPY streams and flushes as it goes, so no size can deadlock
it, and it is the cheapest way in. COPY has no ``RETURNING``, so the notification ids are read
back: under the EXCLUSIVE lock no other transaction can insert, and every earlier one has
committed, so the rows above the maximum id read just before the COPY are exactly ours, and
COPY numbers its rows in input order. Everything the library guarantees is kept: all or
nothing, insert order = commit order, the NOTIFY, the ``_insert_events`` hook, psycopg errors
translated by the datastore (a duplicate version is ``eventsourcing`` ``IntegrityError``).
Smaller saves, nearly all of them, go through `small_saves.OneTripInsert`. With database
functions on (POSTGRES_ENABLE_DB_FUNCTIONS, kept off), the library's path is used as is.

A save that fails on a broken connection is tried once more after the pool drops its dead
connections (`_retried_once`), not ten times as the library's: during an outage a command must
fail fast. Retrying is safe: had the first attempt committed, the second is refused as a
duplicate version and the command replays.

Table creation is serialised too: the library runs ``CREATE TABLE/INDEX IF NOT EXISTS`` on every
start, and two processes starting at once can make PostgreSQL fail one of them with ``tuple
concurrently updated``. ``create_table`` here takes a transaction-level advisory lock keyed on
the schema first (`ddl_lock_key`).

Selected by the ``APPLICATION_RECORDER_TOPIC`` key that ``Settings.eventsourcing_env`` emits.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Callable, Sequence
from typing import Any, cast

from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.errors import DuplicateObject
from psycopg.sql import SQL, Identifier

from regledger.adapters.postgres.library_version import check_eventsourcing_version
from regledger.adapters.postgres.small_saves import OneTripInsert

check_eventsourcing_version()  # the save and create paths below are the library's at that version only

logger = logging.getLogger("regledger.db")

# Above either limit a save leaves pipeline mode; both are far below the ~8 MB where it hangs.
PIPELINE_MAX_EVENTS = 1000
PIPELINE_MAX_BYTES = 1 << 20


def is_large(stored_events: Sequence[StoredEvent]) -> bool:
    if len(stored_events) > PIPELINE_MAX_EVENTS:
        return True
    size = 0
    for stored_event in stored_events:
        size += len(stored_event.state) + len(stored_event.topic)
        if size > PIPELINE_MAX_BYTES:
            return True
    return False


def ddl_lock_key(schema: str) -> int:
    """The advisory lock that serialises this project's DDL in a schema: the library's types and
    functions are one per schema, and programs' tables inherit from the shared one."""
    return zlib.crc32(f"regledger.ddl:{schema}".encode())


class LargeSavePostgresApplicationRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` whose large saves avoid pipeline mode (see module doc)."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events", channel: str | None = None
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if channel is not None:  # a program's table notifies the shared table's followers
            self.channel_name = channel
        # `kwargs` of a save (`tracking=None`) only feed the `_insert_events` hook, which an
        # application recorder leaves empty; a subclass that fills it keeps the library's path.
        hooked = type(self)._insert_events is not PostgresApplicationRecorder._insert_events
        # None: small saves take the library's pipelined path (bench/commands.py compares both).
        self.one_trip: OneTripInsert | None = None if hooked else OneTripInsert(self)
        table = SQL("{schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        self.copy_statement = SQL(
            "COPY {table} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(table=table)
        self.copy_types = [self.datastore.originator_id_type, "int8", "text", "bytea"]
        # ONLY: the tables of programs with their own log inherit from this one (`program_logs`);
        # a save locks and reads back its own table's rows, never theirs.
        self.ids_after_statement = SQL(
            "SELECT notification_id FROM ONLY {table} WHERE notification_id > %s ORDER BY notification_id"
        ).format(table=table)
        self.own_head_statement = SQL("SELECT MAX(notification_id) FROM ONLY {table}").format(table=table)
        self.lock_table_statements[-1] = SQL("LOCK TABLE ONLY {table} IN EXCLUSIVE MODE").format(table=table)
        self._logs: dict[str, LargeSavePostgresApplicationRecorder] = {}

    def create_table(self) -> None:
        """The library's statements, in one transaction behind an advisory lock (see module doc)."""
        key = ddl_lock_key(self.datastore.schema)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    # No IF NOT EXISTS for types: a savepoint keeps the transaction usable.
                    with contextlib.suppress(DuplicateObject), curs.connection.transaction():
                        curs.execute(statement, prepare=False)
                else:
                    curs.execute(statement, prepare=False)
        self.datastore.register_type_adapters()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, log: str | None = None, **kwargs: Any
    ) -> Sequence[int] | None:
        """Saves into this table, or into `log`: a program's own table (`program_logs`)."""
        if log is not None and log != self.events_table_name:
            return self.log(log).insert_events(stored_events, **kwargs)
        if self.datastore.enable_db_functions or not stored_events:
            return cast(Sequence[int] | None, super().insert_events(stored_events, **kwargs))
        if is_large(stored_events):
            return self._insert_large(stored_events, **kwargs)
        if (one_trip := self.one_trip) is None:
            return cast(Sequence[int] | None, super().insert_events(stored_events, **kwargs))
        return self._insert_small(one_trip, stored_events)

    def own_head(self) -> int:
        """This table's last position, not counting the tables that inherit from it."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.own_head_statement, prepare=True)
            row = curs.fetchone()
        return int(row["max"] or 0) if row else 0

    def log(self, table: str) -> LargeSavePostgresApplicationRecorder:
        """The writer of a program's own table: same pool, same channel, its own table lock."""
        writer = self._logs.get(table)
        if writer is None:
            writer = LargeSavePostgresApplicationRecorder(
                self.datastore, events_table_name=table, channel=self.channel_name
            )
            writer = self._logs.setdefault(table, writer)
        return writer

    def _insert_small(self, one_trip: OneTripInsert, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        return self._retried_once(lambda: one_trip(stored_events))

    def _retried_once(self, save: Callable[[], Sequence[int]]) -> Sequence[int]:
        try:
            return save()
        except (InterfaceError, OperationalError) as exc:
            logger.warning("save failed on a broken connection, retrying once: %s", exc)
        # One terminated backend usually means all of them: drop every dead idle connection so
        # the retry waits for a new one instead of drawing the next dead one.
        self.datastore.pool.check()
        return save()

    def _insert_large(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        return self._retried_once(lambda: self._copy_large(stored_events, **kwargs))

    def _copy_large(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)  # the library's hook, first as there
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.own_head_statement)
            head = cast(dict[str, Any], curs.fetchone())["max"] or 0
            with curs.copy(self.copy_statement) as copy:
                copy.set_types(self.copy_types)
                for e in stored_events:
                    copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
            curs.execute(self.ids_after_statement, (head,))
            notification_ids = [row["notification_id"] for row in curs.fetchall()]
            if len(notification_ids) != len(stored_events):  # pragma: no cover - the lock rules it out
                msg = f"Couldn't get all notification IDs (got {len(notification_ids)}, expected {len(stored_events)})"
                raise ProgrammingError(msg)  # inside the transaction: nothing is written
        return notification_ids


__all__ = ["LargeSavePostgresApplicationRecorder", "ddl_lock_key", "is_large"]
