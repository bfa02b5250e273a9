"""The registration views' query API (results are frozen DTOs) and their write contract.

Implemented once in SQL (`regledger.adapters.views`) for SQLite, in a file or in memory, and
PostgreSQL; the projection tests run over every store. Every read model is keyed by program and
shares ONE tracking position: the last notification id whose changes are applied. Time
arguments (`as_of`) use half-open intervals: a registration is valid at T iff
valid_from <= T < valid_to.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from regledger.domain.values import APPLIED, ENROLLED, PRIORITY_PREFIX, registration_priority
from regledger.projections.audit_views import AuditViews
from regledger.projections.board import BoardViews
from regledger.projections.catalogue import CatalogueViews
from regledger.projections.changes import Batch

APPLIED_VERBS = (ENROLLED, APPLIED)  # plus every Priority/N


class PositionAlreadyApplied(Exception):
    """A batch at or below the view's tracking position, or read after another position than
    the view's: rejected, nothing written."""

    def __init__(self, position: int, current: int) -> None:
        super().__init__(f"batch position {position} does not follow the view's position {current}")
        self.position = position
        self.current = current


@dataclass(frozen=True)
class RegistrationRow:
    """One current registration: what ESP's `valid_objects()` filter used to answer."""

    program_id: UUID
    student_id: UUID
    section_id: UUID
    subject_id: UUID
    verb: str
    since: datetime
    cause: str


@dataclass(frozen=True)
class Interval:
    """One registration interval [valid_from, valid_to); valid_to None = still current."""

    program_id: UUID
    student_id: UUID
    section_id: UUID
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
    position: int  # notification id that opened it


@dataclass(frozen=True)
class ScheduleEntry:
    section_id: UUID
    subject_id: UUID
    verb: str
    since: datetime
    timeslot_ids: tuple[UUID, ...]
    # Names, read with the entry (a schedule is rendered with them): "" / 0 if unknown.
    class_code: str = ""
    class_title: str = ""
    section_index: int = 0


@dataclass(frozen=True)
class SeatCount:
    section_id: UUID
    subject_id: UUID
    capacity: int
    taken: int
    waitlisted: int
    is_open: bool
    is_cancelled: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)


@dataclass(frozen=True)
class WaitlistPlace:
    """A place in a section's queue; `passed_over_*`: why the student last could not take a free
    seat while holding this place (docs/waitlists.md), None if never."""

    student_id: UUID
    since: datetime
    passed_over_code: str | None = None
    passed_over_message: str | None = None
    passed_over_at: datetime | None = None


@dataclass(frozen=True)
class Demand:
    """Interest in one section: stars on its class and current priorities by level."""

    section_id: UUID
    stars: int
    priorities: dict[int, int]


def priority_level(entries: Iterable[ScheduleEntry], timeslot_ids: Iterable[UUID]) -> int:
    """`Student.priority_level` over a schedule (the reference's documented intent)."""
    return registration_priority(((e.verb, e.timeslot_ids) for e in entries), timeslot_ids)


def is_applied_verb(verb: str) -> bool:
    return verb in APPLIED_VERBS or verb.startswith(PRIORITY_PREFIX)


class RegistrationViews(AuditViews, BoardViews, CatalogueViews):
    """Queries and the exactly-once write side of the registration views (the catalogue's queries
    are `CatalogueViews`, the big board's `BoardViews`, the audit log's `AuditViews`)."""

    # -- lifecycle and writes ------------------------------------------------------------

    @abstractmethod
    def create_tables(self) -> None:
        """Create tables, indexes and the tracking row if missing (idempotent)."""

    @abstractmethod
    def drop_tables(self) -> None:
        """Drop every view table and the tracking position (for a rebuild)."""

    @abstractmethod
    def position(self) -> int:
        """The last notification id applied (0 before any)."""

    @abstractmethod
    def apply(self, batch: Batch) -> None:
        """Apply a whole batch and move the position to `batch.position`, atomically.

        Raises PositionAlreadyApplied (and writes nothing) unless batch.position > position() and
        batch.after (when given) == position()."""

    def apply_all(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """`apply` each batch in order, yielding it once committed; stops at the first refusal.

        A store may start writing a batch before it takes the next one from `batches` (so the
        caller's reading and folding overlaps the writes) and confirm it after."""
        for batch in batches:
            self.apply(batch)
            yield batch

    @abstractmethod
    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        """Every table's rows in a canonical, store-independent form (tests, rebuild checks)."""

    def defer_indexes(self) -> None:
        """Before a bulk load into empty tables: drop the indexes only queries need (no-op here).
        `optimize` (or `create_tables`) creates them again."""

    def optimize(self) -> None:
        """After a bulk load (a rebuild): create deferred indexes, refresh planner statistics."""

    def close(self) -> None:
        """Release connections."""

    # -- registrations ---------------------------------------------------------------------

    @abstractmethod
    def current_registrations(
        self,
        program_id: UUID,
        student_id: UUID | None = None,
        section_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
    ) -> list[RegistrationRow]:
        """Registrations valid now, ordered by (student, section, verb)."""

    @abstractmethod
    def students(
        self, section_id: UUID, verbs: Sequence[str] | None = (ENROLLED,), as_of: datetime | None = None
    ) -> list[UUID]:
        """The roster: students holding one of `verbs` (None = any) on the section, sorted."""

    @abstractmethod
    def sections(
        self,
        student_id: UUID,
        program_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> list[ScheduleEntry]:
        """The schedule: the student's registrations (any verb if None), with timeslots."""

    @abstractmethod
    def history(self, *, student_id: UUID | None = None, section_id: UUID | None = None) -> list[Interval]:
        """Every interval of the student or the section, in time order (valid_from, position)."""

    @abstractmethod
    def verb_counts(self, section_id: UUID) -> dict[str, int]:
        """Current registrations on the section per verb."""

    def roster_as_of(self, section_id: UUID, at: datetime) -> list[UUID]:
        return self.students(section_id, (ENROLLED,), as_of=at)

    def enrolled_sections(self, student_id: UUID, as_of: datetime | None = None) -> list[UUID]:
        return sorted({e.section_id for e in self.sections(student_id, verbs=(ENROLLED,), as_of=as_of)})

    def enrolled_classes(self, student_id: UUID, as_of: datetime | None = None) -> list[UUID]:
        return sorted({e.subject_id for e in self.sections(student_id, verbs=(ENROLLED,), as_of=as_of)})

    def applied_classes(self, student_id: UUID, as_of: datetime | None = None) -> list[UUID]:
        """Classes the student is Enrolled in, Applied to, or ranked at any Priority/N."""
        entries = self.sections(student_id, as_of=as_of)
        return sorted({e.subject_id for e in entries if is_applied_verb(e.verb)})

    # -- interest --------------------------------------------------------------------------

    @abstractmethod
    def stars_of(self, student_id: UUID) -> list[UUID]:
        """Classes the student has starred (now), sorted."""

    @abstractmethod
    def stargazers(self, subject_id: UUID) -> list[UUID]:
        """Students who have starred the class (now), sorted."""

    @abstractmethod
    def demand(self, section_id: UUID) -> Demand: ...

    # -- counts ----------------------------------------------------------------------------

    @abstractmethod
    def seat_counts(self, program_id: UUID) -> list[SeatCount]:
        """Every section of the program with capacity, seats taken and waitlist, by section id."""

    @abstractmethod
    def waitlist(self, section_id: UUID) -> list[UUID]:
        """The section's waitlist in queue order."""

    @abstractmethod
    def waitlist_places(self, section_id: UUID) -> list[WaitlistPlace]:
        """The section's waitlist in queue order, with when each joined and why each was last
        passed over for a free seat."""

    @abstractmethod
    def students_in_program(self, program_id: UUID) -> int:
        """Students who ever registered for a section or starred a class in the program.

        As in the reference, a student counts from their first registration or star; unlike
        the reference's live filter, leaving again does not un-count them."""
