"""Admin command endpoints: programs, timeslots, settings, windows, classes, sections, constraints."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response

from regledger.adapters.http.deps import (
    AdminDep,
    IdempotencyKey,
    ReasonQuery,
    RegistrationDep,
    SlugPath,
    context,
    respond,
)
from regledger.adapters.http.schemas import (
    ActionRequest,
    CapacityRequest,
    CommandResultPublic,
    ConstraintRequest,
    LunchConstraintsRequest,
    ProgramCreateRequest,
    SectionRequest,
    SettingsRequest,
    SubjectRequest,
    SubjectStatusRequest,
    TimeslotRequest,
    TimeslotsRequest,
    WindowKind,
    WindowRequest,
)
from regledger.domain.ids import ConstraintId, SectionId, SubjectId, TimeslotId, program_id

router = APIRouter(tags=["admin"])

REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": CommandResultPublic, "description": "A repeated Idempotency-Key: the first outcome, replayed"}
}

SubjectPath = Annotated[UUID, Path(description="A class (subject) id")]
SectionPath = Annotated[UUID, Path(description="A section id")]


def _slots(ids: list[UUID]) -> list[TimeslotId]:
    return [TimeslotId(t) for t in ids]


@router.post("/programs", status_code=201, responses=REPLAYED, summary="Create a program")
def create_program(
    body: ProgramCreateRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(admin, idempotency_key, reason=body.reason)
    settings = body.settings.changes() if body.settings else {}
    result = app.create_program(
        body.slug,
        body.title,
        ctx,
        grade_min=body.grade_min,
        grade_max=body.grade_max,
        school_year=body.school_year,
        settings=settings,
    )
    return respond(result, response, created=True)


@router.post("/programs/{slug}/timeslots", status_code=201, responses=REPLAYED, summary="Add a timeslot")
def add_timeslot(
    slug: SlugPath,
    body: TimeslotRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.add_timeslot(program_id(slug), body.label, body.start, body.end, context(admin, idempotency_key, body))
    return respond(result, response, created=True)


@router.put("/programs/{slug}/settings", summary="Change program settings (only the fields sent)")
def change_settings(
    slug: SlugPath,
    body: SettingsRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    return respond(
        app.change_settings(program_id(slug), body.changes(), context(admin, idempotency_key, body)), response
    )


@router.put("/programs/{slug}/windows/{kind}", summary="Set a registration window (null ends are unbounded)")
def set_window(
    slug: SlugPath,
    kind: WindowKind,
    body: WindowRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.set_window(program_id(slug), kind, body.opens, body.closes, context(admin, idempotency_key, body))
    return respond(result, response)


@router.post("/programs/{slug}/subjects", status_code=201, responses=REPLAYED, summary="Add a class")
def add_subject(
    slug: SlugPath,
    body: SubjectRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.add_subject(
        program_id(slug),
        body.code,
        body.title,
        context(admin, idempotency_key, body),
        category=body.category,
        grade_min=body.grade_min,
        grade_max=body.grade_max,
        status=body.status,
        class_size_max=body.class_size_max,
        class_size_optimal=body.class_size_optimal,
        is_lunch=body.is_lunch,
    )
    return respond(result, response, created=True)


@router.put("/subjects/{subject_id}/status", summary="Change a class's review status")
def change_subject_status(
    subject_id: SubjectPath,
    body: SubjectStatusRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.change_subject_status(SubjectId(subject_id), body.status, context(admin, idempotency_key, body))
    return respond(result, response)


@router.post("/subjects/{subject_id}/sections", status_code=201, responses=REPLAYED, summary="Add a section to a class")
def create_section(
    subject_id: SubjectPath,
    body: SectionRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.create_section(
        SubjectId(subject_id),
        _slots(body.timeslot_ids),
        context(admin, idempotency_key, body),
        max_class_capacity=body.max_class_capacity,
        room_capacity=body.room_capacity,
    )
    return respond(result, response, created=True)


@router.put("/sections/{section_id}/capacity", summary="Change a section's capacity inputs")
def change_capacity(
    section_id: SectionPath,
    body: CapacityRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.change_capacity(
        SectionId(section_id),
        context(admin, idempotency_key, body),
        max_class_capacity=body.max_class_capacity,
        room_capacity=body.room_capacity,
    )
    return respond(result, response)


@router.put("/sections/{section_id}/timeslots", summary="Schedule a section into timeslots")
def schedule_section(
    section_id: SectionPath,
    body: TimeslotsRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.schedule_section(
        SectionId(section_id), _slots(body.timeslot_ids), context(admin, idempotency_key, body)
    )
    return respond(result, response)


@router.post("/sections/{section_id}/open", summary="Open a section for registration")
def open_section(
    section_id: SectionPath,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    body: ActionRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    return respond(app.set_section_open(SectionId(section_id), True, context(admin, idempotency_key, body)), response)


@router.post("/sections/{section_id}/close", summary="Close a section (existing seats stay)")
def close_section(
    section_id: SectionPath,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    body: ActionRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    return respond(app.set_section_open(SectionId(section_id), False, context(admin, idempotency_key, body)), response)


@router.post("/sections/{section_id}/cancel", summary="Cancel a section, releasing every seat and waitlist place")
def cancel_section(
    section_id: SectionPath,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    body: ActionRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    return respond(app.cancel_section(SectionId(section_id), context(admin, idempotency_key, body)), response)


@router.post("/programs/{slug}/constraints", status_code=201, responses=REPLAYED, summary="Add a schedule constraint")
def add_constraint(
    slug: SlugPath,
    body: ConstraintRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.add_constraint(
        program_id(slug), body.label, body.condition, body.requirement, context(admin, idempotency_key, body)
    )
    return respond(result, response, created=True)


@router.delete("/programs/{slug}/constraints/{constraint_id}", summary="Remove a schedule constraint")
def remove_constraint(
    slug: SlugPath,
    constraint_id: UUID,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    reason: ReasonQuery = "",
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(admin, idempotency_key, reason=reason)
    return respond(app.remove_constraint(program_id(slug), ConstraintId(constraint_id), ctx), response)


@router.post("/programs/{slug}/lunch-constraints", summary="Add one keep-a-lunch-period constraint per day")
def add_lunch_constraints(
    slug: SlugPath,
    body: LunchConstraintsRequest,
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    result = app.add_lunch_constraints(
        program_id(slug),
        _slots(body.lunch_timeslot_ids),
        body.lunch_category,
        context(admin, idempotency_key, body),
        include_conditions=body.include_conditions,
    )
    return respond(result, response)
