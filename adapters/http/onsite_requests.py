"""Request bodies of the day-of endpoints: attendance and batch registration (by keys or filter)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regledger.adapters.http.schemas import CommandRequest, Flag, Key


class AttendanceRequest(CommandRequest):
    student_key: Key

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"student_key": "s1024"}]})


class StudentFilterRequest(BaseModel):
    """Students of the program by what the views know: all conditions given must hold."""

    checked_in: bool | None = None
    grade_min: Annotated[int, Field(ge=-2, le=14)] | None = None
    grade_max: Annotated[int, Field(ge=-2, le=14)] | None = None
    free_in_timeslot: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="A timeslot (id or label) in which the student holds no Enrolled section"
    )

    model_config = ConfigDict(extra="forbid")


class BatchRegistrationRequest(CommandRequest):
    student_keys: Annotated[list[Key], Field(min_length=1, max_length=2000)] | None = None
    filter: StudentFilterRequest | None = Field(None, description="Instead of student_keys: choose by filter")
    override_capacity: Flag = Field(False, description="Seat past the capacity (a reason is required).")

    @model_validator(mode="after")
    def _keys_or_filter(self) -> Self:
        if (self.student_keys is None) == (self.filter is None):
            raise ValueError("give student_keys or filter, not both")
        return self

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"student_keys": ["s1024", "s1025"], "reason": "walk-ins"}]},
    )
