"""The catalogue's queries (`projections.catalogue`) in SQL for both stores.

Codes sort by their bytes in both stores (`{binary}`: PostgreSQL's collation would otherwise
follow the database's locale), so pages and exports come out in the same order everywhere.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from regledger.adapters.views.schema import split_ids, to_dt, to_uuid
from regledger.domain.program import ProgramSettings
from regledger.projections.catalogue import (
    CatalogueFilter,
    CatalogueViews,
    ClassView,
    ProgramView,
    RunView,
    SectionView,
    StarInterval,
    StudentView,
    TimeslotView,
    WindowView,
    section_code_parts,
)

CHUNK = 500  # ids per IN (...) list
ANY = CatalogueFilter()

SECTION_SELECT = (
    "SELECT s.section_id, s.program_id, s.subject_id, s.idx, j.code, j.title, j.category, j.status, "
    "j.grade_min, j.grade_max, s.timeslot_ids, s.room_capacity, s.max_class_capacity, s.capacity, "
    "(SELECT COUNT(*) FROM {p}seats x WHERE x.section_id = s.section_id), "
    "(SELECT COUNT(*) FROM {p}waitlist w WHERE w.section_id = s.section_id), s.is_open, s.is_cancelled "
    "FROM {p}sections s JOIN {p}subjects j ON j.subject_id = s.subject_id"
)
SUBJECT_SELECT = (
    "SELECT j.subject_id, j.program_id, j.code, j.title, j.category, j.grade_min, j.grade_max, j.status, "
    "j.class_size_max, j.class_size_optimal, j.is_lunch FROM {p}subjects j"
)
STUDENT_SELECT = (
    "SELECT student_id, program_id, student_key, registered_at, name, graduation_year, email, checked_in_at "
    "FROM {p}students"
)
SEATS_TAKEN = "(SELECT COUNT(*) FROM {p}seats x WHERE x.section_id = s.section_id)"


class SqlCatalogueQueries(CatalogueViews):
    @abstractmethod
    def read(self, statement: str, *params: Any) -> list[Any]:
        """Run a query and fetch all its rows."""

    # -- programs and timeslots -----------------------------------------------------------

    def programs(self) -> list[ProgramView]:
        return self._programs("", [])

    def program(self, program_id: UUID) -> ProgramView | None:
        found = self._programs(" WHERE program_id = ?", [program_id])
        return found[0] if found else None

    def _programs(self, where: str, params: list[Any]) -> list[ProgramView]:
        rows = self.read(
            "SELECT program_id, slug, title, grade_min, grade_max, school_year, created_at FROM {p}programs"  # noqa: S608 - fixed fragments, values are parameters
            f"{where} ORDER BY slug{{binary}}",
            *params,
        )
        ids = [to_uuid(r[0]) for r in rows]
        settings: dict[UUID, dict[str, Any]] = {pid: ProgramSettings().as_dict() for pid in ids}
        windows: dict[UUID, list[WindowView]] = {pid: [] for pid in ids}
        for chunk in _chunks(ids):
            # One round trip for the listed programs: settings ('s' rows), then windows ('w').
            marks = _marks(chunk)
            for k, pid, name, value, opens, closes in self.read(
                f"SELECT 's', program_id, name, value, NULL, NULL FROM {{p}}program_settings "  # noqa: S608 - fixed fragments
                f"WHERE program_id IN ({marks}) UNION ALL SELECT 'w', program_id, kind, NULL, opens, closes "
                f"FROM {{p}}windows WHERE program_id IN ({marks})",
                *chunk,
                *chunk,
            ):
                if k == "s":
                    settings[to_uuid(pid)][name] = json.loads(value)
                else:
                    when = (None if opens is None else to_dt(opens), None if closes is None else to_dt(closes))
                    windows[to_uuid(pid)].append(WindowView(name, *when))
        return [
            ProgramView(
                pid,
                r[1],
                r[2],
                int(r[3]),
                int(r[4]),
                int(r[5]),
                to_dt(r[6]),
                settings[pid],
                tuple(sorted(windows[pid], key=lambda w: w.kind)),
            )
            for pid, r in zip(ids, rows, strict=True)
        ]

    def timeslots(self, program_id: UUID) -> list[TimeslotView]:
        # One round trip: the timeslots ('t' rows), then the timeslots of lunch sections ('l').
        rows = self.read(
            "SELECT 't', timeslot_id, label, starts, ends FROM {p}timeslots WHERE program_id = ? "
            "UNION ALL SELECT 'l', NULL, s.timeslot_ids, NULL, NULL FROM {p}sections s "
            "JOIN {p}subjects j ON j.subject_id = s.subject_id WHERE s.program_id = ? AND j.is_lunch = ?",
            program_id,
            program_id,
            True,
        )
        lunch = {t for r in rows if r[0] == "l" for t in split_ids(r[2] or "")}
        slots = [
            TimeslotView(to_uuid(r[1]), program_id, r[2], to_dt(r[3]), to_dt(r[4]), to_uuid(r[1]) in lunch)
            for r in rows
            if r[0] == "t"
        ]
        return sorted(slots, key=lambda t: (t.starts, t.label.encode()))

    # -- sections -------------------------------------------------------------------------

    def section_views(self, program_id: UUID, where: CatalogueFilter | None = None) -> list[SectionView]:
        where = where or ANY
        sql, params = _section_filter(where)
        if where.after is not None:
            parts = section_code_parts(where.after)
            if parts is None:
                sql, params = f"{sql} AND j.code{{binary}} > ?", [*params, where.after]
            else:
                code, index = parts
                sql += " AND (j.code{binary} > ? OR (j.code = ? AND s.idx > ?))"
                params += [code, code, index]
        limit = "" if where.limit is None else f" LIMIT {int(where.limit)}"
        rows = self.read(
            f"{SECTION_SELECT} WHERE s.program_id = ?{sql} ORDER BY j.code{{binary}}, s.idx{limit}",
            program_id,
            *params,
        )
        return self._sections(rows)

    def section_view(self, section_id: UUID) -> SectionView | None:
        return self.sections_by_id([section_id]).get(section_id)

    def sections_by_id(self, section_ids: Iterable[UUID]) -> dict[UUID, SectionView]:
        rows: list[Any] = []
        for chunk in _chunks(sorted(set(section_ids), key=str)):
            rows += self.read(f"{SECTION_SELECT} WHERE s.section_id IN ({_marks(chunk)})", *chunk)
        return {view.section_id: view for view in self._sections(rows)}

    def _sections(self, rows: list[Any]) -> list[SectionView]:
        slots: dict[UUID, dict[UUID, TimeslotView]] = {}
        out = []
        for r in rows:
            pid = to_uuid(r[1])
            if pid not in slots:
                slots[pid] = {t.timeslot_id: t for t in self.timeslots(pid)}
            known = slots[pid]
            timeslots = tuple(known[t] for t in split_ids(r[10] or "") if t in known)
            out.append(
                SectionView(
                    to_uuid(r[0]),
                    pid,
                    to_uuid(r[2]),
                    int(r[3]),
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                    int(r[8]),
                    int(r[9]),
                    timeslots,
                    r[11],
                    r[12],
                    int(r[13]),
                    int(r[14]),
                    int(r[15]),
                    bool(r[16]),
                    bool(r[17]),
                )
            )
        return out

    # -- classes --------------------------------------------------------------------------

    def classes(self, program_id: UUID, where: CatalogueFilter | None = None) -> list[ClassView]:
        where = where or ANY
        sql, params = _class_filter(where)
        of_sections = CatalogueFilter(timeslot_id=where.timeslot_id, has_free=where.has_free)
        section_sql, section_params = _section_filter(of_sections)
        if section_sql:
            # Only classes with a section that passes the section filters.
            sql += f" AND EXISTS (SELECT 1 FROM {{p}}sections s WHERE s.subject_id = j.subject_id{section_sql})"  # noqa: S608 - fixed fragments
            params += section_params
        if where.after is not None:
            sql, params = f"{sql} AND j.code{{binary}} > ?", [*params, where.after]
        limit = "" if where.limit is None else f" LIMIT {int(where.limit)}"
        rows = self.read(
            f"{SUBJECT_SELECT} WHERE j.program_id = ?{sql} ORDER BY j.code{{binary}}{limit}", program_id, *params
        )
        return self._classes(rows, of_sections)

    def class_view(self, subject_id: UUID) -> ClassView | None:
        found = self._classes(self.read(f"{SUBJECT_SELECT} WHERE j.subject_id = ?", subject_id), ANY)
        return found[0] if found else None

    def _classes(self, rows: list[Any], sections_where: CatalogueFilter) -> list[ClassView]:
        if not rows:
            return []
        ids = [to_uuid(r[0]) for r in rows]
        sql, params = _section_filter(sections_where)
        section_rows: list[Any] = []
        for chunk in _chunks(ids):
            section_rows += self.read(
                f"{SECTION_SELECT} WHERE s.subject_id IN ({_marks(chunk)}){sql} ORDER BY s.idx", *chunk, *params
            )
        by_class: dict[UUID, list[SectionView]] = {}
        for view in self._sections(section_rows):
            by_class.setdefault(view.subject_id, []).append(view)
        return [
            ClassView(
                to_uuid(r[0]),
                to_uuid(r[1]),
                r[2],
                r[3],
                r[4],
                int(r[5]),
                int(r[6]),
                r[7],
                r[8],
                r[9],
                bool(r[10]),
                tuple(by_class.get(to_uuid(r[0]), ())),
            )
            for r in rows
        ]

    # -- students -------------------------------------------------------------------------

    def student_views(self, student_ids: Iterable[UUID]) -> dict[UUID, StudentView]:
        out: dict[UUID, StudentView] = {}
        for chunk in _chunks(sorted(set(student_ids), key=str)):
            for r in self.read(f"{STUDENT_SELECT} WHERE student_id IN ({_marks(chunk)})", *chunk):
                view = _student(r)
                out[view.student_id] = view
        return out

    def program_students(
        self, program_id: UUID, *, search: str | None = None, after: str | None = None, limit: int | None = None
    ) -> list[StudentView]:
        sql, params = "", list[Any]()
        if search:
            pattern = _like_prefix(search.lower())
            sql += " AND (LOWER(student_key) LIKE ? ESCAPE '!' OR LOWER(name) LIKE ? ESCAPE '!')"
            params += [pattern, pattern]
        if after is not None:
            sql, params = f"{sql} AND student_key{{binary}} > ?", [*params, after]
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        rows = self.read(
            f"{STUDENT_SELECT} WHERE program_id = ?{sql} ORDER BY student_key{{binary}}{limit_sql}", program_id, *params
        )
        return [_student(r) for r in rows]

    def lottery_runs(self, program_id: UUID) -> list[RunView]:
        rows = self.read(
            "SELECT run_id, program_id, seed, input_position, status, started_at, actor, assignment_digest, "
            "assignments, enrolments, ended_at FROM {p}lottery_runs WHERE program_id = ? "
            "ORDER BY started_at DESC, run_id",
            program_id,
        )
        return [
            RunView(
                to_uuid(r[0]),
                to_uuid(r[1]),
                int(r[2]),
                int(r[3]),
                r[4],
                to_dt(r[5]),
                r[6],
                r[7],
                r[8],
                r[9],
                None if r[10] is None else to_dt(r[10]),
            )
            for r in rows
        ]

    def star_history(self, student_id: UUID) -> list[StarInterval]:
        rows = self.read(
            "SELECT student_id, subject_id, valid_from, valid_to, actor, end_actor FROM {p}stars "
            "WHERE student_id = ? ORDER BY valid_from, position, seq",
            student_id,
        )
        return [
            StarInterval(to_uuid(r[0]), to_uuid(r[1]), to_dt(r[2]), None if r[3] is None else to_dt(r[3]), r[4], r[5])
            for r in rows
        ]


def _class_filter(where: CatalogueFilter) -> tuple[str, list[Any]]:
    sql, params = "", list[Any]()
    if where.category is not None:
        sql, params = f"{sql} AND j.category = ?", [*params, where.category]
    if where.grade is not None:
        sql, params = f"{sql} AND j.grade_min <= ? AND j.grade_max >= ?", [*params, where.grade, where.grade]
    if where.subject_ids is not None:
        marks = ", ".join("?" for _ in where.subject_ids) or "NULL"
        sql, params = f"{sql} AND j.subject_id IN ({marks})", [*params, *where.subject_ids]
    if where.statuses is not None:
        marks = ", ".join("?" for _ in where.statuses) or "NULL"
        sql, params = f"{sql} AND j.status IN ({marks})", [*params, *where.statuses]
    return sql, params


def _section_filter(where: CatalogueFilter) -> tuple[str, list[Any]]:
    """Conditions on `s` (a section) and, through `_class_filter`, on `j` (its class)."""
    sql, params = _class_filter(where)
    if sql:  # the class conditions need the join, which a bare `sections s` subquery lacks
        sql = f" AND s.subject_id IN (SELECT j.subject_id FROM {{p}}subjects j WHERE 1 = 1{sql})"  # noqa: S608 - fixed fragments
    if where.timeslot_id is not None:
        sql, params = f"{sql} AND s.timeslot_ids LIKE ?", [*params, f"%{where.timeslot_id.hex}%"]
    if where.has_free is not None:
        sql += f" AND s.capacity {'>' if where.has_free else '<='} {SEATS_TAKEN}"
    return sql, params


def _student(r: Sequence[Any]) -> StudentView:
    year = None if r[5] is None else int(r[5])
    checked_in = None if r[7] is None else to_dt(r[7])
    return StudentView(to_uuid(r[0]), to_uuid(r[1]), r[2], to_dt(r[3]), r[4], year, r[6], checked_in)


def _like_prefix(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"{escaped}%"


def _marks(chunk: Sequence[Any]) -> str:
    return ", ".join("?" for _ in chunk)


def _chunks(ids: Sequence[UUID]) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
