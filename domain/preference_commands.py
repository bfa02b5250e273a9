"""Lottery-phase commands: star classes, rank priorities per timeslot, confirm preferences."""

from __future__ import annotations

from collections.abc import Mapping

from regledger.domain.app_base import CommandResult, command
from regledger.domain.errors import (
    ClassNotAccepted,
    DuplicateRanking,
    InvalidInputError,
    NotInTimeslot,
    PriorityLimit,
    TooFewStars,
)
from regledger.domain.ids import ProgramId, SubjectId, TimeslotId, student_id
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.student_commands import StudentCommands, section_ref
from regledger.domain.subject import STARRABLE_STATUSES, Subject
from regledger.domain.values import STUDENT_CATEGORY, CommandContext, SectionRef, priority_verb


class PreferenceCommands(StudentCommands):
    @command
    def star(
        self, program_id: ProgramId, student_key: str, subject_id: SubjectId, ctx: CommandContext
    ) -> CommandResult:
        """Star a class (reference 3.1): unreviewed classes may be starred, grade range applies."""

        def attempt() -> CommandResult:
            self.prefetch(program_id, subject_id, student_id(program_id, student_key))
            program = self.load_program(program_id)
            subject = self.load_subject(subject_id, program)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            admitted = self.entry_checks(program, student, ctx, "lottery")
            if subject.status not in STARRABLE_STATUSES:
                raise ClassNotAccepted("This class cannot be starred.", subject_id=str(subject_id))
            self.check_grade(program, subject, student, ctx)
            student.star(subject.subject_id, ctx.audit())
            return self.commit(ctx, student, admitted)

        return self.execute("star", ctx, attempt)

    @command
    def unstar(
        self, program_id: ProgramId, student_key: str, subject_id: SubjectId, ctx: CommandContext
    ) -> CommandResult:
        def attempt() -> CommandResult:
            self.prefetch(program_id, student_id(program_id, student_key))
            program = self.load_program(program_id)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            if not ctx.override:
                program.check_window("lottery", self.clock())
            student.unstar(subject_id, ctx.audit())
            return self.commit(ctx, student)

        return self.execute("unstar", ctx, attempt)

    @command
    def rank_priorities(
        self,
        program_id: ProgramId,
        student_key: str,
        timeslot_id: TimeslotId,
        ranking: Mapping[int, SubjectId | None],
        ctx: CommandContext,
    ) -> CommandResult:
        """Replace the student's Priority/1..N choices for one timeslot (a new event, never a rewrite)."""

        def attempt() -> CommandResult:
            self.prefetch(program_id, student_id(program_id, student_key))
            program = self.load_program(program_id)
            program.timeslot(timeslot_id)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            self.check_ranks(program, ranking)
            admitted = self.entry_checks(program, student, ctx, "lottery")
            slots: list[SectionRef | None] = [None] * max(ranking, default=0)
            for rank, subject_id in sorted(ranking.items()):
                if subject_id is not None:
                    slots[rank - 1] = self.ranked_section(program, student, timeslot_id, subject_id, ctx)
            verbs = [priority_verb(rank) for rank, ref in enumerate(slots, start=1) if ref is not None]
            catalogue = self.ensure_verbs(verbs, STUDENT_CATEGORY, ctx)
            student.rank(timeslot_id, slots, ctx.audit())
            result = self.commit(ctx, student, admitted, catalogue)
            self.remember_verbs(verbs, STUDENT_CATEGORY)
            return result

        return self.execute("rank_priorities", ctx, attempt)

    @staticmethod
    def check_ranks(program: Program, ranking: Mapping[int, SubjectId | None]) -> None:
        limit = program.settings.priority_limit
        for rank in ranking:
            if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
                raise InvalidInputError("Ranks start at 1", rank=rank)
            if rank > limit:
                raise PriorityLimit(f"You are only allowed to select up to {limit} top classes", rank=rank)
        chosen = [s for s in ranking.values() if s is not None]
        if len(chosen) != len(set(chosen)):
            raise DuplicateRanking("A class can be ranked only once per timeslot.")

    def ranked_section(
        self, program: Program, student: Student, timeslot_id: TimeslotId, subject_id: SubjectId, ctx: CommandContext
    ) -> SectionRef:
        """The one open section of the class whose first meeting is in this timeslot."""
        subject = self.load_subject(subject_id, program)
        if not subject.is_accepted:
            raise ClassNotAccepted("This class is not accepted.", subject_id=str(subject_id))
        self.check_grade(program, subject, student, ctx)
        starting = [
            s
            for s in self.sections_of(subject)
            if s.timeslot_ids and s.timeslot_ids[0] == timeslot_id and not s.is_cancelled
        ]
        if len(starting) != 1:
            raise NotInTimeslot(
                "This class has no single section starting in that timeslot.",
                subject_id=str(subject_id),
                sections=len(starting),
            )
        refusal = starting[0].status_refusal()
        if refusal is not None:
            raise refusal
        return section_ref(starting[0], subject)

    def sections_of(self, subject: Subject) -> list[Section]:
        return [self.load_section(s) for s in subject.section_ids]

    @command
    def confirm_preferences(self, program_id: ProgramId, student_key: str, ctx: CommandContext) -> CommandResult:
        def attempt() -> CommandResult:
            self.prefetch(program_id, student_id(program_id, student_key))
            program = self.load_program(program_id)
            student = self.student_for(program, student_key, ctx)
            if student.has_applied(ctx.command_id):
                return self.replay(ctx, student)
            if not ctx.override:
                program.check_window("lottery", self.clock())
            needed = program.settings.min_stars
            if len(student.stars) < needed:
                raise TooFewStars(f"You must star at least {needed} classes", stars=len(student.stars))
            student.confirm(ctx.audit())
            return self.commit(ctx, student)

        return self.execute("confirm_preferences", ctx, attempt)
