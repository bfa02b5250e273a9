"""Response models of the catalogue and of the names beside ids (`*Public`), built from the
views' catalogue DTOs (`projections.catalogue`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, Field

from regledger.domain.program import grade_in
from regledger.projections.catalogue import ClassView, ProgramView, SectionView, StudentView, TimeslotView
from regledger.projections.views import WaitlistPlace


class TimeslotPublic(BaseModel):
    timeslot_id: UUID
    label: str
    starts: datetime
    ends: datetime
    has_lunch: bool = Field(description="A lunch class meets in it")

    @classmethod
    def of(cls, view: TimeslotView) -> TimeslotPublic:
        return cls.model_validate(timeslot_json(view))


class WindowPublic(BaseModel):
    kind: str
    opens: datetime | None
    closes: datetime | None


class ProgramPublic(BaseModel):
    position: int
    program_id: UUID
    slug: str
    title: str
    grade_min: int
    grade_max: int
    school_year: int
    timezone: str
    created_at: datetime
    settings: dict[str, Any]
    windows: list[WindowPublic]
    timeslots: list[TimeslotPublic]

    @classmethod
    def of(cls, position: int, view: ProgramView, timeslots: list[TimeslotView]) -> ProgramPublic:
        return cls(
            position=position,
            program_id=view.program_id,
            slug=view.slug,
            title=view.title,
            grade_min=view.grade_min,
            grade_max=view.grade_max,
            school_year=view.school_year,
            timezone=view.timezone,
            created_at=view.created_at,
            settings=view.settings,
            windows=[WindowPublic(kind=w.kind, opens=w.opens, closes=w.closes) for w in view.windows],
            timeslots=[TimeslotPublic.of(t) for t in timeslots],
        )


class ProgramSummaryPublic(BaseModel):
    program_id: UUID
    slug: str
    title: str
    school_year: int


class ProgramsPublic(BaseModel):
    position: int
    programs: list[ProgramSummaryPublic]


class TimeslotsPublic(BaseModel):
    position: int
    timeslots: list[TimeslotPublic]


class SectionPublic(BaseModel):
    section_id: UUID
    code: str = Field(description="Class code, `s`, section number: `M101s1`")
    index: int
    subject_id: UUID
    class_code: str
    class_title: str
    category: str
    class_status: str
    grade_min: int
    grade_max: int
    timeslots: list[TimeslotPublic]
    room_capacity: int | None
    max_class_capacity: int | None
    capacity: int
    enrolled: int
    free: int
    waitlisted: int
    is_open: bool
    is_cancelled: bool

    @classmethod
    def of(cls, view: SectionView) -> SectionPublic:
        return cls.model_validate(section_json(view))


class SectionDetailPublic(SectionPublic):
    position: int


class SectionsPublic(BaseModel):
    position: int
    sections: list[SectionPublic]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last")


class ClassPublic(BaseModel):
    subject_id: UUID
    code: str
    title: str
    category: str
    grade_min: int
    grade_max: int
    status: str
    class_size_max: int | None
    class_size_optimal: int | None
    is_lunch: bool
    sections: list[SectionPublic]

    @classmethod
    def of(cls, view: ClassView) -> ClassPublic:
        return cls.model_validate(class_json(view))


class ClassDetailPublic(ClassPublic):
    position: int


class ClassesPublic(BaseModel):
    position: int
    classes: list[ClassPublic]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last")


class StudentPublic(BaseModel):
    student_id: UUID
    key: str
    name: str | None = Field(description="Null until the student submits a profile")
    graduation_year: int | None
    grade: int | None
    email: str | None
    registered_at: datetime
    checked_in_at: datetime | None = Field(None, description="When the student checked in on the day, if they did")

    @classmethod
    def of(cls, view: StudentView, school_year: int) -> StudentPublic:
        year = view.graduation_year
        return cls(
            student_id=view.student_id,
            key=view.key,
            name=view.name,
            graduation_year=year,
            grade=None if year is None else grade_in(school_year, year),
            email=view.email,
            registered_at=view.registered_at,
            checked_in_at=view.checked_in_at,
        )


class StudentDetailPublic(StudentPublic):
    position: int


class StudentsPublic(BaseModel):
    position: int
    students: list[StudentPublic]
    next_after: str | None


class StudentRefPublic(BaseModel):
    """A student as a list shows them: id, key and name."""

    student_id: UUID
    key: str | None
    name: str | None


class RosterEntryPublic(StudentRefPublic):
    verb: str


class PassedOverPublic(BaseModel):
    code: str = Field(description="The refusal's code, e.g. timeslot_conflict")
    message: str
    at: datetime

    @classmethod
    def of(cls, place: WaitlistPlace) -> PassedOverPublic | None:
        if place.passed_over_code is None or place.passed_over_at is None:
            return None
        return cls(code=place.passed_over_code, message=place.passed_over_message or "", at=place.passed_over_at)


class WaitlistEntryPublic(StudentRefPublic):
    place: int = Field(description="1 is the head of the queue")
    since: datetime | None = Field(None, description="When the student joined the queue")
    passed_over: PassedOverPublic | None = Field(
        None, description="Why the student last could not take a free seat while in this place (kept in the queue)"
    )


class StarredClassPublic(BaseModel):
    subject_id: UUID
    code: str | None
    title: str | None


class StarIntervalPublic(StarredClassPublic):
    valid_from: datetime
    valid_to: datetime | None
    actor: str
    end_actor: str | None


class StarHistoryPublic(BaseModel):
    position: int
    stars: list[StarIntervalPublic]


class PriorityLevelPublic(BaseModel):
    position: int
    timeslot_ids: list[UUID]
    level: int = Field(description="0: enrolled in one of the timeslots; else the smallest free Priority/N level")
    priority_limit: int


# -- the models' values, and lists served as JSON bytes ------------------------------------
# A page holds hundreds of sections: building a model per section and timeslot took a fifth of
# such a request. Lists are built as these plain values, the fields of the models above (which
# still document them, validate single answers, and tests validate lists against), and dumped
# by orjson.


def timeslot_json(view: TimeslotView) -> dict[str, Any]:
    return {
        "timeslot_id": view.timeslot_id,
        "label": view.label,
        "starts": view.starts,
        "ends": view.ends,
        "has_lunch": view.has_lunch,
    }


def section_json(view: SectionView) -> dict[str, Any]:
    return {
        "section_id": view.section_id,
        "code": view.code,
        "index": view.index,
        "subject_id": view.subject_id,
        "class_code": view.class_code,
        "class_title": view.class_title,
        "category": view.category,
        "class_status": view.class_status,
        "grade_min": view.grade_min,
        "grade_max": view.grade_max,
        "timeslots": [timeslot_json(t) for t in view.timeslots],
        "room_capacity": view.room_capacity,
        "max_class_capacity": view.max_class_capacity,
        "capacity": view.capacity,
        "enrolled": view.enrolled,
        "free": view.free,
        "waitlisted": view.waitlisted,
        "is_open": view.is_open,
        "is_cancelled": view.is_cancelled,
    }


def class_json(view: ClassView) -> dict[str, Any]:
    return {
        "subject_id": view.subject_id,
        "code": view.code,
        "title": view.title,
        "category": view.category,
        "grade_min": view.grade_min,
        "grade_max": view.grade_max,
        "status": view.status,
        "class_size_max": view.class_size_max,
        "class_size_optimal": view.class_size_optimal,
        "is_lunch": view.is_lunch,
        "sections": [section_json(s) for s in view.sections],
    }


def json_response(content: dict[str, Any]) -> Response:
    # UTC as `Z`, as pydantic writes it in every other answer.
    return Response(orjson.dumps(content, option=orjson.OPT_UTC_Z), media_type="application/json")
