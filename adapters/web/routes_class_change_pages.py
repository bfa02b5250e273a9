"""The registrar's Class change tab: a program's class-change runs, one run's moves, and the
forms that start, commit, discard and replay a run.

Reads go through the JSON API's route functions (`routes_class_change.program_runs`,
`run_status`, `run_assignment`), so the page shows what the API answers: the moves of a run are
its recorded assignment, recomputed and checked against its digest, never a new draw. Replay
writes nothing; its verdict comes back as the flash of the run's page.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from regledger.adapters.http import routes_class_change
from regledger.adapters.http.deps import ApiError, SlugPath, check_program
from regledger.adapters.http.lottery_requests import SEED_MAX
from regledger.adapters.http.routes_catalogue import program_view
from regledger.adapters.web.deps import AdminForm, AdminSession
from regledger.adapters.web.pages import Flash, WebRoute, api_of, redirect, refusal_flash, render
from regledger.adapters.web.routes_lottery_pages import replay_flash, run_command
from regledger.adapters.web.routes_student_pages import clock
from regledger.domain.application import Registration
from regledger.domain.errors import NotFoundError, RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.runner import CommandResult
from regledger.domain.values import CommandContext

router = APIRouter(include_in_schema=False, route_class=WebRoute)

Text = Annotated[str, Form(max_length=64)]
ReasonField = Annotated[str, Form(max_length=2000)]


def class_change_url(slug: str, run_id: UUID | str | None = None) -> str:
    return f"/admin/p/{slug}/class-change" + (f"/{run_id}" if run_id else "")


def _own_run(app: Registration, slug: str, run_id: UUID) -> None:
    """404 unless the run is one of this program's class-change runs."""
    if app.load_class_change_run(run_id).program_id != program_id(slug):
        raise NotFoundError("No such class-change run in this program", run_id=str(run_id))


@router.get("/admin/p/{slug}/class-change")
def runs_page(request: Request, session: AdminSession, slug: SlugPath) -> Response:
    api = api_of(request)
    check_program(api, slug)
    runs = routes_class_change.program_runs(session.principal, slug, api.services.app, api.views)
    program = program_view(api.views, slug)
    context = {
        "session": session,
        "program": program,
        "tab": "class_change",
        "runs": runs.runs,
        "seed_max": SEED_MAX,
        "command_id": str(uuid4()),
        "when": clock(program),
    }
    return render(request, "admin/class_change.html", context)


@router.get("/admin/p/{slug}/class-change/{run_id}")
def run_page(request: Request, session: AdminSession, slug: SlugPath, run_id: UUID) -> Response:
    api = api_of(request)
    check_program(api, slug)
    app = api.services.app
    _own_run(app, slug, run_id)
    run = routes_class_change.run_status(run_id, session.principal, app)
    moves = routes_class_change.run_assignment(request, run_id, session.principal, app, api.views, fmt="json")
    program = program_view(api.views, slug)
    summary = next((r for r in api.views.lottery_runs(program_id(slug)) if r.run_id == run_id), None)
    context = {
        "session": session,
        "program": program,
        "tab": "class_change",
        "run": run,
        "summary": summary,
        "moves": moves.moves,
        "command_ids": {form: str(uuid4()) for form in ("commit", "discard")},
        "when": clock(program),
        "base": class_change_url(slug, run_id),
    }
    return render(request, "admin/class_change_run.html", context)


# -- commands -------------------------------------------------------------------------------


@router.post("/admin/p/{slug}/class-change/start")
def start_run(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    seed: Text = "",
    command_id: Text = "",
    reason: ReasonField = "",
) -> Response:
    back = class_change_url(slug)
    check_program(api_of(request), slug)
    try:
        chosen = int(seed) if seed.strip() else None
    except ValueError:
        return redirect(back, Flash("error", "The seed must be a whole number.", "invalid_input"))
    if chosen is not None and not 0 <= chosen <= SEED_MAX:
        return redirect(back, Flash("error", f"The seed must be between 0 and {SEED_MAX}.", "invalid_input"))

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.start_class_change(program_id(slug), ctx, seed=chosen)

    def done(result: CommandResult) -> tuple[str, str]:
        message = (
            f"Class-change run started with seed {result.ids.get('seed')}: {result.ids.get('assignments')} "
            "students would change sections. Nothing moves until you commit it."
        )
        return class_change_url(slug, result.ids["run_id"]), message

    return run_command(request, session, back, (command_id, reason), action, done)


@router.post("/admin/p/{slug}/class-change/{run_id}/commit")
def commit_run(
    request: Request, session: AdminForm, slug: SlugPath, run_id: UUID, command_id: Text = "", reason: ReasonField = ""
) -> Response:
    back = class_change_url(slug, run_id)
    _own_run(api_of(request).services.app, slug, run_id)

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.commit_class_change(run_id, ctx)

    def done(result: CommandResult) -> tuple[str, str]:
        return back, f"Class-change run committed: {result.ids.get('seats_moved', '?')} seats moved."

    return run_command(request, session, back, (command_id, reason), action, done)


@router.post("/admin/p/{slug}/class-change/{run_id}/discard")
def discard_run(
    request: Request, session: AdminForm, slug: SlugPath, run_id: UUID, command_id: Text = "", reason: ReasonField = ""
) -> Response:
    back = class_change_url(slug, run_id)
    _own_run(api_of(request).services.app, slug, run_id)

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.discard_lottery(run_id, ctx)

    return run_command(request, session, back, (command_id, reason), action, lambda _: (back, "Run discarded."))


@router.post("/admin/p/{slug}/class-change/{run_id}/replay")
def replay_run(request: Request, session: AdminForm, slug: SlugPath, run_id: UUID) -> Response:
    """Recompute the run (writes nothing) and report the digests on the run's page."""
    back = class_change_url(slug, run_id)
    app = api_of(request).services.app
    _own_run(app, slug, run_id)
    try:
        report = routes_class_change.replay_run(run_id, session.principal, app)
    except (RegistrationError, ApiError) as error:
        return redirect(back, refusal_flash(error))
    digests = (
        report.recorded_digest,
        report.replayed_digest,
        report.recorded_input_digest,
        report.replayed_input_digest,
    )
    return redirect(back, replay_flash(report.result == "IDENTICAL", *digests))
