"""The registration views' fold: one domain event -> the view changes it implies.

Pure and stateless: every change is derived from the event alone (never from the repository or
from the view), so replaying the log from zero always yields the same tables. Changes whose
effect depends on the view's current state say so in their semantics instead:

- ``IntervalOpened`` never targets a key (student, section, verb) that is open: where the
  aggregate overwrites a held key (a ranking), the fold emits the closing change first.
- ``IntervalClosed`` on a key that is not open is a no-op (the aggregate's ``pop(key, None)``).

Changes are never modified once made, yet their classes are not ``frozen``: a frozen dataclass
sets each field through ``object.__setattr__``, which made building them 6x slower.

Intervals are half-open, ``[valid_from, valid_to)``: a student who switches at T is in the new
section at T and no longer in the old one (ESP's inclusive ``end_date`` showed both at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import singledispatch
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import ENROLLED, SectionRef, priority_verb
from regledger.projections.audit import AggregateOwned, AuditRecorded, audit_changes
from regledger.projections.catalogue_changes import (
    ProgramCreated,
    ProgramSettingSet,
    RunPatch,
    RunStarted,
    SeatsChanged,
    SectionStatusChanged,
    SectionTimeslotsChanged,
    SectionUpserted,
    StudentCheckedIn,
    StudentProfiled,
    StudentUpserted,
    SubjectDetailsChanged,
    SubjectStatusChanged,
    SubjectUpserted,
    TimeslotAdded,
    WindowSet,
)
from regledger.projections.registration_changes import (
    IntervalClosed,
    IntervalOpened,
    PassedOver,
    SeatReleased,
    SeatTaken,
    StarClosed,
    StarOpened,
    WaitlistJoined,
    WaitlistLeft,
)

ViewChange = (
    StudentUpserted
    | StudentProfiled
    | StudentCheckedIn
    | ProgramCreated
    | ProgramSettingSet
    | WindowSet
    | SubjectDetailsChanged
    | RunStarted
    | RunPatch
    | IntervalOpened
    | IntervalClosed
    | StarOpened
    | StarClosed
    | SubjectUpserted
    | SubjectStatusChanged
    | SectionUpserted
    | SectionTimeslotsChanged
    | SeatsChanged
    | SectionStatusChanged
    | SeatTaken
    | SeatReleased
    | WaitlistJoined
    | WaitlistLeft
    | PassedOver
    | TimeslotAdded
    | AggregateOwned
    | AuditRecorded
)


def ids_of(ids: tuple[UUID, ...]) -> tuple[UUID, ...]:
    return tuple(UUID(str(t)) for t in ids)


@singledispatch
def fold(_event: DomainEventProtocol[UUID]) -> list[ViewChange]:
    """The view changes of one event (none for events the views do not show)."""
    return []


@fold.register
def _(e: Student.SectionRegistered) -> list[ViewChange]:
    ref = e.section
    return [
        IntervalOpened(
            e.originator_id,
            ref.section_id,
            ref.subject_id,
            e.verb,
            e.timestamp,
            e.cause,
            e.actor,
            e.reason,
            e.command_id,
            e.lottery_run_id,
        )
    ]


@fold.register
def _(e: Student.RegistrationEnded) -> list[ViewChange]:
    return [_closed(e, e.section_id, e.verb, e.cause)]


def _closed(e: Student.Event, section_id: UUID, verb: str, cause: str) -> IntervalClosed:
    return IntervalClosed(e.originator_id, section_id, verb, e.timestamp, cause, e.actor, e.reason, e.command_id)


def _opened(e: Student.Event, ref: SectionRef, verb: str, cause: str) -> IntervalOpened:
    return IntervalOpened(
        e.originator_id, ref.section_id, ref.subject_id, verb, e.timestamp, cause, e.actor, e.reason, e.command_id, None
    )


@fold.register
def _(e: Student.SectionSwitched) -> list[ViewChange]:
    return [_closed(e, e.from_section_id, ENROLLED, "switch"), _opened(e, e.to_section, ENROLLED, "switch")]


@fold.register
def _(e: Student.PrioritiesRanked) -> list[ViewChange]:
    changes: list[ViewChange] = []
    for level, ref in enumerate(e.previous, start=1):
        if ref is not None:
            changes.append(_closed(e, ref.section_id, priority_verb(level), "ranking"))
    for level, ref in enumerate(e.ranked, start=1):
        if ref is not None:
            # The aggregate overwrites a key it already holds: end that interval, then reopen.
            changes.append(_closed(e, ref.section_id, priority_verb(level), "ranking"))
            changes.append(_opened(e, ref, priority_verb(level), "ranking"))
    return changes


@fold.register
def _(e: Student.SubjectStarred) -> list[ViewChange]:
    return [StarOpened(e.originator_id, e.subject_id, e.timestamp, e.actor, e.command_id)]


@fold.register
def _(e: Student.SubjectUnstarred) -> list[ViewChange]:
    return [StarClosed(e.originator_id, e.subject_id, e.timestamp, e.actor, e.command_id)]


@fold.register
def _(e: Section.StudentEnrolled) -> list[ViewChange]:
    return [SeatTaken(e.originator_id, e.student_id, e.timestamp, e.cause)]


@fold.register
def _(e: Section.StudentUnenrolled) -> list[ViewChange]:
    return [SeatReleased(e.originator_id, e.student_id)]


@fold.register
def _(e: Section.StudentWaitlisted) -> list[ViewChange]:
    return [WaitlistJoined(e.originator_id, e.student_id, e.timestamp)]


@fold.register
def _(e: Section.StudentLeftWaitlist) -> list[ViewChange]:
    return [WaitlistLeft(e.originator_id, e.student_id)]


@fold.register
def _(e: Section.WaitlistPassedOver) -> list[ViewChange]:
    return [PassedOver(e.originator_id, e.student_id, e.code, e.message, e.timestamp)]


@dataclass(frozen=True, slots=True)
class Batch:
    """The changes of consecutive notifications, applied with `position` in one transaction.

    `after` is the position the notifications were read after: the views apply the batch only
    at exactly that position, so a batch can neither repeat events nor skip any (None: only a
    lower or equal position is refused)."""

    position: int
    changes: list[tuple[int, int, ViewChange]]  # (notification id, index in its event, change)
    events: int
    after: int | None = None


def fold_batch(events: Iterable[tuple[int, DomainEventProtocol[UUID]]], after: int | None = None) -> Batch:
    """The batch of `events` (lazily: each event can be dropped as soon as it is folded)."""
    changes: list[tuple[int, int, ViewChange]] = []
    position, count = 0, 0
    for position, event in events:
        count += 1
        for seq, change in enumerate(changes_of(event)):
            changes.append((position, seq, change))
    return Batch(position, changes, count, after)


def changes_of(event: DomainEventProtocol[UUID]) -> list[ViewChange]:
    """`fold(event)`, with the handler looked up once per class, then the event's audit row
    (`projections.audit`)."""
    cls = event.__class__
    handler = _handlers.get(cls) or _handlers.setdefault(cls, fold.dispatch(cls))
    return [*handler(event), *audit_changes(event)]


# `fold`'s handler per event class, looked up once: singledispatch's own lookup (a weak-keyed
# cache behind a wrapper) was a tenth of the fold's time in a rebuild.
_handlers: dict[type[object], Callable[[DomainEventProtocol[UUID]], list[ViewChange]]] = {}


# The change types are defined beside (`catalogue_changes`, `registration_changes`); readers of
# the fold use them through this module.
__all__ = [
    "AggregateOwned",
    "AuditRecorded",
    "Batch",
    "IntervalClosed",
    "IntervalOpened",
    "PassedOver",
    "ProgramCreated",
    "ProgramSettingSet",
    "RunPatch",
    "RunStarted",
    "SeatReleased",
    "SeatTaken",
    "SeatsChanged",
    "SectionStatusChanged",
    "SectionTimeslotsChanged",
    "SectionUpserted",
    "StarClosed",
    "StarOpened",
    "StudentCheckedIn",
    "StudentProfiled",
    "StudentUpserted",
    "SubjectDetailsChanged",
    "SubjectStatusChanged",
    "SubjectUpserted",
    "TimeslotAdded",
    "ViewChange",
    "WaitlistJoined",
    "WaitlistLeft",
    "WindowSet",
    "changes_of",
    "fold",
    "fold_batch",
]

# The catalogue's handlers register themselves on `fold` (they import it from here).
from regledger.projections import catalogue_fold  # noqa: E402, F401  - registration
