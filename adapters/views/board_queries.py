"""The big board's aggregates (`projections.board`) in SQL for both stores.

The program's sections are named once (`IN (SELECT ... sections ...)`), so the series seeks
`intervals_section_verb` (section, verb, valid_from, valid_to, ...) per section for Enrolled
rather than reading every interval of the program; commands are counted in the audit log. Hours are keyed
as 'YYYY-MM-DDTHH' (UTC) text in both dialects and grouped by the database.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.adapters.views.schema import to_dt, to_uuid
from regledger.domain.values import ENROLLED
from regledger.projections.board import Activity, BoardViews, ClassLoad, RecentCommands

if TYPE_CHECKING:
    from regledger.adapters.views.sql import Dialect

PROGRAM_SECTIONS = "SELECT section_id FROM {p}sections WHERE program_id = ?"


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

    def class_loads(self, program_id: UUID) -> list[ClassLoad]:
        # One row per class, summed by the database (no row per section reaches Python); seats
        # counted per section on the seats key, from the index alone.
        rows = self.read(
            "SELECT j.subject_id, j.code, j.title, c.sections, c.capacity, c.taken, c.full_sections "
            "FROM (SELECT t.subject_id, COUNT(*) AS sections, SUM(t.capacity) AS capacity, SUM(t.taken) AS taken, "
            "SUM(CASE WHEN t.capacity > 0 AND t.taken >= t.capacity THEN 1 ELSE 0 END) AS full_sections FROM "
            "(SELECT s.subject_id, s.capacity, (SELECT COUNT(*) FROM {p}seats x WHERE x.section_id = s.section_id) "
            "AS taken FROM {p}sections s WHERE s.program_id = ? AND NOT s.is_cancelled) t GROUP BY t.subject_id) c "
            "JOIN {p}subjects j ON j.subject_id = c.subject_id ORDER BY j.code{binary}",
            program_id,
        )
        return [ClassLoad(to_uuid(r[0]), r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]

    def class_stars(self, program_id: UUID) -> dict[UUID, int]:
        # Through the classes: the partial index of current stars by class (stars_subject),
        # counted from the index alone. Every current star of the program is read (~130k at
        # Splash scale, ~10 ms): the board keeps the answer a while (`board_data.Season`).
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

    def recent_commands(self, program_id: UUID, since: datetime, limit: int) -> RecentCommands:
        # The audit log (audit_schema.py) has a row per event, with its command: the newest
        # rows of the (program_id, recorded_at) index, so a burst (an import, a lottery commit)
        # costs at most `limit` rows.
        rows = self.read(
            "SELECT COUNT(DISTINCT NULLIF(command_id, '')), COUNT(*), MIN(recorded_at) FROM (SELECT command_id, "
            "recorded_at FROM {p}audit_events WHERE program_id = ? AND recorded_at >= ? ORDER BY recorded_at DESC "
            "LIMIT ?) recent",
            program_id,
            since,
            limit,
        )
        commands, events, oldest = rows[0]
        return RecentCommands(int(commands), int(events), None if oldest is None else to_dt(oldest))
