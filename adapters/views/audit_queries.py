"""The audit log's query (`projections.audit_views`) in SQL for both stores.

One page is one statement: the page's rows are chosen first (a subquery: the filters, the
keyset bound on position, ORDER BY position and LIMIT, served by one of `audit_events`'
(program, column, position) indexes), then named by joins on the students, sections and
subjects. A time range is first turned into the positions that can hold it (`audit_blocks`:
each block of positions with its first and last recorded time), which bounds the page's scan:
without it, the last page of a narrow range would read on to the start of the log to fill up.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import lru_cache
from typing import Any
from uuid import UUID

from regledger.adapters.views.schema import to_dt, to_uuid
from regledger.projections.audit import BLOCK
from regledger.projections.audit_views import MAX_LIMIT, AuditEntry, AuditQuery, AuditViews
from regledger.projections.catalogue import section_code

COLUMNS = (
    "a.position, a.recorded_at, a.event_kind, a.aggregate_id, a.actor, a.reason, a.cause, a.command_id, "
    "a.student_id, st.student_key, st.name, a.section_id, sec.idx, sj.code, "
    "COALESCE(a.subject_id, sec.subject_id), sub.code, sub.title, a.related_id, rsec.idx, rsub.code, a.detail"
)
JOINS = (
    "LEFT JOIN {p}students st ON st.student_id = a.student_id "
    "LEFT JOIN {p}sections sec ON sec.section_id = a.section_id "
    "LEFT JOIN {p}subjects sj ON sj.subject_id = sec.subject_id "
    "LEFT JOIN {p}subjects sub ON sub.subject_id = COALESCE(a.subject_id, sec.subject_id) "
    "LEFT JOIN {p}sections rsec ON rsec.section_id = a.related_id "
    "LEFT JOIN {p}subjects rsub ON rsub.subject_id = rsec.subject_id"
)


class SqlAuditQueries(AuditViews):
    @abstractmethod
    def read(self, statement: str, *params: Any) -> list[Any]:
        """Run a query and fetch all its rows."""

    def audit(self, program_id: UUID, query: AuditQuery) -> list[AuditEntry]:
        where, params = _filters(program_id, query)
        if query.since is not None or query.until is not None:
            span = self._span(query)
            if span is None:
                return []
            where += " AND a.position >= ? AND a.position <= ?"
            params += list(span)
        if query.after is not None:
            where += " AND a.position > ?" if query.oldest_first else " AND a.position < ?"
            params.append(query.after)
        order = "ASC" if query.oldest_first else "DESC"
        limit = max(1, min(query.limit, MAX_LIMIT + 1))  # + 1: a page tells whether another follows
        rows = self.read(
            f"SELECT {COLUMNS} FROM (SELECT * FROM {{p}}audit_events a WHERE {where} "  # noqa: S608 - fixed fragments, values are parameters
            f"ORDER BY a.position {order} LIMIT ?) a {JOINS} ORDER BY a.position {order}",
            *params,
            limit,
        )
        return [_entry(row) for row in rows]

    def _span(self, query: AuditQuery) -> tuple[int, int] | None:
        """Positions that hold every event recorded in the time range (None: none can): from
        the first to the last block whose recorded times meet the range."""
        where, params = "1 = 1", list[Any]()
        if query.since is not None:
            where, params = where + " AND last_recorded >= ?", [*params, query.since]
        if query.until is not None:
            where, params = where + " AND first_recorded < ?", [*params, query.until]
        found = self.read(f"SELECT MIN(block), MAX(block) FROM {{p}}audit_blocks WHERE {where}", *params)  # noqa: S608 - fixed fragments, values are parameters
        if not found or found[0][0] is None:
            return None
        return int(found[0][0]) * BLOCK, (int(found[0][1]) + 1) * BLOCK - 1


def _filters(program_id: UUID, query: AuditQuery) -> tuple[str, list[Any]]:
    where, params = "a.program_id = ?", list[Any]([program_id])
    for column, value in (("student_id", query.student_id), ("section_id", query.section_id), ("actor", query.actor)):
        if value is not None:
            where, params = where + f" AND a.{column} = ?", [*params, value]
    if query.kinds:
        where += f" AND a.event_kind IN ({', '.join('?' for _ in query.kinds)})"
        params += list(query.kinds)
    if query.since is not None:
        where, params = where + " AND a.recorded_at >= ?", [*params, query.since]
    if query.until is not None:
        where, params = where + " AND a.recorded_at < ?", [*params, query.until]
    return where, params


# Ids read as text (SQLite) repeat from row to row (the same students and sections): parsed
# once each. A third of a page's read was parsing them.
_uuid = lru_cache(maxsize=1 << 16)(to_uuid)


def _optional_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


def _code(class_code: str | None, index: int | None) -> str | None:
    return None if class_code is None or index is None else section_code(class_code, int(index))


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        position=int(r[0]),
        recorded_at=to_dt(r[1]),
        event_kind=r[2],
        aggregate_id=_uuid(r[3]),
        actor=r[4],
        reason=r[5],
        cause=r[6],
        command_id=r[7],
        student_id=_optional_uuid(r[8]),
        student_key=r[9],
        student_name=r[10],
        section_id=_optional_uuid(r[11]),
        section_code=_code(r[13], r[12]),
        subject_id=_optional_uuid(r[14]),
        class_code=r[15],
        class_title=r[16],
        related_id=_optional_uuid(r[17]),
        related_code=_code(r[19], r[18]),
        detail=r[20],
    )
