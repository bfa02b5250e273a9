"""Batch registration (ESP's `batchclassregmodule`, §11): a registrar seats a list of students
in one section on the day.

Each student is one command of their own (`seat_student`: Student and Section saved together),
so the batch is atomic per student, never across the batch; its command id is the batch's id
and the student's key, so repeating the batch with the same id repeats nothing. As in the
reference, a student already in the section is skipped and a time conflict (or another section
of the class held) fails that student; grade, windows and schedule constraints are not checked
(a registrar's action). The capacity is overridden only when asked, with a reason.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.errors import InvalidInputError, RegistrationError
from regledger.domain.ids import ProgramId, SectionId
from regledger.domain.runner import CommandResult, command
from regledger.domain.student_commands import load_for_section
from regledger.domain.values import ENROLLED, CommandContext, check_key
from regledger.domain.waitlist import leave_waitlist_for_seat

if TYPE_CHECKING:
    from regledger.domain.application import Registration

BATCH_CAUSE = "batch"
MAX_BATCH = 2000
SKIPPED = "Skipped"
STATUS_OF_CODE = {"timeslot_conflict": "conflict", "already_in_class": "conflict", "section_full": "full"}


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one student: ok, skipped (already in the section), conflict, full or
    refused (any other rule, e.g. the section closed); `code` and `message` say why."""

    student_key: str
    status: str
    code: str = ""
    message: str = ""
    position: int = 0


@dataclass(frozen=True)
class BatchResult:
    command_id: str
    outcomes: tuple[BatchOutcome, ...]
    counts: dict[str, int] = field(default_factory=dict)


@command
def seat_student(
    app: Registration, program_id: ProgramId, student_key: str, section_id: SectionId, ctx: CommandContext
) -> CommandResult:
    """Seat one student of a batch: conflicts, the seat (unless overridden), the section's status."""
    program, section, subject, student = load_for_section(app, program_id, student_key, section_id, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    if student.enrolled_in(section_id):
        return CommandResult(ctx.command_id, SKIPPED, app.position())
    ref = rules.section_ref(section, subject)
    refusal = (
        student.conflict_refusal(ref, other_sections_exist=False)
        or section.seat_refusal(program.settings.temporarily_full_text, override=ctx.override)
        or section.status_refusal()
    )
    if refusal is not None:
        raise refusal
    leave_waitlist_for_seat(student, section, ctx)
    student.register(ref, ENROLLED, cause=BATCH_CAUSE, audit=ctx.audit())
    full_text = program.settings.temporarily_full_text
    section.enroll(student.student_id, cause=BATCH_CAUSE, audit=ctx.audit(), full_text=full_text, override=ctx.override)
    return app.commit(ctx, student, section, ids={"student_id": str(student.id)})


def batch_register(
    app: Registration,
    program_id: ProgramId,
    section_id: SectionId,
    student_keys: Sequence[str],
    ctx: CommandContext,
    *,
    override_capacity: bool = False,
) -> BatchResult:
    """Seat each listed student (in the order given, each once) and report per student."""
    if override_capacity and not ctx.reason.strip():
        raise InvalidInputError("A capacity override needs a reason", field="reason")
    keys = list(dict.fromkeys(check_key(k, "student_key") for k in student_keys))
    if not keys or len(keys) > MAX_BATCH:
        raise InvalidInputError(f"A batch lists 1 to {MAX_BATCH} students", students=len(keys))
    app.load_section(section_id, app.load_program(program_id))  # an unknown section is one 404
    outcomes: list[BatchOutcome] = []
    for key in keys:
        sub = replace(ctx, command_id=student_command_id(ctx.command_id, key), override=override_capacity)
        try:
            result = app.seat_student(program_id, key, section_id, sub)
        except RegistrationError as refusal:
            status = STATUS_OF_CODE.get(refusal.code, "refused")
            outcomes.append(BatchOutcome(key, status, refusal.code, refusal.message))
            continue
        status = "skipped" if result.outcome == SKIPPED else "ok"
        outcomes.append(BatchOutcome(key, status, position=result.position))
    return BatchResult(ctx.command_id, tuple(outcomes), dict(Counter(o.status for o in outcomes)))


def student_command_id(batch_id: str, key: str) -> str:
    """The batch's id and the key; a digest when that would exceed a command id's 200 characters."""
    joined = f"{batch_id}/{key}"
    return joined if len(joined) <= 200 else "batch-" + hashlib.sha256(joined.encode()).hexdigest()


__all__ = ["BATCH_CAUSE", "BatchOutcome", "BatchResult", "batch_register", "seat_student", "student_command_id"]
