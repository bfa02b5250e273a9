"""Admin command endpoints: programs, timeslots, settings, windows, classes, sections, constraints."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path

from regledger.adapters.http.deps import REPLAYED, AdminCommandDep, ReasonQuery, SlugPath
from regledger.adapters.http.responses import CommandResultPublic
from regledger.adapters.http.schemas import (
    ActionRequest,
    CapacityRequest,
    ConstraintRequest,
    LunchConstraintsRequest,
    ProgramCreateRequest,
    SectionRequest,
    SettingsRequest,
    SubjectChangeRequest,
    SubjectRequest,
    SubjectStatusRequest,
    TimeslotRequest,
    TimeslotsRequest,
    WindowKind,
    WindowRequest,
)
from regledger.adapters.http.section_codes import add_code_route
from regledger.domain.ids import ConstraintId, SectionId, SubjectId, TimeslotId, program_id

router = APIRouter(tags=["admin"])

SubjectPath = Annotated[UUID, Path(description="A class (subject) id")]
SectionPath = Annotated[UUID, Path(description="A section id")]


def _slots(ids: list[UUID]) -> list[TimeslotId]:
    return [TimeslotId(t) for t in ids]


@router.post("/programs", status_code=201, responses=REPLAYED, summary="Create a program")
def create_program(cmd: AdminCommandDep, body: ProgramCreateRequest) -> CommandResultPublic:
    result = cmd.app.create_program(
        body.slug,
        body.title,
        cmd.ctx(reason=body.reason),
        grade_min=body.grade_min,
        grade_max=body.grade_max,
        school_year=body.school_year,
        settings=body.settings.changes() if body.settings else {},
    )
    return cmd.respond(result, created=True)


@router.post("/programs/{slug}/timeslots", status_code=201, responses=REPLAYED, summary="Add a timeslot")
def add_timeslot(cmd: AdminCommandDep, slug: SlugPath, body: TimeslotRequest) -> CommandResultPublic:
    result = cmd.app.add_timeslot(program_id(slug), body.label, body.start, body.end, cmd.ctx(body))
    return cmd.respond(result, created=True)


@router.put("/programs/{slug}/settings", summary="Change program settings (only the fields sent)")
def change_settings(cmd: AdminCommandDep, slug: SlugPath, body: SettingsRequest) -> CommandResultPublic:
    return cmd.respond(cmd.app.change_settings(program_id(slug), body.changes(), cmd.ctx(body)))


@router.put("/programs/{slug}/windows/{kind}", summary="Set a registration window (null ends are unbounded)")
def set_window(cmd: AdminCommandDep, slug: SlugPath, kind: WindowKind, body: WindowRequest) -> CommandResultPublic:
    return cmd.respond(cmd.app.set_window(program_id(slug), kind, body.opens, body.closes, cmd.ctx(body)))


@router.post("/programs/{slug}/subjects", status_code=201, responses=REPLAYED, summary="Add a class")
def add_subject(cmd: AdminCommandDep, slug: SlugPath, body: SubjectRequest) -> CommandResultPublic:
    result = cmd.app.add_subject(
        program_id(slug),
        body.code,
        body.title,
        cmd.ctx(body),
        category=body.category,
        grade_min=body.grade_min,
        grade_max=body.grade_max,
        status=body.status,
        class_size_max=body.class_size_max,
        class_size_optimal=body.class_size_optimal,
        is_lunch=body.is_lunch,
    )
    return cmd.respond(result, created=True)


@router.put("/subjects/{subject_id}/status", summary="Change a class's review status")
def change_subject_status(
    cmd: AdminCommandDep, subject_id: SubjectPath, body: SubjectStatusRequest
) -> CommandResultPublic:
    return cmd.respond(cmd.app.change_subject_status(SubjectId(subject_id), body.status, cmd.ctx(body)))


@router.patch("/subjects/{subject_id}", summary="Change a class's details (only the fields sent)")
def change_subject(cmd: AdminCommandDep, subject_id: SubjectPath, body: SubjectChangeRequest) -> CommandResultPublic:
    """A changed size re-sizes the class's sections whose capacity follows from it (`ids`:
    `resized_sections`); a section left with fewer seats than are taken refuses the change
    (`capacity_below_enrolled`) unless overridden."""
    return cmd.respond(cmd.app.change_subject(SubjectId(subject_id), body.details(), cmd.ctx(body)))


@router.post("/subjects/{subject_id}/sections", status_code=201, responses=REPLAYED, summary="Add a section to a class")
def create_section(cmd: AdminCommandDep, subject_id: SubjectPath, body: SectionRequest) -> CommandResultPublic:
    result = cmd.app.create_section(
        SubjectId(subject_id),
        _slots(body.timeslot_ids),
        cmd.ctx(body),
        max_class_capacity=body.max_class_capacity,
        room_capacity=body.room_capacity,
    )
    return cmd.respond(result, created=True)


@router.put("/sections/{section_id}/capacity", summary="Change a section's capacity inputs")
def change_capacity(cmd: AdminCommandDep, section_id: SectionPath, body: CapacityRequest) -> CommandResultPublic:
    result = cmd.app.change_capacity(
        SectionId(section_id),
        cmd.ctx(body),
        max_class_capacity=body.max_class_capacity,
        room_capacity=body.room_capacity,
    )
    return cmd.respond(result)


@router.put("/sections/{section_id}/timeslots", summary="Schedule a section into timeslots")
def schedule_section(cmd: AdminCommandDep, section_id: SectionPath, body: TimeslotsRequest) -> CommandResultPublic:
    return cmd.respond(cmd.app.schedule_section(SectionId(section_id), _slots(body.timeslot_ids), cmd.ctx(body)))


@router.post("/sections/{section_id}/open", summary="Open a section for registration")
def open_section(
    cmd: AdminCommandDep, section_id: SectionPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    return cmd.respond(cmd.app.set_section_open(SectionId(section_id), True, cmd.ctx(body)))


@router.post("/sections/{section_id}/close", summary="Close a section (existing seats stay)")
def close_section(
    cmd: AdminCommandDep, section_id: SectionPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    return cmd.respond(cmd.app.set_section_open(SectionId(section_id), False, cmd.ctx(body)))


@router.post("/sections/{section_id}/cancel", summary="Cancel a section, releasing every seat and waitlist place")
def cancel_section(
    cmd: AdminCommandDep, section_id: SectionPath, body: ActionRequest | None = None
) -> CommandResultPublic:
    return cmd.respond(cmd.app.cancel_section(SectionId(section_id), cmd.ctx(body)))


@router.post("/programs/{slug}/constraints", status_code=201, responses=REPLAYED, summary="Add a schedule constraint")
def add_constraint(cmd: AdminCommandDep, slug: SlugPath, body: ConstraintRequest) -> CommandResultPublic:
    result = cmd.app.add_constraint(program_id(slug), body.label, body.condition, body.requirement, cmd.ctx(body))
    return cmd.respond(result, created=True)


@router.delete("/programs/{slug}/constraints/{constraint_id}", summary="Remove a schedule constraint")
def remove_constraint(
    cmd: AdminCommandDep,
    slug: SlugPath,
    constraint_id: UUID,
    body: ActionRequest | None = None,
    reason: ReasonQuery = "",
) -> CommandResultPublic:
    """The reason goes in the body as for every command (the `reason` query parameter is kept
    for older clients)."""
    ctx = cmd.ctx(body, reason=reason)
    return cmd.respond(cmd.app.remove_constraint(program_id(slug), ConstraintId(constraint_id), ctx))


@router.post("/programs/{slug}/lunch-constraints", summary="Add one keep-a-lunch-period constraint per day")
def add_lunch_constraints(cmd: AdminCommandDep, slug: SlugPath, body: LunchConstraintsRequest) -> CommandResultPublic:
    result = cmd.app.add_lunch_constraints(
        program_id(slug),
        _slots(body.lunch_timeslot_ids),
        body.lunch_category,
        cmd.ctx(body),
        include_conditions=body.include_conditions,
    )
    return cmd.respond(result)


for _method, _suffix, _handler in (
    ("PUT", "/capacity", change_capacity),
    ("PUT", "/timeslots", schedule_section),
    ("POST", "/open", open_section),
    ("POST", "/close", close_section),
    ("POST", "/cancel", cancel_section),
):
    _route = next(r for r in router.routes if getattr(r, "endpoint", None) is _handler)
    add_code_route(router, _method, _suffix, _handler, summary=f"{getattr(_route, 'summary', '')} (by its code)")
