"""The fold of the hottest events straight from their stored state (a rebuild's fast path).

Why: registrations, stars, enrolments and waitlist places are nine in ten events of a Splash
log, and decoding each into its domain event (every value walked and transcoded, the event
object built) was most of a rebuild's client time. For these four classes the changes are
made from the parsed JSON state directly (the gain: docs/benchmarks.md).

Exactly `changes.fold` of the decoded event: each reader is strict (`stored_state`),
the state must pass `stored_state.guarded_state` (exactly the class's stored keys: no
upcast `class_version`, no other fields) and its text fields must be strings; anything else returns None and the caller
decodes the event as usual. Only for a mapper whose states are plain JSON (no cipher, no
compressor, the library's JSON format). `tests/projections/test_lean_fold.py` checks the
equality on generated events of each class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic

from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.projections import changes as c
from regledger.projections.audit import of_state
from regledger.projections.changes import Batch, ViewChange, changes_of
from regledger.projections.log_pages import LogEntry, to_domain_event
from regledger.projections.stored_state import (
    FAST_PATH,
    UnexpectedState,
    datetime_of,
    guarded_state,
    optional_uuid_of,
    reads_plain_json,
    section_ids_of,
    uuid_of,
)

LeanFold = Callable[[UUID, dict[str, Any]], list[ViewChange]]


def _registered(student_id: UUID, s: dict[str, Any]) -> list[ViewChange]:
    verb, cause, actor, reason, command_id = s["verb"], s["cause"], s["actor"], s["reason"], s["command_id"]
    if not (type(verb) is type(cause) is type(actor) is type(reason) is type(command_id) is str):
        raise UnexpectedState("a text field is not a string")
    section_id, subject_id = section_ids_of(s["section"])
    at, run = datetime_of(s["timestamp"]), optional_uuid_of(s["lottery_run_id"])
    return [c.IntervalOpened(student_id, section_id, subject_id, verb, at, cause, actor, reason, command_id, run)]


def _starred(student_id: UUID, s: dict[str, Any]) -> list[ViewChange]:
    actor, command_id = s["actor"], s["command_id"]
    if not (type(actor) is type(command_id) is str):
        raise UnexpectedState("a text field is not a string")
    return [c.StarOpened(student_id, uuid_of(s["subject_id"]), datetime_of(s["timestamp"]), actor, command_id)]


def _enrolled(section_id: UUID, s: dict[str, Any]) -> list[ViewChange]:
    cause = s["cause"]
    if type(cause) is not str:
        raise UnexpectedState("a text field is not a string")
    return [c.SeatTaken(section_id, uuid_of(s["student_id"]), datetime_of(s["timestamp"]), cause)]


def _waitlisted(section_id: UUID, s: dict[str, Any]) -> list[ViewChange]:
    return [c.WaitlistJoined(section_id, uuid_of(s["student_id"]), datetime_of(s["timestamp"]))]


# topic -> the fold of its guarded state (`stored_state.FAST_PATH` holds the keys), and the
# event's kind in the audit.
LEAN: dict[str, tuple[LeanFold, str]] = {
    get_topic(cls): (fold, cls.__qualname__)
    for cls, fold in (
        (Student.SectionRegistered, _registered),
        (Student.SubjectStarred, _starred),
        (Section.StudentEnrolled, _enrolled),
        (Section.StudentWaitlisted, _waitlisted),
    )
    if get_topic(cls) in FAST_PATH
}


def lean_changes(topic: str, originator_id: UUID | str, state: bytes) -> list[ViewChange] | None:
    """The changes of one stored event read from its state, or None: decode it as usual."""
    lean = LEAN.get(topic)
    if lean is None or type(originator_id) is not UUID:
        return None
    parsed = guarded_state(topic, state)
    if parsed is None:
        return None
    fold, kind = lean
    try:
        made = fold(originator_id, parsed)
        made.append(of_state(kind, made[0], parsed))
        return made
    except UnexpectedState:
        return None


def fold_stored(entries: Iterable[LogEntry], mapper: Mapper[UUID], after: int | None = None) -> Batch:
    """`fold_batch` of stored events, the hottest read straight from their state where the
    mapper allows."""
    lean = reads_plain_json(mapper)
    changes: list[tuple[int, int, ViewChange]] = []
    position, count = 0, 0
    for entry in entries:
        position = entry.id
        count += 1
        made = lean_changes(entry.topic, entry.originator_id, entry.state) if lean else None
        if made is None:
            made = changes_of(to_domain_event(mapper, entry))
        for seq, change in enumerate(made):
            changes.append((position, seq, change))
    return Batch(position, changes, count, after)


__all__ = ["LEAN", "fold_stored", "lean_changes"]
