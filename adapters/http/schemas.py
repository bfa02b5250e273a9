"""Request and response models of the HTTP API (`*Request` in, `*Public` out)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from regledger.domain.values import KEY_RULE, OVERRIDE_NEEDS_REASON, missing_reason, unsafe_character

KEY_PATTERN = f"^{KEY_RULE}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
# A boolean is a JSON boolean: `0`, `"no"` or `"true"` is more likely a client bug than intent.
Flag = Annotated[bool, Strict()]


def _query_flag(value: Any) -> Any:
    if isinstance(value, bool) or value in ("true", "false"):
        return value
    raise ValueError("must be true or false")


# A query-string boolean is the text `true` or `false` (not `0`, `1`, `yes` or `on`).
QueryFlag = Annotated[bool, BeforeValidator(_query_flag)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    return value


def _one_line(value: str) -> str:
    bad = unsafe_character(value)
    if bad is not None:
        raise ValueError(f"must not contain control characters (found U+{ord(bad):04X})")
    return value


def _multi_line(value: str) -> str:
    bad = unsafe_character(value, multiline=True)
    if bad is not None:
        raise ValueError(
            f"must not contain control characters other than line breaks and tabs (found U+{ord(bad):04X})"
        )
    return value


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters only")
    return value


Verb = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    AfterValidator(_not_blank),
    AfterValidator(_trimmed),
    AfterValidator(_printable),
]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank), AfterValidator(_one_line)
]
Category = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_not_blank), AfterValidator(_one_line)
]
Line = Annotated[str, StringConstraints(max_length=200), AfterValidator(_one_line)]
Count = Annotated[int, Field(ge=0, le=100_000)]
Grade = Annotated[int, Field(ge=0, le=20)]
Year = Annotated[int, Field(ge=1900, le=2200)]
# Multi-line text: line breaks and tabs are kept, no other control character.
Reason = Annotated[str, StringConstraints(max_length=500), AfterValidator(_multi_line)]
WindowKind = Literal["lottery", "classes", "removal", "class_change"]
SubjectStatus = Literal["cancelled", "rejected", "unreviewed", "hidden", "accepted"]


def _plausible_instant(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year if value.tzinfo is not None else value.year
    except OverflowError:
        year = 0
    if not 1900 <= year <= 2200:
        raise ValueError("must be between the years 1900 and 2200")
    return value


def _iso_8601(value: Any) -> Any:
    """Only ISO 8601 text (or a datetime): pydantic would read `1700000000` as an epoch."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-21T09:00:00Z")
    return value


_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_plausible_instant)]
# A time as people type it: with an offset, or without one, read in the program's timezone.
LocalInstant = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_plausible_instant)]

RANK_PATTERN = r"^[1-9][0-9]?$"
EXAMPLE_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandRequest(_Request):
    """Fields every command accepts: an audit reason, and (admins only) an override."""

    reason: Reason = Field(default="", description="Recorded on every event; required with override.")
    override: Flag = Field(
        default=False, description="Admins only: bypass windows, caps, grade ranges and full sections."
    )

    @model_validator(mode="after")
    def _override_needs_reason(self) -> Self:
        if missing_reason(self.override, self.reason):
            raise ValueError(OVERRIDE_NEEDS_REASON)
        return self


# -- admin ---------------------------------------------------------------------------------


class ProgramSettingsRequest(_Request):
    """Program settings; only the fields sent are set (program_size_max null = no cap)."""

    use_priority: Flag | None = None
    priority_limit: Annotated[int, Field(ge=1, le=20)] | None = None
    class_cap_multiplier: Annotated[float, Field(ge=0, le=100)] | None = None
    class_cap_offset: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    temporarily_full_text: Label | None = None
    require_profile: Flag | None = None
    program_size_max: Count | None = None
    waitlist_enabled: Flag | None = None
    min_stars: Annotated[int, Field(ge=0, le=100)] | None = None
    visible_verbs: Annotated[list[Verb], Field(min_length=1, max_length=20)] | None = None
    student_verbs: Annotated[list[Verb], Field(max_length=20)] | None = None
    timezone: Annotated[Label, Field(description="IANA zone, e.g. America/New_York")] | None = None
    phase_zero: Annotated[Flag, Field(description="Only students the admission lottery admitted register")] | None = (
        None
    )
    admission_group_size: Annotated[int, Field(ge=1, le=50)] | None = None

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"waitlist_enabled": True, "priority_limit": 3}]}
    )

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True, exclude={"reason", "override"})
        if data.get("class_cap_multiplier") is not None:
            data["class_cap_multiplier"] = str(data["class_cap_multiplier"])
        return {k: v for k, v in data.items() if v is not None or k == "program_size_max"}


class SettingsRequest(ProgramSettingsRequest, CommandRequest):
    """Change program settings: the fields sent, nothing else."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"waitlist_enabled": True, "reason": "more demand"}]}
    )


class ProgramCreateRequest(_Request):
    slug: Key
    title: Label
    school_year: Year
    grade_min: Grade = 7
    grade_max: Grade = 12
    settings: ProgramSettingsRequest | None = None
    reason: Reason = ""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"slug": "splash-2026", "title": "Splash Fall 2026", "school_year": 2027, "grade_min": 7}]
        },
    )


class TimeslotRequest(CommandRequest):
    label: Label
    start: Instant
    end: Instant

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"label": "Sat 9:00", "start": "2026-11-21T09:00:00Z", "end": "2026-11-21T09:50:00Z"}]
        },
    )


class WindowRequest(CommandRequest):
    opens: Instant | None = None
    closes: Instant | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"opens": "2026-11-01T00:00:00Z", "closes": "2026-11-14T23:59:59Z"}]},
    )


class SubjectRequest(CommandRequest):
    code: Key
    title: Label
    category: Category = "General"
    grade_min: Grade = 7
    grade_max: Grade = 12
    status: SubjectStatus = "accepted"
    class_size_max: Count | None = None
    class_size_optimal: Count | None = None
    is_lunch: Flag = False

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "M101", "title": "Knot Theory", "class_size_max": 20}]},
    )


class SubjectChangeRequest(CommandRequest):
    """Only the fields sent change; a size sent as null means "no size"."""

    title: Label | None = None
    category: Category | None = None
    grade_min: Grade | None = None
    grade_max: Grade | None = None
    class_size_max: Count | None = None
    class_size_optimal: Count | None = None
    is_lunch: Flag | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"class_size_max": 25}]})

    def details(self) -> dict[str, Any]:
        sent = self.model_dump(exclude_unset=True, exclude={"reason", "override"})
        nullable = {"class_size_max", "class_size_optimal"}
        return {k: v for k, v in sent.items() if v is not None or k in nullable}


class SubjectStatusRequest(CommandRequest):
    status: SubjectStatus

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "accepted"}]})


class SectionRequest(CommandRequest):
    timeslot_ids: Annotated[list[UUID], Field(max_length=50)] = []
    max_class_capacity: Count | None = None
    room_capacity: Count | None = None

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"timeslot_ids": [EXAMPLE_UUID], "room_capacity": 25}]}
    )


class CapacityRequest(CommandRequest):
    max_class_capacity: Count | None = None
    room_capacity: Count | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_class_capacity": 12}]})


class TimeslotsRequest(CommandRequest):
    timeslot_ids: Annotated[list[UUID], Field(max_length=50)]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"timeslot_ids": [EXAMPLE_UUID]}]})


class ConstraintRequest(CommandRequest):
    """A schedule constraint: whenever `condition` holds, `requirement` must hold too."""

    label: Label
    condition: dict[str, Any]
    requirement: dict[str, Any]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "label": "Lunch on Saturday",
                    "condition": {"op": "true"},
                    "requirement": {"op": "timeslot_free", "id": EXAMPLE_UUID},
                }
            ]
        },
    )


class LunchConstraintsRequest(CommandRequest):
    lunch_timeslot_ids: Annotated[list[UUID], Field(min_length=1, max_length=50)]
    lunch_category: Category = "Lunch"
    include_conditions: Flag = True

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lunch_timeslot_ids": [EXAMPLE_UUID]}]})


class ActionRequest(CommandRequest):
    """An optional body for commands without parameters (open, close, cancel, confirm)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "room flooded"}]})


# -- students ------------------------------------------------------------------------------


class ProfileRequest(CommandRequest):
    name: Label
    graduation_year: Year
    contacts: Annotated[
        dict[Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_one_line)], Line],
        Field(max_length=20),
    ] = {}

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Ada Lovelace", "graduation_year": 2029, "contacts": {"email": "ada@example.org"}}]
        },
    )


class RegistrationRequest(CommandRequest):
    section_id: UUID
    verb: Verb = "Enrolled"
    replace: bool = Field(
        False,
        description="Drop the Enrolled sections this one conflicts with (same class or a shared timeslot) "
        "and add it, all or nothing; any refusal keeps the old seats. Freed seats go to their waitlists.",
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"section_id": EXAMPLE_UUID, "verb": "Enrolled"}]}
    )


class SwitchRequest(CommandRequest):
    from_section_id: UUID
    to_section_id: UUID

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"from_section_id": EXAMPLE_UUID, "to_section_id": EXAMPLE_UUID}]},
    )


class WaitlistRequest(CommandRequest):
    section_id: UUID

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"section_id": EXAMPLE_UUID}]})


class PrioritiesRequest(CommandRequest):
    """Ranks 1..N of one timeslot; null leaves a rank empty. Replaces the previous ranking."""

    ranks: Annotated[
        dict[Annotated[str, StringConstraints(pattern=RANK_PATTERN)], UUID | None],
        Field(max_length=20),
        WithJsonSchema(
            {
                "type": "object",
                "maxProperties": 20,
                "additionalProperties": False,
                "patternProperties": {
                    RANK_PATTERN: {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}
                },
            }
        ),
    ]

    def ranking(self) -> dict[int, UUID | None]:
        return {int(rank): subject for rank, subject in self.ranks.items()}

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ranks": {"1": EXAMPLE_UUID, "2": None}}]}
    )
