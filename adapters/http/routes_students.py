"""Student command endpoints (a student token acts only for itself) and registration types."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from regledger.adapters.http.deps import (
    ActingDep,
    Forbidden,
    IdempotencyKey,
    OverrideQuery,
    PrincipalDep,
    ReasonQuery,
    RegistrationDep,
    context,
    respond,
)
from regledger.adapters.http.schemas import (
    ActionRequest,
    Category,
    CommandResultPublic,
    PrioritiesRequest,
    ProfileRequest,
    RegistrationRequest,
    RegistrationTypePublic,
    SwitchRequest,
    Verb,
    WaitlistRequest,
)
from regledger.domain.ids import SectionId, SubjectId, TimeslotId

router = APIRouter(tags=["students"])

STUDENT = "/programs/{slug}/students/{key}"


@router.put(f"{STUDENT}/profile", summary="Submit or update the student's profile")
def submit_profile(
    acting: ActingDep,
    body: ProfileRequest,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    result = app.submit_profile(
        acting.program_id, acting.student_key, body.name, body.graduation_year, dict(body.contacts), ctx
    )
    return respond(result, response)


@router.post(f"{STUDENT}/registrations", summary="Register for a section (Enrolled takes a seat)")
def add_registration(
    acting: ActingDep,
    body: RegistrationRequest,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    result = app.add_section(acting.program_id, acting.student_key, SectionId(body.section_id), ctx, body.verb)
    return respond(result, response)


@router.delete(f"{STUDENT}/registrations/{{section_id}}", summary="Drop registrations on a section")
def drop_registration(
    acting: ActingDep,
    section_id: UUID,
    app: RegistrationDep,
    response: Response,
    verbs: Annotated[
        list[Verb] | None,
        Query(max_length=20, description="Verbs to end (default: the program's visible verbs; 'All' for every verb)"),
    ] = None,
    reason: ReasonQuery = "",
    override: OverrideQuery = False,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, reason=reason, override=override)
    result = app.drop_section(acting.program_id, acting.student_key, SectionId(section_id), ctx, verbs or None)
    return respond(result, response)


@router.post(f"{STUDENT}/switch", summary="Move a seat to another section of the same class, atomically")
def switch_sections(
    acting: ActingDep,
    body: SwitchRequest,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    result = app.switch_sections(
        acting.program_id, acting.student_key, SectionId(body.from_section_id), SectionId(body.to_section_id), ctx
    )
    return respond(result, response)


@router.post(f"{STUDENT}/waitlist", summary="Join a section's waitlist")
def join_waitlist(
    acting: ActingDep,
    body: WaitlistRequest,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    result = app.join_waitlist(acting.program_id, acting.student_key, SectionId(body.section_id), ctx)
    return respond(result, response)


@router.put(f"{STUDENT}/stars/{{subject_id}}", summary="Star a class (lottery phase)")
def star(
    acting: ActingDep,
    subject_id: UUID,
    app: RegistrationDep,
    response: Response,
    body: ActionRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    return respond(app.star(acting.program_id, acting.student_key, SubjectId(subject_id), ctx), response)


@router.delete(f"{STUDENT}/stars/{{subject_id}}", summary="Unstar a class")
def unstar(
    acting: ActingDep,
    subject_id: UUID,
    app: RegistrationDep,
    response: Response,
    reason: ReasonQuery = "",
    override: OverrideQuery = False,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, reason=reason, override=override)
    return respond(app.unstar(acting.program_id, acting.student_key, SubjectId(subject_id), ctx), response)


@router.put(f"{STUDENT}/priorities/{{timeslot_id}}", summary="Rank classes 1..N for one timeslot")
def rank_priorities(
    acting: ActingDep,
    timeslot_id: UUID,
    body: PrioritiesRequest,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    ranking = {rank: (SubjectId(s) if s is not None else None) for rank, s in body.ranking().items()}
    result = app.rank_priorities(acting.program_id, acting.student_key, TimeslotId(timeslot_id), ranking, ctx)
    return respond(result, response)


@router.post(f"{STUDENT}/confirmation", summary="Confirm lottery preferences")
def confirm_preferences(
    acting: ActingDep,
    app: RegistrationDep,
    response: Response,
    body: ActionRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResultPublic:
    ctx = context(acting.principal, idempotency_key, body)
    return respond(app.confirm_preferences(acting.program_id, acting.student_key, ctx), response)


@router.get("/registration-types", tags=["registration types"], summary="Registration verbs of a category")
def registration_types(
    principal: PrincipalDep,
    app: RegistrationDep,
    category: Annotated[Category | None, Query(examples=["student"])] = None,
    include: Annotated[
        list[Verb] | None, Query(max_length=20, description="Admins only: verbs to create if missing")
    ] = None,
) -> list[RegistrationTypePublic]:
    """Verbs by name; `include` creates missing verbs (as the reference's get_map), so it needs admin."""
    if include and not principal.is_admin:
        raise Forbidden("Only admins may create registration types", role=principal.role)
    types = app.get_map(include or (), category, context(principal, None))
    return [
        RegistrationTypePublic(name=t.name, display_name=t.display_name, description=t.description, category=t.category)
        for _, t in sorted(types.items())
    ]
