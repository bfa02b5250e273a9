"""Student commands: profile, add, drop, switch, waitlist — checks in the reference's order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from regledger.domain.app_base import CommandResult, RegistrationBase, command
from regledger.domain.constraints import ScheduledSection, ScheduleMap, add_refusal_message, removal_refusal_message
from regledger.domain.errors import (
    ClassNotAccepted,
    ConstraintViolated,
    DifferentClass,
    GradeOutOfRange,
    NotEnrolled,
    PriorityLimit,
    ProfileRequired,
    ProgramFull,
    RegistrationError,
    RemovalConstraintViolated,
    SeatsAvailable,
    VerbNotAllowed,
    WaitlistDisabled,
)
from regledger.domain.ids import ProgramId, SectionId, student_id
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import (
    ENROLLED,
    STUDENT_CATEGORY,
    WAITLISTED,
    CommandContext,
    SectionRef,
    check_key,
    check_verb,
    priority_level_of,
    priority_verb,
)

PROGRAM_FULL_MESSAGE = "This program cannot accept any more students!  Please try again in its next session."
PROFILE_MESSAGE = "Please complete your profile first"
NOT_ACCEPTED_MESSAGE = "This class is not accepted."
GRADE_MESSAGE = "You are not in the requested grade range for this class."


def verb_refusal(verb: str) -> str:
    if priority_level_of(verb) is not None:
        return "Rank your classes for a timeslot with the priorities command instead."
    return f"You cannot register with '{verb}' in this program."


def section_ref(section: Section, subject: Subject) -> SectionRef:
    return SectionRef(section.section_id, subject.subject_id, subject.category, section.timeslot_ids)


def schedule_of(student: Student) -> ScheduleMap:
    return ScheduleMap(
        ScheduledSection(r.section_id, r.subject_id, r.category, r.timeslot_ids) for r in student.holding(ENROLLED)
    )


def as_scheduled(ref: SectionRef) -> ScheduledSection:
    return ScheduledSection(ref.section_id, ref.subject_id, ref.category, ref.timeslot_ids)


class StudentCommands(RegistrationBase):
    # -- helpers --------------------------------------------------------------------------

    def student_for(self, program: Program, student_key: str, ctx: CommandContext) -> Student:
        """The student's aggregate in this program, created (unsaved) on first contact."""
        check_key(student_key, "student_key")
        existing = self.find(Student, student_id(program.program_id, student_key))
        return existing or Student(program_id=program.program_id, student_key=student_key, **ctx.audit())

    def admit(self, program: Program, student: Student, ctx: CommandContext) -> Program | None:
        """Capped programs record admission on Program; returns it when it must be saved."""
        if not program.settings.is_capped or student.student_id in program.admitted:
            return None
        if not ctx.override and not program.has_room_for(student.student_id):
            raise ProgramFull(PROGRAM_FULL_MESSAGE, program_size_max=program.settings.program_size_max)
        program.admit(student.student_id, ctx.audit())
        return program

    def require_profile(self, program: Program, student: Student) -> None:
        if program.settings.require_profile and student.profile is None:
            raise ProfileRequired(PROFILE_MESSAGE)

    def check_subject(self, program: Program, subject: Subject, student: Student, ctx: CommandContext) -> None:
        if not subject.is_accepted:
            raise ClassNotAccepted(NOT_ACCEPTED_MESSAGE, subject_id=str(subject.id), status=subject.status)
        self.check_grade(program, subject, student, ctx)

    @staticmethod
    def check_grade(program: Program, subject: Subject, student: Student, ctx: CommandContext) -> None:
        """Grade from the profile (reference 8.1); overrides skip it."""
        grade = program.grade_of(student.graduation_year)
        if not ctx.override and not subject.admits_grade(grade):
            raise GradeOutOfRange(GRADE_MESSAGE, grade=grade, grade_min=subject.grade_min, grade_max=subject.grade_max)

    def constraint_refusal(
        self, program: Program, title: str, before: ScheduleMap, after: ScheduleMap
    ) -> RegistrationError | None:
        for constraint in program.constraints.values():
            if not constraint.is_satisfied(after):
                return ConstraintViolated(add_refusal_message(title, constraint.label), label=constraint.label)
        return None

    def other_sections_exist(self, subject: Subject, section: Section) -> bool:
        """Whether another scheduled, open section of the class could be suggested instead."""
        for other_id in subject.section_ids:
            if other_id == section.id:
                continue
            other = self.find(Section, other_id)
            if other is not None and other.is_scheduled and not other.is_cancelled:
                return True
        return False

    def seat_checks(
        self,
        program: Program,
        subject: Subject,
        section: Section,
        student: Student,
        ctx: CommandContext,
        *,
        leaving: SectionRef | None = None,
    ) -> None:
        """Section-level checks (reference 6.1) for taking a seat, in order."""
        ref = section_ref(section, subject)
        before = schedule_of(student)
        if leaving is not None:
            before = before.with_removed(leaving.section_id)
        checks: tuple[Callable[[], RegistrationError | None], ...] = (
            lambda: section.seat_refusal(program.settings.temporarily_full_text, override=ctx.override),
            lambda: self.constraint_refusal(program, subject.title, before, before.with_added(as_scheduled(ref))),
            lambda: self.conflict_refusal(student, ref, subject, section, leaving),
            section.status_refusal,
        )
        for check in checks:
            refusal = check()
            if refusal is not None:
                raise refusal

    def conflict_refusal(
        self, student: Student, ref: SectionRef, subject: Subject, section: Section, leaving: SectionRef | None
    ) -> RegistrationError | None:
        """The student's conflict; other sections are looked up only to word a timeslot conflict."""
        ignoring = leaving.section_id if leaving else None
        refusal = student.conflict_refusal(ref, other_sections_exist=False, ignoring=ignoring)
        if refusal is not None and refusal.code == "timeslot_conflict" and self.other_sections_exist(subject, section):
            refusal = student.conflict_refusal(ref, other_sections_exist=True, ignoring=ignoring)
        return refusal

    def entry_checks(self, program: Program, student: Student, ctx: CommandContext, window: str) -> Program | None:
        """Window, program cap, profile: what the reference checks before any class check."""
        if not ctx.override:
            program.check_window(window, self.clock())
        admitted = self.admit(program, student, ctx)
        self.require_profile(program, student)
        return admitted

    # -- profile --------------------------------------------------------------------------

    @command
    def submit_profile(
        self,
        program_id: ProgramId,
        student_key: str,
        name: str,
        graduation_year: int,
        contacts: dict[str, str],
        ctx: CommandContext,
    ) -> CommandResult:
        def attempt() -> CommandResult:
            self.prefetch(program_id, student_id(program_id, student_key))
            program = self.load_program(program_id)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            student.submit_profile(name, graduation_year, contacts, ctx.audit())
            return self.commit(ctx, student, ids={"student_id": str(student.id)})

        return self.execute("submit_profile", ctx, attempt)

    # -- add ------------------------------------------------------------------------------

    @command
    def add_section(
        self, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext, verb: str = ENROLLED
    ) -> CommandResult:
        """Register with any verb; Enrolled takes a seat (or a Priority/N in priority mode)."""
        check_verb(verb)
        if verb == WAITLISTED:
            return self.join_waitlist(program_id, student_key, section_id, ctx)

        def attempt() -> CommandResult:
            self.prefetch(program_id, section_id, self.subject_hint(section_id), student_id(program_id, student_key))
            program = self.load_program(program_id)
            section = self.load_section(section_id, program)
            subject = self.load_subject(section.subject_id, program)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(
                    ctx,
                    student,
                    ids={
                        "student_id": str(student.id),
                        "verb": getattr(student.last_event_of(ctx.command_id), "verb", ""),
                    },
                )
            if not ctx.override and not program.settings.student_may_register(verb):
                raise VerbNotAllowed(verb_refusal(verb), verb=verb)
            admitted = self.entry_checks(program, student, ctx, "classes")
            recorded = self.checked_verb(program, subject, section, student, ctx, verb)
            self.check_subject(program, subject, student, ctx)
            catalogue = self.ensure_verbs([recorded], STUDENT_CATEGORY, ctx)
            if recorded == ENROLLED:
                self.leave_waitlist_for_seat(student, section, ctx)
            student.register(section_ref(section, subject), recorded, cause=self.cause(ctx), audit=ctx.audit())
            if recorded == ENROLLED:
                section.enroll(
                    student.student_id,
                    cause=self.cause(ctx),
                    audit=ctx.audit(),
                    full_text=program.settings.temporarily_full_text,
                    override=ctx.override,
                )
            result = self.commit(
                ctx,
                student,
                section,
                admitted,
                catalogue,
                ids={"student_id": str(student.id), "verb": recorded},
            )
            self.remember_verbs([recorded], STUDENT_CATEGORY)
            return result

        return self.execute("add_section", ctx, attempt)

    @command
    def complete_registration(
        self, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
    ) -> CommandResult:
        """The seed's flow: program cap, then profile, then section checks, then Enrolled."""
        return self.add_section(program_id, student_key, section_id, ctx, ENROLLED)

    @staticmethod
    def cause(ctx: CommandContext) -> str:
        return "override" if ctx.override else "fcfs"

    def checked_verb(
        self, program: Program, subject: Subject, section: Section, student: Student, ctx: CommandContext, verb: str
    ) -> str:
        """Run the section checks a verb calls for and return the verb actually recorded."""
        if verb != ENROLLED:
            refusal = section.status_refusal()
            if refusal is not None:
                raise refusal
            return verb
        self.seat_checks(program, subject, section, student, ctx)
        if not program.settings.use_priority:
            return ENROLLED
        level = student.priority_level(section.timeslot_ids)
        limit = program.settings.priority_limit
        if level > limit:
            raise PriorityLimit(f"You are only allowed to select up to {limit} top classes", limit=limit)
        return priority_verb(level)

    # -- drop -----------------------------------------------------------------------------

    @command
    def drop_section(
        self,
        program_id: ProgramId,
        student_key: str,
        section_id: SectionId,
        ctx: CommandContext,
        verbs: Sequence[str] | None = None,
    ) -> CommandResult:
        """End the visible verbs (default: the program's, i.e. Enrolled); preferences survive."""

        def attempt() -> CommandResult:
            self.prefetch(program_id, section_id, self.subject_hint(section_id), student_id(program_id, student_key))
            program = self.load_program(program_id)
            section = self.load_section(section_id, program)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            if not ctx.override:
                self.check_removal_window(program)
            wanted = self.visible_verbs(program, student, section_id, verbs)
            if ENROLLED in wanted and student.enrolled_in(section_id):
                self.check_removal_constraints(program, student, section_id)
            ended = student.end(section_id, wanted, cause="drop", audit=ctx.audit())
            promoted: list[Student] = []
            if ENROLLED in ended:
                section.unenroll(student.student_id, cause="drop", audit=ctx.audit())
                promoted = self.promote_waitlist(program, section, ctx)
            if WAITLISTED in ended:
                section.leave_waitlist(student.student_id, cause="drop", audit=ctx.audit())
            touched = section if (ENROLLED in ended or WAITLISTED in ended) else None
            return self.commit(
                ctx,
                student,
                touched,
                *promoted,
                ids={"ended": ",".join(ended), "promoted": ",".join(s.student_key for s in promoted)},
            )

        return self.execute("drop_section", ctx, attempt)

    def check_removal_window(self, program: Program) -> None:
        """The reference lets a drop through in the classes window or the removal window; an
        unset removal window adds nothing, so a closed classes window then refuses the drop."""
        now = self.clock()
        try:
            program.check_window("classes", now)
        except RegistrationError:
            if "removal" not in program.windows:
                raise
            program.check_window("removal", now)

    @staticmethod
    def leave_waitlist_for_seat(student: Student, section: Section, ctx: CommandContext) -> None:
        """Taking a seat ends the student's place in that section's queue, on both sides."""
        if (section.section_id, WAITLISTED) in student.registrations:
            student.end(section.section_id, [WAITLISTED], cause="enrolled", audit=ctx.audit())
            section.leave_waitlist(student.student_id, cause="enrolled", audit=ctx.audit())

    @staticmethod
    def visible_verbs(
        program: Program, student: Student, section_id: SectionId, verbs: Sequence[str] | None
    ) -> list[str]:
        chosen = list(verbs) if verbs else list(program.settings.visible_verbs)
        if "All" in chosen:
            return student.verbs_on(section_id)
        return [check_verb(v) for v in chosen]

    def check_removal_constraints(self, program: Program, student: Student, section_id: SectionId) -> None:
        """Refuse a drop that breaks a constraint the schedule satisfied before it."""
        before = schedule_of(student)
        after = before.with_removed(section_id)
        for constraint in program.constraints.values():
            if constraint.is_satisfied(before) and not constraint.is_satisfied(after):
                raise RemovalConstraintViolated(removal_refusal_message(constraint.label), label=constraint.label)

    # -- switch ---------------------------------------------------------------------------

    @command
    def switch_sections(
        self,
        program_id: ProgramId,
        student_key: str,
        from_section_id: SectionId,
        to_section_id: SectionId,
        ctx: CommandContext,
    ) -> CommandResult:
        """Move a seat between sections of one class; the new seat is checked as if the old
        were already given up, and both changes are saved atomically."""

        def attempt() -> CommandResult:
            self.prefetch(
                program_id,
                from_section_id,
                self.subject_hint(from_section_id),
                to_section_id,
                self.subject_hint(to_section_id),
                student_id(program_id, student_key),
            )
            program = self.load_program(program_id)
            old = self.load_section(from_section_id, program)
            new = self.load_section(to_section_id, program)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            if old.subject_id != new.subject_id:
                raise DifferentClass("Sections must be from the same class")
            if not student.enrolled_in(from_section_id):
                raise NotEnrolled(
                    "You are not enrolled in the section you are switching from.", section_id=str(from_section_id)
                )
            subject = self.load_subject(new.subject_id, program)
            if not ctx.override:
                program.check_window("classes", self.clock())
            leaving = section_ref(old, subject)
            self.seat_checks(program, subject, new, student, ctx, leaving=leaving)
            self.check_subject(program, subject, student, ctx)
            self.leave_waitlist_for_seat(student, new, ctx)
            student.switch(from_section_id, section_ref(new, subject), ctx.audit())
            old.unenroll(student.student_id, cause="switch", audit=ctx.audit())
            new.enroll(
                student.student_id,
                cause="switch",
                audit=ctx.audit(),
                full_text=program.settings.temporarily_full_text,
                override=ctx.override,
            )
            promoted = self.promote_waitlist(program, old, ctx)
            return self.commit(ctx, student, old, new, *promoted)

        return self.execute("switch_sections", ctx, attempt)

    # -- waitlist -------------------------------------------------------------------------

    @command
    def join_waitlist(
        self, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
    ) -> CommandResult:
        def attempt() -> CommandResult:
            self.prefetch(program_id, section_id, self.subject_hint(section_id), student_id(program_id, student_key))
            program = self.load_program(program_id)
            section = self.load_section(section_id, program)
            subject = self.load_subject(section.subject_id, program)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            if not program.settings.waitlist_enabled:
                raise WaitlistDisabled("This program has no waitlists.")
            if section.is_scheduled and section.seats_free > 0:
                raise SeatsAvailable("This section has free seats: add it instead.", seats_free=section.seats_free)
            admitted = self.entry_checks(program, student, ctx, "classes")
            refusal = section.status_refusal() or student.conflict_refusal(
                section_ref(section, subject), other_sections_exist=False
            )
            if refusal is not None and refusal.code != "timeslot_conflict":
                raise refusal
            self.check_subject(program, subject, student, ctx)
            catalogue = self.ensure_verbs([WAITLISTED], STUDENT_CATEGORY, ctx)
            section.join_waitlist(student.student_id, ctx.audit())
            student.register(section_ref(section, subject), WAITLISTED, cause="fcfs", audit=ctx.audit())
            result = self.commit(ctx, student, section, admitted, catalogue, ids={"place": str(len(section.waitlist))})
            self.remember_verbs([WAITLISTED], STUDENT_CATEGORY)
            return result

        return self.execute("join_waitlist", ctx, attempt)

    def promote_waitlist(self, program: Program, section: Section, ctx: CommandContext) -> list[Student]:
        """Give freed seats to the first waitlisted students whose schedules still allow it."""
        if not program.settings.waitlist_enabled or not section.waitlist or section.status_refusal() is not None:
            return []  # a closed or cancelled section promotes nobody (and must not block the drop)
        subject = self.load_subject(section.subject_id, program)
        promoted: list[Student] = []
        for candidate_id in list(section.waitlist):
            if section.seats_free <= 0:
                break
            candidate = self.find(Student, candidate_id)
            if candidate is None:
                continue
            ref = section_ref(section, subject)
            before = schedule_of(candidate)
            refusal = candidate.conflict_refusal(ref, other_sections_exist=False) or self.constraint_refusal(
                program, subject.title, before, before.with_added(as_scheduled(ref))
            )
            if refusal is not None:
                continue  # stays queued: a later drop of their own may make room in their schedule
            candidate.end(section.section_id, [WAITLISTED], cause="promoted", audit=ctx.audit())
            section.leave_waitlist(candidate.student_id, cause="promoted", audit=ctx.audit())
            candidate.register(ref, ENROLLED, cause="waitlist", audit=ctx.audit())
            section.enroll(
                candidate.student_id,
                cause="waitlist",
                audit=ctx.audit(),
                full_text=program.settings.temporarily_full_text,
            )
            promoted.append(candidate)
        return promoted
