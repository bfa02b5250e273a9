"""Phase Zero endpoints: a student's admission ticket (enter, join a group, leave it, show it), and
admission runs (admins): start, status and stats, winners, commit, discard, replay; a manual
list of admissions and their undo."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from regledger.adapters.http.deps import (
    REPLAYED,
    ActingDep,
    AdminCommandDep,
    AdminDep,
    KnownProgram,
    RegistrationDep,
    StudentCommandDep,
    ViewsDep,
)
from regledger.adapters.http.responses import CommandResultPublic, RunSummaryPublic
from regledger.adapters.http.schemas import ActionRequest, CommandRequest, Key
from regledger.domain.ids import program_id
from regledger.domain.lottery.admission import KIND

router = APIRouter(tags=["admission (Phase Zero)"])

STUDENT = "/programs/{slug}/students/{key}/admission"
RunPath = Annotated[UUID, Path(description="An admission run id (`ids.run_id` of the start command)")]
Keys = Annotated[list[Key], Field(min_length=1, max_length=20_000)]


class JoinBody(CommandRequest):
    target: Key = Field(description="The student key of an entrant whose group to join")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"target": "s1024"}]})


class StartBody(CommandRequest):
    grade_caps: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description='Caps per grade or inclusive grade range, e.g. {"7-8": 300, "9-12": 500}'
    )
    seed: Annotated[int | None, Field(ge=0, lt=2**63, description="Drawn (and recorded) when omitted")] = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grade_caps": {"7-12": 500}}]})


class AdmitBody(CommandRequest):
    students: Keys
    groups: bool = Field(default=False, description="Admit each named student's whole group")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"students": ["s1024"]}]})


class UndoBody(CommandRequest):
    students: Annotated[list[Key], Field(max_length=20_000)] = Field(default_factory=list)
    run_id: UUID | None = Field(default=None, description="Also undo every admission of this committed run")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"students": ["s1024"]}]})


class TicketPublic(BaseModel):
    student_key: str
    entered: bool
    group_holder: str | None
    members: list[str]
    group_size: int
    admitted: bool


class AdmissionRunPublic(BaseModel):
    run_id: UUID
    program_id: UUID
    status: str
    seed: int
    input_position: int
    parameters: dict[str, Any]
    assignment_digest: str | None
    stats: dict[str, Any]


class WinnersPublic(BaseModel):
    run_id: UUID
    digest: str
    winning_tickets: list[str]
    admitted: list[str]


class AdmissionRunsPublic(BaseModel):
    position: int
    runs: list[RunSummaryPublic]


class AdmissionReplayPublic(BaseModel):
    run_id: UUID
    position: int
    seed: int
    result: Literal["IDENTICAL", "DIFFERENT"]
    recorded_input_digest: str
    replayed_input_digest: str
    recorded_digest: str
    replayed_digest: str


# -- the student's ticket -----------------------------------------------------------------------


@router.post(STUDENT, status_code=201, responses=REPLAYED, summary="Enter the admission lottery")
def enter(cmd: StudentCommandDep, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.enter_admission(cmd.program_id, cmd.student_key, cmd.ctx(body)), created=True)


@router.post(f"{STUDENT}/join", responses=REPLAYED, summary="Join another entrant's group")
def join(cmd: StudentCommandDep, body: JoinBody) -> CommandResultPublic:
    """Refused with `admission_target_unknown`, `admission_target_not_entered`,
    `admission_join_self`, `admission_already_in_group`, `admission_holding_group` or
    `admission_group_full` (409), or `window_closed` outside the admission window."""
    return cmd.respond(cmd.app.join_admission_group(cmd.program_id, cmd.student_key, body.target, cmd.ctx(body)))


@router.post(f"{STUDENT}/leave", responses=REPLAYED, summary="Leave the group one joined")
def leave(cmd: StudentCommandDep, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.leave_admission_group(cmd.program_id, cmd.student_key, cmd.ctx(body)))


@router.get(STUDENT, summary="The student's ticket, group and admission")
def show(acting: ActingDep, app: RegistrationDep) -> TicketPublic:
    view = app.show_admission_ticket(acting.program_id, acting.student_key)
    return TicketPublic(**{**vars(view), "members": list(view.members)})


# -- runs ------------------------------------------------------------------------------------------


@router.post("/programs/{slug}/admission-runs", status_code=201, responses=REPLAYED, summary="Start an admission run")
def start_run(cmd: AdminCommandDep, slug: KnownProgram, body: StartBody) -> CommandResultPublic:
    """Draw the tickets with the given (or a drawn) seed under the grade caps and record the run;
    nobody is admitted until it is committed. `ids.run_id` names the run."""
    result = cmd.app.start_admission(program_id(slug), dict(body.grade_caps), cmd.ctx(body), seed=body.seed)
    return cmd.respond(result, created=True)


@router.get("/programs/{slug}/admission-runs", summary="A program's admission runs, newest first")
def program_runs(_admin: AdminDep, slug: KnownProgram, app: RegistrationDep, views: ViewsDep) -> AdmissionRunsPublic:
    """The lottery runs view, kept to the runs of kind admission (`assignments` = students the
    run admits, `enrolments` = students its commit admitted)."""
    position = views.position()
    kept = [r for r in views.lottery_runs(program_id(slug)) if app.load_run(r.run_id).parameters.get("kind") == KIND]
    return AdmissionRunsPublic(
        position=position,
        runs=[RunSummaryPublic(**{k: v for k, v in vars(r).items() if k != "program_id"}) for r in kept],
    )


@router.get("/admission-runs/{run_id}", summary="An admission run's status, seed and stats per grade")
def run_status(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> AdmissionRunPublic:
    run = app.load_admission_run(run_id)
    return AdmissionRunPublic(
        run_id=run.id,
        program_id=run.program_id,
        status=run.status,
        seed=run.seed,
        input_position=run.input_position,
        parameters=dict(run.parameters),
        assignment_digest=run.assignment_digest,
        stats=app.admission_stats(run_id),
    )


@router.get("/admission-runs/{run_id}/winners", summary="A run's winners, recomputed and checked")
def run_winners(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> WinnersPublic:
    result = app.admission_result(run_id)
    return WinnersPublic(
        run_id=run_id, digest=result.digest(), winning_tickets=list(result.winners), admitted=list(result.admitted)
    )


@router.post("/admission-runs/{run_id}/commit", responses=REPLAYED, summary="Admit a run's winners, all or nothing")
def commit_run(cmd: AdminCommandDep, run_id: RunPath, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.commit_admission(run_id, cmd.ctx(body)))


@router.post("/admission-runs/{run_id}/discard", responses=REPLAYED, summary="Discard a run (never committed)")
def discard_run(cmd: AdminCommandDep, run_id: RunPath, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.discard_admission(run_id, cmd.ctx(body)))


@router.post("/admission-runs/{run_id}/replay", summary="Recompute a run and compare digests (writes nothing)")
def replay_run(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> AdmissionReplayPublic:
    report = app.replay_admission(run_id)
    return AdmissionReplayPublic(
        run_id=report.run_id,
        position=report.position,
        seed=report.seed,
        result="IDENTICAL" if report.identical else "DIFFERENT",
        recorded_input_digest=report.recorded_input_digest,
        replayed_input_digest=report.replayed_input_digest,
        recorded_digest=report.recorded_digest,
        replayed_digest=report.replayed_digest,
    )


# -- manual admission and undo ------------------------------------------------------------------------


@router.post("/programs/{slug}/admissions", responses=REPLAYED, summary="Admit a list of entrants")
def admit(cmd: AdminCommandDep, slug: KnownProgram, body: AdmitBody) -> CommandResultPublic:
    return cmd.respond(cmd.app.admit_students(program_id(slug), body.students, cmd.ctx(body), groups=body.groups))


@router.post("/programs/{slug}/admissions/undo", responses=REPLAYED, summary="Undo admissions (a recorded event)")
def undo(cmd: AdminCommandDep, slug: KnownProgram, body: UndoBody) -> CommandResultPublic:
    result = cmd.app.undo_admissions(program_id(slug), body.students, cmd.ctx(body), run_id=body.run_id)
    return cmd.respond(result)
