"""Value objects carried by events and commands."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Transcoding

from regledger.domain.errors import InvalidInputError, OverrideNeedsReason
from regledger.domain.ids import SectionId, SubjectId, TimeslotId
from regledger.domain.transcodings import MAX_CACHED_IDS, uuid_from_hex

ENROLLED = "Enrolled"
WAITLISTED = "Waitlisted"
INTERESTED = "Interested"
APPLIED = "Applied"
PRIORITY_PREFIX = "Priority/"
STUDENT_CATEGORY = "student"

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def priority_verb(level: int) -> str:
    return f"{PRIORITY_PREFIX}{level}"


def priority_level_of(verb: str) -> int | None:
    """The N of a `Priority/N` verb, or None for any other verb."""
    if verb.startswith(PRIORITY_PREFIX) and verb[len(PRIORITY_PREFIX) :].isdigit():
        return int(verb[len(PRIORITY_PREFIX) :])
    return None


def check_key(value: str, what: str) -> str:
    """Keys end up in ids and URLs, so they are restricted to a safe alphabet."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise InvalidInputError(f"{what} must be 1-64 characters of letters, digits and . _ @ + -", **{what: value})
    return value


def check_verb(verb: str) -> str:
    if not isinstance(verb, str) or not 0 < len(verb.strip()) <= 32 or verb != verb.strip():
        raise InvalidInputError("A registration verb is 1-32 characters without edge spaces", verb=verb)
    return verb


@dataclass(frozen=True)
class CommandContext:
    """Who asked, under which idempotency key, and why (a reason is required for overrides)."""

    actor: str
    command_id: str = field(default_factory=lambda: str(uuid4()))
    reason: str = ""
    override: bool = False

    def __post_init__(self) -> None:
        if not self.actor or len(self.actor) > 200:
            raise InvalidInputError("An actor (1-200 characters) is required", actor=self.actor)
        if not self.command_id or len(self.command_id) > 200:
            raise InvalidInputError("A command id is 1-200 characters", command_id=self.command_id)
        if self.override and not self.reason.strip():
            raise OverrideNeedsReason("An override needs a reason", actor=self.actor)

    def audit(self) -> dict[str, str]:
        return {"actor": self.actor, "command_id": self.command_id, "reason": self.reason}


@dataclass(frozen=True)
class Timeslot:
    id: TimeslotId
    label: str
    start: datetime
    end: datetime

    def overlaps(self, other: Timeslot) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class SectionRef:
    """What a student's schedule must know about a section: enough to check conflicts alone."""

    section_id: SectionId
    subject_id: SubjectId
    category: str
    timeslot_ids: tuple[TimeslotId, ...]


class SectionRefAsDict(Transcoding):
    type = SectionRef
    name = "section_ref"

    def encode(self, obj: SectionRef) -> dict[str, Any]:
        return {
            "section_id": obj.section_id.hex,
            "subject_id": obj.subject_id.hex,
            "category": obj.category,
            "timeslot_ids": [t.hex for t in obj.timeslot_ids],
        }

    def __init__(self) -> None:
        # A section's reference is repeated in every registration for it; SectionRef is frozen,
        # so one decoded object per distinct content can be shared (bounded like the ids).
        self._decoded: dict[tuple[str, str, str, tuple[str, ...]], SectionRef] = {}

    def decode(self, data: dict[str, Any]) -> SectionRef:
        key = (data["section_id"], data["subject_id"], data["category"], tuple(data["timeslot_ids"]))
        found = self._decoded.get(key)
        if found is None:
            found = SectionRef(
                section_id=SectionId(uuid_from_hex(key[0])),
                subject_id=SubjectId(uuid_from_hex(key[1])),
                category=key[2],
                timeslot_ids=tuple(TimeslotId(uuid_from_hex(t)) for t in key[3]),
            )
            if len(self._decoded) >= MAX_CACHED_IDS:
                self._decoded.clear()
            self._decoded[key] = found
        return found
