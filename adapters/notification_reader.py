"""Pages of the notification log read lean on PostgreSQL (the projector, the lottery's fold).

Why: the library's ``select_notifications`` composes its statement on every call and reads the
rows as text into dicts; the same ``SELECT`` read in binary into tuples costs a third of that
client time (about 160k against 460k rows/s here). A rebuild, or a first lottery run in a
process, reads the whole log, and every microsecond spent reading is one not spent folding.

What: the same rows in the same order (``notification_id > after [AND notification_id <= stop]
[AND topic = ANY(topics)] ORDER BY notification_id LIMIT n``), so the readers' guarantees are
unchanged: they never skip (ids are read in order after the last one applied, and the
library's table lock makes commit order equal id order). Other stores use the library's method.
Selected for the domain by ``REGLEDGER_LOG_PAGES_TOPIC`` (``Settings.eventsourcing_env``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import pq
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from regledger.domain.log_pages import LogPages, RecorderLogPages

# Above any id: one prepared statement serves bounded and unbounded reads alike.
NO_STOP = 2**63 - 1
# A log names a few thousand aggregates over and over; bounded like the domain's id cache.
MAX_CACHED_IDS = 200_000
_ids: dict[bytes, UUID] = {}


class SharedUUIDLoader(Loader):
    """Binary uuid -> UUID, one object per distinct id (psycopg's loader builds each anew)."""

    format = pq.Format.BINARY

    def load(self, data: Buffer) -> UUID:
        key = bytes(data)
        found = _ids.get(key)
        if found is None:
            if len(_ids) >= MAX_CACHED_IDS:
                _ids.clear()
            found = _ids[key] = UUID(bytes=key)
        return found


class PostgresNotificationPages:
    """`LogPages` for a PostgreSQL recorder: one prepared statement, binary tuples."""

    def __init__(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("PostgresNotificationPages needs a PostgreSQL application recorder")
        self.datastore = recorder.datastore
        select = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE notification_id > %s AND notification_id <= %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name))
        order = SQL(" ORDER BY notification_id LIMIT %s")
        self.all_topics: Composed = select + order
        self.some_topics: Composed = select + SQL(" AND topic = ANY(%s)") + order

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's method
    def __call__(
        self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[Notification]:
        upto = NO_STOP if stop is None else stop
        statement, params = (
            (self.some_topics, (after, upto, list(topics), limit))
            if topics
            else (self.all_topics, (after, upto, limit))
        )
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as cur:
            cur.adapters.register_loader("uuid", SharedUUIDLoader)
            cur.execute(statement, params, prepare=True)
            rows: list[tuple[Any, ...]] = cur.fetchall()
        return [
            Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4])
            for row in rows
        ]


def page_reader(app: Application[UUID]) -> LogPages:
    """The leanest reader of the app's notification log pages."""
    if isinstance(app.recorder, PostgresApplicationRecorder):
        return PostgresNotificationPages(app)
    return RecorderLogPages(app)


__all__ = ["NO_STOP", "PostgresNotificationPages", "SharedUUIDLoader", "page_reader"]
