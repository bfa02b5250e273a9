"""The student page (`/`) and its forms (`/me/...`), for the signed-in student only.

The student is the session's token subject ("<slug>/<key>"): no form field or URL names a
student, so a page can only show and act for its own. Each form calls the application exactly
as the JSON API's student routes do (`adapters/http/routes_students.py`), with the form's
`command_id` (made when the page was rendered) as the command id, so a double submit replays
instead of acting twice, and a refusal shows the API's own message and code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from regledger.adapters.http.deps import Acting, context
from regledger.adapters.http.schemas import Verb
from regledger.adapters.web.deps import StudentForm, StudentPageViews, StudentSession
from regledger.adapters.web.pages import WebRoute, api_of, form_command, render
from regledger.adapters.web.session import WebSession
from regledger.adapters.web.student_page_data import gather
from regledger.domain.application import Registration
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, TimeslotId, program_id
from regledger.domain.request_commands import current_requests, request_level_of
from regledger.domain.runner import CommandResult
from regledger.domain.values import ENROLLED, WAITLISTED, CommandContext
from regledger.projections.catalogue import CatalogueFilter

logger = logging.getLogger("regledger.web")
router = APIRouter(include_in_schema=False, route_class=WebRoute)

HOME = "/"
CommandIdField = Annotated[UUID, Form(description="Made when the page was rendered: the command's id")]
SectionField = Annotated[UUID, Form()]
SubjectField = Annotated[UUID, Form()]
TimeslotReturn = Annotated[str, Form(max_length=200)]  # the timeslot the page showed, to return to
RankFields = Annotated[list[str], Form(max_length=20)]
Action = Callable[[Registration, ProgramId, str, CommandContext], CommandResult]


def acting_of(session: WebSession) -> Acting:
    """The session's own student: the token's subject, never a form field or the URL."""
    slug, _, key = session.principal.subject.partition("/")
    return Acting(session.principal, slug, key)


def _new_id() -> str:
    return str(uuid4())


@router.get(HOME)
def student_page(
    request: Request,
    session: StudentSession,
    views: StudentPageViews,
    timeslot: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    api = api_of(request)
    data = gather(request, api, views, acting_of(session), timeslot)
    return render(request, "student/page.html", {"session": session, "page": data, "new_id": _new_id})


def _page_url(timeslot: str | None) -> str:
    return f"{HOME}?timeslot={quote(timeslot, safe='')}" if timeslot else HOME


def _act(
    request: Request, session: WebSession, command_id: UUID, timeslot: str, action: Action, done: Callable[[], str]
) -> Response:
    """Run one command as the API would, then Post/Redirect/Get with its outcome."""
    acting = acting_of(session)
    back = _page_url(timeslot)

    def run() -> CommandResult:
        ctx = context(session.principal, str(command_id))
        return action(api_of(request).services.app, acting.program_id, acting.student_key, ctx)

    return form_command(back, run, lambda _result: (back, done()))


def _section_name(request: Request, section: UUID) -> str:
    view = api_of(request).views.section_view(section)
    return str(section) if view is None else f"{view.code} ({view.class_title})"


def _class_name(request: Request, session: WebSession, subject: UUID) -> str:
    pid = acting_of(session).program_id
    found = api_of(request).views.classes(pid, CatalogueFilter(subject_ids=(subject,)))
    return str(subject) if not found else f"{found[0].code} ({found[0].title})"


@router.post("/me/add")
def add(
    request: Request,
    session: StudentForm,
    section_id: SectionField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.add_section(pid, key, SectionId(section_id), ctx, ENROLLED, replace=False)

    return _act(
        request, session, command_id, timeslot, action, lambda: f"Enrolled in {_section_name(request, section_id)}."
    )


@router.post("/me/waitlist")
def join_waitlist(
    request: Request,
    session: StudentForm,
    section_id: SectionField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.join_waitlist(pid, key, SectionId(section_id), ctx)

    def done() -> str:
        return f"Joined the waitlist of {_section_name(request, section_id)}."

    return _act(request, session, command_id, timeslot, action, done)


@router.post("/me/drop")
def drop(
    request: Request,
    session: StudentForm,
    section_id: SectionField,
    command_id: CommandIdField,
    verb: Annotated[Verb | None, Form()] = None,
    timeslot: TimeslotReturn = "",
) -> Response:
    """Without `verb`, the program's visible verbs (the API's default); `Waitlisted` leaves a waitlist."""

    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.drop_section(pid, key, SectionId(section_id), ctx, [verb] if verb else None)

    def done() -> str:
        what = "Left the waitlist of" if verb == WAITLISTED else "Dropped"
        return f"{what} {_section_name(request, section_id)}."

    return _act(request, session, command_id, timeslot, action, done)


@router.post("/me/switch")
def switch(
    request: Request,
    session: StudentForm,
    from_section_id: SectionField,
    to_section_id: SectionField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.switch_sections(pid, key, SectionId(from_section_id), SectionId(to_section_id), ctx)

    def done() -> str:
        return f"Switched from {_section_name(request, from_section_id)} to {_section_name(request, to_section_id)}."

    return _act(request, session, command_id, timeslot, action, done)


@router.post("/me/star")
def star(
    request: Request,
    session: StudentForm,
    subject_id: SubjectField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.star(pid, key, SubjectId(subject_id), ctx)

    return _act(
        request, session, command_id, timeslot, action, lambda: f"Starred {_class_name(request, session, subject_id)}."
    )


@router.post("/me/unstar")
def unstar(
    request: Request,
    session: StudentForm,
    subject_id: SubjectField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.unstar(pid, key, SubjectId(subject_id), ctx)

    def done() -> str:
        return f"Unstarred {_class_name(request, session, subject_id)}."

    return _act(request, session, command_id, timeslot, action, done)


@router.post("/me/confirm")
def confirm(
    request: Request, session: StudentForm, command_id: CommandIdField, timeslot: TimeslotReturn = ""
) -> Response:
    """Confirm the lottery preferences (the program may ask for a number of stars first)."""

    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        return app.confirm_preferences(pid, key, ctx)

    return _act(request, session, command_id, timeslot, action, lambda: "Your lottery preferences are confirmed.")


@router.post("/me/priorities")
def priorities(
    request: Request,
    session: StudentForm,
    timeslot_id: Annotated[UUID, Form()],
    command_id: CommandIdField,
    rank: RankFields,
    timeslot: TimeslotReturn = "",
) -> Response:
    """`rank` repeats once per rank, in order (1, 2, ...): a class id, or empty for none."""

    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        ranking = {n: _subject_or_none(value) for n, value in enumerate(rank, start=1)}
        return app.rank_priorities(pid, key, TimeslotId(timeslot_id), ranking, ctx)

    def done() -> str:
        label = next(
            (
                t.label
                for t in api_of(request).views.timeslots(program_id(acting_of(session).slug))
                if t.timeslot_id == timeslot_id
            ),
            str(timeslot_id),
        )
        return f"Priorities for {label} saved."

    return _act(request, session, command_id, timeslot, action, done)


def _subject_or_none(value: str) -> SubjectId | None:
    if not value:
        return None
    try:
        return SubjectId(UUID(value))
    except ValueError:
        raise InvalidInputError("A ranked class must be one of the choices", value=value[:64]) from None


# -- class-change requests (in the program's class_change window) -----------------------------

PriorityField = Annotated[str, Form(max_length=8)]  # 1..the priority limit, or empty: no priority


def _requests_now(app: Registration, pid: ProgramId, key: str) -> dict[SectionId, int | None]:
    """The student's class-change requests as `request_changes` takes them (the form edits one)."""
    held = current_requests(app.get_student(pid, key))
    return {section: request_level_of(verb) or None for section, verb in held.items()}


@router.post("/me/requests/add")
def request_change(
    request: Request,
    session: StudentForm,
    section_id: SectionField,
    command_id: CommandIdField,
    priority: PriorityField = "",
    timeslot: TimeslotReturn = "",
) -> Response:
    """Add (or re-rank) one request; the others stay as they are."""

    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        if priority and not priority.isdigit():
            raise InvalidInputError("A request's priority is a whole number, or empty for none", priority=priority)
        wanted = _requests_now(app, pid, key) | {SectionId(section_id): int(priority) if priority else None}
        return app.request_changes(pid, key, wanted, ctx)

    def done() -> str:
        return f"Requested a move to {_section_name(request, section_id)}."

    return _act(request, session, command_id, timeslot, action, done)


@router.post("/me/requests/withdraw")
def withdraw_request(
    request: Request,
    session: StudentForm,
    section_id: SectionField,
    command_id: CommandIdField,
    timeslot: TimeslotReturn = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, key: str, ctx: CommandContext) -> CommandResult:
        wanted = _requests_now(app, pid, key)
        if wanted.pop(SectionId(section_id), "absent") == "absent":
            raise InvalidInputError("You have no request for that section", section_id=str(section_id))
        return app.request_changes(pid, key, wanted, ctx)

    def done() -> str:
        return f"Withdrew your request for {_section_name(request, section_id)}."

    return _act(request, session, command_id, timeslot, action, done)
