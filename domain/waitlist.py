"""The waitlist policy: a section's queue is served first, in order, whatever frees a seat.

The reference has no per-section waitlist (§10.1), so the policy is ours (docs/waitlists.md):

* Every seat that becomes free — a drop, a switch away, a replacement, a capacity raise, an
  admin's removal, a lottery or class-change commit, a section reopened — is offered to the
  queue at once, in the same commit, head first.
* A queued student whose schedule cannot take the seat now (a timeslot conflict, another
  section of the class held, a schedule constraint) is passed over for this seat, keeps their
  place, and `Section.WaitlistPassedOver` records why (once per reason). Their own schedule
  changing (a drop, a switch, a replacement, a constraint removed) offers the seat again.
* While a queued student ahead could take a free seat, nobody else may take it: an add or a
  switch into it is refused `waitlist_ahead` (an admin's override may).

So after every command a section with free seats has an empty queue, or only students who
cannot take a seat now, or is closed to registration (it then takes nobody at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.constraints import ScheduleConstraint, ScheduledSection
from regledger.domain.errors import RegistrationError, WaitlistAhead
from regledger.domain.ids import SectionId, StudentId, SubjectId
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, WAITLISTED, CommandContext

if TYPE_CHECKING:
    from regledger.domain.application import Registration

WAITLIST_AHEAD_MESSAGE = (
    "Students on this section's waitlist are ahead of you for its free seats; join the waitlist instead."
)


def leave_waitlist_for_seat(student: Student, section: Section, ctx: CommandContext) -> None:
    """Taking a seat ends the student's place in that section's queue, on both sides."""
    if (section.section_id, WAITLISTED) in student.registrations:
        student.end(section.section_id, [WAITLISTED], cause="enrolled", audit=ctx.audit())
        section.leave_waitlist(student.student_id, cause="enrolled", audit=ctx.audit())


def promote_waitlist(app: Registration, program: Program, section: Section, ctx: CommandContext) -> list[Student]:
    """Offer the section's free seats to its queue, head first; returns who got one.

    Those who cannot take a seat now are passed over (recorded once per reason) and stay queued."""
    if not section.waitlist or section.seats_free <= 0 or section.status_refusal() is not None:
        return []  # a closed or cancelled section promotes nobody (and must not block the drop)
    subject = app.load_subject(section.subject_id, program)
    promoted: list[Student] = []
    for candidate_id in list(section.waitlist):
        if section.seats_free <= 0:
            break
        candidate = app.find(Student, candidate_id)
        if candidate is None:
            continue
        refusal = rules.promotion_refusal(program, subject, section, candidate)
        if refusal is not None:
            section.pass_over(candidate.student_id, refusal.code, refusal.message, ctx.audit())
            continue
        ref = rules.section_ref(section, subject)
        candidate.end(section.section_id, [WAITLISTED], cause="promoted", audit=ctx.audit())
        section.leave_waitlist(candidate.student_id, cause="promoted", audit=ctx.audit())
        candidate.register(ref, ENROLLED, cause="waitlist", audit=ctx.audit())
        full_text = program.settings.temporarily_full_text
        section.enroll(candidate.student_id, cause="waitlist", audit=ctx.audit(), full_text=full_text)
        promoted.append(candidate)
    return promoted


def promote_everywhere(
    app: Registration, program: Program, sections: Iterable[Section], ctx: CommandContext
) -> tuple[list[Section], list[Student]]:
    """`promote_waitlist` on each section; returns the sections and the students it changed."""
    changed: list[Section] = []
    promoted: dict[StudentId, Student] = {}
    for section in sections:
        before = len(section.pending_events)
        for student in promote_waitlist(app, program, section, ctx):
            promoted[student.student_id] = student
        if len(section.pending_events) != before:
            changed.append(section)
    return changed, list(promoted.values())


# Whether a queued student was refused a section (with its class) before a program-wide change.
WasRefused = Callable[[Section, Subject, Student], bool]


def promote_program(
    app: Registration, program: Program, ctx: CommandContext, *, was_refused: WasRefused | None = None
) -> tuple[list[Section], list[Student]]:
    """A change that may let queued students anywhere in the program fit (a constraint removed,
    a class's category changed): offer every section's free seats again.

    With `was_refused` (the rule before the change): a queued student it kept out of a section
    that has no seat for them now, and who fits it now, is recorded ready there
    (`Section.WaitlistPlaceReady`), so that a seat freed by a command racing with the change
    conflicts with it (as in `promote_for_student`)."""
    section_ids, _ = app.lottery_inputs.program_members(program.program_id)
    app.prefetch(*section_ids)
    queued = [s for s in (app.load_section(SectionId(i), program) for i in section_ids) if s.waitlist]
    changed, promoted = promote_everywhere(app, program, (s for s in queued if s.seats_free > 0), ctx)
    if was_refused is not None:
        for section in queued:
            if not any(c is section for c in changed) and _ready_now(app, program, section, was_refused, ctx):
                changed.append(section)
    return changed, promoted


def _ready_now(
    app: Registration, program: Program, section: Section, was_refused: WasRefused, ctx: CommandContext
) -> bool:
    """Record ready the queued students of `section` refused before the change who fit it now."""
    subject = app.load_subject(section.subject_id, program)
    marked = False
    for candidate_id in section.waitlist:
        candidate = app.find(Student, candidate_id)
        if candidate is None or not was_refused(section, subject, candidate):
            continue
        if rules.promotion_refusal(program, subject, section, candidate) is None:
            section.place_ready(candidate.student_id, ctx.audit())
            marked = True
    return marked


def refused_by(constraint: ScheduleConstraint) -> WasRefused:
    """A removed constraint's refusals: it was not satisfied with the section added."""

    def refused(section: Section, subject: Subject, student: Student) -> bool:
        with_it = rules.as_scheduled(rules.section_ref(section, subject))
        return not constraint.is_satisfied(rules.schedule_of(student).with_added(with_it))

    return refused


def refused_in_category(program: Program, subject_id: SubjectId, category: str) -> WasRefused:
    """A class's former category: its sections' refusals by the program's constraints with it."""

    def refused(section: Section, subject: Subject, student: Student) -> bool:
        if subject.subject_id != subject_id:
            return False
        before = ScheduledSection(section.section_id, subject_id, category, section.timeslot_ids)
        return (
            rules.constraint_refusal(program, subject.title, rules.schedule_of(student).with_added(before)) is not None
        )

    return refused


def promote_for_student(
    app: Registration, program: Program, student: Student, ctx: CommandContext, *, skip: Iterable[SectionId] = ()
) -> tuple[list[Section], list[Student]]:
    """The student's schedule changed: offer again the free seats of the sections they queue for
    (someone ahead of them may now take it instead, which is the queue's order)."""
    skipped = set(skip)
    waiting = [
        app.load_section(ref.section_id, program)
        for ref in student.holding(WAITLISTED)
        if ref.section_id not in skipped
    ]
    changed, promoted = promote_everywhere(app, program, (s for s in waiting if s.seats_free > 0), ctx)
    for section in waiting:
        if any(c is section for c in changed) or student.student_id not in section.waitlist:
            continue
        # No seat for them here now (full or closed), but their new schedule could take one. A
        # seat freed at this moment by another command was offered to their old schedule: this
        # event makes that command and this one conflict, so the later one reads both and retries.
        subject = app.load_subject(section.subject_id, program)
        if rules.promotion_refusal(program, subject, section, student) is None:
            section.place_ready(student.student_id, ctx.audit())
            changed.append(section)
    return changed, promoted


def queue_ahead_check(
    app: Registration, program: Program, subject: Subject, section: Section, student: Student
) -> Callable[[], RegistrationError | None]:
    """The `waitlist_ahead` rule for a plain add or switch into `section` by `student`: refused
    while anyone queued ahead of them could take the free seat now. Reads the queue only when
    the section has both free seats and a queue."""

    def refusal() -> RegistrationError | None:
        if not section.waitlist or section.seats_free <= 0:
            return None
        queue = section.waitlist
        ahead = queue[: queue.index(student.student_id)] if student.student_id in queue else queue
        for candidate_id in ahead:
            candidate = app.find(Student, candidate_id)
            if candidate is not None and rules.promotion_refusal(program, subject, section, candidate) is None:
                return WaitlistAhead(WAITLIST_AHEAD_MESSAGE, section_id=str(section.id), queued=len(queue))
        return None

    return refusal


__all__ = [
    "WAITLIST_AHEAD_MESSAGE",
    "leave_waitlist_for_seat",
    "promote_everywhere",
    "promote_for_student",
    "promote_program",
    "promote_waitlist",
    "queue_ahead_check",
    "refused_by",
    "refused_in_category",
]
