"""Class-change endpoints: a student's requests (students for themselves, admins for anyone),
and class-change runs (admins): start, list, status and stats, moves, commit, discard, replay."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Request
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
from regledger.adapters.http.naming import Names
from regledger.adapters.http.responses import CommandResultPublic, RunSummaryPublic
from regledger.adapters.http.schemas import ActionRequest, CommandRequest
from regledger.adapters.http.tabular import CSV_RESPONSES, FormatQuery, csv_response, wants_csv
from regledger.domain.errors import InvalidInputError, NotFoundError
from regledger.domain.ids import ProgramId, SectionId, program_id
from regledger.domain.request_commands import current_requests, request_level_of
from regledger.domain.student import Student
from regledger.projections.catalogue import section_id_of_code

router = APIRouter(tags=["class change"])

STUDENT = "/programs/{slug}/students/{key}"
RunPath = Annotated[UUID, Path(description="A class-change run id (`ids.run_id` of the start command)")]
SectionText = Annotated[str, Field(min_length=1, max_length=64, description="A section's id or code (`M101s1`)")]


# -- bodies and answers -------------------------------------------------------------------------


class RequestItem(BaseModel):
    section: SectionText
    priority: Annotated[int | None, Field(ge=1, le=20, description="1 = first choice; null = no priority")] = None

    model_config = ConfigDict(extra="forbid")


class RequestsBody(CommandRequest):
    """The student's whole set of requests: it replaces the current one (an empty list withdraws all)."""

    requests: Annotated[list[RequestItem], Field(max_length=100)]

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"requests": [{"section": "M101s1", "priority": 1}]}]}
    )


class StartBody(CommandRequest):
    seed: Annotated[int | None, Field(ge=0, lt=2**63, description="Drawn (and recorded) when omitted")] = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"seed": 42}]})


class SectionNamePublic(BaseModel):
    section_id: UUID
    code: str | None
    title: str | None


class RequestPublic(SectionNamePublic):
    priority: int | None
    verb: str


class StudentRequestsPublic(BaseModel):
    student_key: str
    requests: list[RequestPublic]


class AddedPublic(SectionNamePublic):
    priority: int | None = Field(description="The request's priority that won the seat; null = no priority")


class MovePublic(BaseModel):
    student_id: UUID
    student_key: str | None
    name: str | None
    dropped: list[SectionNamePublic]
    added: list[AddedPublic]


class ClassChangeRunPublic(BaseModel):
    run_id: UUID
    program_id: UUID
    status: str
    seed: int
    input_position: int
    parameters: dict[str, Any]
    assignment_digest: str | None
    students_changed: int
    seats_moved: int
    stats: dict[str, Any]


class ClassChangeRunsPublic(BaseModel):
    position: int
    runs: list[RunSummaryPublic]


class ClassChangeAssignmentPublic(BaseModel):
    run_id: UUID
    digest: str
    moves: list[MovePublic]


class ClassChangeReplayPublic(BaseModel):
    run_id: UUID
    position: int
    seed: int
    result: Literal["IDENTICAL", "DIFFERENT"]
    recorded_input_digest: str
    replayed_input_digest: str
    recorded_digest: str
    replayed_digest: str


# -- a student's requests -----------------------------------------------------------------------


def _section(program: ProgramId, text: str) -> SectionId:
    try:
        return SectionId(UUID(text))
    except ValueError:
        found = section_id_of_code(program, text)
        if found is None:
            raise NotFoundError("No such section", section=text) from None
        return found


def _name(names: Names, section_id: UUID) -> dict[str, Any]:
    found = names.section(section_id)
    return {
        "section_id": section_id,
        "code": None if found is None else found.code,
        "title": None if found is None else found.class_title,
    }


@router.put(f"{STUDENT}/requests", summary="Replace the student's class-change requests")
def put_requests(cmd: StudentCommandDep, body: RequestsBody) -> CommandResultPublic:
    """Each item names a section (id or code) and a priority (1..the program's limit, or null).
    The list replaces the student's requests in one command: removed ones are withdrawn, new
    ones recorded, unchanged ones kept."""
    wanted: dict[SectionId, int | None] = {}
    for item in body.requests:
        section = _section(cmd.program_id, item.section)
        if section in wanted:
            raise InvalidInputError("A section is requested twice", section=item.section)
        wanted[section] = item.priority
    return cmd.respond(cmd.app.request_changes(cmd.program_id, cmd.student_key, wanted, cmd.ctx(body)))


@router.get(f"{STUDENT}/requests", summary="The student's class-change requests")
def get_requests(acting: ActingDep, app: RegistrationDep, views: ViewsDep) -> StudentRequestsPublic:
    student = app.find(Student, Student.create_id(acting.program_id, acting.student_key))
    held = current_requests(student) if student is not None else {}
    names = Names(views).load(sections=held)
    requests = []
    for section_id, verb in sorted(held.items(), key=lambda item: (names.code(item[0]) or "", item[0])):
        level = request_level_of(verb)
        requests.append(RequestPublic(**_name(names, section_id), priority=level or None, verb=verb))
    return StudentRequestsPublic(student_key=acting.student_key, requests=requests)


# -- runs ------------------------------------------------------------------------------------------


@router.post(
    "/programs/{slug}/class-change-runs", status_code=201, responses=REPLAYED, summary="Start a class-change run"
)
def start_run(cmd: AdminCommandDep, slug: KnownProgram, body: StartBody | None = None) -> CommandResultPublic:
    """Compute the moves from the log as it stands with the given (or a drawn) seed and record
    the run; nobody moves until it is committed. `ids.run_id` names the run."""
    body = body or StartBody()
    return cmd.respond(cmd.app.start_class_change(program_id(slug), cmd.ctx(body), seed=body.seed), created=True)


@router.get("/programs/{slug}/class-change-runs", summary="A program's class-change runs, newest first")
def program_runs(_admin: AdminDep, slug: KnownProgram, app: RegistrationDep, views: ViewsDep) -> ClassChangeRunsPublic:
    """The lottery runs view, kept to the runs of kind class_change (each run's kind is read from
    its aggregate: a program has a handful)."""
    position = views.position()
    runs = views.lottery_runs(program_id(slug))
    kept = [r for r in runs if app.load_run(r.run_id).parameters.get("kind") == "class_change"]
    return ClassChangeRunsPublic(
        position=position,
        runs=[RunSummaryPublic(**{k: v for k, v in vars(r).items() if k != "program_id"}) for r in kept],
    )


@router.get("/class-change-runs/{run_id}", summary="A class-change run's status, seed and stats")
def run_status(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> ClassChangeRunPublic:
    run = app.load_class_change_run(run_id)
    return ClassChangeRunPublic(
        run_id=run.id,
        program_id=run.program_id,
        status=run.status,
        seed=run.seed,
        input_position=run.input_position,
        parameters=dict(run.parameters),
        assignment_digest=run.assignment_digest,
        students_changed=run.assignments,
        seats_moved=int(run.stats.get("seats_moved", 0)),
        stats=dict(run.stats),
    )


@router.get(
    "/class-change-runs/{run_id}/assignment",
    summary="A run's moves per student (dropped, added), recomputed and checked",
    responses=CSV_RESPONSES,
)
def run_assignment(
    request: Request, run_id: RunPath, _admin: AdminDep, app: RegistrationDep, views: ViewsDep, fmt: FormatQuery = None
) -> Any:
    result = app.class_change_assignment(run_id)
    names = Names(views).load(
        students={m.student_id for m in result.moves},
        sections={s for m in result.moves for s in (*m.dropped, *(a for a, _ in m.added))},
    )
    moves = [
        MovePublic(
            student_id=m.student_id,
            student_key=names.key(m.student_id),
            name=names.student(m.student_id).name,
            dropped=[SectionNamePublic(**_name(names, s)) for s in m.dropped],
            added=[AddedPublic(**_name(names, s), priority=level or None) for s, level in m.added],
        )
        for m in result.moves
    ]
    if wants_csv(request, fmt):
        rows = [
            {
                "student_key": m.student_key,
                "change": change,
                "section_code": s.code,
                "title": s.title,
                "priority": getattr(s, "priority", None),
                "student_id": m.student_id,
                "section_id": s.section_id,
            }
            for m in moves
            for change, sections in (("dropped", m.dropped), ("added", m.added))
            for s in sections
        ]
        columns = ("student_key", "change", "section_code", "title", "priority", "student_id", "section_id")
        return csv_response(columns, rows, f"class-change-{run_id}")
    return ClassChangeAssignmentPublic(run_id=run_id, digest=result.digest(), moves=moves)


@router.post("/class-change-runs/{run_id}/commit", responses=REPLAYED, summary="Apply a run's moves, all or nothing")
def commit_run(cmd: AdminCommandDep, run_id: RunPath, body: ActionRequest | None = None) -> CommandResultPublic:
    return cmd.respond(cmd.app.commit_class_change(run_id, cmd.ctx(body)))


@router.post("/class-change-runs/{run_id}/discard", responses=REPLAYED, summary="Discard a run (never committed)")
def discard_run(cmd: AdminCommandDep, run_id: RunPath, body: ActionRequest | None = None) -> CommandResultPublic:
    cmd.app.load_class_change_run(run_id)
    return cmd.respond(cmd.app.discard_lottery(run_id, cmd.ctx(body)))


@router.post("/class-change-runs/{run_id}/replay", summary="Recompute a run and compare digests (writes nothing)")
def replay_run(run_id: RunPath, _admin: AdminDep, app: RegistrationDep) -> ClassChangeReplayPublic:
    report = app.replay_class_change(run_id)
    return ClassChangeReplayPublic(
        run_id=report.run_id,
        position=report.position,
        seed=report.seed,
        result="IDENTICAL" if report.identical else "DIFFERENT",
        recorded_input_digest=report.recorded_input_digest,
        replayed_input_digest=report.replayed_input_digest,
        recorded_digest=report.recorded_digest,
        replayed_digest=report.replayed_digest,
    )
