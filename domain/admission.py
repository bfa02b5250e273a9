"""The AdmissionTicket aggregate: one student's entry in a program's admission lottery (Phase Zero).

Every entrant owns one ticket, keyed by the program and their student key. A ticket either
holds a group (its holder and the members who joined it) or points at the group its holder
joined (`joined`), in which case it holds nobody. The lottery draws groups, so a group is
admitted or refused whole. The graduation year each member entered with travels with the
membership events; the lottery reads the profile's as of its position, and this one only for
a student without a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.ids import ProgramId


@dataclass(frozen=True)
class Member:
    student_key: str
    graduation_year: int | None


def ticket_id(program_id: ProgramId, student_key: str) -> UUID:
    return uuid5(program_id, f"admission-ticket/{student_key}")


class AdmissionTicket(AuditedAggregate):
    """A group ticket; the checks that span two tickets are in `admission_entry_commands`."""

    class Entered(AuditedAggregate.Created):
        program_id: ProgramId
        holder_key: str
        graduation_year: int | None
        joined: UUID | None

    class MemberJoined(AuditedAggregate.Event):
        student_key: str
        graduation_year: int | None

    class MemberLeft(AuditedAggregate.Event):
        student_key: str

    class MovedTo(AuditedAggregate.Event):
        ticket_id: UUID

    class Returned(AuditedAggregate.Event):
        graduation_year: int | None

    @staticmethod
    def create_id(program_id: ProgramId, holder_key: str) -> UUID:
        return ticket_id(program_id, holder_key)

    @event(Entered)
    def __init__(
        self,
        program_id: ProgramId,
        holder_key: str,
        graduation_year: int | None,
        joined: UUID | None,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.program_id = program_id
        self.holder_key = holder_key
        self.joined = joined
        self.members: dict[str, Member] = {}
        if joined is None:
            self.members[holder_key] = Member(holder_key, graduation_year)

    # -- queries --------------------------------------------------------------------------

    @property
    def holds_group(self) -> bool:
        return self.joined is None

    @property
    def others(self) -> list[str]:
        return [k for k in self.members if k != self.holder_key]

    # -- commands (the caller checked the rules) ------------------------------------------

    def add_member(self, student_key: str, graduation_year: int | None, audit: dict[str, str]) -> None:
        self._member_joined(student_key=student_key, graduation_year=graduation_year, **audit)

    def remove_member(self, student_key: str, audit: dict[str, str]) -> None:
        self._member_left(student_key=student_key, **audit)

    def move_to(self, target: UUID, audit: dict[str, str]) -> None:
        """The holder joined another group: this ticket now holds nobody."""
        self._moved_to(ticket_id=target, **audit)

    def return_home(self, graduation_year: int | None, audit: dict[str, str]) -> None:
        """The holder left the group they joined: this ticket holds them alone again."""
        self._returned(graduation_year=graduation_year, **audit)

    # -- recorders ------------------------------------------------------------------------

    @event(MemberJoined)
    def _member_joined(
        self, student_key: str, graduation_year: int | None, actor: str, command_id: str, reason: str
    ) -> None:
        self.members = {**self.members, student_key: Member(student_key, graduation_year)}

    @event(MemberLeft)
    def _member_left(self, student_key: str, actor: str, command_id: str, reason: str) -> None:
        self.members = {k: m for k, m in self.members.items() if k != student_key}

    @event(MovedTo)
    def _moved_to(self, ticket_id: UUID, actor: str, command_id: str, reason: str) -> None:
        self.joined = ticket_id
        self.members = {}

    @event(Returned)
    def _returned(self, graduation_year: int | None, actor: str, command_id: str, reason: str) -> None:
        self.joined = None
        self.members = {self.holder_key: Member(self.holder_key, graduation_year)}
