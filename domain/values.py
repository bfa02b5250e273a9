"""Value objects carried by events and commands."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.persistence import Transcoding, UUIDAsHex

from regledger.domain.errors import InvalidInputError, OverrideNeedsReason
from regledger.domain.ids import MAX_CACHED_IDS, SectionId, SubjectId, TimeslotId, uuid_from_hex

ENROLLED = "Enrolled"
WAITLISTED = "Waitlisted"
INTERESTED = "Interested"
APPLIED = "Applied"
# The reference's extra lottery level (`use_grade_range_exceptions`): the grade check is skipped.
GRADE_RANGE_EXCEPTION = "GradeRangeException"
PRIORITY_PREFIX = "Priority/"
STUDENT_CATEGORY = "student"
MAX_REASON = 2000  # a reason is multi-line text: a paragraph, not a document

# One source for the key rule; the HTTP edge derives its pattern from this text.
KEY_RULE = r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}"
_KEY = re.compile(KEY_RULE)

# Characters no text field may hold: C0/C1 controls (NUL stops PostgreSQL's text type; ESC
# paints terminals), lone surrogates (not encodable as UTF-8) and the bidirectional
# overrides and isolates that make text read differently from what it holds.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_UNSAFE_LINE = re.compile(f"[{_UNSAFE}\t\n]")
_UNSAFE_MULTILINE = re.compile(f"[{_UNSAFE}]")  # multi-line text keeps \n and \t, nothing else


def check_timezone(name: str) -> ZoneInfo:
    """An IANA timezone name (`America/New_York`), or InvalidInputError."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise InvalidInputError("timezone must be an IANA zone name such as America/New_York", timezone=name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInputError(f"Unknown timezone {name!r}", timezone=name) from error


def in_zone(value: datetime, zone: str) -> datetime:
    """A time people typed: kept when it names its offset, read in `zone` when it does not."""
    return value if value.tzinfo is not None else value.replace(tzinfo=check_timezone(zone))


def registration_priority(held: Iterable[tuple[str, Iterable[UUID]]], timeslot_ids: Iterable[UUID]) -> int:
    """The reference's `getRegistrationPriority` as documented: over the (verb, timeslots) a
    student holds, 0 if Enrolled in one of `timeslot_ids`, else the smallest N with no
    Priority/N there."""
    wanted = set(timeslot_ids)
    taken: set[int] = set()
    for verb, slots in held:
        if not wanted.intersection(slots):
            continue
        if verb == ENROLLED:
            return 0
        level = priority_level_of(verb)
        if level is not None:
            taken.add(level)
    level = 1
    while level in taken:
        level += 1
    return level


def priority_verb(level: int) -> str:
    return f"{PRIORITY_PREFIX}{level}"


def priority_level_of(verb: str) -> int | None:
    """The N of a `Priority/N` verb, or None for any other verb."""
    if verb.startswith(PRIORITY_PREFIX) and verb[len(PRIORITY_PREFIX) :].isdigit():
        return int(verb[len(PRIORITY_PREFIX) :])
    return None


def check_key(value: str, what: str) -> str:
    """Keys end up in ids and URLs, so they are restricted to a safe alphabet (whole string)."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InvalidInputError(f"{what} must be 1-64 characters of letters, digits and . _ @ + -", **{what: value})
    return value


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character a text field may not hold, or None."""
    found = (_UNSAFE_MULTILINE if multiline else _UNSAFE_LINE).search(value)
    return found.group() if found else None


def check_text(value: str, what: str, *, max_length: int, multiline: bool = False, blank: bool = False) -> str:
    """Text that is stored, shown and exported: bounded, never control characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text", field=what)
    if len(value) > max_length:
        raise InvalidInputError(f"{what} must be at most {max_length} characters", field=what, length=len(value))
    if not blank and not value.strip():
        raise InvalidInputError(f"{what} must not be blank", field=what)
    bad = unsafe_character(value, multiline=multiline)
    if bad is not None:
        allowed = " (line breaks and tabs are allowed)" if multiline else ""
        raise InvalidInputError(
            f"{what} must not contain control characters{allowed}", field=what, character=f"U+{ord(bad):04X}"
        )
    return value


def check_verb(verb: str) -> str:
    """Verbs are shown everywhere and shared by programs: printable, 1-32 characters, trimmed."""
    if not isinstance(verb, str) or not 0 < len(verb.strip()) <= 32 or verb != verb.strip() or not verb.isprintable():
        raise InvalidInputError(
            "A registration verb is 1-32 printable characters without edge spaces",
            verb=verb.encode("unicode_escape").decode() if isinstance(verb, str) else verb,
        )
    return verb


OVERRIDE_NEEDS_REASON = "An override needs a reason"


def missing_reason(override: bool, reason: str) -> bool:
    """The one rule: an override is recorded with the reason someone gave for it."""
    return override and not reason.strip()


@dataclass(frozen=True)
class CommandContext:
    """Who asked, under which idempotency key, and why (a reason is required for overrides)."""

    actor: str
    command_id: str = field(default_factory=lambda: str(uuid4()))
    reason: str = ""
    override: bool = False
    # A digest of the command's name and arguments, set by the command runner: the same
    # command id with another request is refused instead of replaying the first.
    request: str = ""

    def __post_init__(self) -> None:
        if not self.actor or len(self.actor) > 200 or unsafe_character(self.actor):
            raise InvalidInputError("An actor (1-200 characters, no control characters) is required", field="actor")
        if not self.command_id or len(self.command_id) > 200 or unsafe_character(self.command_id):
            raise InvalidInputError("A command id is 1-200 characters without control characters", field="command_id")
        check_text(self.reason, "reason", max_length=MAX_REASON, multiline=True, blank=True)
        if missing_reason(self.override, self.reason):
            raise OverrideNeedsReason(OVERRIDE_NEEDS_REASON, actor=self.actor)

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


class SharedUUIDAsHex(UUIDAsHex):
    """The library's ``uuid_hex`` transcoding (same name and format), decoding through the
    shared id cache."""

    def decode(self, data: Any) -> UUID:
        if not isinstance(data, str):
            raise TypeError(f"uuid_hex data must be a string, not {type(data).__name__}")
        return uuid_from_hex(data)


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
