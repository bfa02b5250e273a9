"""Pages of the notification log for the projector, read lean on PostgreSQL.

Why: the library's ``select_notifications`` composes its statement on every call and reads the
rows as text into dicts; the same ``SELECT`` read in binary into tuples costs a third of that
client time (about 160k against 460k rows/s here). A rebuild reads the whole log, and every
microsecond spent reading is one the projector cannot spend folding.

What: the same rows in the same order (``notification_id > start ORDER BY notification_id
LIMIT n``), so the projector's guarantees are unchanged: it never skips (ids are read in order
after the last one applied, and the library's table lock makes commit order equal id order).
Other stores use the library's method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

PageReader = Callable[[int, int], Sequence[Notification]]  # (after position, limit) -> page


class PostgresNotificationPages:
    """`select_notifications(start, limit, inclusive_of_start=False)`, read in binary."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        self.statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(recorder.events_table_name))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's method
    def __call__(self, start: int, limit: int) -> list[Notification]:
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as cur:
            cur.execute(self.statement, (start, limit), prepare=True)
            rows: list[tuple[Any, ...]] = cur.fetchall()
        return [
            Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4])
            for row in rows
        ]


def page_reader(app: Application[UUID]) -> PageReader:
    """The leanest reader of the app's notification log pages."""
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresNotificationPages(recorder)

    def select(start: int, limit: int) -> Sequence[Notification]:
        return recorder.select_notifications(start, limit, inclusive_of_start=False)

    return select


__all__ = ["PageReader", "PostgresNotificationPages", "page_reader"]
