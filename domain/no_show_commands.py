"""Bulk unenrolment of no-shows (ESP's onsite unenroll module, §11), with a preview and an undo.

A no-show for timeslot T is a student who has not checked in and whose first class (by start
time; lunch classes aside) begins in T: once T is under way, their seats go to those waiting.
The sweep is planned from the aggregates, recorded (`NoShowSweep`), then carried out one
student per command (atomic per student, resumable under the same command id); freed seats go
to the waitlists, and the student's own places in the queues of sections meeting in the hours
they miss end too. The undo gives a seat back where it is still free, and says why otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from uuid import UUID

from regledger.domain import rules
from regledger.domain.batch_commands import student_command_id
from regledger.domain.errors import NotFoundError, RegistrationError
from regledger.domain.ids import ProgramId, SectionId, StudentId, SubjectId, TimeslotId, student_id
from regledger.domain.no_show_sweep import NoShowSweep, SweepUndone
from regledger.domain.program import Program
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, WAITLISTED, CommandContext
from regledger.domain.waitlist import promote_everywhere, promote_for_student, queue_ahead_check

if TYPE_CHECKING:
    from regledger.domain.application import Registration

NO_SHOW = "no_show"
UNDONE = "no_show_undone"


@dataclass(frozen=True)
class NoShowReport:
    sweep_id: UUID
    removed: dict[str, list[str]]  # student key -> section ids planned
    done: bool  # False for a preview
    not_restored: dict[str, dict[str, str]] | None = None  # undo only: key -> section -> why


def plan_no_shows(app: Registration, program_id: ProgramId, timeslot_id: TimeslotId) -> dict[str, list[SectionId]]:
    """Students not checked in whose first class starts in the timeslot, with their Enrolled
    sections (lunch classes aside), read from the aggregates now."""
    program = app.load_program(program_id)
    program.timeslot(timeslot_id)
    section_ids, subject_ids = app.lottery_inputs.program_members(program_id)
    app.prefetch(*section_ids, *subject_ids)
    lunch = {SubjectId(i) for i in subject_ids if app.load(Subject, i, "subject").is_lunch}
    holders: set[StudentId] = set()
    for section_id in section_ids:
        holders.update(app.load_section(SectionId(section_id), program).enrolled)
    app.prefetch(*holders)
    starts = {t.id: t.start for t in program.timeslots.values()}
    plan: dict[str, list[SectionId]] = {}
    for holder in sorted(holders, key=str):
        student = app.load(Student, holder, "student")
        held = [r for r in student.holding(ENROLLED) if r.subject_id not in lunch and r.timeslot_ids]
        if student.checked_in or not held:
            continue
        first = min((starts[t], t) for r in held for t in r.timeslot_ids)
        if first[1] == timeslot_id:
            plan[student.student_key] = [r.section_id for r in held]
    return plan


def unenroll_no_shows(
    app: Registration, program_id: ProgramId, timeslot_id: TimeslotId, ctx: CommandContext, *, preview: bool = False
) -> NoShowReport:
    """Preview, or record and carry out, the sweep; the same command id resumes or repeats it."""
    sweep_id = NoShowSweep.create_id(program_id, ctx.command_id)
    sweep = app.find(NoShowSweep, sweep_id)
    if sweep is None:
        plan = plan_no_shows(app, program_id, timeslot_id)
        removed = {key: [str(s) for s in sections] for key, sections in plan.items()}
        if preview:
            return NoShowReport(sweep_id, removed, done=False)
        app.record_no_show_sweep(program_id, timeslot_id, removed, ctx)
        sweep = app.load(NoShowSweep, sweep_id, "no-show sweep")
    for key, sections in sweep.removed.items():
        sub = replace(ctx, command_id=student_command_id(ctx.command_id, key))
        app.end_no_show(program_id, key, [SectionId(UUID(s)) for s in sections], sub)
    return NoShowReport(sweep.id, sweep.removed, done=True)


@command
def record_no_show_sweep(
    app: Registration,
    program_id: ProgramId,
    timeslot_id: TimeslotId,
    removed: dict[str, list[str]],
    ctx: CommandContext,
) -> CommandResult:
    existing = app.find(NoShowSweep, NoShowSweep.create_id(program_id, ctx.command_id))
    if existing is not None and (replayed := app.replayed(ctx, existing)):
        return replayed
    sweep = NoShowSweep(program_id=program_id, timeslot_id=timeslot_id, removed=removed, **ctx.audit())
    return app.commit(ctx, sweep, ids={"sweep_id": str(sweep.id)})


@command
def end_no_show(
    app: Registration, program_id: ProgramId, student_key: str, section_ids: list[SectionId], ctx: CommandContext
) -> CommandResult:
    """End the student's seats in the listed sections they still hold, unless they checked in
    since the sweep was planned; freed seats go to the waitlists."""
    app.prefetch(program_id, student_id(program_id, student_key), *section_ids)
    program = app.load_program(program_id)
    student = app.load(Student, student_id(program_id, student_key), "student")
    if replayed := app.replayed(ctx, student):
        return replayed
    if student.checked_in:
        return CommandResult(ctx.command_id, "Unchanged", app.position())
    freed: list[Section] = []
    for section_id in section_ids:
        if student.enrolled_in(section_id):
            section = app.load_section(section_id, program)
            student.end(section_id, [ENROLLED], cause=NO_SHOW, audit=ctx.audit())
            section.unenroll(student.student_id, cause=NO_SHOW, audit=ctx.audit())
            freed.append(section)
    _, promoted = promote_everywhere(app, program, freed, ctx)
    left = _leave_queues_of_missed_hours(app, program, student, freed, ctx)
    # Their schedule changed: a queue they still hold may fit them now, as after any drop.
    offered, elsewhere = promote_for_student(app, program, student, ctx) if freed else ([], [])
    touched = (*freed, *left, *offered, *promoted, *elsewhere)
    return app.commit(ctx, student, *touched, ids={"ended": str(len(freed)), "queues_left": str(len(left))})


def _leave_queues_of_missed_hours(
    app: Registration, program: Program, student: Student, freed: list[Section], ctx: CommandContext
) -> list[Section]:
    """A no-show is absent in the timeslots of the seats they lose: their places in the queues
    of sections meeting then end too (cause `no_show`), rather than seat them in a class under way."""
    missed = {t for section in freed for t in section.timeslot_ids}
    left: list[Section] = []
    for ref in student.holding(WAITLISTED):
        queued = app.load_section(ref.section_id, program)
        if missed.intersection(queued.timeslot_ids):
            student.end(queued.section_id, [WAITLISTED], cause=NO_SHOW, audit=ctx.audit())
            queued.leave_waitlist(student.student_id, cause=NO_SHOW, audit=ctx.audit())
            left.append(queued)
    return left


def undo_no_shows(app: Registration, program_id: ProgramId, sweep_id: UUID, ctx: CommandContext) -> NoShowReport:
    """Give each swept student back the seats still free (an event of its own, cause
    `no_show_undone`); report the others with the refusal's code. Once per sweep."""
    sweep = app.load(NoShowSweep, sweep_id, "no-show sweep")
    if sweep.program_id != program_id:
        raise NotFoundError("No such no-show sweep in this program", sweep_id=str(sweep_id))
    if sweep.undone:
        if sweep.has_applied(ctx.command_id):  # this undo, repeated: its recorded answer
            return NoShowReport(sweep_id, sweep.removed, done=True, not_restored=sweep.not_restored)
        raise SweepUndone("This no-show sweep was undone already.", sweep_id=str(sweep_id))
    restored: dict[str, list[str]] = {}
    not_restored: dict[str, dict[str, str]] = {}
    for key, sections in sweep.removed.items():
        sub = replace(ctx, command_id=student_command_id(ctx.command_id, key))
        result = app.restore_no_show(program_id, key, [SectionId(UUID(s)) for s in sections], sub)
        restored[key] = [s for s in result.ids.get("restored", "").split(",") if s]
        refused = dict(p.split(":", 1) for p in result.ids.get("refused", "").split(",") if p)
        if refused:
            not_restored[key] = refused
    app.record_no_show_undo(sweep_id, restored, not_restored, ctx)
    return NoShowReport(sweep_id, sweep.removed, done=True, not_restored=not_restored)


@command
def restore_no_show(
    app: Registration, program_id: ProgramId, student_key: str, section_ids: list[SectionId], ctx: CommandContext
) -> CommandResult:
    """Re-seat the student where the seat is still free (no conflict, nobody queued ahead)."""
    app.prefetch(program_id, student_id(program_id, student_key), *section_ids)
    program = app.load_program(program_id)
    student = app.load(Student, student_id(program_id, student_key), "student")
    if replayed := app.replayed(ctx, student, ids=_recorded(student, section_ids)):
        return replayed
    restored: list[Section] = []
    refused: list[str] = []
    for section_id in section_ids:
        section = app.load_section(section_id, program)
        subject = app.load_subject(section.subject_id, program)
        ref = rules.section_ref(section, subject)
        if student.enrolled_in(section_id):
            continue
        refusal: RegistrationError | None = (
            section.seat_refusal(program.settings.temporarily_full_text, override=False)
            or queue_ahead_check(app, program, subject, section, student)()
            or student.conflict_refusal(ref, other_sections_exist=False)
            or section.status_refusal()
        )
        if refusal is not None:
            refused.append(f"{section_id}:{refusal.code}")
            continue
        student.register(ref, ENROLLED, cause=UNDONE, audit=ctx.audit())
        section.enroll(student.student_id, cause=UNDONE, audit=ctx.audit(), full_text="")
        restored.append(section)
    ids = {"restored": ",".join(str(s.id) for s in restored), "refused": ",".join(refused)}
    return app.commit(ctx, student, *restored, ids=ids)


def _recorded(student: Student, section_ids: list[SectionId]) -> dict[str, str]:
    """A repeated restore reports the sections re-seated by an undo (what is left to tell)."""
    back = [s for s in section_ids if (h := student.registrations.get((s, ENROLLED))) and h.cause == UNDONE]
    return {"restored": ",".join(str(s) for s in back), "refused": ""}


@command
def record_no_show_undo(
    app: Registration,
    sweep_id: UUID,
    restored: dict[str, list[str]],
    not_restored: dict[str, dict[str, str]],
    ctx: CommandContext,
) -> CommandResult:
    sweep = app.load(NoShowSweep, sweep_id, "no-show sweep")
    if replayed := app.replayed(ctx, sweep):
        return replayed
    sweep.undo(restored, not_restored, ctx.audit())
    return app.commit(ctx, sweep)


__all__ = [
    "NO_SHOW",
    "UNDONE",
    "NoShowReport",
    "end_no_show",
    "plan_no_shows",
    "record_no_show_sweep",
    "record_no_show_undo",
    "restore_no_show",
    "undo_no_shows",
    "unenroll_no_shows",
]
