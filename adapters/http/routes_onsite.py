"""Day-of endpoints (admins): check-in, attendance, batch registration, unenroll all, no-shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from regledger.adapters.http.catalogue_models import StudentRefPublic
from regledger.adapters.http.deps import AdminCommandDep, AdminDep, KeyPath, KnownSection, SlugPath, ViewsDep
from regledger.adapters.http.naming import Names
from regledger.adapters.http.onsite_requests import (
    AttendanceRequest,
    BatchRegistrationRequest,
    StudentFilterRequest,
)
from regledger.adapters.http.responses import BatchOutcomePublic, BatchResultPublic, CommandResultPublic
from regledger.adapters.http.schemas import ActionRequest
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId, SectionId, TimeslotId, program_id, timeslot_id
from regledger.domain.no_show_commands import NoShowReport
from regledger.domain.onsite_commands import ATTENDED
from regledger.projections.student_filters import StudentFilter, select_students

router = APIRouter(tags=["onsite"])

STUDENT = "/programs/{slug}/students/{key}"
SectionPath = Annotated[UUID, Path(description="A section id")]


@router.post(f"{STUDENT}/check-in", summary="Check a student in on the day (twice changes nothing)")
def check_in(
    cmd: AdminCommandDep, slug: SlugPath, key: KeyPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    return cmd.respond(cmd.app.check_in(program_id(slug), key, cmd.ctx(body)))


@router.delete(f"{STUDENT}/check-in", summary="Undo a check-in recorded by mistake")
def undo_check_in(
    cmd: AdminCommandDep, slug: SlugPath, key: KeyPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    return cmd.respond(cmd.app.undo_check_in(program_id(slug), key, cmd.ctx(body)))


@router.post("/sections/{section_id}/attendance", summary="Mark a student present in a section")
def record_attendance(cmd: AdminCommandDep, section_id: SectionPath, body: AttendanceRequest) -> CommandResultPublic:
    section = cmd.app.load_section(SectionId(section_id))
    return cmd.respond(
        cmd.app.record_attendance(section.program_id, body.student_key, section.section_id, cmd.ctx(body))
    )


class AttendancePublic(BaseModel):
    position: int
    section_id: UUID
    section_code: str | None
    day: date
    students: list[StudentRefPublic]


@router.get("/sections/{section_id}/attendance", summary="Who was marked present in a section on a day")
def attendance(
    section_id: KnownSection,
    _admin: AdminDep,
    views: ViewsDep,
    day: Annotated[date | None, Query(description="The day in the program's zone (default: today there)")] = None,
) -> AttendancePublic:
    position = views.position()
    section = views.section_view(section_id)
    program = None if section is None else views.program(section.program_id)
    zone = ZoneInfo(program.timezone if program else "UTC")
    wanted = day or datetime.now(tz=zone).date()
    marked = [
        i.student_id
        for i in views.history(section_id=section_id)
        if i.verb == ATTENDED and i.valid_from.astimezone(zone).date() == wanted
    ]
    names = Names(views).load(students=marked, sections=[section_id])
    return AttendancePublic(
        position=position,
        section_id=section_id,
        section_code=names.code(section_id),
        day=wanted,
        students=[names.student(s) for s in marked],
    )


@router.delete(
    "/programs/{slug}/students/{key}/registrations",
    summary="End every visible registration of a student in the program (a reason is required)",
)
def unenroll_all(
    cmd: AdminCommandDep, slug: SlugPath, key: KeyPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    """Seats and waitlist places end in one save; freed seats go to the waitlists first."""
    return cmd.respond(cmd.app.unenroll_all(program_id(slug), key, cmd.ctx(body)))


@router.post(
    "/sections/{section_id}/batch-registrations", summary="Seat a list of students in a section, each on their own"
)
def batch_register(
    cmd: AdminCommandDep, section_id: SectionPath, body: BatchRegistrationRequest, views: ViewsDep
) -> BatchResultPublic:
    """Per student: ok, skipped (already there), conflict, full or refused, with the rule's code;
    each student is one atomic command (`<Idempotency-Key>/<key>`), so a repeat repeats nothing.
    A `filter` chooses the students from the views (e.g. checked in, grades 9-10, free at 11:00)."""
    section = cmd.app.load_section(SectionId(section_id))
    pid = section.program_id
    keys = body.student_keys if body.filter is None else select_students(views, pid, student_filter(pid, body.filter))
    if not keys:
        raise InvalidInputError("The filter chose no student", filter=body.filter.model_dump() if body.filter else {})
    ctx = cmd.ctx(body)
    result = cmd.app.batch_register(pid, section.section_id, keys, ctx, override_capacity=body.override_capacity)
    outcomes = [BatchOutcomePublic.model_validate(o, from_attributes=True) for o in result.outcomes]
    return BatchResultPublic(command_id=result.command_id, counts=result.counts, outcomes=outcomes)


def student_filter(pid: ProgramId, given: StudentFilterRequest) -> StudentFilter:
    slot = None if given.free_in_timeslot is None else _timeslot(pid, given.free_in_timeslot)
    return StudentFilter(given.checked_in, given.grade_min, given.grade_max, slot)


def _timeslot(pid: ProgramId, text: str) -> TimeslotId:
    """A timeslot by id or by label (ids are derived from labels)."""
    try:
        return TimeslotId(UUID(text))
    except ValueError:
        return timeslot_id(pid, text)


class NoShowsRequest(ActionRequest):
    timeslot: Annotated[str, Field(min_length=1, max_length=200, description="The timeslot's id or label")]
    preview: bool = Field(False, description="Say who would lose which seats; write nothing")

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"timeslot": "Sat 9:00", "preview": True}]}
    )


class NoShowsPublic(BaseModel):
    sweep_id: UUID
    done: bool = Field(description="False for a preview")
    removed: dict[str, list[UUID]] = Field(description="Student key -> the sections whose seats end")
    not_restored: dict[str, dict[str, str]] | None = Field(
        None, description="Undo only: student key -> section id -> why the seat was not given back"
    )

    @classmethod
    def of(cls, report: NoShowReport) -> NoShowsPublic:
        removed = {k: [UUID(s) for s in v] for k, v in report.removed.items()}
        return cls(sweep_id=report.sweep_id, done=report.done, removed=removed, not_restored=report.not_restored)


@router.post("/programs/{slug}/no-shows", summary="Unenrol students not checked in whose first class is in a timeslot")
def unenroll_no_shows(cmd: AdminCommandDep, slug: SlugPath, body: NoShowsRequest) -> NoShowsPublic:
    """Preview first (`preview: true`); then the sweep ends the seats, one student at a time
    (the same Idempotency-Key resumes it), and freed seats go to the waitlists."""
    pid = program_id(slug)
    slot = _timeslot(pid, body.timeslot)
    return NoShowsPublic.of(cmd.app.unenroll_no_shows(pid, slot, cmd.ctx(body), preview=body.preview))


@router.post("/programs/{slug}/no-show-sweeps/{sweep_id}/undo", summary="Give back the seats a sweep ended, where free")
def undo_no_shows(
    cmd: AdminCommandDep, slug: SlugPath, sweep_id: UUID, body: ActionRequest | None = None
) -> NoShowsPublic:
    return NoShowsPublic.of(cmd.app.undo_no_shows(program_id(slug), sweep_id, cmd.ctx(body)))
