"""What the student page shows, gathered through the JSON API's own read routes.

The program (settings, windows, timeslots), the student, their schedule and stars come from
the API's route functions; the catalogue from the same view query the API's section listing
makes, with a student's filter (accepted classes only). The page then groups it by timeslot
and works out which actions apply to each section; the application still decides every one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from starlette.requests import Request

from regledger.adapters.http import routes_catalogue, routes_queries
from regledger.adapters.http.catalogue_models import (
    ProgramPublic,
    SectionPublic,
    StudentDetailPublic,
    TimeslotPublic,
    WindowPublic,
)
from regledger.adapters.http.deps import Acting, Api
from regledger.adapters.http.responses import ScheduleEntryPublic, StarsPublic
from regledger.adapters.http.routes_catalogue import STUDENT_STATUSES
from regledger.adapters.web.routes_student_pages import waitlist_places
from regledger.domain.ids import ProgramId, program_id, student_id
from regledger.domain.program import Window
from regledger.domain.request_commands import request_level_of
from regledger.domain.values import ENROLLED, WAITLISTED, priority_level_of
from regledger.projections.catalogue import CatalogueFilter, SectionView
from regledger.projections.views import RegistrationViews

# Above this many catalogue sections the page shows one timeslot at a time (Splash: ~700).
ALL_AT_ONCE = 150


@dataclass(frozen=True)
class Phase:
    """Which registration windows are open now (no window set: always open)."""

    lottery: WindowPublic | None
    classes: WindowPublic | None
    lottery_open: bool
    classes_open: bool
    # Shown only when the program set a class_change window (no window: the page stays quiet,
    # though the API accepts requests) and it is open now.
    class_change: WindowPublic | None = None
    class_change_open: bool = False


def _open(window: WindowPublic | None, now: datetime) -> bool:
    """The domain's rule (`Window.contains`), so the page says what the commands will enforce."""
    return window is None or Window(window.opens, window.closes).contains(now)


def phase_of(program: ProgramPublic, now: datetime) -> Phase:
    windows = {w.kind: w for w in program.windows}
    lottery, classes, change = windows.get("lottery"), windows.get("classes"), windows.get("class_change")
    changing = change is not None and _open(change, now)
    return Phase(lottery, classes, _open(lottery, now), _open(classes, now), change, changing)


@dataclass
class Row:
    """A section in a timeslot, with what the student holds on it and what they may do."""

    section: SectionPublic
    verbs: list[str]  # the verbs the student holds on it (Enrolled, Waitlisted, ...)
    place: int | None  # their place in its waitlist
    starred: bool
    switch_to: list[SectionPublic] = field(default_factory=list)

    @property
    def enrolled(self) -> bool:
        return ENROLLED in self.verbs

    @property
    def waitlisted(self) -> bool:
        return WAITLISTED in self.verbs

    @property
    def full(self) -> bool:
        return self.section.free <= 0


@dataclass(frozen=True)
class Choice:
    """A class the student may rank in a timeslot (its one section starts there)."""

    subject_id: UUID
    label: str


@dataclass
class Slot:
    timeslot: TimeslotPublic
    rows: list[Row]
    held: list[ScheduleEntryPublic]  # the schedule's entries in this timeslot (no priorities)
    ranking: list[UUID | None]  # ranks 1..limit: the class chosen, or None
    choices: list[Choice]
    when: str  # its times, in the program's timezone


@dataclass
class StudentPage:
    program: ProgramPublic
    student: StudentDetailPublic
    phase: Phase
    slots: list[Slot]
    schedule: list[ScheduleEntryPublic]
    places: dict[UUID, int]
    stars: StarsPublic | None  # read in the lottery phase only
    waitlist_enabled: bool
    priority_limit: int
    shown: TimeslotPublic | None  # the one timeslot shown, or None for all of them
    requests: list[tuple[ScheduleEntryPublic, int | None]]  # class-change requests, with priority
    paged: bool  # one timeslot at a time (asked for, or too many sections to show at once)


def gather(request: Request, api: Api, views: RegistrationViews, acting: Acting, wanted: str | None) -> StudentPage:
    """The page's data read from `views` (a replica's or the primary's, `deps.student_page_views`);
    `wanted`: a timeslot label or id to show (else all, or the first)."""
    program = routes_catalogue.program(acting.principal, acting.slug, views)
    student = routes_catalogue.student(acting, views)
    schedule = routes_queries.schedule(request, acting, views, fmt="json").entries
    phase = phase_of(program, api.services.app.clock())
    stars = routes_queries.stars(acting, views) if phase.lottery_open else None  # shown in that phase only
    pid = program_id(acting.slug)
    settings = program.settings
    shown, found = _catalogue(views, pid, program.timeslots, _wanted(program.timeslots, wanted))
    sections = [SectionPublic.of(s) for s in found]
    held: dict[UUID, list[str]] = {}
    for entry in schedule:
        held.setdefault(entry.section_id, []).append(entry.verb)
    places = _places(views, pid, acting.student_key, schedule)
    siblings = _siblings(views, pid, {e.subject_id for e in schedule if e.verb == ENROLLED})
    starred = set() if stars is None else set(stars.subject_ids)
    rows = {
        s.section_id: Row(
            s,
            held.get(s.section_id, []),
            places.get(s.section_id),
            s.subject_id in starred,
            [o for o in siblings.get(s.subject_id, []) if o.section_id != s.section_id]
            if ENROLLED in held.get(s.section_id, [])
            else [],
        )
        for s in sections
    }
    limit = int(settings.get("priority_limit", 3))
    slots = [
        _slot(t, sections, rows, schedule, limit, ZoneInfo(program.timezone))
        for t in program.timeslots
        if shown is None or t.timeslot_id == shown.timeslot_id
    ]
    return StudentPage(
        program=program,
        student=student,
        phase=phase,
        slots=slots,
        schedule=[e for e in schedule if priority_level_of(e.verb) is None and request_level_of(e.verb) is None],
        requests=[(e, request_level_of(e.verb) or None) for e in schedule if request_level_of(e.verb) is not None],
        places=places,
        stars=stars,
        waitlist_enabled=bool(settings.get("waitlist_enabled")),
        priority_limit=limit,
        shown=shown,
        paged=shown is not None,
    )


def _catalogue(
    views: RegistrationViews, pid: ProgramId, timeslots: list[TimeslotPublic], wanted: TimeslotPublic | None
) -> tuple[TimeslotPublic | None, list[SectionView]]:
    """The timeslot shown (None: all of them) and its sections. Without one asked for, the first
    timeslot's sections tell the catalogue's size (one cheap query instead of a count): a large
    catalogue shows that first timeslot, a small one every timeslot."""

    def meeting(t: TimeslotPublic) -> list[SectionView]:
        return views.section_views(pid, CatalogueFilter(timeslot_id=t.timeslot_id, statuses=STUDENT_STATUSES))

    if wanted is not None:
        return wanted, meeting(wanted)
    if timeslots:
        first = meeting(timeslots[0])
        if len(first) * len(timeslots) > ALL_AT_ONCE:
            return timeslots[0], first
    return None, views.section_views(pid, CatalogueFilter(statuses=STUDENT_STATUSES))


def _wanted(timeslots: list[TimeslotPublic], wanted: str | None) -> TimeslotPublic | None:
    return next((t for t in timeslots if wanted in (t.label, str(t.timeslot_id))), None) if wanted else None


def _places(views: RegistrationViews, pid: ProgramId, key: str, schedule: list[ScheduleEntryPublic]) -> dict[UUID, int]:
    """The student's place (1 = next) in each waitlist they are on (as the registrar's page reads it)."""
    return {w.section_id: w.place for w in waitlist_places(views, student_id(pid, key), schedule) if w.place}


def _siblings(views: RegistrationViews, pid: ProgramId, subjects: set[UUID]) -> dict[UUID, list[SectionPublic]]:
    """Every open section of the classes the student is enrolled in (switch targets), one query."""
    if not subjects:
        return {}
    where = CatalogueFilter(subject_ids=tuple(sorted(subjects, key=str)), statuses=STUDENT_STATUSES)
    found: dict[UUID, list[SectionPublic]] = {}
    for view in views.section_views(pid, where):
        if not view.is_cancelled:
            found.setdefault(view.subject_id, []).append(SectionPublic.of(view))
    return found


def _slot(
    timeslot: TimeslotPublic,
    sections: list[SectionPublic],
    rows: dict[UUID, Row],
    schedule: list[ScheduleEntryPublic],
    limit: int,
    zone: ZoneInfo,
) -> Slot:
    tid = timeslot.timeslot_id
    meeting = [rows[s.section_id] for s in sections if any(t.timeslot_id == tid for t in s.timeslots)]
    meeting.sort(key=lambda r: r.section.code)
    held = [e for e in schedule if tid in e.timeslot_ids and priority_level_of(e.verb) is None]
    ranking: list[UUID | None] = [None] * limit
    for entry in schedule:
        level = priority_level_of(entry.verb)
        if level is not None and 1 <= level <= limit and entry.timeslot_ids[:1] == [tid]:
            ranking[level - 1] = entry.subject_id
    choices = sorted(
        {
            s.subject_id: Choice(s.subject_id, f"{s.class_code} {s.class_title}")
            for s in sections
            if s.timeslots and s.timeslots[0].timeslot_id == tid and not s.is_cancelled
        }.values(),
        key=lambda c: c.label,
    )
    starts, ends = timeslot.starts.astimezone(zone), timeslot.ends.astimezone(zone)
    return Slot(timeslot, meeting, held, ranking, choices, f"{starts:%a %d %b, %H:%M} to {ends:%H:%M}")
