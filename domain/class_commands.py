"""Editing a class after it was created: its details, and the capacity of its sections that
follows from its sizes (an import of a changed row does the same through `catalogue_import`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from regledger.domain.ids import SubjectId
from regledger.domain.runner import CommandResult, command
from regledger.domain.section import Section
from regledger.domain.section_commands import ZERO_CAPACITY, capacity_for
from regledger.domain.values import CommandContext
from regledger.domain.waitlist import promote_everywhere, promote_program, refused_in_category

if TYPE_CHECKING:
    from regledger.domain.application import Registration

SIZES = frozenset({"class_size_max", "class_size_optimal"})


@command
def change_subject(
    app: Registration, subject_id_: SubjectId, details: dict[str, Any], ctx: CommandContext
) -> CommandResult:
    """Change any of a class's details (`subject.DETAIL_FIELDS`); only what differs is recorded.

    A changed size re-sizes every section whose capacity follows from it, in the same commit;
    a section that would hold fewer seats than are taken refuses the whole change unless the
    admin overrides (the seats stay taken). Seats gained go to the waitlists first."""
    subject = app.load_subject(subject_id_)
    if replayed := app.replayed(ctx, subject):
        return replayed
    category = subject.category  # the former one, for the queues it kept out (promote_program)
    changed = subject.change_details(details, ctx.audit())
    resized: list[Section] = []
    if SIZES & set(changed):
        program = app.load_program(subject.program_id)
        for section_id in subject.section_ids:
            section = app.load_section(section_id)
            capacity = capacity_for(program, subject, section.capacity_inputs)
            if capacity != section.capacity:
                section.change_capacity(section.capacity_inputs, capacity, ctx.audit(), override=ctx.override)
                resized.append(section)
    program = app.load_program(subject.program_id)
    if "category" in changed and program.constraints:
        was_refused = refused_in_category(program, subject.subject_id, category)
        offered, promoted = promote_program(app, program, ctx, was_refused=was_refused)  # constraints read categories
    else:
        offered, promoted = promote_everywhere(app, program, resized, ctx)
    ids = {"resized_sections": str(len(resized)), "promoted": ",".join(s.student_key for s in promoted)}
    result = app.commit(ctx, subject, *resized, *offered, *promoted, ids=ids)
    if any(section.capacity == 0 for section in resized):
        return replace(result, warnings=(ZERO_CAPACITY,))
    return result
