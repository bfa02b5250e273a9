"""The registrar's Lottery tab: a program's runs, one run's stats with charts, runs compared,
and the forms that start, commit, discard and replay a run.

Reads go through the JSON API's route functions (`routes_lottery.program_runs`, `run_stats`,
`compare_runs`), which read the stats each run recorded when it was computed: a page never
recomputes a run. Commands call the application as those routes do, with `deps.context`.
Replay writes nothing; its verdict (IDENTICAL or DIFFERENT, with both digests) comes back as
the flash of the run's page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from regledger.adapters.http import routes_lottery
from regledger.adapters.http.deps import ApiError, SlugPath, check_program, context
from regledger.adapters.http.lottery_requests import SEED_MAX, LotteryParametersRequest
from regledger.adapters.http.routes_catalogue import program_view
from regledger.adapters.web import lottery_charts, routes_student_pages, student_actions
from regledger.adapters.web.charts import cached_svg
from regledger.adapters.web.deps import AdminForm, AdminSession
from regledger.adapters.web.pages import Flash, WebRoute, api_of, form_command, redirect, refusal_flash, render
from regledger.adapters.web.routes_student_pages import clock
from regledger.domain.application import Registration
from regledger.domain.errors import NotFoundError, RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.lottery.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from regledger.domain.lottery.stats import LotteryStats
from regledger.domain.runner import CommandResult
from regledger.domain.values import CommandContext

router = APIRouter(include_in_schema=False, route_class=WebRoute)

RunsQuery = Annotated[list[UUID], Query(alias="run", min_length=1, max_length=6)]
PickedRuns = Annotated[list[UUID] | None, Query(alias="run", max_length=6)]
Text = Annotated[str, Form(max_length=64)]
ReasonField = Annotated[str, Form(max_length=2000)]
Checkbox = Annotated[str, Form(max_length=8)]


def lottery_url(slug: str, run_id: UUID | str | None = None) -> str:
    return f"/admin/p/{slug}/lottery" + (f"/{run_id}" if run_id else "")


def _own_run(app: Registration, slug: str, run_id: UUID) -> None:
    """404 unless the run is one of this program's lottery runs."""
    if app.load_run(run_id).program_id != program_id(slug):
        raise NotFoundError("No such lottery run in this program", run_id=str(run_id))


def _label(n: int, seed: int) -> str:
    return f"Run {n} (seed {seed})"


@router.get("/admin/p/{slug}/lottery")
def lottery_page(request: Request, session: AdminSession, slug: SlugPath) -> Response:
    api = api_of(request)
    check_program(api, slug)
    runs = routes_lottery.program_runs(session.principal, slug, api.services.app, api.views)
    program = program_view(api.views, slug)
    context = {
        "session": session,
        "program": program,
        "tab": "lottery",
        "runs": runs.runs,
        "algorithms": sorted(ALGORITHMS),
        "default_algorithm": DEFAULT_ALGORITHM,
        "defaults": LotteryParametersRequest(),
        "seed_max": SEED_MAX,
        "command_id": str(uuid4()),
        "when": clock(program),
    }
    return render(request, "admin/lottery.html", context)


def _runs_stats(app: Registration, slug: str, run_ids: list[UUID]) -> dict[str, LotteryStats]:
    out = {}
    for n, run_id in enumerate(run_ids, start=1):
        _own_run(app, slug, run_id)
        out[_label(n, app.load_run(run_id).seed)] = app.lottery_stats(run_id)
    return out


@router.get("/admin/p/{slug}/lottery/compare")
def compare_page(request: Request, session: AdminSession, slug: SlugPath, runs: PickedRuns = None) -> Response:
    api = api_of(request)
    check_program(api, slug)
    runs = list(dict.fromkeys(runs or ()))
    if len(runs) < 2:
        return redirect(lottery_url(slug), Flash("error", "Tick two or more runs to compare them.", "invalid_input"))
    app = api.services.app
    for run_id in runs:
        _own_run(app, slug, run_id)
    comparison = routes_lottery.compare_runs(runs, session.principal, app)
    seeds = next((r.values for r in comparison.rows if r.label == "Seed"), [""] * len(runs))
    labels = [_label(n, int(seed or 0)) for n, seed in enumerate(seeds, start=1)]
    stats = dict(zip(labels, (app.lottery_stats(r) for r in runs), strict=True))
    context = {
        "session": session,
        "program": program_view(api.views, slug),
        "tab": "lottery",
        "run_ids": comparison.run_ids,
        "labels": labels,
        "rows": comparison.rows,
        "classes": lottery_charts.classes_per_student(stats),
        "query": "&".join(f"run={r}" for r in runs),
    }
    return render(request, "admin/lottery_compare.html", context)


@router.get("/admin/p/{slug}/lottery/compare.svg")
def compare_chart(request: Request, session: AdminSession, slug: SlugPath, runs: RunsQuery) -> Response:
    del session
    stats = _runs_stats(api_of(request).services.app, slug, runs)
    return cached_svg(("compare", *runs), lambda: lottery_charts.classes_chart(stats))


@router.get("/admin/p/{slug}/lottery/{run_id}")
def run_page(request: Request, session: AdminSession, slug: SlugPath, run_id: UUID) -> Response:
    api = api_of(request)
    check_program(api, slug)
    app = api.services.app
    _own_run(app, slug, run_id)
    found = routes_lottery.run_stats(run_id, session.principal, app, api.views)
    stats = LotteryStats.from_dict(found.stats)
    summary = next((r for r in api.views.lottery_runs(program_id(slug)) if r.run_id == run_id), None)
    program = program_view(api.views, slug)
    committable = found.status in ("started", "computed")
    held = sum(s.taken for s in api.views.seat_counts(program.program_id)) if committable else 0
    context = {
        "session": session,
        "program": program,
        "tab": "lottery",
        "run": found,
        "summary": summary,
        "stats": stats,
        "classes": lottery_charts.classes_per_student({"Students": stats}),
        "grants": lottery_charts.priority_grants(stats),
        "levels": lottery_charts.seats_per_level(stats),
        "fairness": lottery_charts.fairness(stats),
        "seats_held": held,
        "command_ids": {form: str(uuid4()) for form in ("commit", "discard")},
        "when": clock(program),
        "base": lottery_url(slug, run_id),
    }
    return render(request, "admin/lottery_run.html", context)


def _chart(name: str) -> Callable[[Request, AdminSession, str, UUID], Response]:
    figures: dict[str, Callable[[LotteryStats], Any]] = {
        "classes": lambda stats: lottery_charts.classes_chart({"Students": stats}),
        "priorities": lottery_charts.priorities_chart,
        "levels": lottery_charts.levels_chart,
    }

    def chart(request: Request, session: AdminSession, slug: SlugPath, run_id: UUID) -> Response:
        del session
        app = api_of(request).services.app
        _own_run(app, slug, run_id)
        stats = app.lottery_stats(run_id)
        return cached_svg((name, run_id), lambda: figures[name](stats))

    chart.__name__ = f"lottery_{name}_chart"
    return chart


for _name in ("classes", "priorities", "levels"):
    router.add_api_route(f"/admin/p/{{slug}}/lottery/{{run_id}}/{_name}.svg", _chart(_name), methods=["GET"])


# -- commands -------------------------------------------------------------------------------


def run_command(
    request: Request,
    session: AdminForm,
    back: str,
    form: tuple[str, str],
    action: Callable[[Registration, CommandContext], CommandResult],
    done: Callable[[CommandResult], tuple[str, str]],
) -> Response:
    """Run a command; redirect to `done`'s page with its message, or back with the refusal."""
    command_id, reason = form
    app = api_of(request).services.app

    def run() -> CommandResult:
        return action(app, context(session.principal, command_id.strip() or None, reason=reason.strip()))

    return form_command(back, run, done)


def _parameters(kp: str, ki: str, check_grade: str, max_sections: str, max_timeslots: str, fill: str) -> dict[str, Any]:
    data = {
        "kp": kp or 1.2,
        "ki": ki or 1.1,
        "check_grade": check_grade == "on",
        "max_sections": max_sections or 0,
        "max_timeslots": max_timeslots or 0,
        "fill_low_priorities": fill == "on",
    }
    return LotteryParametersRequest.model_validate(data, strict=False).model_dump()


@router.post("/admin/p/{slug}/lottery/start")
def start_run(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    algorithm: Text = DEFAULT_ALGORITHM,
    seed: Text = "",
    kp: Text = "",
    ki: Text = "",
    check_grade: Checkbox = "",
    max_sections: Text = "",
    max_timeslots: Text = "",
    fill_low_priorities: Checkbox = "",
    command_id: Text = "",
    reason: ReasonField = "",
) -> Response:
    back = lottery_url(slug)
    check_program(api_of(request), slug)
    try:
        parameters = _parameters(kp, ki, check_grade, max_sections, max_timeslots, fill_low_priorities)
        chosen = int(seed) if seed.strip() else None
    except (ValidationError, ValueError) as error:
        return redirect(back, Flash("error", f"Invalid parameters: {_first_error(error)}", "invalid_input"))
    if chosen is not None and not 0 <= chosen <= SEED_MAX:
        return redirect(back, Flash("error", f"The seed must be between 0 and {SEED_MAX}.", "invalid_input"))

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.start_lottery(program_id(slug), ctx, parameters, chosen, algorithm=algorithm.strip() or None)

    def done(result: CommandResult) -> tuple[str, str]:
        run_id = result.ids["run_id"]
        message = (
            f"Lottery run started with seed {result.ids.get('seed')} ({result.ids.get('algorithm')}): "
            f"{result.ids.get('assignments')} seats assigned. Nothing is enrolled until you commit it."
        )
        return lottery_url(slug, run_id), message

    return run_command(request, session, back, (command_id, reason), action, done)


def _first_error(error: ValidationError | ValueError) -> str:
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
    return "the seed must be a whole number"


@router.post("/admin/p/{slug}/lottery/{run_id}/commit")
def commit_run(
    request: Request,
    session: AdminForm,
    slug: SlugPath,
    run_id: UUID,
    replace: Checkbox = "",
    command_id: Text = "",
    reason: ReasonField = "",
) -> Response:
    back = lottery_url(slug, run_id)
    _own_run(api_of(request).services.app, slug, run_id)

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.commit_lottery(run_id, ctx, replace=replace == "on")

    def done(result: CommandResult) -> tuple[str, str]:
        return back, f"Lottery run committed: {result.ids.get('assignments', '?')} assignments are now enrolments."

    return run_command(request, session, back, (command_id, reason), action, done)


@router.post("/admin/p/{slug}/lottery/{run_id}/discard")
def discard_run(
    request: Request, session: AdminForm, slug: SlugPath, run_id: UUID, command_id: Text = "", reason: ReasonField = ""
) -> Response:
    back = lottery_url(slug, run_id)
    _own_run(api_of(request).services.app, slug, run_id)

    def action(app: Registration, ctx: CommandContext) -> CommandResult:
        return app.discard_lottery(run_id, ctx)

    return run_command(request, session, back, (command_id, reason), action, lambda _: (back, "Lottery run discarded."))


@router.post("/admin/p/{slug}/lottery/{run_id}/replay")
def replay_run(request: Request, session: AdminForm, slug: SlugPath, run_id: UUID) -> Response:
    """Recompute the run (writes nothing) and report the digests on the run's page."""
    back = lottery_url(slug, run_id)
    app = api_of(request).services.app
    _own_run(app, slug, run_id)
    try:
        report = routes_lottery.replay_run(run_id, session.principal, app)
    except (RegistrationError, ApiError) as error:
        return redirect(back, refusal_flash(error))
    digests = (
        report.recorded_digest,
        report.replayed_digest,
        report.recorded_input_digest,
        report.replayed_input_digest,
    )
    return redirect(back, replay_flash(report.identical, *digests))


def replay_flash(identical: bool, recorded: str, replayed: str, recorded_input: str, replayed_input: str) -> Flash:
    """A replay's verdict with both digests (of the assignment, then of the input)."""
    verdict = "IDENTICAL" if identical else "DIFFERENT"
    message = (
        f"Replay {verdict}: recorded assignment digest {recorded}, replayed {replayed}; "
        f"input digests {recorded_input} / {replayed_input}."
    )
    return Flash("ok" if identical else "warn", message)


# Included by `install.py`: the Students tab's pages and forms, and this one's.
ROUTERS = (routes_student_pages.router, student_actions.router, router)
