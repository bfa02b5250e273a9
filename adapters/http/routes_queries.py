"""Query endpoints over the registration views, with names beside ids; each accepts
`min_position` (read-your-writes), and the lists a registrar exports answer CSV on request.

`as_of` takes an ISO 8601 time; without an offset it is read in the program's timezone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from regledger.adapters.http.catalogue_models import (
    PassedOverPublic,
    PriorityLevelPublic,
    RosterEntryPublic,
    StarHistoryPublic,
    StarIntervalPublic,
    StarredClassPublic,
    TimeslotPublic,
    WaitlistEntryPublic,
    json_response,
)
from regledger.adapters.http.deps import AdminDep, KnownProgram, KnownSection, KnownStudent, PrincipalDep, ViewsDep
from regledger.adapters.http.faults import ReadRetryRoute
from regledger.adapters.http.naming import Names
from regledger.adapters.http.program_rosters import router as rosters_router
from regledger.adapters.http.responses import (
    CountsPublic,
    DemandPublic,
    HistoryPublic,
    IntervalPublic,
    RosterPublic,
    ScheduleEntryPublic,
    SchedulePublic,
    StarsPublic,
    WaitlistPublic,
)
from regledger.adapters.http.schemas import Label, LocalInstant, Verb
from regledger.adapters.http.section_codes import add_code_route
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id, student_id, timeslot_id
from regledger.domain.values import ENROLLED, in_zone
from regledger.projections.catalogue import CatalogueFilter, section_code
from regledger.projections.views import Interval, RegistrationViews, priority_level

# Queries only read: after a transient database fault each runs once more (faults.py).
router = APIRouter(tags=["queries"], route_class=ReadRetryRoute)
router.include_router(rosters_router)

STUDENT = "/programs/{slug}/students/{key}"
VerbsQuery = Annotated[list[Verb] | None, Query(max_length=20, description="Only these verbs (default: all)")]
AsOfQuery = Annotated[
    LocalInstant | None, Query(description="Answer as of this time (no offset: the program's timezone)")
]
INTERVAL_COLUMNS = (
    "valid_from",
    "valid_to",
    "student_key",
    "section_code",
    "verb",
    "cause",
    "actor",
    "reason",
    "end_cause",
    "end_actor",
    "end_reason",
    "lottery_run_id",
    "student_id",
    "section_id",
    "command_id",
    "end_command_id",
    "position",
)


def local(views: RegistrationViews, program: UUID | None, when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    found = None if program is None else views.program(program)
    return in_zone(when, "UTC" if found is None else found.timezone)


def _intervals(views: RegistrationViews, rows: list[Interval]) -> list[IntervalPublic]:
    names = Names(views).load(students={r.student_id for r in rows}, sections={r.section_id for r in rows})
    return [
        IntervalPublic(
            **{k: v for k, v in vars(r).items() if k != "program_id"},  # shallow: asdict deep-copies
            student_key=names.key(r.student_id),
            section_code=names.code(r.section_id),
        )
        for r in rows
    ]


def _history(request: Request, fmt: str | None, position: int, intervals: list[IntervalPublic], name: str) -> Any:
    if wants_csv(request, fmt):
        return csv_response(INTERVAL_COLUMNS, [i.model_dump() for i in intervals], name)
    return HistoryPublic(position=position, intervals=intervals)


@router.get(
    "/sections/{section_id}/roster",
    summary="Students holding a verb on a section (default Enrolled), with keys and names",
    responses=CSV_RESPONSES,
)
def roster(
    request: Request,
    section_id: KnownSection,
    _admin: AdminDep,
    views: ViewsDep,
    verbs: VerbsQuery = None,
    as_of: AsOfQuery = None,
    fmt: FormatQuery = None,
) -> Any:
    position = views.position()
    section = views.section_view(section_id)
    when = local(views, None if section is None else section.program_id, as_of)
    held = [(verb, views.students(section_id, (verb,), as_of=when)) for verb in dict.fromkeys(verbs or (ENROLLED,))]
    names = Names(views).load(students={s for _, ids in held for s in ids})
    entries = sorted(
        (RosterEntryPublic(**names.student(s).model_dump(), verb=verb) for verb, ids in held for s in ids),
        key=lambda e: (e.key or str(e.student_id), e.verb),
    )
    if wants_csv(request, fmt):
        code = section.code if section is not None else str(section_id)
        columns = ("key", "name", "verb", "student_id")
        return csv_response(columns, [e.model_dump() for e in entries], f"roster-{code}")
    return RosterPublic(
        position=position,
        section_id=section_id,
        section_code=None if section is None else section.code,
        class_title=None if section is None else section.class_title,
        as_of=when,
        count=len({e.student_id for e in entries}),
        capacity=None if section is None else section.capacity,
        student_ids=sorted({e.student_id for e in entries}, key=str),
        entries=entries,
    )


@router.get(
    f"{STUDENT}/schedule", summary="A student's registrations, with classes and timeslots", responses=CSV_RESPONSES
)
def schedule(
    request: Request,
    acting: KnownStudent,
    views: ViewsDep,
    verbs: VerbsQuery = None,
    as_of: AsOfQuery = None,
    fmt: FormatQuery = None,
) -> Any:
    position = views.position()
    sid = student_id(acting.program_id, acting.student_key)
    when = local(views, acting.program_id, as_of)
    entries = views.sections(sid, acting.program_id, verbs or None, as_of=when)
    slots = {t.timeslot_id: TimeslotPublic.of(t) for t in views.timeslots(acting.program_id)} if entries else {}
    public = [
        ScheduleEntryPublic.model_construct(  # unvalidated: typed rows of the views
            section_id=e.section_id,
            subject_id=e.subject_id,
            verb=e.verb,
            since=e.since,
            timeslot_ids=list(e.timeslot_ids),
            section_code=section_code(e.class_code, e.section_index) if e.class_code else None,
            section_index=e.section_index or None,
            class_code=e.class_code or None,
            class_title=e.class_title or None,
            timeslots=[slots[t] for t in e.timeslot_ids if t in slots],
        )
        for e in entries
    ]
    public.sort(key=lambda e: (min((t.starts for t in e.timeslots), default=e.since), e.section_code or "", e.verb))
    if wants_csv(request, fmt):
        columns = ("timeslots", "section_code", "class_title", "verb", "since", "section_id")
        rows = [{**e.model_dump(), "timeslots": [t.label for t in e.timeslots]} for e in public]
        return csv_response(columns, rows, f"schedule-{acting.slug}-{acting.student_key}")
    return SchedulePublic(position=position, student_id=sid, entries=public)


@router.get(
    f"{STUDENT}/history", summary="Every registration interval of a student, in time order", responses=CSV_RESPONSES
)
def student_history(request: Request, acting: KnownStudent, views: ViewsDep, fmt: FormatQuery = None) -> Any:
    position = views.position()
    rows = views.history(student_id=student_id(acting.program_id, acting.student_key))
    return _history(request, fmt, position, _intervals(views, rows), f"history-{acting.slug}-{acting.student_key}")


@router.get(
    "/sections/{section_id}/history", summary="Every registration interval on a section", responses=CSV_RESPONSES
)
def section_history(
    request: Request, section_id: KnownSection, _admin: AdminDep, views: ViewsDep, fmt: FormatQuery = None
) -> Any:
    position = views.position()
    intervals = _intervals(views, views.history(section_id=section_id))
    return _history(request, fmt, position, intervals, f"history-{section_id}")


@router.get(f"{STUDENT}/stars", summary="Classes the student has starred, with codes and titles")
def stars(acting: KnownStudent, views: ViewsDep) -> StarsPublic:
    position = views.position()
    subject_ids = views.stars_of(student_id(acting.program_id, acting.student_key))
    return StarsPublic(
        position=position, subject_ids=subject_ids, classes=_starred(views, acting.program_id, subject_ids)
    )


def _starred(views: RegistrationViews, program: UUID, subject_ids: list[UUID]) -> list[StarredClassPublic]:
    found = {c.subject_id: c for c in views.classes(program, CatalogueFilter(subject_ids=tuple(subject_ids)))}
    return [
        StarredClassPublic(
            subject_id=sid,
            code=None if sid not in found else found[sid].code,
            title=None if sid not in found else found[sid].title,
        )
        for sid in subject_ids
    ]


@router.get(f"{STUDENT}/stars/history", summary="Every star and unstar of the student, in time order")
def star_history(acting: KnownStudent, views: ViewsDep) -> StarHistoryPublic:
    position = views.position()
    rows = views.star_history(student_id(acting.program_id, acting.student_key))
    named = {c.subject_id: c for c in _starred(views, acting.program_id, sorted({r.subject_id for r in rows}, key=str))}
    return StarHistoryPublic(
        position=position,
        stars=[
            StarIntervalPublic(
                **named[r.subject_id].model_dump(),
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                actor=r.actor,
                end_actor=r.end_actor,
            )
            for r in rows
        ],
    )


@router.get(f"{STUDENT}/priority-level", summary="The Priority/N level the student's next pick in timeslots takes")
def registration_priority(
    acting: KnownStudent,
    views: ViewsDep,
    timeslot: Annotated[list[Label], Query(min_length=1, max_length=50, description="Timeslot labels or ids")],
) -> PriorityLevelPublic:
    """ESP's `getRegistrationPriority` as documented (not as coded): 0 if the student is
    Enrolled in one of the timeslots, else the smallest N with no Priority/N held there."""
    position = views.position()
    program = views.program(acting.program_id)
    if program is None:
        raise NotFoundError("No such program in the views yet; retry with min_position", slug=acting.slug)
    known = {t.timeslot_id for t in views.timeslots(acting.program_id)}
    wanted = []
    for value in timeslot:
        try:
            tid = UUID(value)
        except ValueError:
            tid = timeslot_id(acting.program_id, value)
        if tid not in known:
            raise NotFoundError("No such timeslot in this program", timeslot=value)
        wanted.append(tid)
    entries = views.sections(student_id(acting.program_id, acting.student_key), acting.program_id)
    return PriorityLevelPublic(
        position=position,
        timeslot_ids=wanted,
        level=priority_level(entries, wanted),
        priority_limit=int(program.settings["priority_limit"]),
    )


@router.get("/sections/{section_id}/waitlist", summary="A section's waitlist in queue order, with keys and names")
def waitlist(section_id: KnownSection, _admin: AdminDep, views: ViewsDep) -> WaitlistPublic:
    position = views.position()
    places = views.waitlist_places(section_id)
    queue = [p.student_id for p in places]
    names = Names(views).load(students=queue, sections=[section_id])
    return WaitlistPublic(
        position=position,
        section_id=section_id,
        section_code=names.code(section_id),
        student_ids=queue,
        entries=[
            WaitlistEntryPublic(
                **names.student(p.student_id).model_dump(),
                place=place,
                since=p.since,
                passed_over=PassedOverPublic.of(p),
            )
            for place, p in enumerate(places, start=1)
        ],
    )


@router.get("/sections/{section_id}/interest", summary="Stars, priorities and registrations per verb on a section")
def interest(section_id: KnownSection, _admin: AdminDep, views: ViewsDep) -> DemandPublic:
    position = views.position()
    demand = views.demand(section_id)
    return DemandPublic(
        position=position,
        section_id=section_id,
        stars=demand.stars,
        priorities=demand.priorities,
        verb_counts=views.verb_counts(section_id),
    )


@router.get(
    "/programs/{slug}/counts",
    summary="Seats per section (with codes) and students in the program",
    response_model=CountsPublic,
)
def counts(_principal: PrincipalDep, slug: KnownProgram, views: ViewsDep) -> Response:
    position = views.position()
    pid = program_id(slug)
    sections = [
        {
            "section_id": s.section_id,
            "code": s.code,
            "class_title": s.class_title,
            "subject_id": s.subject_id,
            "capacity": s.capacity,
            "taken": s.enrolled,
            "free": s.free,
            "waitlisted": s.waitlisted,
            "is_open": s.is_open,
            "is_cancelled": s.is_cancelled,
        }
        for s in sorted(views.section_views(pid), key=lambda s: str(s.section_id))
    ]
    # Every section of the program: plain values dumped by orjson, not a model per section.
    return json_response({"position": position, "students": views.students_in_program(pid), "sections": sections})


for _suffix, _handler in (
    ("/roster", roster),
    ("/history", section_history),
    ("/waitlist", waitlist),
    ("/interest", interest),
):
    _route = next(r for r in router.routes if getattr(r, "endpoint", None) is _handler)
    add_code_route(
        router,
        "GET",
        _suffix,
        _handler,
        summary=f"{getattr(_route, 'summary', '')} (the section by its code)",
        responses=getattr(_route, "responses", None),
    )
