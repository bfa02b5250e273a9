"""Phase Zero, the student's side: enter the admission lottery, join a friend's group, leave it.

A group is the ticket of its holder; joining moves a student onto another entrant's ticket
(saved with their own ticket, which then points at the group), leaving moves them back to a
ticket of their own. Refusals, in the reference's order (§3.3): unknown target, target not in
the lottery, joining oneself, already in a group, group full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.admission import AdmissionTicket, ticket_id
from regledger.domain.errors import (
    AdmissionJoinSelf,
    AdmissionTargetNotEntered,
    AdmissionTargetUnknown,
    AlreadyEntered,
    AlreadyInGroup,
    GroupFull,
    HoldingGroup,
    NotEntered,
    NotInGroup,
    PhaseZeroOff,
    ProfileRequired,
)
from regledger.domain.ids import ProgramId, student_id
from regledger.domain.runner import CommandResult, command
from regledger.domain.student import Student

if TYPE_CHECKING:
    from regledger.domain.application import Registration
    from regledger.domain.program import Program
    from regledger.domain.values import CommandContext

WINDOW = "admission"


def check_phase_zero(program: Program) -> None:
    if not program.settings.phase_zero:
        raise PhaseZeroOff("This program has no admission lottery.", program=program.slug)


def _entrant(app: Registration, program: Program, student_key: str, ctx: CommandContext) -> int | None:
    """The entry checks (phase zero, program grade, window, profile); the entrant's graduation year."""
    check_phase_zero(program)
    student = app.find(Student, student_id(program.program_id, student_key))
    if student is not None:
        rules.check_program_grade(program, student, ctx)
    if not ctx.override:
        program.check_window(WINDOW, app.clock())
    if program.settings.require_profile and (student is None or student.profile is None):
        raise ProfileRequired(rules.PROFILE_MESSAGE)
    return student.graduation_year if student is not None else None


def find_ticket(app: Registration, program_id: ProgramId, student_key: str) -> AdmissionTicket | None:
    return app.find(AdmissionTicket, ticket_id(program_id, student_key))


def _ids(ticket: AdmissionTicket) -> dict[str, str]:
    return {"ticket_id": str(ticket.id), "group_ticket_id": str(ticket.joined or ticket.id)}


@command
def enter_admission(app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext) -> CommandResult:
    """Enter the admission lottery with a ticket of one's own."""
    app.prefetch(program_id, student_id(program_id, student_key), ticket_id(program_id, student_key))
    program = app.load_program(program_id)
    existing = find_ticket(app, program_id, student_key)
    if existing is not None and existing.has_applied(ctx.command_id):
        return app.replay(ctx, existing, ids=_ids(existing))
    year = _entrant(app, program, student_key, ctx)
    if existing is not None:
        raise AlreadyEntered("You have entered the admission lottery already.", student_key=student_key)
    ticket = AdmissionTicket(
        program_id=program_id, holder_key=student_key, graduation_year=year, joined=None, **ctx.audit()
    )
    return app.commit(ctx, ticket, ids=_ids(ticket))


def _group_of(app: Registration, program: Program, target_key: str) -> AdmissionTicket:
    target = find_ticket(app, program.program_id, target_key)
    if target is None:
        if app.find(Student, student_id(program.program_id, target_key)) is None:
            raise AdmissionTargetUnknown("There is no student with that name.", target=target_key)
        raise AdmissionTargetNotEntered("That student has not entered the admission lottery.", target=target_key)
    if target.holds_group:
        return target
    assert target.joined is not None
    return app.load(AdmissionTicket, target.joined, "ticket")


@command
def join_admission_group(
    app: Registration, program_id: ProgramId, student_key: str, target_key: str, ctx: CommandContext
) -> CommandResult:
    """Join the group of another entrant (whose ticket they hold or joined), up to the
    program's group size; entering first is not needed."""
    app.prefetch(
        program_id,
        student_id(program_id, student_key),
        ticket_id(program_id, student_key),
        ticket_id(program_id, target_key),
        student_id(program_id, target_key),
    )
    program = app.load_program(program_id)
    own = find_ticket(app, program_id, student_key)
    if own is not None and own.has_applied(ctx.command_id):
        return app.replay(ctx, own, ids=_ids(own))
    year = _entrant(app, program, student_key, ctx)
    group = _group_of(app, program, target_key)
    if target_key == student_key:
        raise AdmissionJoinSelf("You cannot join your own ticket.")
    if (own is not None and not own.holds_group) or student_key in group.members:
        raise AlreadyInGroup("You are in a group already; leave it first.", group=group.holder_key)
    if own is not None and own.others:
        raise HoldingGroup(
            "Others have joined your ticket; they must leave it before you can join another group.",
            members=own.others,
        )
    limit = program.settings.admission_group_size
    if len(group.members) >= limit:
        raise GroupFull("That group is full.", group=group.holder_key, limit=limit)
    group.add_member(student_key, year, ctx.audit())
    if own is None:
        own = AdmissionTicket(
            program_id=program_id, holder_key=student_key, graduation_year=year, joined=group.id, **ctx.audit()
        )
    else:
        own.move_to(group.id, ctx.audit())
    return app.commit(ctx, own, group, ids=_ids(own))


@command
def leave_admission_group(
    app: Registration, program_id: ProgramId, student_key: str, ctx: CommandContext
) -> CommandResult:
    """Leave the group one joined; the student keeps a ticket of their own in the lottery."""
    app.prefetch(program_id, student_id(program_id, student_key), ticket_id(program_id, student_key))
    program = app.load_program(program_id)
    own = find_ticket(app, program_id, student_key)
    if own is None:
        check_phase_zero(program)
        raise NotEntered("You have not entered the admission lottery.", student_key=student_key)
    if own.has_applied(ctx.command_id):
        return app.replay(ctx, own, ids=_ids(own))
    year = _entrant(app, program, student_key, ctx)
    if own.holds_group:
        if own.others:
            raise HoldingGroup("Others joined your ticket: it is their group too; they leave it, not you.")
        raise NotInGroup("You are not in anyone else's group.")
    assert own.joined is not None
    group = app.load(AdmissionTicket, own.joined, "ticket")
    group.remove_member(student_key, ctx.audit())
    own.return_home(year, ctx.audit())
    return app.commit(ctx, own, group, ids=_ids(own))


@dataclass(frozen=True)
class TicketView:
    """What a student sees of their entry."""

    student_key: str
    entered: bool
    group_holder: str | None
    members: tuple[str, ...]
    group_size: int
    admitted: bool


def show_admission_ticket(app: Registration, program_id: ProgramId, student_key: str) -> TicketView:
    program = app.load_program(program_id)
    own = find_ticket(app, program_id, student_key)
    admitted = student_id(program_id, student_key) in program.admitted
    limit = program.settings.admission_group_size
    if own is None:
        return TicketView(student_key, False, None, (), limit, admitted)
    group = own if own.holds_group else app.load(AdmissionTicket, own.joined or own.id, "ticket")
    return TicketView(student_key, True, group.holder_key, tuple(sorted(group.members)), limit, admitted)


__all__ = [
    "TicketView",
    "check_phase_zero",
    "enter_admission",
    "join_admission_group",
    "leave_admission_group",
    "show_admission_ticket",
]
