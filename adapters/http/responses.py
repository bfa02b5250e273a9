"""Response models of the HTTP API (`*Public`): what every answer carries, names and ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from regledger.adapters.http.catalogue_models import (
    RosterEntryPublic,
    StarredClassPublic,
    StudentRefPublic,
    TimeslotPublic,
    WaitlistEntryPublic,
)
from regledger.adapters.http.schemas import EXAMPLE_UUID


class CommandResultPublic(BaseModel):
    """What a command did; `position` is the log position a query must reach to show it."""

    command_id: str
    outcome: str
    position: int
    replayed: bool
    ids: dict[str, str]
    warnings: list[str] = Field(default=[], description="Accepted, but probably not meant: e.g. a capacity of 0")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "command_id": "0b8e4c2e-0c2f-4b7e-9f5a-2a1d3c4b5e6f",
                    "outcome": "SectionRegistered",
                    "position": 42,
                    "replayed": False,
                    "ids": {"student_id": EXAMPLE_UUID, "verb": "Enrolled"},
                }
            ]
        }
    )


class ErrorPublic(BaseModel):
    """Every error: a stable machine `code`, a `message` for people, and structured `detail`."""

    code: str
    message: str
    detail: dict[str, Any]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"code": "section_full", "message": "Class temporarily full; please check back later", "detail": {}}
            ]
        }
    )


class RegistrationTypePublic(BaseModel):
    name: str
    display_name: str
    description: str
    category: str


class RosterPublic(BaseModel):
    position: int
    section_id: UUID
    section_code: str | None
    class_title: str | None
    as_of: datetime | None = Field(description="The instant the roster is of; null: now")
    count: int = Field(description="Students listed (as of `as_of`)")
    capacity: int | None = Field(description="The section's capacity now")
    student_ids: list[UUID]
    entries: list[RosterEntryPublic]


class ScheduleEntryPublic(BaseModel):
    section_id: UUID
    subject_id: UUID
    verb: str
    since: datetime
    timeslot_ids: list[UUID]
    section_code: str | None
    section_index: int | None
    class_code: str | None
    class_title: str | None
    timeslots: list[TimeslotPublic]


class SchedulePublic(BaseModel):
    position: int
    student_id: UUID
    entries: list[ScheduleEntryPublic]


class IntervalPublic(BaseModel):
    student_id: UUID
    student_key: str | None
    section_id: UUID
    section_code: str | None
    subject_id: UUID
    verb: str
    valid_from: datetime
    valid_to: datetime | None
    cause: str
    actor: str
    reason: str
    command_id: str
    end_cause: str | None
    end_actor: str | None
    end_reason: str | None
    end_command_id: str | None
    lottery_run_id: UUID | None
    position: int


class HistoryPublic(BaseModel):
    position: int
    intervals: list[IntervalPublic]


class SeatCountPublic(BaseModel):
    section_id: UUID
    code: str | None
    class_title: str | None
    subject_id: UUID
    capacity: int
    taken: int
    free: int
    waitlisted: int
    is_open: bool
    is_cancelled: bool


class CountsPublic(BaseModel):
    position: int
    students: int
    sections: list[SeatCountPublic]


class StarsPublic(BaseModel):
    position: int
    subject_ids: list[UUID]
    classes: list[StarredClassPublic]


class WaitlistPublic(BaseModel):
    position: int
    section_id: UUID
    section_code: str | None
    student_ids: list[UUID]
    entries: list[WaitlistEntryPublic]


class DemandPublic(BaseModel):
    position: int
    section_id: UUID
    stars: int
    priorities: dict[int, int]
    verb_counts: dict[str, int]


class StatRowPublic(BaseModel):
    label: str
    value: str


class LotteryStatsPublic(BaseModel):
    """A run's recorded stats: `rows` for people (as the CLI prints them), `stats` for programs."""

    run_id: UUID
    status: str
    seed: int
    input_position: int
    parameters: dict[str, Any]
    algorithm: str = Field(description="The algorithm id and version the run used")
    rows: list[StatRowPublic]
    stats: dict[str, Any]
    worst_served: list[StudentRefPublic] = Field(description="`stats.worst_served` with keys and names")


class AssignmentPublic(BaseModel):
    student_id: UUID
    student_key: str | None
    section_id: UUID
    section_code: str | None
    level: int = Field(description="The priority level that won the seat (1..N), 0 for interest")


class LotteryAssignmentPublic(BaseModel):
    run_id: UUID
    digest: str
    assignments: list[AssignmentPublic]


class LotteryReplayPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the domain's ReplayReport

    run_id: UUID
    position: int
    seed: int
    recorded_input_digest: str
    replayed_input_digest: str
    recorded_digest: str
    replayed_digest: str
    identical: bool
    algorithm: str = Field(description="The recorded algorithm id and version")
    recorded_numpy: str = Field(description="numpy's version when the run was computed (empty if not recorded)")
    replayed_numpy: str = Field(description="numpy's version of this replay")


class ComparisonRowPublic(BaseModel):
    label: str
    values: list[str]


class LotteryComparisonPublic(BaseModel):
    run_ids: list[UUID]
    rows: list[ComparisonRowPublic]


class RunSummaryPublic(BaseModel):
    run_id: UUID
    seed: int
    input_position: int
    algorithm: str = Field(default="esp-weighted/1", description="The algorithm id and version the run used")
    status: str = Field(description="started, computed, committed or discarded")
    started_at: datetime
    actor: str
    assignment_digest: str | None
    assignments: int | None
    enrolments: int | None
    ended_at: datetime | None


class RunsPublic(BaseModel):
    position: int
    runs: list[RunSummaryPublic]


class BatchOutcomePublic(BaseModel):
    student_key: str
    status: str = Field(description="ok, skipped (already in the section), conflict, full or refused")
    code: str = Field(description="The refusal's code (empty when seated or skipped)")
    message: str
    position: int = Field(description="The log position of the student's seat (0 unless ok)")


class BatchResultPublic(BaseModel):
    command_id: str
    counts: dict[str, int]
    outcomes: list[BatchOutcomePublic]
