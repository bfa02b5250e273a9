"""The big board's aggregates (`projections.board`) in SQL for both stores.

The program's sections are named once (`IN (SELECT ... sections ...)`), so the registration
queries seek `intervals_section_verb` (section, verb, valid_from, valid_to, ...) per section
for the verbs they count rather than reading every interval of the program. Hours are keyed
as 'YYYY-MM-DDTHH' (UTC) text in both dialects and grouped by the database.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.adapters.views.schema import to_uuid
from regledger.domain.values import ENROLLED, WAITLISTED
from regledger.projections.board import Activity, BoardViews

if TYPE_CHECKING:
    from regledger.adapters.views.sql import Dialect

PROGRAM_SECTIONS = "SELECT section_id FROM {p}sections WHERE program_id = ?"
# What a registration command changes during the rush: seats and waitlist places.
CHANGED_VERBS = (ENROLLED, WAITLISTED)


def _hour(column: str, dialect: str) -> str:
    """SQL for the UTC hour of a time column, as 'YYYY-MM-DDTHH' text."""
    if dialect == "postgres":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"
    return f"substr({column}, 1, 13)"  # SQLite: fixed-width UTC ISO text


class SqlBoardQueries(BoardViews):
    dialect: Dialect  # the store's (set by `SqlViews`): its name is 'sqlite' or 'postgres'

    @abstractmethod
    def read(self, statement: str, *params: Any) -> list[Any]:
        """Run a query and fetch all its rows."""

    def waitlisted_students(self, program_id: UUID) -> int:
        rows = self.read(
            f"SELECT COUNT(DISTINCT w.student_id) FROM {{p}}waitlist w WHERE w.section_id IN ({PROGRAM_SECTIONS})",  # noqa: S608 - fixed fragments
            program_id,
        )
        return int(rows[0][0])

    def class_stars(self, program_id: UUID) -> dict[UUID, int]:
        # Through the classes: the partial index of current stars by class (stars_subject).
        rows = self.read(
            "SELECT subject_id, COUNT(*) FROM {p}stars WHERE subject_id IN "
            "(SELECT subject_id FROM {p}subjects WHERE program_id = ?) AND valid_to IS NULL GROUP BY subject_id",
            program_id,
        )
        return {to_uuid(r[0]): int(r[1]) for r in rows}

    def enrolment_activity(self, program_id: UUID) -> list[Activity]:
        dialect = self.dialect.name
        begun = self.read(
            f"SELECT {_hour('valid_from', dialect)} AS h, COUNT(*) FROM {{p}}intervals "  # noqa: S608 - fixed fragments
            f"WHERE section_id IN ({PROGRAM_SECTIONS}) AND verb = ? GROUP BY h",
            program_id,
            ENROLLED,
        )
        ended = self.read(
            f"SELECT {_hour('valid_to', dialect)} AS h, COUNT(*) FROM {{p}}intervals "  # noqa: S608 - fixed fragments
            f"WHERE section_id IN ({PROGRAM_SECTIONS}) AND verb = ? AND valid_to IS NOT NULL GROUP BY h",
            program_id,
            ENROLLED,
        )
        hours: dict[str, list[int]] = {}
        for row in begun:
            hours.setdefault(row[0], [0, 0])[0] = int(row[1])
        for row in ended:
            hours.setdefault(row[0], [0, 0])[1] = int(row[1])
        return [
            Activity(datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC), begun_, ended_)
            for hour, (begun_, ended_) in sorted(hours.items())
        ]

    def commands_since(self, program_id: UUID, since: datetime) -> int:
        marks = ", ".join("?" for _ in CHANGED_VERBS)
        rows = self.read(
            "SELECT COUNT(DISTINCT c) FROM ("  # noqa: S608 - fixed fragments, values are parameters
            f"SELECT command_id AS c FROM {{p}}intervals WHERE section_id IN ({PROGRAM_SECTIONS}) "
            f"AND verb IN ({marks}) AND valid_from >= ? UNION ALL "
            f"SELECT end_command_id FROM {{p}}intervals WHERE section_id IN ({PROGRAM_SECTIONS}) "
            f"AND verb IN ({marks}) AND valid_to >= ?) changed",
            program_id,
            *CHANGED_VERBS,
            since,
            program_id,
            *CHANGED_VERBS,
            since,
        )
        return int(rows[0][0])
