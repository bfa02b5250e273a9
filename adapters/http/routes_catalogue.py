"""Catalogue reads: programs, timeslots, classes, sections and students, by the names people use.

Every answer comes from the views (`projections.catalogue`) and carries their `position`;
each accepts `min_position` (read-your-writes). Students see accepted classes only, as the
reference's catalogue; admins see every status and may filter on it. Lists are paged by code
(`after`, `limit`) and answer CSV on request (`tabular.py`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from regledger.adapters.auth import Principal
from regledger.adapters.http.catalogue_models import (
    ClassDetailPublic,
    ClassesPublic,
    ClassPublic,
    ProgramPublic,
    ProgramsPublic,
    ProgramSummaryPublic,
    SectionDetailPublic,
    SectionPublic,
    SectionsPublic,
    StudentDetailPublic,
    StudentPublic,
    StudentsPublic,
    TimeslotPublic,
    TimeslotsPublic,
    class_json,
    json_response,
    section_json,
)
from regledger.adapters.http.deps import AdminDep, KnownProgram, KnownSection, KnownStudent, PrincipalDep, ViewsDep
from regledger.adapters.http.faults import ReadRetryRoute
from regledger.adapters.http.schemas import KEY_PATTERN, Category, Label, Line
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.errors import InvalidInputError, NotFoundError
from regledger.domain.ids import ProgramId, program_id, student_id, subject_id, timeslot_id
from regledger.domain.subject import STATUSES
from regledger.projections.catalogue import CatalogueFilter, ProgramView, section_id_of_code
from regledger.projections.views import RegistrationViews

router = APIRouter(tags=["catalogue"], route_class=ReadRetryRoute)

STUDENT_STATUSES = ("accepted",)
MAX_PAGE = 1000
CodePath = Annotated[str, Path(pattern=KEY_PATTERN, description="A class code, e.g. `M101`")]
SectionCodePath = Annotated[str, Path(pattern=KEY_PATTERN, description="A section code: class code, `s`, number")]
TimeslotQuery = Annotated[Label | None, Query(description="A timeslot's label or id")]
CategoryQuery = Annotated[Category | None, Query()]
GradeQuery = Annotated[int | None, Query(ge=1, le=13, description="Classes whose grade range holds it")]
FreeQuery = Annotated[bool | None, Query(description="true: sections with a free seat; false: full ones")]
StatusQuery = Annotated[
    list[str] | None, Query(max_length=len(STATUSES), description=f"Admins: class statuses {STATUSES}")
]
# Line: one line of text, no control characters (a NUL would reach PostgreSQL's text type).
AfterQuery = Annotated[Line | None, Query(description="The last code of the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]
OptionalLimit = Annotated[int | None, Query(ge=1, le=MAX_PAGE)]

SECTION_COLUMNS = (
    "code",
    "class_code",
    "class_title",
    "category",
    "class_status",
    "grade_min",
    "grade_max",
    "timeslots",
    "room_capacity",
    "max_class_capacity",
    "capacity",
    "enrolled",
    "free",
    "waitlisted",
    "is_open",
    "is_cancelled",
    "section_id",
)
STUDENT_COLUMNS = ("key", "name", "grade", "graduation_year", "email", "registered_at", "checked_in_at", "student_id")


def program_view(views: RegistrationViews, slug: str) -> ProgramView:
    view = views.program(program_id(slug))
    if view is None:  # created, but the views have not shown it yet
        raise NotFoundError("No such program in the views yet; retry with min_position", slug=slug)
    return view


def _statuses(principal: Principal, wanted: list[str] | None) -> tuple[str, ...] | None:
    if not principal.is_admin:
        return STUDENT_STATUSES
    if wanted:
        unknown = sorted(set(wanted) - set(STATUSES))
        if unknown:
            raise InvalidInputError(f"Unknown class status; one of {STATUSES}", statuses=unknown)
        return tuple(wanted)
    return None


def _timeslot(pid: ProgramId, value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        return timeslot_id(pid, value)


async def catalogue_filter(
    principal: PrincipalDep,
    slug: KnownProgram,
    timeslot: TimeslotQuery = None,
    category: CategoryQuery = None,
    grade: GradeQuery = None,
    has_free: FreeQuery = None,
    status: StatusQuery = None,
    after: AfterQuery = None,
) -> CatalogueFilter:
    """The filters of a catalogue listing, from its query parameters and the caller's role."""
    return CatalogueFilter(
        timeslot_id=_timeslot(program_id(slug), timeslot),
        category=category,
        grade=grade,
        has_free=has_free,
        statuses=_statuses(principal, status),
        after=after,
    )


FilterDep = Annotated[CatalogueFilter, Depends(catalogue_filter)]


@router.get("/programs", summary="Every program")
def programs(_principal: PrincipalDep, views: ViewsDep) -> ProgramsPublic:
    position = views.position()
    listed = [
        ProgramSummaryPublic(program_id=p.program_id, slug=p.slug, title=p.title, school_year=p.school_year)
        for p in views.programs()
    ]
    return ProgramsPublic(position=position, programs=listed)


@router.get("/programs/{slug}", summary="A program: settings, windows, timeslots")
def program(_principal: PrincipalDep, slug: KnownProgram, views: ViewsDep) -> ProgramPublic:
    position = views.position()
    view = program_view(views, slug)
    return ProgramPublic.of(position, view, views.timeslots(view.program_id))


@router.get("/programs/{slug}/timeslots", summary="A program's timeslots in time order")
def timeslots(_principal: PrincipalDep, slug: KnownProgram, views: ViewsDep) -> TimeslotsPublic:
    position = views.position()
    return TimeslotsPublic(
        position=position, timeslots=[TimeslotPublic.of(t) for t in views.timeslots(program_id(slug))]
    )


@router.get(
    "/programs/{slug}/sections",
    summary="Sections by code, filtered and paged",
    response_model=SectionsPublic,
    responses=CSV_RESPONSES,
)
def sections(
    request: Request,
    slug: KnownProgram,
    views: ViewsDep,
    where: FilterDep,
    limit: OptionalLimit = None,
    fmt: FormatQuery = None,
) -> Any:
    """JSON pages hold 50 sections unless `limit` says otherwise (up to 1000); CSV holds every one."""
    position = views.position()
    csv_wanted = wants_csv(request, fmt)
    limit = limit or (None if csv_wanted else 50)
    # One more than the page: is there a next page?
    where = replace(where, limit=None if limit is None else limit + (0 if csv_wanted else 1))
    found = views.section_views(program_id(slug), where)
    if csv_wanted:
        rows = [{**section_json(s), "timeslots": [t.label for t in s.timeslots]} for s in found]
        return csv_response(SECTION_COLUMNS, rows, f"{slug}-sections")
    assert limit is not None
    next_after = found[limit - 1].code if len(found) > limit else None
    page = [section_json(s) for s in found[:limit]]
    return json_response({"position": position, "sections": page, "next_after": next_after})


@router.get("/programs/{slug}/sections/{code}", summary="A section by its code (`M101s1`)")
def section_by_code(
    principal: PrincipalDep, slug: KnownProgram, code: SectionCodePath, views: ViewsDep
) -> SectionDetailPublic:
    position = views.position()
    sid = section_id_of_code(program_id(slug), code)
    view = None if sid is None else views.section_view(sid)
    if view is None or not _visible(principal, view.class_status):
        raise NotFoundError("No such section", slug=slug, code=code)
    return SectionDetailPublic(position=position, **SectionPublic.of(view).model_dump())


@router.get("/sections/{section_id}", summary="A section by id, with its class and counts")
def section(principal: PrincipalDep, section_id: KnownSection, views: ViewsDep) -> SectionDetailPublic:
    position = views.position()
    view = views.section_view(section_id)
    if view is None or not _visible(principal, view.class_status):
        raise NotFoundError("No such section in the views yet; retry with min_position", section_id=str(section_id))
    return SectionDetailPublic(position=position, **SectionPublic.of(view).model_dump())


def _visible(principal: Principal, status: str) -> bool:
    return principal.is_admin or status in STUDENT_STATUSES


@router.get(
    "/programs/{slug}/classes", summary="Classes with their sections, filtered and paged", response_model=ClassesPublic
)
def classes(
    slug: KnownProgram,
    views: ViewsDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Classes per page (default 25)")] = 25,
) -> Response:
    position = views.position()
    found = views.classes(program_id(slug), replace(where, limit=limit + 1))
    next_after = found[limit - 1].code if len(found) > limit else None
    return json_response(
        {"position": position, "classes": [class_json(c) for c in found[:limit]], "next_after": next_after}
    )


@router.get("/programs/{slug}/classes/{code}", summary="A class by its code, with its sections")
def class_by_code(principal: PrincipalDep, slug: KnownProgram, code: CodePath, views: ViewsDep) -> ClassDetailPublic:
    position = views.position()
    pid = program_id(slug)
    found = views.classes(
        pid, CatalogueFilter(subject_ids=(subject_id(pid, code),), statuses=_statuses(principal, None))
    )
    match = found[0] if found else None
    if match is None:
        raise NotFoundError("No such class", slug=slug, code=code)
    return ClassDetailPublic(position=position, **ClassPublic.of(match).model_dump())


@router.get("/programs/{slug}/students", summary="Admins: the program's students by key", responses=CSV_RESPONSES)
def students(
    request: Request,
    _admin: AdminDep,
    slug: KnownProgram,
    views: ViewsDep,
    search: Annotated[Line | None, Query(description="A key or name prefix, any case")] = None,
    after: AfterQuery = None,
    limit: OptionalLimit = None,
    fmt: FormatQuery = None,
) -> Any:
    """JSON pages hold 200 students unless `limit` says otherwise; CSV holds every one."""
    position = views.position()
    view = program_view(views, slug)
    if wants_csv(request, fmt):
        found = views.program_students(view.program_id, search=search, after=after, limit=limit)
        rows = [StudentPublic.of(s, view.school_year).model_dump() for s in found]
        return csv_response(STUDENT_COLUMNS, rows, f"{slug}-students")
    limit = limit or 200
    found = views.program_students(view.program_id, search=search, after=after, limit=limit + 1)
    page = [StudentPublic.of(s, view.school_year) for s in found[:limit]]
    return StudentsPublic(position=position, students=page, next_after=page[-1].key if len(found) > limit else None)


@router.get("/programs/{slug}/students/{key}", summary="A student: key, name, grade (the student or an admin)")
def student(acting: KnownStudent, views: ViewsDep) -> StudentDetailPublic:
    position = views.position()
    view = program_view(views, acting.slug)
    sid = student_id(acting.program_id, acting.student_key)
    found = views.student_views([sid]).get(sid)
    if found is None:
        raise NotFoundError("No such student in the views yet; retry with min_position", student_key=acting.student_key)
    return StudentDetailPublic(position=position, **StudentPublic.of(found, view.school_year).model_dump())
