"""The Section aggregate: the consistency boundary for seats (Enrolled) and the waitlist."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.capacity import CapacityInputs
from regledger.domain.errors import (
    AlreadyInClass,
    AlreadyWaitlisted,
    CapacityBelowEnrolled,
    NotEnrolled,
    NotRegistered,
    NotScheduled,
    RegistrationError,
    SeatsHeld,
    SectionCancelled,
    SectionClosed,
    SectionFull,
)
from regledger.domain.ids import ProgramId, SectionId, StudentId, SubjectId, TimeslotId, section_id

CLOSED_MESSAGE = "Registration for this section is not currently open."
CANCELLED_MESSAGE = "This section has been cancelled."
NOT_SCHEDULED_MESSAGE = "This section is not scheduled yet, so it cannot take students."


class Section(AuditedAggregate):
    """One scheduled offering of a subject. Its version check serialises every seat change."""

    class Scheduled(AuditedAggregate.Created):
        program_id: ProgramId
        subject_id: SubjectId
        index: int
        timeslot_ids: tuple[TimeslotId, ...]
        max_class_capacity: int | None
        room_capacity: int | None
        capacity: int

    class TimeslotsAssigned(AuditedAggregate.Event):
        timeslot_ids: tuple[TimeslotId, ...]

    class CapacityChanged(AuditedAggregate.Event):
        max_class_capacity: int | None
        room_capacity: int | None
        capacity: int

    class RegistrationOpened(AuditedAggregate.Event):
        pass

    class RegistrationClosed(AuditedAggregate.Event):
        pass

    class Cancelled(AuditedAggregate.Event):
        pass

    class StudentEnrolled(AuditedAggregate.Event):
        student_id: StudentId
        cause: str
        override: bool
        lottery_run_id: UUID | None

    class StudentUnenrolled(AuditedAggregate.Event):
        student_id: StudentId
        cause: str

    class StudentWaitlisted(AuditedAggregate.Event):
        student_id: StudentId

    class StudentLeftWaitlist(AuditedAggregate.Event):
        student_id: StudentId
        cause: str

    class WaitlistPassedOver(AuditedAggregate.Event):
        """A free seat was offered to the queue and this queued student could not take it."""

        student_id: StudentId
        code: str
        message: str

    class WaitlistPlaceReady(AuditedAggregate.Event):
        """A queued student's schedule changed so that they could take a seat here, and none is
        free: recorded so that a seat freed by a command racing with that change conflicts with
        it and is offered again (docs/waitlists.md, "Racing commands")."""

        student_id: StudentId

    @staticmethod
    def create_id(subject_id: SubjectId, index: int) -> UUID:
        return section_id(subject_id, index)

    @event(Scheduled)
    def __init__(
        self,
        program_id: ProgramId,
        subject_id: SubjectId,
        index: int,
        timeslot_ids: Sequence[TimeslotId],
        max_class_capacity: int | None,
        room_capacity: int | None,
        capacity: int,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.program_id = program_id
        self.subject_id = subject_id
        self.index = index
        self.timeslot_ids: tuple[TimeslotId, ...] = tuple(timeslot_ids)
        self.capacity_inputs = CapacityInputs(max_class_capacity, room_capacity)
        self.capacity = capacity
        self.is_open = True
        self.is_cancelled = False
        self.enrolled: dict[StudentId, str] = {}
        self.waitlist: list[StudentId] = []
        # Queued students passed over for a free seat, with the refusal's code (the last recorded).
        self.passed_over: dict[StudentId, str] = {}

    @property
    def section_id(self) -> SectionId:
        return SectionId(self.id)

    @property
    def is_scheduled(self) -> bool:
        return bool(self.timeslot_ids)

    @property
    def seats_free(self) -> int:
        return max(0, self.capacity - len(self.enrolled))

    # -- refusals, in the order the add flow asks for them ---------------------------------

    def seat_refusal(self, full_text: str, *, override: bool) -> RegistrationError | None:
        if not self.is_scheduled:
            return NotScheduled(NOT_SCHEDULED_MESSAGE, section_id=str(self.id))
        if not override and len(self.enrolled) >= self.capacity:
            return SectionFull(full_text, section_id=str(self.id), capacity=self.capacity)
        return None

    def status_refusal(self) -> RegistrationError | None:
        if not self.is_open:
            return SectionClosed(CLOSED_MESSAGE, section_id=str(self.id))
        if self.is_cancelled:
            return SectionCancelled(CANCELLED_MESSAGE, section_id=str(self.id))
        return None

    # -- commands -------------------------------------------------------------------------

    def enroll(
        self,
        student_id: StudentId,
        *,
        cause: str,
        audit: dict[str, str],
        full_text: str,
        override: bool = False,
        lottery_run_id: UUID | None = None,
    ) -> None:
        """Take a seat; never beyond capacity unless an override (with a reason) says so."""
        if student_id in self.enrolled:
            raise AlreadyInClass("You are already signed up for this section!", section_id=str(self.id))
        refusal = self.seat_refusal(full_text, override=override) or self.status_refusal()
        if refusal is not None:
            raise refusal
        self._student_enrolled(
            student_id=student_id, cause=cause, override=override, lottery_run_id=lottery_run_id, **audit
        )

    def unenroll(self, student_id: StudentId, *, cause: str, audit: dict[str, str]) -> None:
        if student_id not in self.enrolled:
            raise NotEnrolled("The student is not enrolled in this section.", section_id=str(self.id))
        self._student_unenrolled(student_id=student_id, cause=cause, **audit)

    def join_waitlist(self, student_id: StudentId, audit: dict[str, str]) -> None:
        if student_id in self.enrolled:
            raise AlreadyInClass("You are already signed up for this section!", section_id=str(self.id))
        if student_id in self.waitlist:
            raise AlreadyWaitlisted("You are already on this section's waitlist.", section_id=str(self.id))
        self._student_waitlisted(student_id=student_id, **audit)

    def leave_waitlist(self, student_id: StudentId, *, cause: str, audit: dict[str, str]) -> None:
        if student_id not in self.waitlist:
            raise NotRegistered("The student is not on this section's waitlist.", section_id=str(self.id))
        self._student_left_waitlist(student_id=student_id, cause=cause, **audit)

    def pass_over(self, student_id: StudentId, code: str, message: str, audit: dict[str, str]) -> None:
        """Record why a queued student did not get a free seat (again only when the reason changes)."""
        if student_id not in self.waitlist:
            raise NotRegistered("The student is not on this section's waitlist.", section_id=str(self.id))
        if self.passed_over.get(student_id) != code:
            self._waitlist_passed_over(student_id=student_id, code=code, message=message, **audit)

    def place_ready(self, student_id: StudentId, audit: dict[str, str]) -> None:
        """Record that a queued student could now take a seat here (see `WaitlistPlaceReady`)."""
        if student_id not in self.waitlist:
            raise NotRegistered("The student is not on this section's waitlist.", section_id=str(self.id))
        self._waitlist_place_ready(student_id=student_id, **audit)

    def cancel(self, audit: dict[str, str]) -> list[StudentId]:
        """Cancel and release every seat and waitlist place; returns the students affected."""
        if self.is_cancelled:
            raise SectionCancelled(CANCELLED_MESSAGE, section_id=str(self.id))
        affected = sorted(set(self.enrolled) | set(self.waitlist))
        self._cancelled(**audit)
        for student in sorted(self.enrolled):
            self._student_unenrolled(student_id=student, cause="cancelled", **audit)
        for student in list(self.waitlist):
            self._student_left_waitlist(student_id=student, cause="cancelled", **audit)
        return affected

    def set_open(self, is_open: bool, audit: dict[str, str]) -> None:
        if self.is_cancelled:
            raise SectionCancelled(CANCELLED_MESSAGE, section_id=str(self.id))
        if is_open and not self.is_open:
            self._opened(**audit)
        elif not is_open and self.is_open:
            self._closed(**audit)

    def change_capacity(
        self, inputs: CapacityInputs, capacity: int, audit: dict[str, str], *, override: bool = False
    ) -> None:
        if capacity < len(self.enrolled) and not override:
            raise CapacityBelowEnrolled(
                f"{len(self.enrolled)} students hold seats; capacity {capacity} would overfill the section.",
                section_id=str(self.id),
                enrolled=len(self.enrolled),
                capacity=capacity,
            )
        self._capacity_changed(
            max_class_capacity=inputs.max_class_capacity,
            room_capacity=inputs.room_capacity,
            capacity=capacity,
            **audit,
        )

    def assign_timeslots(self, timeslot_ids: Sequence[TimeslotId], audit: dict[str, str]) -> None:
        """Students' schedules copy a section's timeslots, so they are fixed once seats are held."""
        if self.enrolled or self.waitlist:
            raise SeatsHeld("Students hold seats in this section; it cannot be rescheduled.")
        self._timeslots_assigned(timeslot_ids=tuple(timeslot_ids), **audit)

    # -- recorders ------------------------------------------------------------------------

    @event(StudentEnrolled)
    def _student_enrolled(
        self,
        student_id: StudentId,
        cause: str,
        override: bool,  # noqa: ARG002 - recorded by the event, not kept in the state
        lottery_run_id: UUID | None,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.enrolled[student_id] = cause
        if student_id in self.waitlist:
            self.waitlist.remove(student_id)
        self.passed_over.pop(student_id, None)

    @event(StudentUnenrolled)
    def _student_unenrolled(self, student_id: StudentId, cause: str, actor: str, command_id: str, reason: str) -> None:  # noqa: ARG002 - recorded by the event, not kept in the state
        del self.enrolled[student_id]

    @event(StudentWaitlisted)
    def _student_waitlisted(self, student_id: StudentId, actor: str, command_id: str, reason: str) -> None:
        self.waitlist.append(student_id)

    @event(StudentLeftWaitlist)
    def _student_left_waitlist(
        self,
        student_id: StudentId,
        cause: str,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.waitlist.remove(student_id)
        self.passed_over.pop(student_id, None)

    @event(WaitlistPassedOver)
    def _waitlist_passed_over(
        self,
        student_id: StudentId,
        code: str,
        message: str,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.passed_over[student_id] = code

    @event(WaitlistPlaceReady)
    def _waitlist_place_ready(self, student_id: StudentId, actor: str, command_id: str, reason: str) -> None:
        self.passed_over.pop(student_id, None)  # the recorded reason no longer holds

    @event(CapacityChanged)
    def _capacity_changed(
        self,
        max_class_capacity: int | None,
        room_capacity: int | None,
        capacity: int,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.capacity_inputs = CapacityInputs(max_class_capacity, room_capacity)
        self.capacity = capacity

    @event(TimeslotsAssigned)
    def _timeslots_assigned(self, timeslot_ids: Sequence[TimeslotId], actor: str, command_id: str, reason: str) -> None:
        self.timeslot_ids = tuple(timeslot_ids)

    @event(RegistrationOpened)
    def _opened(self, actor: str, command_id: str, reason: str) -> None:
        self.is_open = True

    @event(RegistrationClosed)
    def _closed(self, actor: str, command_id: str, reason: str) -> None:
        self.is_open = False

    @event(Cancelled)
    def _cancelled(self, actor: str, command_id: str, reason: str) -> None:
        self.is_cancelled = True
