"""Lottery run endpoints (admin only): start, stats, assignment, commit, discard, replay, compare."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request

from regledger.adapters.http.deps import (
    REPLAYED,
    AdminCommandDep,
    AdminDep,
    KnownProgram,
    RegistrationDep,
    SlugPath,
    ViewsDep,
)
from regledger.adapters.http.lottery_requests import LotteryCommitRequest, LotteryStartRequest
from regledger.adapters.http.naming import Names
from regledger.adapters.http.responses import (
    AssignmentPublic,
    CommandResultPublic,
    ComparisonRowPublic,
    LotteryAssignmentPublic,
    LotteryComparisonPublic,
    LotteryReplayPublic,
    LotteryStatsPublic,
    RunsPublic,
    RunSummaryPublic,
    StatRowPublic,
)
from regledger.adapters.http.schemas import ActionRequest
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.ids import program_id
from regledger.domain.lottery.algorithms import recorded_algorithm

router = APIRouter(tags=["lottery"])

RunPath = Annotated[UUID, Path(description="A lottery run id (`ids.run_id` of the start command)")]
RunIdsQuery = Annotated[list[UUID], Query(min_length=1, max_length=20, description="Run ids, one column each")]


@router.post("/programs/{slug}/lottery-runs", status_code=201, responses=REPLAYED, summary="Start a lottery run")
def start_run(cmd: AdminCommandDep, slug: SlugPath, body: LotteryStartRequest | None = None) -> CommandResultPublic:
    """Compute an assignment from the log as it stands, with the given (or a drawn) seed, and
    record the run; nothing is enrolled until it is committed. `ids.run_id` names the run."""
    body = body or LotteryStartRequest()
    result = cmd.app.start_lottery(
        program_id(slug), cmd.ctx(body), body.parameters.model_dump(), body.seed, algorithm=body.algorithm
    )
    return cmd.respond(result, created=True)


@router.get("/programs/{slug}/lottery-runs", summary="A program's lottery runs, newest first, with their status")
def program_runs(_admin: AdminDep, slug: KnownProgram, app: RegistrationDep, views: ViewsDep) -> RunsPublic:
    """Class-change runs are listed under `/programs/{slug}/class-change-runs` instead."""
    position = views.position()
    found = [(r, app.load_run(r.run_id).parameters) for r in views.lottery_runs(program_id(slug))]
    runs = [(r, parameters) for r, parameters in found if parameters.get("kind") not in ("class_change", "admission")]
    return RunsPublic(
        position=position,
        runs=[
            RunSummaryPublic(
                **{k: v for k, v in vars(r).items() if k != "program_id"}, algorithm=recorded_algorithm(parameters)
            )
            for r, parameters in runs
        ],
    )


@router.get("/lottery-runs/compare", summary="Several runs' stats side by side")
def compare_runs(ids: RunIdsQuery, _admin: AdminDep, app: RegistrationDep) -> LotteryComparisonPublic:
    comparison = app.compare_runs(list(ids))
    return LotteryComparisonPublic(
        run_ids=list(comparison.run_ids),
        rows=[ComparisonRowPublic(label=label, values=list(values)) for label, values in comparison.rows],
    )


@router.get("/lottery-runs/{run_id}", summary="A run's status, seed, parameters and stats")
def run_stats(run_id: RunPath, _admin: AdminDep, app: RegistrationDep, views: ViewsDep) -> LotteryStatsPublic:
    run = app.load_run(run_id)
    stats = app.lottery_stats(run_id)
    names = Names(views).load(students=stats.worst_served)
    return LotteryStatsPublic(
        run_id=run.id,
        status=run.status,
        seed=run.seed,
        input_position=run.input_position,
        parameters=dict(run.parameters),
        algorithm=recorded_algorithm(run.parameters),
        rows=[StatRowPublic(label=label, value=value) for label, value in stats.render_rows()],
        stats=stats.as_dict(),
        worst_served=[names.student(s) for s in stats.worst_served],
    )


@router.get(
    "/lottery-runs/{run_id}/assignment",
    summary="A run's assignment, recomputed and checked, with keys and section codes",
    responses=CSV_RESPONSES,
)
def run_assignment(
    request: Request, run_id: RunPath, _admin: AdminDep, app: RegistrationDep, views: ViewsDep, fmt: FormatQuery = None
) -> Any:
    result = app.lottery_assignment(run_id)
    names = Names(views).load(
        students={a.student_id for a in result.assignments}, sections={a.section_id for a in result.assignments}
    )
    assignments = [
        AssignmentPublic(
            student_id=a.student_id,
            student_key=names.key(a.student_id),
            section_id=a.section_id,
            section_code=names.code(a.section_id),
            level=a.level,
        )
        for a in result.assignments
    ]
    if wants_csv(request, fmt):
        columns = ("student_key", "section_code", "level", "student_id", "section_id")
        return csv_response(columns, [a.model_dump() for a in assignments], f"lottery-{run_id}")
    return LotteryAssignmentPublic(run_id=run_id, digest=result.digest(), assignments=assignments)


@router.post("/lottery-runs/{run_id}/commit", responses=REPLAYED, summary="Turn a run's assignment into seats")
def commit_run(cmd: AdminCommandDep, run_id: RunPath, body: LotteryCommitRequest | None = None) -> CommandResultPublic:
    body = body or LotteryCommitRequest()
    return cmd.respond(cmd.app.commit_lottery(run_id, cmd.ctx(body), replace=body.replace))


@router.post("/lottery-runs/{run_id}/discard", responses=REPLAYED, summary="Discard a run (never committed)")
def discard_run(cmd: AdminCommandDep, run_id: RunPath, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.discard_lottery(run_id, cmd.ctx(body)))


@router.post("/lottery-runs/{run_id}/replay", summary="Recompute a run and compare digests (writes nothing)")
def replay_run(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> LotteryReplayPublic:
    return LotteryReplayPublic.model_validate(app.replay_lottery(run_id))
