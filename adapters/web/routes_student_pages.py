"""The registrar's Students tab: search the program's students, and one student's whole record.

Both pages read through the JSON API's own route functions (`routes_catalogue.students`,
`routes_queries.schedule`, `stars`, `student_history`, ...), so they show exactly what the API
answers. The admin action forms on a student's page post to `student_actions.py`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from regledger.adapters.http import routes_catalogue, routes_queries
from regledger.adapters.http.deps import Acting, Api, KeyPath, SlugPath, check_program
from regledger.adapters.http.existence import STUDENT
from regledger.adapters.http.responses import HistoryPublic, ScheduleEntryPublic, SchedulePublic
from regledger.adapters.http.schemas import KEY_PATTERN, Line
from regledger.adapters.web.deps import AdminSession
from regledger.adapters.web.pages import WebRoute, api_of, render
from regledger.adapters.web.session import WebSession
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id, student_id
from regledger.domain.values import (
    APPLIED,
    ENROLLED,
    INTERESTED,
    PRIORITY_PREFIX,
    WAITLISTED,
    in_zone,
    priority_level_of,
    priority_verb,
)
from regledger.projections.catalogue import CatalogueFilter, ProgramView
from regledger.projections.views import RegistrationViews

router = APIRouter(include_in_schema=False, route_class=WebRoute)

PAGE = 50  # rows per list page: each row also counts the student's seats (one indexed read)
SearchQuery = Annotated[Line | None, Query(description="A key or name prefix")]
AfterQuery = Annotated[str | None, Query(pattern=KEY_PATTERN)]


def clock(program: ProgramView) -> Any:
    """A formatter of instants in the program's timezone (for the templates)."""

    def show(when: datetime | None) -> str:
        return "" if when is None else in_zone(when, program.timezone).strftime("%Y-%m-%d %H:%M:%S")

    return show


def student_url(slug: str, key: str) -> str:
    return f"/admin/p/{slug}/students/{key}"


@router.get("/admin/p/{slug}/students")
def students_page(
    request: Request, session: AdminSession, slug: SlugPath, q: SearchQuery = None, after: AfterQuery = None
) -> Response:
    api = api_of(request)
    check_program(api, slug)
    views = api.views
    program = routes_catalogue.program_view(views, slug)
    search = (q or "").strip() or None
    found = routes_catalogue.students(
        request, session.principal, slug, views, search=search, after=after, limit=PAGE, fmt=None
    )
    pid = program_id(slug)
    enrolled = {
        s.student_id: len(
            {r.section_id for r in views.current_registrations(pid, student_id=s.student_id, verbs=(ENROLLED,))}
        )
        for s in found.students
    }
    context = {
        "session": session,
        "program": program,
        "tab": "students",
        "q": search or "",
        "after": after,
        "students": found.students,
        "enrolled": enrolled,
        "next_after": found.next_after,
        "page_size": PAGE,
    }
    return render(request, "admin/students.html", context)


@dataclass(frozen=True)
class HistoryLine:
    """One thing that happened to the student: a registration or star began or ended."""

    when: datetime
    order: int  # the log position, to keep same-instant events in order
    what: str
    verb: str
    target: str  # section code or class code
    cause: str
    actor: str
    reason: str


def timeline(history: HistoryPublic, stars: list[Any]) -> list[HistoryLine]:
    """Registration intervals and stars as the events that opened and closed them, oldest first."""
    lines: list[HistoryLine] = []
    for i in history.intervals:
        code = i.section_code or str(i.section_id)
        lines.append(HistoryLine(i.valid_from, i.position, "registered", i.verb, code, i.cause, i.actor, i.reason))
        if i.valid_to is not None:
            lines.append(
                HistoryLine(
                    i.valid_to,
                    i.position,
                    "ended",
                    i.verb,
                    code,
                    i.end_cause or "",
                    i.end_actor or "",
                    i.end_reason or "",
                )
            )
    for s in stars:
        code = s.code or str(s.subject_id)
        lines.append(HistoryLine(s.valid_from, 0, "starred", "", code, "star", s.actor, ""))
        if s.valid_to is not None:
            lines.append(HistoryLine(s.valid_to, 0, "unstarred", "", code, "unstar", s.end_actor or "", ""))
    return sorted(lines, key=lambda line: (line.when, line.order))


@dataclass(frozen=True)
class WaitlistPlace:
    section_id: UUID
    code: str
    title: str
    place: int
    length: int
    since: datetime


def waitlist_places(views: RegistrationViews, sid: UUID, entries: list[ScheduleEntryPublic]) -> list[WaitlistPlace]:
    """The student's place (1 = next; 0 if not in the queue) in each waitlist their schedule holds."""
    places = []
    for e in entries:
        if e.verb != WAITLISTED:
            continue
        queue = views.waitlist(e.section_id)
        place = queue.index(sid) + 1 if sid in queue else 0
        code = e.section_code or str(e.section_id)
        places.append(WaitlistPlace(e.section_id, code, e.class_title or "", place, len(queue), e.since))
    return places


@dataclass(frozen=True)
class Priority:
    timeslot: str
    level: int
    code: str
    title: str


def priorities(entries: list[ScheduleEntryPublic]) -> list[Priority]:
    """Priority/N registrations, per timeslot then level (a ranked list per timeslot)."""
    found = []
    for e in entries:
        level = priority_level_of(e.verb) if e.verb.startswith(PRIORITY_PREFIX) else None
        if level is None:
            continue
        for label in [t.label for t in e.timeslots] or ["(no timeslot)"]:
            found.append(Priority(label, level, e.section_code or str(e.section_id), e.class_title or ""))
    return sorted(found, key=lambda p: (p.timeslot, p.level, p.code))


def held_sections(entries: list[ScheduleEntryPublic]) -> list[tuple[str, str, str]]:
    """(code, class title, verbs held) per section the student holds anything on: what a drop can end."""
    held: dict[str, tuple[str, list[str]]] = {}
    for e in entries:
        code = e.section_code or str(e.section_id)
        held.setdefault(code, (e.class_title or "", []))[1].append(e.verb)
    return [(code, title, ", ".join(verbs)) for code, (title, verbs) in sorted(held.items())]


def acting_for(api: Api, session: WebSession, slug: str, key: str) -> Acting:
    """The student, checked to exist (as the API's KnownStudent dependency does)."""
    check_program(api, slug)
    if not api.existence.exists(student_id(program_id(slug), key), STUDENT):
        raise NotFoundError("No such student in this program", slug=slug, student_key=key)
    return Acting(session.principal, slug, key)


def _switch_targets(views: RegistrationViews, pid: UUID, schedule: list[ScheduleEntryPublic]) -> list[Any]:
    """Other sections of the classes the student holds a seat in (where a switch can go)."""
    held = {e.section_id for e in schedule if e.verb == ENROLLED}
    subjects = tuple(sorted({e.subject_id for e in schedule if e.verb == ENROLLED}, key=str))
    if not subjects:
        return []
    found = views.section_views(pid, CatalogueFilter(subject_ids=subjects))
    return sorted((s for s in found if s.section_id not in held), key=lambda s: s.code)


@router.get("/admin/p/{slug}/students/{key}")
def student_page(request: Request, session: AdminSession, slug: SlugPath, key: KeyPath) -> Response:
    api = api_of(request)
    views = api.views
    acting = acting_for(api, session, slug, key)
    program = routes_catalogue.program_view(views, slug)
    student = routes_catalogue.student(acting, views)
    schedule: SchedulePublic = routes_queries.schedule(request, acting, views, verbs=None, as_of=None, fmt=None)
    stars = routes_queries.stars(acting, views)
    star_history = routes_queries.star_history(acting, views)
    history: HistoryPublic = routes_queries.student_history(request, acting, views, fmt=None)
    by_verb: dict[str, list[ScheduleEntryPublic]] = defaultdict(list)
    for entry in schedule.entries:
        by_verb[entry.verb].append(entry)
    limit = int(program.settings.get("priority_limit", 0) or 0)
    context = {
        "session": session,
        "program": program,
        "tab": "students",
        "student": student,
        "schedule": schedule.entries,
        "enrolled": by_verb.get(ENROLLED, []),
        "stars": stars.classes,
        "priorities": priorities(schedule.entries),
        "waitlists": waitlist_places(views, student.student_id, schedule.entries),
        "timeline": timeline(history, star_history.stars),
        "held": held_sections(schedule.entries),
        "switch_targets": _switch_targets(views, program.program_id, schedule.entries),
        "verbs": [ENROLLED, WAITLISTED, INTERESTED, APPLIED, *(priority_verb(n) for n in range(1, limit + 1))],
        "when": clock(program),
        "command_ids": {form: str(uuid4()) for form in ("add", "drop", "switch", "unenroll")},
        "base": student_url(slug, key),
    }
    return render(request, "admin/student.html", context)
