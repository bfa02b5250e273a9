"""Request bodies of the lottery endpoints."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from regledger.adapters.http.schemas import CommandRequest, Count, Flag, _Request

SEED_MAX = 2**63 - 1


class LotteryParametersRequest(_Request):
    """The reference lottery's tuning knobs (0 for a cap means no cap)."""

    kp: float = Field(default=1.2, gt=0, le=1000, description="Weight divisor per priority level")
    ki: float = Field(default=1.1, gt=0, le=1000, description="Weight divisor per interest (star)")
    check_grade: Flag = True
    max_sections: Count = 0
    max_timeslots: Count = 0
    fill_low_priorities: Flag = False


class LotteryStartRequest(CommandRequest):
    parameters: LotteryParametersRequest = Field(default_factory=LotteryParametersRequest)
    seed: int | None = Field(
        default=None, ge=0, le=SEED_MAX, description="Recorded with the run; drawn at random when omitted."
    )
    algorithm: str | None = Field(
        default=None,
        max_length=64,
        description="`esp-weighted` (default) or `lsf-repair`, or a versioned id such as `esp-weighted/1`; "
        "the id is recorded with the run. An unknown name is refused (422) with the known ones.",
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"parameters": {"kp": 1.2}, "seed": 42}]})


class LotteryCommitRequest(CommandRequest):
    replace: Flag = Field(default=False, description="End every seat held in the program (and a committed run) first.")
