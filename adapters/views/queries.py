"""The registration views' queries, in SQL for both stores: one method per query.

`read` runs a statement (`?` placeholders, `{p}` the table prefix) and returns its rows; each
query turns them into the frozen DTOs of `projections.views`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from regledger.adapters.views.board_queries import SqlBoardQueries
from regledger.adapters.views.catalogue_queries import SqlCatalogueQueries
from regledger.adapters.views.schema import split_ids, to_dt, to_uuid
from regledger.domain.values import ENROLLED, PRIORITY_PREFIX
from regledger.projections.views import (
    Demand,
    Interval,
    RegistrationRow,
    RegistrationViews,
    ScheduleEntry,
    SeatCount,
    WaitlistPlace,
)

INTERVAL_COLUMNS = (
    "program_id, student_id, section_id, subject_id, verb, valid_from, valid_to, cause, actor, reason, "
    "command_id, end_cause, end_actor, end_reason, end_command_id, lottery_run_id, position"
)


class SqlQueries(SqlBoardQueries, SqlCatalogueQueries, RegistrationViews):
    @abstractmethod
    def read(self, statement: str, *params: Any) -> list[Any]:
        """Run a query and fetch all its rows."""

    # -- registrations --------------------------------------------------------------------

    def current_registrations(
        self,
        program_id: UUID,
        student_id: UUID | None = None,
        section_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
    ) -> list[RegistrationRow]:
        where, params = "program_id = ? AND valid_to IS NULL", [program_id]
        if student_id is not None:
            where, params = where + " AND student_id = ?", [*params, student_id]
        if section_id is not None:
            where, params = where + " AND section_id = ?", [*params, section_id]
        verb_sql, verb_params = _verbs(verbs)
        rows = self.read(
            "SELECT program_id, student_id, section_id, subject_id, verb, valid_from, cause FROM {p}intervals "  # noqa: S608 - fixed fragments, values are parameters
            f"WHERE {where}{verb_sql}",
            *params,
            *verb_params,
        )
        out = [
            RegistrationRow(to_uuid(r[0]), to_uuid(r[1]), to_uuid(r[2]), to_uuid(r[3]), r[4], to_dt(r[5]), r[6])
            for r in rows
        ]
        return sorted(out, key=lambda r: (str(r.student_id), str(r.section_id), r.verb))

    def students(
        self, section_id: UUID, verbs: Sequence[str] | None = (ENROLLED,), as_of: datetime | None = None
    ) -> list[UUID]:
        verb_sql, verb_params = _verbs(verbs)
        when, when_params = _when(as_of)
        rows = self.read(
            f"SELECT DISTINCT student_id FROM {{p}}intervals WHERE section_id = ?{verb_sql}{when}",  # noqa: S608 - fixed fragments, values are parameters
            section_id,
            *verb_params,
            *when_params,
        )
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def sections(
        self,
        student_id: UUID,
        program_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> list[ScheduleEntry]:
        verb_sql, verb_params = _verbs(verbs, "i.verb")
        when, when_params = _when(as_of, "i.")
        program_sql, program_params = ("", []) if program_id is None else (" AND i.program_id = ?", [program_id])
        rows = self.read(
            # A lookup per row (the student has a handful), not a join the planner may hash.
            "SELECT i.section_id, i.subject_id, i.verb, i.valid_from, "  # noqa: S608 - fixed fragments, values are parameters
            "(SELECT s.timeslot_ids FROM {p}sections s WHERE s.section_id = i.section_id), "
            "(SELECT s.idx FROM {p}sections s WHERE s.section_id = i.section_id), "
            "(SELECT j.code FROM {p}subjects j WHERE j.subject_id = i.subject_id), "
            "(SELECT j.title FROM {p}subjects j WHERE j.subject_id = i.subject_id) FROM {p}intervals i "
            f"WHERE i.student_id = ?{program_sql}{verb_sql}{when}",
            student_id,
            *program_params,
            *verb_params,
            *when_params,
        )
        out = [
            ScheduleEntry(
                to_uuid(r[0]),
                to_uuid(r[1]),
                r[2],
                to_dt(r[3]),
                split_ids(r[4] or ""),
                r[6] or "",
                r[7] or "",
                r[5] or 0,
            )
            for r in rows
        ]
        return sorted(out, key=lambda e: (str(e.section_id), e.verb))

    def history(self, *, student_id: UUID | None = None, section_id: UUID | None = None) -> list[Interval]:
        if (student_id is None) == (section_id is None):
            raise ValueError("history() needs exactly one of student_id or section_id")
        column, key = ("student_id", student_id) if student_id is not None else ("section_id", section_id)
        rows = self.read(
            f"SELECT {INTERVAL_COLUMNS} FROM {{p}}intervals WHERE {column} = ? ORDER BY valid_from, position, seq",  # noqa: S608 - fixed fragments, values are parameters
            key,
        )
        return [_interval(r) for r in rows]

    def verb_counts(self, section_id: UUID) -> dict[str, int]:
        rows = self.read(
            "SELECT verb, COUNT(*) FROM {p}intervals WHERE section_id = ? AND valid_to IS NULL GROUP BY verb",
            section_id,
        )
        return {r[0]: int(r[1]) for r in rows}

    # -- interest -------------------------------------------------------------------------

    def stars_of(self, student_id: UUID) -> list[UUID]:
        rows = self.read("SELECT subject_id FROM {p}stars WHERE student_id = ? AND valid_to IS NULL", student_id)
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def stargazers(self, subject_id: UUID) -> list[UUID]:
        rows = self.read("SELECT student_id FROM {p}stars WHERE subject_id = ? AND valid_to IS NULL", subject_id)
        return sorted((to_uuid(r[0]) for r in rows), key=str)

    def demand(self, section_id: UUID) -> Demand:
        stars = self.read(
            "SELECT COUNT(*) FROM {p}stars st JOIN {p}sections s ON st.subject_id = s.subject_id "
            "WHERE s.section_id = ? AND st.valid_to IS NULL",
            section_id,
        )
        rows = self.read(
            "SELECT verb, COUNT(*) FROM {p}intervals WHERE section_id = ? AND valid_to IS NULL AND verb LIKE ? "
            "GROUP BY verb",
            section_id,
            PRIORITY_PREFIX + "%",
        )
        levels = {int(r[0][len(PRIORITY_PREFIX) :]): int(r[1]) for r in rows if r[0][len(PRIORITY_PREFIX) :].isdigit()}
        return Demand(section_id, int(stars[0][0]), levels)

    # -- counts ---------------------------------------------------------------------------

    def seat_counts(self, program_id: UUID) -> list[SeatCount]:
        rows = self.read(
            "SELECT s.section_id, s.subject_id, s.capacity, "
            "(SELECT COUNT(*) FROM {p}seats x WHERE x.section_id = s.section_id), "
            "(SELECT COUNT(*) FROM {p}waitlist w WHERE w.section_id = s.section_id), s.is_open, s.is_cancelled "
            "FROM {p}sections s WHERE s.program_id = ?",
            program_id,
        )
        out = [
            SeatCount(to_uuid(r[0]), to_uuid(r[1]), int(r[2]), int(r[3]), int(r[4]), bool(r[5]), bool(r[6]))
            for r in rows
        ]
        return sorted(out, key=lambda s: str(s.section_id))

    def waitlist(self, section_id: UUID) -> list[UUID]:
        rows = self.read("SELECT student_id FROM {p}waitlist WHERE section_id = ? ORDER BY position, seq", section_id)
        return [to_uuid(r[0]) for r in rows]

    def waitlist_places(self, section_id: UUID) -> list[WaitlistPlace]:
        rows = self.read(
            "SELECT w.student_id, w.since, p.code, p.message, p.at FROM {p}waitlist w "
            "LEFT JOIN {p}passed_over p ON p.section_id = w.section_id AND p.student_id = w.student_id "
            "AND p.at >= w.since WHERE w.section_id = ? ORDER BY w.position, w.seq",
            section_id,
        )
        return [
            WaitlistPlace(to_uuid(r[0]), to_dt(r[1]), r[2], r[3], None if r[4] is None else to_dt(r[4])) for r in rows
        ]

    def students_in_program(self, program_id: UUID) -> int:
        # Per student, does one interval or star exist (an index probe each): a UNION of the
        # program's intervals read every registration it ever had (~25 ms at Splash scale).
        rows = self.read(
            "SELECT COUNT(*) FROM {p}students s WHERE s.program_id = ? AND ("
            "EXISTS (SELECT 1 FROM {p}intervals i WHERE i.student_id = s.student_id) OR "
            "EXISTS (SELECT 1 FROM {p}stars st WHERE st.program_id = s.program_id AND st.student_id = s.student_id))",
            program_id,
        )
        return int(rows[0][0])


def _verbs(verbs: Sequence[str] | None, column: str = "verb") -> tuple[str, list[str]]:
    if verbs is None:
        return "", []
    if not verbs:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join('?' for _ in verbs)})", list(verbs)


def _when(as_of: datetime | None, alias: str = "") -> tuple[str, list[Any]]:
    if as_of is None:
        return f" AND {alias}valid_to IS NULL", []
    return f" AND {alias}valid_from <= ? AND ({alias}valid_to IS NULL OR {alias}valid_to > ?)", [as_of, as_of]


def _interval(r: Sequence[Any]) -> Interval:
    return Interval(
        program_id=to_uuid(r[0]),
        student_id=to_uuid(r[1]),
        section_id=to_uuid(r[2]),
        subject_id=to_uuid(r[3]),
        verb=r[4],
        valid_from=to_dt(r[5]),
        valid_to=None if r[6] is None else to_dt(r[6]),
        cause=r[7],
        actor=r[8],
        reason=r[9],
        command_id=r[10],
        end_cause=r[11],
        end_actor=r[12],
        end_reason=r[13],
        end_command_id=r[14],
        lottery_run_id=None if r[15] is None else to_uuid(r[15]),
        position=int(r[16]),
    )
