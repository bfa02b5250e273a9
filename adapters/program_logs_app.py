"""The application in the `per_program` log layout: each program saves into its own table.

Commands are unchanged: the domain saves the aggregates it touched, and this subclass sends each
save to the events table of their program (`postgres/program_logs.py`). The verb catalogue
(`RegistrationTypes`) belongs to no program and stays in the shared table; a command that adds
a verb saves the catalogue first, in its own transaction, then its program's aggregates. Verbs
are never removed and adding one is idempotent, so a command that fails after that first save
leaves only a valid verb nobody uses yet.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording, StoredEvent
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from regledger.adapters.postgres.program_logs import ProgramLogs
from regledger.adapters.postgres.recorders import LargeSavePostgresApplicationRecorder
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId
from regledger.domain.program import Program

SHARED = None  # the log key of the shared table


class ProgramLogRegistration(Registration):
    """`Registration` whose saves go to their program's own events table (see module doc)."""

    name = "Registration"  # the same tables and settings as the shared layout's application

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        recorder = self.recorder
        if not isinstance(recorder, LargeSavePostgresApplicationRecorder):
            raise TypeError("the per_program log layout needs PostgreSQL")
        self.postgres: LargeSavePostgresApplicationRecorder = recorder  # the recorder, typed
        self.logs = ProgramLogs(recorder)
        self.logs.create_table()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        groups: dict[str | None, list[Any]] = {}
        for obj in objs:
            if obj is not None:
                groups.setdefault(self._log_of(obj), []).append(obj)
        programs = [log for log in groups if log is not SHARED]
        if len(programs) > 1:  # the partition key: no command may span two programs' logs
            raise ValueError(f"one save cannot write the logs of two programs: {sorted(programs)}")
        recordings: list[Recording[UUID]] = []
        # The shared table first: a verb exists before any event of a program names it.
        for log in sorted(groups, key=lambda log: log is not SHARED):
            recordings += super().save(*groups[log], log=log, **kwargs)
        return recordings

    def program_position(self, program_id: ProgramId) -> int:
        """The head of the program's own table (or of the shared one's own rows): ids in one
        table commit in order, so every event of the program up to it is committed."""
        table = self.logs.table_of(program_id)
        return (self.postgres if table is None else self.postgres.log(table)).own_head()

    def split_program(self, program_id: ProgramId) -> tuple[str, int]:
        """Move a program created in the shared table into a table of its own, positions
        unchanged (`ProgramLogs.split`; offline: see `regledger logs split`)."""
        return self.logs.split(program_id, self.shared_aggregates_of(program_id))

    def shared_aggregates_of(self, program_id: ProgramId) -> list[UUID]:
        """The ids of the program's aggregates in the shared table: the program itself and
        every aggregate whose creation names it (the verb catalogue names none)."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM ONLY {}.{} WHERE originator_version = 1"
        )
        query = statement.format(Identifier(self.postgres.datastore.schema), Identifier(self.logs.shared_table))
        with self.postgres.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(query).fetchall()
        ids = []
        for originator_id, version, topic, state in rows:
            created = self.mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state)))
            if originator_id == program_id or getattr(created, "program_id", None) == program_id:
                ids.append(originator_id)
        return ids

    def _log_of(self, obj: Any) -> str | None:
        if isinstance(obj, Program):
            if _is_new(obj):
                return self.logs.create(obj.id)  # the admin act that creates the program
            return self.logs.table_of(obj.id, exists=True)
        program_id = getattr(obj, "program_id", None)
        if isinstance(program_id, UUID):  # saved with its program's aggregates: the program exists
            return self.logs.table_of(program_id, exists=True)
        return SHARED


def _is_new(aggregate: Aggregate) -> bool:
    pending = aggregate.pending_events
    return bool(pending) and pending[0].originator_version == 1


__all__ = ["ProgramLogRegistration"]
