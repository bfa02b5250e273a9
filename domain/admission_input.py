"""The admission lottery's input: a fold of the log's ticket and admission events up to a position.

Phase Zero runs before class registration, while the log is short, and reads only the events
of two aggregates (tickets, and the Program's admissions) through the recorder's topic
filter. The fold is a function of the events up to the position, so a run's input is the
same whenever it is read again: that is what makes a replay byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from regledger.domain.admission import AdmissionTicket
from regledger.domain.ids import ProgramId, StudentId, student_id
from regledger.domain.lottery.admission import AdmissionInput, TicketEntry
from regledger.domain.program import Program, grade_in
from regledger.domain.student import Student

if TYPE_CHECKING:
    from regledger.domain.application import Registration

PAGE = 5_000
TICKET_TOPICS = tuple(
    get_topic(c)
    for c in (
        AdmissionTicket.Entered,
        AdmissionTicket.MemberJoined,
        AdmissionTicket.MemberLeft,
        AdmissionTicket.MovedTo,
        AdmissionTicket.Returned,
    )
)
ADMISSION_TOPICS = tuple(
    get_topic(c) for c in (Program.StudentAdmitted, Program.StudentsAdmitted, Program.AdmissionsUndone)
)
PROFILE_TOPICS = (get_topic(Student.ProfileSubmitted),)


@dataclass
class _Ticket:
    holder_key: str
    members: dict[str, int | None]


def _events(app: Registration, start: int, stop: int | None, topics: Sequence[str]) -> Iterator[Any]:
    """Decoded events with the given topics, in log order, from `start` up to `stop` (inclusive)."""
    while stop is None or start <= stop:
        batch = app.recorder.select_notifications(start, PAGE, stop=stop, topics=topics)
        for notification in batch:
            yield app.mapper.to_domain_event(notification)
        if len(batch) < PAGE:
            return
        start = batch[-1].id + 1


def _apply_ticket(tickets: dict[UUID, _Ticket], program_id: ProgramId, ev: Any) -> None:
    if isinstance(ev, AdmissionTicket.Entered):
        if ev.program_id == program_id:
            members = {} if ev.joined is not None else {ev.holder_key: ev.graduation_year}
            tickets[ev.originator_id] = _Ticket(ev.holder_key, members)
        return
    ticket = tickets.get(ev.originator_id)
    if ticket is None:
        return  # another program's ticket
    if isinstance(ev, AdmissionTicket.MemberJoined):
        ticket.members[ev.student_key] = ev.graduation_year
    elif isinstance(ev, AdmissionTicket.MemberLeft):
        ticket.members.pop(ev.student_key, None)
    elif isinstance(ev, AdmissionTicket.MovedTo):
        ticket.members.clear()
    elif isinstance(ev, AdmissionTicket.Returned):
        ticket.members = {ticket.holder_key: ev.graduation_year}


def _apply_admission(admitted: set[UUID], ev: Any) -> None:
    if isinstance(ev, Program.StudentAdmitted):
        admitted.add(ev.student_id)
    elif isinstance(ev, Program.StudentsAdmitted):
        admitted.update(ev.student_ids)
    elif isinstance(ev, Program.AdmissionsUndone):
        admitted.difference_update(ev.student_ids)


@dataclass(frozen=True)
class AdmissionSnapshot:
    input: AdmissionInput
    keys_by_ticket: dict[str, tuple[str, ...]]


def admission_input(app: Registration, program: Program, position: int) -> AdmissionSnapshot:
    """Every group (a ticket holding at least one student) and who of them is admitted, as of
    `position`. A member's grade is from their profile as of `position` (as the reference reads
    the current grade), else from the graduation year they entered with (none: grade 0)."""
    pid = program.program_id
    tickets: dict[UUID, _Ticket] = {}
    admitted: set[UUID] = set()
    years: dict[UUID, int] = {}
    for ev in _events(app, 1, position, TICKET_TOPICS + ADMISSION_TOPICS + PROFILE_TOPICS):
        if isinstance(ev, AdmissionTicket.Event):
            _apply_ticket(tickets, pid, ev)
        elif isinstance(ev, Student.ProfileSubmitted):
            years[ev.originator_id] = ev.graduation_year
        elif ev.originator_id == pid:
            _apply_admission(admitted, ev)

    def grade(key: str, entered_with: int | None) -> int:
        return grade_in(program.school_year, years.get(student_id(pid, key), entered_with))

    entries = []
    for tid, ticket in tickets.items():
        if ticket.members:
            members = tuple(sorted((k, grade(k, y)) for k, y in ticket.members.items()))
            entries.append(TicketEntry(str(tid), members))
    entries.sort(key=lambda t: t.ticket_id)
    keys = sorted(k for t in entries for k, _ in t.members if student_id(pid, k) in admitted)
    snapshot_input = AdmissionInput(tuple(entries), tuple(keys))
    return AdmissionSnapshot(snapshot_input, {t.ticket_id: tuple(k for k, _ in t.members) for t in entries})


def changed_since(app: Registration, program_id: ProgramId, position: int) -> tuple[set[UUID], bool]:
    """Tickets with events after `position`, and whether the program's admissions changed since."""
    tickets: set[UUID] = set()
    admissions = False
    for ev in _events(app, position + 1, None, TICKET_TOPICS + ADMISSION_TOPICS):
        if isinstance(ev, AdmissionTicket.Event):
            tickets.add(ev.originator_id)
        elif ev.originator_id == program_id:
            admissions = True
    return tickets, admissions


def student_ids(program_id: ProgramId, keys: Sequence[str]) -> list[StudentId]:
    return [student_id(program_id, k) for k in keys]
