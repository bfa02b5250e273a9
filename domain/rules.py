"""The reference's check sequences, as pure functions over aggregates (cosmicpython's model.py).

A command loads its aggregates, calls one of the `check_*` sequences here, then records on
the aggregates. The ORDER of each sequence is the reference's (docs/esp-reference.md §6.1,
§3.1, §4.2): a refusal is the first rule that fails, with that rule's code and message. The
invariants themselves (seats, conflicts, one section per class) stay in the aggregates; what
needs more than the aggregates at hand (another section, the clock) is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from regledger.domain.constraints import ScheduledSection, ScheduleMap
from regledger.domain.errors import (
    ClassNotAccepted,
    ConstraintViolated,
    GradeOutOfRange,
    NotAdmitted,
    PriorityLimit,
    ProfileRequired,
    ProgramFull,
    ProgramGradeOutOfRange,
    RegistrationError,
    RemovalConstraintViolated,
    VerbNotAllowed,
)
from regledger.domain.ids import SectionId
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import (
    ENROLLED,
    GRADE_RANGE_EXCEPTION,
    CommandContext,
    SectionRef,
    check_verb,
    priority_level_of,
    priority_verb,
)

PROGRAM_FULL_MESSAGE = "This program cannot accept any more students!  Please try again in its next session."
PROFILE_MESSAGE = "Please complete your profile first"
NOT_ADMITTED_MESSAGE = (
    "You have not been admitted to this program: registration is open to the students its admission lottery admitted."
)
NOT_ACCEPTED_MESSAGE = "This class is not accepted."
GRADE_MESSAGE = "You are not in the requested grade range for this class."
PROGRAM_GRADE_TEMPLATE = "This program is only open to students in grades {grade_min} to {grade_max}."
ADD_REFUSAL_TEMPLATE = (
    "Adding <i>{title}</i> to your schedule requires that you {label}.  You can go back and correct this."
)
REMOVAL_REFUSAL_TEMPLATE = (
    "You can't remove this class from your schedule because it would violate the "
    "requirement that you {label}.  You can go back and correct this."
)


def add_refusal_message(title: str, label: str) -> str:
    """ESP's refusal text; an HTML fragment with `title` and `label` inserted verbatim."""
    return ADD_REFUSAL_TEMPLATE.format(title=title, label=label)


def removal_refusal_message(label: str) -> str:
    return REMOVAL_REFUSAL_TEMPLATE.format(label=label)


def section_ref(section: Section, subject: Subject) -> SectionRef:
    return SectionRef(section.section_id, subject.subject_id, subject.category, section.timeslot_ids)


def schedule_of(student: Student) -> ScheduleMap:
    return ScheduleMap(
        ScheduledSection(r.section_id, r.subject_id, r.category, r.timeslot_ids) for r in student.holding(ENROLLED)
    )


def as_scheduled(ref: SectionRef) -> ScheduledSection:
    return ScheduledSection(ref.section_id, ref.subject_id, ref.category, ref.timeslot_ids)


def cause(ctx: CommandContext) -> str:
    return "override" if ctx.override else "fcfs"


def verb_refusal(verb: str) -> str:
    if priority_level_of(verb) is not None:
        return "Rank your classes for a timeslot with the priorities command instead."
    return f"You cannot register with '{verb}' in this program."


# -- entry: what the reference checks before any class check --------------------------------


def admit(program: Program, student: Student, ctx: CommandContext) -> Program | None:
    """Capped programs record admission on Program; returns it when it must be saved."""
    if not program.settings.is_capped or student.student_id in program.admitted:
        return None
    if not ctx.override and not program.has_room_for(student.student_id):
        raise ProgramFull(PROGRAM_FULL_MESSAGE, program_size_max=program.settings.program_size_max)
    program.admit(student.student_id, ctx.audit())
    return program


def check_program_grade(program: Program, student: Student, ctx: CommandContext) -> None:
    """The program's grade range (the reference's `needs_student_in_grade`): an unknown grade
    (no profile yet) passes, as in the reference; an override passes."""
    grade = program.grade_of(student.graduation_year)
    if ctx.override or grade == 0 or program.grade_min <= grade <= program.grade_max:
        return
    message = PROGRAM_GRADE_TEMPLATE.format(grade_min=program.grade_min, grade_max=program.grade_max)
    raise ProgramGradeOutOfRange(message, grade=grade, grade_min=program.grade_min, grade_max=program.grade_max)


def check_admitted(program: Program, student: Student, ctx: CommandContext) -> None:
    """Phase Zero: with an admission lottery, only admitted students register (the reference's
    required Phase Zero module, after the deadline); an admin's override passes."""
    if program.settings.phase_zero and not ctx.override and student.student_id not in program.admitted:
        raise NotAdmitted(NOT_ADMITTED_MESSAGE, student_key=student.student_key)


def check_entry(program: Program, student: Student, ctx: CommandContext, window: str, now: datetime) -> Program | None:
    """Program grade range, window, admission (Phase Zero), program cap, profile, in that order
    (the reference's decorators: grade, deadline, cap); returns the Program when admission changed it."""
    check_program_grade(program, student, ctx)
    if not ctx.override:
        program.check_window(window, now)
    check_admitted(program, student, ctx)
    admitted = admit(program, student, ctx)
    if program.settings.require_profile and student.profile is None:
        raise ProfileRequired(PROFILE_MESSAGE)
    return admitted


def check_student_verb(program: Program, verb: str, ctx: CommandContext) -> None:
    """Students register with Enrolled, Waitlisted and the program's student verbs; any other
    verb (and creating one) is an admin's override."""
    check_verb(verb)
    if not ctx.override and not program.settings.student_may_register(verb):
        raise VerbNotAllowed(verb_refusal(verb), verb=verb)


# -- the class and the section --------------------------------------------------------------


def check_grade(program: Program, subject: Subject, student: Student, ctx: CommandContext) -> None:
    """Grade from the profile (reference 8.1); overrides skip it."""
    grade = program.grade_of(student.graduation_year)
    if not ctx.override and not subject.admits_grade(grade):
        raise GradeOutOfRange(GRADE_MESSAGE, grade=grade, grade_min=subject.grade_min, grade_max=subject.grade_max)


def check_subject(
    program: Program, subject: Subject, student: Student, ctx: CommandContext, *, grade: bool = True
) -> None:
    if not subject.is_accepted:
        raise ClassNotAccepted(NOT_ACCEPTED_MESSAGE, subject_id=str(subject.id), status=subject.status)
    if grade:
        check_grade(program, subject, student, ctx)


def constraint_refusal(program: Program, title: str, after: ScheduleMap) -> RegistrationError | None:
    """The first constraint the schedule after the add would break (reference 6.1)."""
    for constraint in program.constraints.values():
        if not constraint.is_satisfied(after):
            return ConstraintViolated(add_refusal_message(title, constraint.label), label=constraint.label)
    return None


def conflict_refusal(
    student: Student, ref: SectionRef, other_sections_exist: Callable[[], bool], leaving: SectionRef | None
) -> RegistrationError | None:
    """The student's conflict; other sections are looked up only to word a timeslot conflict."""
    ignoring = leaving.section_id if leaving else None
    refusal = student.conflict_refusal(ref, other_sections_exist=False, ignoring=ignoring)
    if refusal is not None and refusal.code == "timeslot_conflict" and other_sections_exist():
        refusal = student.conflict_refusal(ref, other_sections_exist=True, ignoring=ignoring)
    return refusal


def check_seat(
    program: Program,
    subject: Subject,
    section: Section,
    student: Student,
    ctx: CommandContext,
    other_sections_exist: Callable[[], bool],
    *,
    leaving: SectionRef | None = None,
    queue_ahead: Callable[[], RegistrationError | None] = lambda: None,
) -> None:
    """Taking a seat (reference 6.1): full, schedule constraints, conflicts, section status.
    A free seat the waitlist holds (`queue_ahead`, ours: docs/waitlists.md) counts as full.
    With Phase Zero a seat is for admitted students: a switch, which runs no entry checks,
    meets the admission gate here (an add met it in `check_entry` already)."""
    check_admitted(program, student, ctx)
    ref = section_ref(section, subject)
    before = schedule_of(student)
    if leaving is not None:
        before = before.with_removed(leaving.section_id)
    checks: tuple[Callable[[], RegistrationError | None], ...] = (
        lambda: section.seat_refusal(program.settings.temporarily_full_text, override=ctx.override),
        lambda: None if ctx.override else queue_ahead(),
        lambda: constraint_refusal(program, subject.title, before.with_added(as_scheduled(ref))),
        lambda: conflict_refusal(student, ref, other_sections_exist, leaving),
        section.status_refusal,
    )
    for check in checks:
        refusal = check()
        if refusal is not None:
            raise refusal


def checked_verb(
    program: Program,
    subject: Subject,
    section: Section,
    student: Student,
    ctx: CommandContext,
    verb: str,
    other_sections_exist: Callable[[], bool],
    queue_ahead: Callable[[], RegistrationError | None] = lambda: None,
) -> str:
    """Run the section checks a verb calls for and return the verb actually recorded."""
    if verb != ENROLLED:
        refusal = section.status_refusal()
        if refusal is not None:
            raise refusal
        return verb
    check_seat(program, subject, section, student, ctx, other_sections_exist, queue_ahead=queue_ahead)
    if not program.settings.use_priority:
        return ENROLLED
    level = student.priority_level(section.timeslot_ids)
    limit = program.settings.priority_limit
    if level > limit:
        raise PriorityLimit(f"You are only allowed to select up to {limit} top classes", limit=limit)
    return priority_verb(level)


def check_add(
    program: Program,
    subject: Subject,
    section: Section,
    student: Student,
    ctx: CommandContext,
    verb: str,
    *,
    now: datetime,
    other_sections_exist: Callable[[], bool],
    queue_ahead: Callable[[], RegistrationError | None] = lambda: None,
) -> tuple[str, Program | None]:
    """Adding a section, in the reference's order: verb, entry, section checks, class checks.
    Returns the verb to record and the Program when admission changed it."""
    check_student_verb(program, verb, ctx)
    admitted = check_entry(program, student, ctx, "classes", now)
    recorded = checked_verb(program, subject, section, student, ctx, verb, other_sections_exist, queue_ahead)
    # A grade-range exception asks for a class outside the student's grade: that is its point.
    check_subject(program, subject, student, ctx, grade=verb != GRADE_RANGE_EXCEPTION)
    return recorded, admitted


# -- removal --------------------------------------------------------------------------------


def check_removal_window(program: Program, now: datetime) -> None:
    """The reference lets a drop through in the classes window or the removal window; an
    unset removal window adds nothing, so a closed classes window then refuses the drop."""
    try:
        program.check_window("classes", now)
    except RegistrationError:
        if "removal" not in program.windows:
            raise
        program.check_window("removal", now)


def check_removal_constraints(program: Program, student: Student, section_id: SectionId) -> None:
    """Refuse a drop that breaks a constraint the schedule satisfied before it."""
    before = schedule_of(student)
    after = before.with_removed(section_id)
    for constraint in program.constraints.values():
        if constraint.is_satisfied(before) and not constraint.is_satisfied(after):
            raise RemovalConstraintViolated(removal_refusal_message(constraint.label), label=constraint.label)


def visible_verbs(program: Program, student: Student, section_id: SectionId, verbs: Sequence[str] | None) -> list[str]:
    chosen = list(verbs) if verbs else list(program.settings.visible_verbs)
    if "All" in chosen:
        return student.verbs_on(section_id)
    return [check_verb(v) for v in chosen]


def check_replacement(program: Program, student: Student, leaving: Sequence[SectionId], ref: SectionRef) -> None:
    """Replacing held sections with `ref` (reference 10.2): refuse if the final schedule breaks a
    constraint the current one satisfies (the removal's message); the add's own checks follow."""
    before = schedule_of(student)
    after = before
    for section_id in leaving:
        after = after.with_removed(section_id)
    after = after.with_added(as_scheduled(ref))
    for constraint in program.constraints.values():
        if constraint.is_satisfied(before) and not constraint.is_satisfied(after):
            raise RemovalConstraintViolated(removal_refusal_message(constraint.label), label=constraint.label)


def check_drop(
    program: Program,
    student: Student,
    section_id: SectionId,
    ctx: CommandContext,
    verbs: Sequence[str] | None,
    now: datetime,
) -> list[str]:
    """Dropping (reference 6.2): the window, then the removal constraints of an Enrolled seat.
    Returns the verbs to end."""
    if not ctx.override:
        check_removal_window(program, now)
    wanted = visible_verbs(program, student, section_id, verbs)
    if ENROLLED in wanted and student.enrolled_in(section_id):
        check_removal_constraints(program, student, section_id)
    return wanted


# -- the waitlist -----------------------------------------------------------------------------


def promotion_refusal(
    program: Program, subject: Subject, section: Section, candidate: Student
) -> RegistrationError | None:
    """Why a waitlisted student cannot take a freed seat now (None: they can)."""
    ref = section_ref(section, subject)
    before = schedule_of(candidate)
    return candidate.conflict_refusal(ref, other_sections_exist=False) or constraint_refusal(
        program, subject.title, before.with_added(as_scheduled(ref))
    )
