"""A registrar's actions on one student (forms on the student's page): add, drop, switch, unenroll all.

Each calls the application as the API's routes do (`routes_students`, `routes_onsite`), with the
context built by `deps.context` from the signed-in registrar, the form's `command_id` (a double
submit replays instead of acting twice), its reason and override. A reason is required here:
the page refuses an empty one before calling the application, so nothing changes. Every
outcome comes back by Post/Redirect/Get: the API's own refusal message and code, or what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from regledger.adapters.http.deps import KeyPath, SlugPath, context
from regledger.adapters.web.deps import AdminForm
from regledger.adapters.web.pages import Flash, WebRoute, api_of, form_command, redirect
from regledger.adapters.web.routes_student_pages import acting_for, student_url
from regledger.domain.application import Registration
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import ProgramId, SectionId
from regledger.domain.runner import CommandResult
from regledger.domain.values import ENROLLED, CommandContext
from regledger.projections.catalogue import section_id_of_code

router = APIRouter(include_in_schema=False, route_class=WebRoute)

REASON_REQUIRED = "A reason is required: say why (it is recorded with the change, for the audit)."
CommandIdField = Annotated[str, Form(max_length=64)]
ReasonField = Annotated[str, Form(max_length=2000)]
CodeField = Annotated[str, Form(max_length=64)]
VerbField = Annotated[str, Form(max_length=32)]
Checkbox = Annotated[str, Form(max_length=8)]  # "on" when ticked, absent otherwise

Action = Callable[[Registration, ProgramId, str, CommandContext], CommandResult]


def section_of(program: ProgramId, code: str) -> SectionId:
    """A section of the program by its code (as the API's drop route reads one)."""
    found = section_id_of_code(program, code.strip())
    if found is None:
        raise NotFoundError("No such section", section=code)
    return found


def _act(
    request: Request,
    session: AdminForm,
    slug: str,
    key: str,
    form: tuple[str, str, bool],
    action: Action,
    done: Callable[[CommandResult], str],
) -> Response:
    command_id, reason, override = form
    url = student_url(slug, key)
    reason = reason.strip()
    if not reason:
        return redirect(url, Flash("error", REASON_REQUIRED, "invalid_input"))
    api = api_of(request)
    acting = acting_for(api, session, slug, key)

    def run() -> CommandResult:
        ctx = context(session.principal, command_id.strip() or None, reason=reason, override=override)
        return action(api.services.app, acting.program_id, key, ctx)

    return form_command(url, run, lambda result: (url, done(result)))


@router.post("/admin/p/{slug}/students/{key}/add")
def add_section(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    key: KeyPath,
    section: CodeField = "",
    verb: VerbField = ENROLLED,
    command_id: CommandIdField = "",
    reason: ReasonField = "",
    override: Checkbox = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, who: str, ctx: CommandContext) -> CommandResult:
        return app.add_section(pid, who, section_of(pid, section), ctx, verb.strip() or ENROLLED)

    def done(result: CommandResult) -> str:
        return f"Added {key} to {section.strip()} as {result.ids.get('verb', verb)}."

    return _act(request, session, slug, key, (command_id, reason, override == "on"), action, done)


@router.post("/admin/p/{slug}/students/{key}/drop")
def drop_section(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    key: KeyPath,
    section: CodeField = "",
    every_verb: Checkbox = "",
    command_id: CommandIdField = "",
    reason: ReasonField = "",
    override: Checkbox = "",
) -> Response:
    verbs = ["All"] if every_verb == "on" else None

    def action(app: Registration, pid: ProgramId, who: str, ctx: CommandContext) -> CommandResult:
        return app.drop_section(pid, who, section_of(pid, section), ctx, verbs)

    def done(result: CommandResult) -> str:
        ended = result.ids.get("ended") or "nothing"
        promoted = result.ids.get("promoted")
        return f"Dropped {key} from {section.strip()} (ended: {ended})." + (
            f" Promoted from the waitlist: {promoted}." if promoted else ""
        )

    return _act(request, session, slug, key, (command_id, reason, override == "on"), action, done)


@router.post("/admin/p/{slug}/students/{key}/switch")
def switch_sections(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    key: KeyPath,
    from_section: CodeField = "",
    to_section: CodeField = "",
    command_id: CommandIdField = "",
    reason: ReasonField = "",
    override: Checkbox = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, who: str, ctx: CommandContext) -> CommandResult:
        return app.switch_sections(pid, who, section_of(pid, from_section), section_of(pid, to_section), ctx)

    def done(_: CommandResult) -> str:
        return f"Switched {key} from {from_section.strip()} to {to_section.strip()}."

    return _act(request, session, slug, key, (command_id, reason, override == "on"), action, done)


@router.post("/admin/p/{slug}/students/{key}/unenroll-all")
def unenroll_all(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    key: KeyPath,
    command_id: CommandIdField = "",
    reason: ReasonField = "",
) -> Response:
    def action(app: Registration, pid: ProgramId, who: str, ctx: CommandContext) -> CommandResult:
        return app.unenroll_all(pid, who, ctx)

    def done(result: CommandResult) -> str:
        promoted = result.ids.get("promoted")
        return (
            f"Unenrolled {key}: ended {result.ids.get('ended', '0')} registrations on "
            f"{result.ids.get('sections', '0')} sections."
            + (f" Promoted from the waitlists: {promoted}." if promoted else "")
        )

    return _act(request, session, slug, key, (command_id, reason, False), action, done)
