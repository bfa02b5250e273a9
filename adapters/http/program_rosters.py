"""Every roster of a program in one answer: what a registrar prints or loads into a
spreadsheet on the day (`?format=csv`), one row per registration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from regledger.adapters.http.deps import AdminDep, KnownProgram, ViewsDep
from regledger.adapters.http.naming import Names
from regledger.adapters.http.schemas import Verb
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.ids import program_id
from regledger.domain.values import ENROLLED

router = APIRouter()

COLUMNS = ("section_code", "class_title", "timeslots", "key", "name", "verb", "since", "section_id", "student_id")


class ProgramRosterRowPublic(BaseModel):
    section_id: UUID
    section_code: str | None
    class_title: str | None
    timeslots: list[str]
    student_id: UUID
    key: str | None
    name: str | None
    verb: str
    since: datetime


class ProgramRostersPublic(BaseModel):
    position: int
    rows: list[ProgramRosterRowPublic]


@router.get(
    "/programs/{slug}/rosters",
    summary="Admins: every section's roster of a program, by section code and student key",
    responses=CSV_RESPONSES,
)
def program_rosters(
    request: Request,
    _admin: AdminDep,
    slug: KnownProgram,
    views: ViewsDep,
    verbs: Annotated[list[Verb] | None, Query(max_length=20, description="Default Enrolled")] = None,
    fmt: FormatQuery = None,
) -> Any:
    position = views.position()
    held = views.current_registrations(program_id(slug), verbs=list(dict.fromkeys(verbs or (ENROLLED,))))
    names = Names(views).load(students={r.student_id for r in held}, sections={r.section_id for r in held})
    rows = []
    for r in held:
        section, student = names.section(r.section_id), names.student(r.student_id)
        rows.append(
            ProgramRosterRowPublic(
                section_id=r.section_id,
                section_code=None if section is None else section.code,
                class_title=None if section is None else section.class_title,
                timeslots=[] if section is None else [t.label for t in section.timeslots],
                student_id=r.student_id,
                key=student.key,
                name=student.name,
                verb=r.verb,
                since=r.since,
            )
        )
    rows.sort(key=lambda row: (row.section_code or "", row.key or "", row.verb))
    if wants_csv(request, fmt):
        return csv_response(COLUMNS, [row.model_dump() for row in rows], f"{slug}-rosters")
    return ProgramRostersPublic(position=position, rows=rows)
