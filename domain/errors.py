"""Refusals: every rule violation is a RegistrationError with a stable machine code."""

from __future__ import annotations

from typing import Any, ClassVar


class RegistrationError(Exception):
    """A command was refused; nothing was written. `code` is stable, `message` is for people."""

    code: ClassVar[str] = "refused"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, detail={self.detail!r})"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class NotFoundError(RegistrationError):
    """An id named by a command does not exist."""

    code = "not_found"


class InvalidInputError(RegistrationError):
    """Input is malformed or out of range (checked before any rule)."""

    code = "invalid_input"


class MalformedConstraintError(InvalidInputError):
    """A schedule-constraint expression does not parse."""

    code = "malformed_constraint"


class AlreadyExistsError(RegistrationError):
    """Something with this identity was already created by another command."""

    code = "already_exists"


class IdempotencyKeyReused(InvalidInputError):
    """A command id already used by a different request (another command or other arguments)."""

    code = "idempotency_key_reused"


class ConflictError(RegistrationError):
    """Concurrent writers kept changing the same aggregates; the command gave up after retrying."""

    code = "conflict"


class RuleViolation(RegistrationError):
    """A registration rule refused the command."""


def rule(code: str) -> type[RuleViolation]:
    """Build a RuleViolation subclass for `code`, so callers can catch one rule precisely."""
    name = "".join(part.title() for part in code.split("_")) + "Error"
    return type(name, (RuleViolation,), {"code": code, "__doc__": f"Refusal `{code}`."})


SectionFull = rule("section_full")
ConstraintViolated = rule("constraint_violated")
AlreadyInClass = rule("already_in_class")
TimeslotConflict = rule("timeslot_conflict")
SectionClosed = rule("registration_closed")  # the event of that name is Section.RegistrationClosed
SectionCancelled = rule("section_cancelled")
PriorityLimit = rule("priority_limit")
ClassNotAccepted = rule("class_not_accepted")
ProgramFull = rule("program_full")
GradeOutOfRange = rule("grade_out_of_range")
ProfileRequired = rule("profile_required")
NotScheduled = rule("not_scheduled")
NotEnrolled = rule("not_enrolled")
NotRegistered = rule("not_registered")
WindowClosed = rule("window_closed")
DifferentClass = rule("different_class")
OverrideNeedsReason = rule("override_needs_reason")
CapacityBelowEnrolled = rule("capacity_below_enrolled")
SeatsHeld = rule("seats_held")
AlreadyWaitlisted = rule("already_waitlisted")
WaitlistDisabled = rule("waitlist_disabled")
NotStarred = rule("not_starred")
TooFewStars = rule("too_few_stars")
LotteryAlreadyCommitted = rule("lottery_already_committed")
LotteryNotComputed = rule("lottery_not_computed")
EnrollmentsExist = rule("enrollments_exist")
RemovalConstraintViolated = rule("removal_constraint_violated")
AlreadyRegistered = rule("already_registered")
NotInProgram = rule("not_in_program")
DuplicateRanking = rule("duplicate_ranking")
NotInTimeslot = rule("not_in_timeslot")
LotteryDiscarded = rule("lottery_discarded")
LotterySeatUnavailable = rule("lottery_seat_unavailable")
LotteryDigestMismatch = rule("lottery_digest_mismatch")
SeatsAvailable = rule("seats_available")
VerbNotAllowed = rule("verb_not_allowed")
ProgramGradeOutOfRange = rule("program_grade_out_of_range")
WaitlistAhead = rule("waitlist_ahead")
# -- class-change requests and runs --
TooManyRequests = rule("too_many_requests")
DuplicateRequestPriority = rule("duplicate_request_priority")
LunchNotRequestable = rule("lunch_not_requestable")
ClassChangeStale = rule("class_change_stale")
NotAClassChangeRun = rule("not_a_class_change_run")
NotALotteryRun = rule("not_a_lottery_run")
# -- lottery algorithms --
LotteryAlgorithmUnavailable = rule("lottery_algorithm_unavailable")
NotCheckedIn = rule("not_checked_in")
# -- Phase Zero: the admission lottery --
PhaseZeroOff = rule("phase_zero_off")
NotAdmitted = rule("not_admitted")
AlreadyEntered = rule("admission_already_entered")
AdmissionTargetUnknown = rule("admission_target_unknown")
AdmissionTargetNotEntered = rule("admission_target_not_entered")
AdmissionJoinSelf = rule("admission_join_self")
AlreadyInGroup = rule("admission_already_in_group")
HoldingGroup = rule("admission_holding_group")
GroupFull = rule("admission_group_full")
NotInGroup = rule("admission_not_in_group")
NotEntered = rule("admission_not_entered")
AdmissionGradeUncovered = rule("admission_grade_uncovered")
AdmissionStale = rule("admission_stale")
NotAnAdmissionRun = rule("not_an_admission_run")
