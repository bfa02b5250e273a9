"""Query endpoints over the registration views; each accepts `min_position` (read-your-writes)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from regledger.adapters.http.deps import AdminDep, KnownProgram, KnownSection, KnownStudent, PrincipalDep, ViewsDep
from regledger.adapters.http.faults import ReadRetryRoute
from regledger.adapters.http.responses import (
    CountsPublic,
    DemandPublic,
    HistoryPublic,
    IntervalPublic,
    RosterPublic,
    ScheduleEntryPublic,
    SchedulePublic,
    SeatCountPublic,
    StarsPublic,
    WaitlistPublic,
)
from regledger.adapters.http.schemas import Instant, Verb
from regledger.domain.ids import program_id, student_id
from regledger.projections.views import Interval

# Queries only read: after a transient database fault each runs once more (faults.py).
router = APIRouter(tags=["queries"], route_class=ReadRetryRoute)

STUDENT = "/programs/{slug}/students/{key}"
VerbsQuery = Annotated[list[Verb] | None, Query(max_length=20, description="Only these verbs (default: all)")]
AsOfQuery = Annotated[Instant | None, Query(description="Answer as of this instant (timezone-aware)")]


def _intervals(rows: list[Interval]) -> list[IntervalPublic]:
    return [IntervalPublic(**{k: v for k, v in asdict(r).items() if k != "program_id"}) for r in rows]


@router.get("/sections/{section_id}/roster", summary="Students holding a verb on a section (default Enrolled)")
def roster(
    section_id: UUID,
    _admin: AdminDep,
    _known: KnownSection,
    views: ViewsDep,
    verbs: VerbsQuery = None,
    as_of: AsOfQuery = None,
) -> RosterPublic:
    position = views.position()
    students = views.students(section_id, verbs or ("Enrolled",), as_of=as_of)
    return RosterPublic(position=position, section_id=section_id, student_ids=students)


@router.get(f"{STUDENT}/schedule", summary="A student's registrations, with timeslots")
def schedule(
    acting: KnownStudent, views: ViewsDep, verbs: VerbsQuery = None, as_of: AsOfQuery = None
) -> SchedulePublic:
    position = views.position()
    sid = student_id(acting.program_id, acting.student_key)
    entries = views.sections(sid, acting.program_id, verbs or None, as_of=as_of)
    return SchedulePublic(
        position=position,
        student_id=sid,
        entries=[ScheduleEntryPublic(**{**asdict(e), "timeslot_ids": list(e.timeslot_ids)}) for e in entries],
    )


@router.get(f"{STUDENT}/history", summary="Every registration interval of a student, in time order")
def student_history(acting: KnownStudent, views: ViewsDep) -> HistoryPublic:
    position = views.position()
    rows = views.history(student_id=student_id(acting.program_id, acting.student_key))
    return HistoryPublic(position=position, intervals=_intervals(rows))


@router.get(f"{STUDENT}/stars", summary="Classes the student has starred")
def stars(acting: KnownStudent, views: ViewsDep) -> StarsPublic:
    position = views.position()
    return StarsPublic(position=position, subject_ids=views.stars_of(student_id(acting.program_id, acting.student_key)))


@router.get("/sections/{section_id}/history", summary="Every registration interval on a section")
def section_history(section_id: UUID, _admin: AdminDep, _known: KnownSection, views: ViewsDep) -> HistoryPublic:
    position = views.position()
    return HistoryPublic(position=position, intervals=_intervals(views.history(section_id=section_id)))


@router.get("/sections/{section_id}/waitlist", summary="A section's waitlist in queue order")
def waitlist(section_id: UUID, _admin: AdminDep, _known: KnownSection, views: ViewsDep) -> WaitlistPublic:
    position = views.position()
    return WaitlistPublic(position=position, section_id=section_id, student_ids=views.waitlist(section_id))


@router.get("/sections/{section_id}/interest", summary="Stars, priorities and registrations per verb on a section")
def interest(section_id: UUID, _admin: AdminDep, _known: KnownSection, views: ViewsDep) -> DemandPublic:
    position = views.position()
    demand = views.demand(section_id)
    return DemandPublic(
        position=position,
        section_id=section_id,
        stars=demand.stars,
        priorities=demand.priorities,
        verb_counts=views.verb_counts(section_id),
    )


@router.get("/programs/{slug}/counts", summary="Seats per section and students in the program")
def counts(_principal: PrincipalDep, slug: KnownProgram, views: ViewsDep) -> CountsPublic:
    position = views.position()
    pid = program_id(slug)
    sections = [SeatCountPublic(**{**asdict(c), "free": c.free}) for c in views.seat_counts(pid)]
    return CountsPublic(position=position, students=views.students_in_program(pid), sections=sections)
