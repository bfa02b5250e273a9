"""Student command endpoints (a student token acts only for itself) and registration types."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from regledger.adapters.http.deps import (
    REPLAYED,
    Forbidden,
    OverrideQuery,
    PrincipalDep,
    ReasonQuery,
    RegistrationDep,
    StudentCommand,
    StudentCommandDep,
    context,
)
from regledger.adapters.http.responses import CommandResultPublic, RegistrationTypePublic
from regledger.adapters.http.schemas import (
    ActionRequest,
    Category,
    PrioritiesRequest,
    ProfileRequest,
    RegistrationRequest,
    SwitchRequest,
    Verb,
    WaitlistRequest,
)
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import SectionId, SubjectId, TimeslotId
from regledger.projections.catalogue import section_id_of_code

router = APIRouter(tags=["students"])

STUDENT = "/programs/{slug}/students/{key}"


@router.put(f"{STUDENT}/profile", summary="Submit or update the student's profile")
def submit_profile(cmd: StudentCommandDep, body: ProfileRequest) -> CommandResultPublic:
    ctx = cmd.ctx(body)
    result = cmd.app.submit_profile(
        cmd.program_id, cmd.student_key, body.name, body.graduation_year, dict(body.contacts), ctx
    )
    return cmd.respond(result)


@router.post(
    f"{STUDENT}/registrations",
    status_code=201,
    responses=REPLAYED,
    summary="Register for a section (Enrolled takes a seat)",
)
def add_registration(cmd: StudentCommandDep, body: RegistrationRequest) -> CommandResultPublic:
    ctx = cmd.ctx(body)
    result = cmd.app.add_section(
        cmd.program_id, cmd.student_key, SectionId(body.section_id), ctx, body.verb, replace=body.replace
    )
    return cmd.respond(result, created=True)


@router.delete(f"{STUDENT}/registrations/{{section_id}}", summary="Drop registrations on a section")
def drop_registration(
    cmd: StudentCommandDep,
    section_id: Annotated[str, Path(max_length=64, description="The section's id, or its code (`M101s1`)")],
    verbs: Annotated[
        list[Verb] | None,
        Query(max_length=20, description="Verbs to end (default: the program's visible verbs; 'All' for every verb)"),
    ] = None,
    body: ActionRequest | None = None,
    reason: ReasonQuery = "",
    override: OverrideQuery = False,
) -> CommandResultPublic:
    """`reason` and `override` go in the body as for every command (the query parameters are
    kept for older clients)."""
    ctx = cmd.ctx(body, reason=reason, override=override)
    section = _section(cmd, section_id)
    return cmd.respond(cmd.app.drop_section(cmd.program_id, cmd.student_key, section, ctx, verbs or None))


def _section(cmd: StudentCommand, text: str) -> SectionId:
    """A section of the student's program by id or code (unknown ids are the command's 404)."""
    try:
        return SectionId(UUID(text))
    except ValueError:
        found = section_id_of_code(cmd.program_id, text)
        if found is None:
            raise NotFoundError("No such section", section=text) from None
        return found


@router.post(f"{STUDENT}/switch", summary="Move a seat to another section of the same class, atomically")
def switch_sections(cmd: StudentCommandDep, body: SwitchRequest) -> CommandResultPublic:
    ctx = cmd.ctx(body)
    result = cmd.app.switch_sections(
        cmd.program_id, cmd.student_key, SectionId(body.from_section_id), SectionId(body.to_section_id), ctx
    )
    return cmd.respond(result)


@router.post(f"{STUDENT}/waitlist", status_code=201, responses=REPLAYED, summary="Join a section's waitlist")
def join_waitlist(cmd: StudentCommandDep, body: WaitlistRequest) -> CommandResultPublic:
    ctx = cmd.ctx(body)
    result = cmd.app.join_waitlist(cmd.program_id, cmd.student_key, SectionId(body.section_id), ctx)
    return cmd.respond(result, created=True)


@router.put(f"{STUDENT}/stars/{{subject_id}}", summary="Star a class (lottery phase)")
def star(cmd: StudentCommandDep, subject_id: UUID, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.star(cmd.program_id, cmd.student_key, SubjectId(subject_id), cmd.ctx(body)))


@router.delete(f"{STUDENT}/stars/{{subject_id}}", summary="Unstar a class")
def unstar(
    cmd: StudentCommandDep,
    subject_id: UUID,
    body: ActionRequest | None = None,
    reason: ReasonQuery = "",
    override: OverrideQuery = False,
) -> CommandResultPublic:
    ctx = cmd.ctx(body, reason=reason, override=override)
    return cmd.respond(cmd.app.unstar(cmd.program_id, cmd.student_key, SubjectId(subject_id), ctx))


@router.put(f"{STUDENT}/priorities/{{timeslot_id}}", summary="Rank classes 1..N for one timeslot")
def rank_priorities(cmd: StudentCommandDep, timeslot_id: UUID, body: PrioritiesRequest) -> CommandResultPublic:
    ctx = cmd.ctx(body)
    ranking = {rank: (SubjectId(s) if s is not None else None) for rank, s in body.ranking().items()}
    result = cmd.app.rank_priorities(cmd.program_id, cmd.student_key, TimeslotId(timeslot_id), ranking, ctx)
    return cmd.respond(result)


@router.post(f"{STUDENT}/confirmation", summary="Confirm lottery preferences")
def confirm_preferences(cmd: StudentCommandDep, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.confirm_preferences(cmd.program_id, cmd.student_key, cmd.ctx(body)))


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
