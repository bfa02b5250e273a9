"""The audit log's part of the views' fold: one row per event of a program, as it was recorded.

Why: a registrar asks "who did what, when, why" of a whole program -- every command's events,
not only the registrations the intervals keep. Each event becomes one `AuditRecorded` change:
its time, kind, actor, reason, cause and command id, the student, section and class it
concerns (ids: names are joined when read) and a short `detail` taken from the event alone.
The program is the event's aggregate's: every aggregate of a program is created by an event
naming it (`AggregateOwned`), and the view looks the owner up when it inserts the row, so
the fold stays pure. Events of aggregates outside any program (the verb catalogue) have no
row. `changes.changes_of` appends these changes to every event's own; the lean fold makes
the same ones from the stored state of the hottest classes (`of_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from regledger.domain.admission import AdmissionTicket
from regledger.domain.audited import AuditedAggregate
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.no_show_sweep import NoShowSweep
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.projections.stored_state import UnexpectedState, optional_uuid_of


@dataclass(slots=True)
class AggregateOwned:
    """The aggregate belongs to the program (from the event that created it)."""

    aggregate_id: UUID
    program_id: UUID


@dataclass(slots=True)
class AuditRecorded:
    """One event's audit row (its position is the notification's; the program its aggregate's).

    `related_id`: a second thing the event names -- the section a switch left, the lottery
    run that made a registration -- or None."""

    recorded_at: datetime
    aggregate_id: UUID
    event_kind: str  # "Aggregate.EventClass", e.g. "Section.StudentEnrolled"
    actor: str
    reason: str
    cause: str
    command_id: str
    student_id: UUID | None
    section_id: UUID | None
    subject_id: UUID | None
    related_id: UUID | None
    detail: str

    def row(self, position: int) -> tuple[Any, ...]:
        """The table's row but its program (`audit_schema.AUDIT_ROW`): what the view inserts."""
        return (
            position,
            self.recorded_at,
            self.aggregate_id,
            self.event_kind,
            self.actor,
            self.reason,
            self.cause,
            self.command_id,
            self.student_id,
            self.section_id,
            self.subject_id,
            self.related_id,
            self.detail,
        )


# Positions a block of the audit's time bounds: each block's first and last recorded time is
# kept (`widen_block`), so a time range is narrowed to the positions of the blocks it meets.
BLOCK = 1024


def widen_block(blocks: dict[int, list[Any]], position: int, at: datetime) -> None:
    """Take an audit row recorded `at` into its block's [block, first, last] in `blocks`."""
    block = position // BLOCK
    found = blocks.get(block)
    if found is None:
        blocks[block] = [block, at, at]
    else:
        found[1], found[2] = min(found[1], at), max(found[2], at)


# The aggregates of a program, whose events the audit shows.
AGGREGATES: tuple[type[AuditedAggregate], ...] = (
    Program,
    Student,
    Subject,
    Section,
    LotteryRun,
    NoShowSweep,
    AdmissionTicket,
)


def _event_classes() -> dict[str, type[Any]]:
    """The events each aggregate declares (not the bases the library adds: every aggregate's
    `Event`, and a `Created` beside a created event of another name)."""
    found: dict[str, type[Any]] = {}
    for aggregate in AGGREGATES:
        events = [
            value
            for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, AuditedAggregate.Event) and name != "Event"
        ]
        created = [cls for cls in events if issubclass(cls, AuditedAggregate.Created)]
        for cls in events:
            if not (cls.__name__ == "Created" and len(created) > 1):
                found[cls.__qualname__] = cls
    return dict(sorted(found.items()))


# Every event kind the audit shows, by qualified name ("Student.SectionRegistered").
EVENT_KINDS: dict[str, type[Any]] = _event_classes()


def kinds_named(name: str) -> list[str]:
    """The event kinds a filter names: a qualified name, or a class name in any aggregate
    ("Created" names every aggregate's); [] if none."""
    if name in EVENT_KINDS:
        return [name]
    return [kind for kind in EVENT_KINDS if kind.rpartition(".")[2] == name]


# (student_id, section_id, subject_id, related_id, cause, detail) of an event.
Facts = tuple[UUID | None, UUID | None, UUID | None, UUID | None, str, str]
_NONE: Facts = (None, None, None, None, "", "")


def _student(e: Any) -> Facts:
    """A Student event: the student is the aggregate."""
    return (e.originator_id, None, None, None, "", "")


def _section(e: Any) -> Facts:
    return (None, e.originator_id, None, None, "", "")


def _section_student(e: Any) -> Facts:
    """A Section event about one student (a seat or a waitlist place)."""
    return (e.student_id, e.originator_id, None, None, getattr(e, "cause", ""), "")


def _subject(e: Any) -> Facts:
    return (None, None, e.originator_id, None, "", "")


_FACTS: dict[type[Any], Callable[[Any], Facts]] = {
    Student.Registered: lambda e: (e.originator_id, None, None, None, "", e.student_key),
    Student.ProfileSubmitted: lambda e: (e.originator_id, None, None, None, "", f"graduation {e.graduation_year}"),
    Student.SectionRegistered: lambda e: (
        e.originator_id,
        e.section.section_id,
        e.section.subject_id,
        e.lottery_run_id,
        e.cause,
        e.verb,
    ),
    Student.RegistrationEnded: lambda e: (e.originator_id, e.section_id, None, None, e.cause, e.verb),
    Student.SectionSwitched: lambda e: (
        e.originator_id,
        e.to_section.section_id,
        e.to_section.subject_id,
        e.from_section_id,
        "switch",
        "",
    ),
    Student.SubjectStarred: lambda e: (e.originator_id, None, e.subject_id, None, "", ""),
    Student.SubjectUnstarred: lambda e: (e.originator_id, None, e.subject_id, None, "", ""),
    Student.PrioritiesRanked: lambda e: (
        e.originator_id,
        None,
        None,
        None,
        "ranking",
        f"{sum(r is not None for r in e.ranked)} ranked",
    ),
    Student.PreferencesConfirmed: lambda e: (e.originator_id, None, None, None, "", f"{e.stars} stars"),
    Section.Scheduled: lambda e: (None, e.originator_id, e.subject_id, None, "", f"capacity {e.capacity}"),
    Section.CapacityChanged: lambda e: (None, e.originator_id, None, None, "", f"capacity {e.capacity}"),
    Section.StudentEnrolled: lambda e: (
        e.student_id,
        e.originator_id,
        None,
        e.lottery_run_id,
        e.cause,
        "override" if e.override else "",
    ),
    Section.StudentUnenrolled: _section_student,
    Section.StudentWaitlisted: _section_student,
    Section.StudentLeftWaitlist: _section_student,
    Section.WaitlistPassedOver: lambda e: (e.student_id, e.originator_id, None, None, "", e.code),
    Section.WaitlistPlaceReady: _section_student,
    Subject.Created: lambda e: (None, None, e.originator_id, None, "", e.code),
    Subject.StatusChanged: lambda e: (None, None, e.originator_id, None, "", e.status),
    Subject.SectionAdded: lambda e: (None, e.section_id, e.originator_id, None, "", ""),
    Subject.DetailsChanged: lambda e: (None, None, e.originator_id, None, "", ", ".join(map(str, e.changed))),
    Program.Created: lambda e: (None, None, None, None, "", e.slug),
    Program.SettingsChanged: lambda e: (None, None, None, None, "", ", ".join(sorted(map(str, e.changes)))),
    Program.TimeslotAdded: lambda e: (None, None, None, None, "", e.label),
    Program.WindowSet: lambda e: (None, None, None, None, "", e.kind),
    Program.ConstraintAdded: lambda e: (None, None, None, None, "", e.label),
    Program.StudentAdmitted: lambda e: (e.student_id, None, None, None, "", ""),
    Program.LotteryCommitted: lambda e: (None, None, None, e.run_id, "", ""),
    Program.StudentsAdmitted: lambda e: (None, None, None, e.run_id, "", f"{len(e.student_ids)} students"),
    Program.AdmissionsUndone: lambda e: (None, None, None, None, "", f"{len(e.student_ids)} students"),
    Program.AdmissionsDeclined: lambda e: (None, None, None, e.run_id, "", f"{len(e.student_ids)} students"),
    LotteryRun.Started: lambda e: (None, None, None, None, "", f"seed {e.seed}"),
    LotteryRun.Computed: lambda e: (None, None, None, None, "", f"{e.assignments} assignments"),
    LotteryRun.Committed: lambda e: (None, None, None, e.replaced_run_id, "", f"{e.enrolments} enrolments"),
    LotteryRun.StudentsUnplaced: lambda e: (None, None, None, None, "", f"{len(e.student_ids)} unplaced"),
    AdmissionTicket.Entered: lambda e: (None, None, None, None, "", e.holder_key),
    AdmissionTicket.MemberJoined: lambda e: (None, None, None, None, "", e.student_key),
    AdmissionTicket.MemberLeft: lambda e: (None, None, None, None, "", e.student_key),
}
_BY_AGGREGATE: dict[type[Any], Callable[[Any], Facts]] = {
    Student: _student,
    Section: _section,
    Subject: _subject,
}


def _facts_of(cls: type[Any]) -> Callable[[Any], Facts] | None:
    """How to read an event class's facts; None: not shown (no program)."""
    found = _FACTS.get(cls)
    if found is not None:
        return found
    kind = EVENT_KINDS.get(cls.__qualname__)
    if kind is not cls:
        return None
    aggregate = next(a for a in AGGREGATES if cls.__qualname__.startswith(a.__name__ + "."))
    by_aggregate: Callable[[Any], Facts] = _BY_AGGREGATE.get(aggregate, lambda _e: _NONE)
    return by_aggregate


# Per event class, looked up once: (its kind, its facts), or None for events not shown.
_readers: dict[type[Any], tuple[str, Callable[[Any], Facts]] | None] = {}


def audit_changes(event: DomainEventProtocol[UUID]) -> list[Any]:
    """The audit's changes of one event: its row, after its aggregate's owner if it made one."""
    cls = event.__class__
    try:
        reader = _readers[cls]
    except KeyError:
        facts = _facts_of(cls)
        reader = _readers[cls] = None if facts is None else (cls.__qualname__, facts)
    if reader is None:
        return []
    kind, facts = reader
    e: Any = event
    student, section, subject, related, cause, detail = facts(e)
    row = AuditRecorded(
        e.timestamp,
        e.originator_id,
        kind,
        e.actor,
        e.reason,
        cause,
        e.command_id,
        student,
        section,
        subject,
        related,
        detail,
    )
    if isinstance(e, AuditedAggregate.Created):
        owner = e.originator_id if isinstance(e, Program.Created) else getattr(e, "program_id", None)
        if owner is not None:
            return [AggregateOwned(e.originator_id, owner), row]
    return [row]


# -- the same rows from stored states (the lean fold's classes) -----------------------------
#
# Each takes the view change the lean fold made of the state (its values already read and
# checked) and reads from the state only what that change lacks.


def _audit_texts(s: dict[str, Any]) -> tuple[str, str, str]:
    actor, reason, command_id = s["actor"], s["reason"], s["command_id"]
    if not (type(actor) is type(reason) is type(command_id) is str):
        raise UnexpectedState("a text field is not a string")
    return actor, reason, command_id


def _registered_state(ch: Any, _s: dict[str, Any]) -> AuditRecorded:
    """From its `IntervalOpened`, which holds everything."""
    return AuditRecorded(
        ch.at,
        ch.student_id,
        "Student.SectionRegistered",
        ch.actor,
        ch.reason,
        ch.cause,
        ch.command_id,
        ch.student_id,
        ch.section_id,
        ch.subject_id,
        ch.lottery_run_id,
        ch.verb,
    )


def _starred_state(ch: Any, s: dict[str, Any]) -> AuditRecorded:
    reason = s["reason"]
    if type(reason) is not str:
        raise UnexpectedState("a text field is not a string")
    kind = "Student.SubjectStarred"
    return AuditRecorded(
        ch.at, ch.student_id, kind, ch.actor, reason, "", ch.command_id, ch.student_id, None, ch.subject_id, None, ""
    )


def _enrolled_state(ch: Any, s: dict[str, Any]) -> AuditRecorded:
    actor, reason, command_id = _audit_texts(s)
    override = s["override"]
    if type(override) is not bool:
        raise UnexpectedState("override is not a boolean")
    run = optional_uuid_of(s["lottery_run_id"])
    detail = "override" if override else ""
    kind = "Section.StudentEnrolled"
    return AuditRecorded(
        ch.at, ch.section_id, kind, actor, reason, ch.cause, command_id, ch.student_id, ch.section_id, None, run, detail
    )


def _waitlisted_state(ch: Any, s: dict[str, Any]) -> AuditRecorded:
    actor, reason, command_id = _audit_texts(s)
    kind = "Section.StudentWaitlisted"
    return AuditRecorded(
        ch.at, ch.section_id, kind, actor, reason, "", command_id, ch.student_id, ch.section_id, None, None, ""
    )


STATE_ROWS: dict[str, Callable[[Any, dict[str, Any]], AuditRecorded]] = {
    "Student.SectionRegistered": _registered_state,
    "Student.SubjectStarred": _starred_state,
    "Section.StudentEnrolled": _enrolled_state,
    "Section.StudentWaitlisted": _waitlisted_state,
}


def of_state(kind: str, change: Any, s: dict[str, Any]) -> AuditRecorded:
    """`audit_changes` of a lean-folded event: from the one change the lean fold made of it and
    its guarded stored state `s` (raises `UnexpectedState` where a value is not what the class
    stores)."""
    return STATE_ROWS[kind](change, s)


__all__ = [
    "AGGREGATES",
    "BLOCK",
    "EVENT_KINDS",
    "AggregateOwned",
    "AuditRecorded",
    "audit_changes",
    "kinds_named",
    "of_state",
    "widen_block",
]
