"""What students must be told: the log's events folded into notices, grouped per commit.

The notifier (`adapters/notifier/`) follows the log like the projector. This is its fold, over
decoded events only: who a student is and where to write (`Contact`, from `Student.Registered`
and the latest `Student.ProfileSubmitted`: `contacts["email"]`), what programs, classes and
sections are called (`Name`), and the notices of each commit (`Commit`: the consecutive events of
one command id, so a lottery commit is one group and its students get one message each).

Notices (the student is the `Student` event's originator):
- `waitlist_promoted`: Enrolled, cause `waitlist` (a freed seat went to the queue);
- `lottery_enrolled` / `lottery_replaced`: a lottery commit's seats, and seats it replaced;
- `class_change_enrolled` / `class_change_left`: a class-change commit's moves;
- `section_cancelled`: an Enrolled or Waitlisted registration ended by a cancellation;
- `admin_dropped`: an Enrolled or Waitlisted registration ended by a drop, a replacement or an
  unenroll-all that someone other than the student asked for (an admin, the CLI, a script);
- `admin_added` / `admin_switched`: an Enrolled or Waitlisted registration that someone other
  than the student made for them (an add, a replacement, a batch registration, a no-show undone),
  or a switch they made;
- `lottery_unplaced`: a committed lottery run gave the student, who had chosen classes, no seat
  (`LotteryRun.StudentsUnplaced`; in the same commit as the seats, so in the same message
  group as everyone else's lottery results).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from regledger.domain.lottery_run import LotteryRun
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, WAITLISTED

ENROLLED_NOTICES = {
    "waitlist": "waitlist_promoted",
    "lottery": "lottery_enrolled",
    "class_change": "class_change_enrolled",
}
ENDED_NOTICES = {
    "cancelled": "section_cancelled",
    "lottery_replaced": "lottery_replaced",
    "class_change": "class_change_left",
}
DROP_CAUSES = ("drop", "unenroll_all", "no_show", "replaced")
# The causes of a registration a student makes themselves; made by anyone else, they are told.
ADD_CAUSES = ("fcfs", "override", "replace", "batch", "no_show_undone")
ADMISSION_NOTICES: dict[type, str] = {
    Program.StudentsAdmitted: "admission_admitted",
    Program.AdmissionsUndone: "admission_undone",
    Program.AdmissionsDeclined: "admission_declined",
}
STUDENT_ACTOR = "student:"  # a student's own token acts as "student:<slug>/<key>"

# The kind of a message: the group of its notices ("waitlist,lottery" when a commit did both).
GROUPS = {
    "waitlist_promoted": "waitlist",
    "lottery_enrolled": "lottery",
    "lottery_replaced": "lottery",
    "lottery_unplaced": "lottery",
    "class_change_enrolled": "class_change",
    "class_change_left": "class_change",
    "section_cancelled": "cancellation",
    "admin_dropped": "admin_drop",
    "admin_added": "admin_change",
    "admin_switched": "admin_change",
    "admission_admitted": "admission",
    "admission_undone": "admission",
    "admission_declined": "admission",
}

TOPICS = tuple(
    get_topic(cls)
    for cls in (
        Student.Registered,
        Student.ProfileSubmitted,
        Student.SectionRegistered,
        Student.RegistrationEnded,
        Student.SectionSwitched,
        Program.Created,
        Program.StudentsAdmitted,
        Program.AdmissionsUndone,
        Program.AdmissionsDeclined,
        LotteryRun.StudentsUnplaced,
        Subject.Created,
        Subject.DetailsChanged,
        Section.Scheduled,
    )
)


@dataclass(frozen=True)
class Contact:
    student_id: UUID
    program_id: UUID
    student_key: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Name:
    """A program (code: its slug), a class (parent: its program) or a section (parent: its class,
    code: `s<index>`, no title)."""

    id: UUID
    parent_id: UUID | None
    code: str
    title: str


@dataclass(frozen=True)
class Notice:
    kind: str
    section_id: UUID
    verb: str
    actor: str
    reason: str


@dataclass
class Commit:
    """The notices of one command's events, per student, in log order."""

    position: int  # the first event's notification id: with the student, the message's key
    command_id: str
    notices: dict[UUID, list[Notice]] = field(default_factory=dict)


@dataclass
class Folded:
    contacts: dict[UUID, Contact] = field(default_factory=dict)  # changed in this fold
    names: dict[UUID, Name] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)


def notice_of(event: Any) -> Notice | None:
    """The notice a student event gives its student, if any."""
    by_someone_else = not event.actor.startswith(STUDENT_ACTOR)
    if isinstance(event, Student.SectionRegistered):
        kind = ENROLLED_NOTICES.get(event.cause) if event.verb == ENROLLED else None
        if event.verb in (ENROLLED, WAITLISTED) and event.cause in ADD_CAUSES and by_someone_else:
            kind = "admin_added"
        section_id = event.section.section_id
    elif isinstance(event, Student.RegistrationEnded):
        if event.verb not in (ENROLLED, WAITLISTED):
            return None
        kind = ENDED_NOTICES.get(event.cause)
        if event.cause in DROP_CAUSES and by_someone_else:
            kind = "admin_dropped"
        section_id = event.section_id
    elif isinstance(event, Student.SectionSwitched):
        kind = "admin_switched" if by_someone_else else None
        section_id = event.to_section.section_id
        return None if kind is None else Notice(kind, section_id, ENROLLED, event.actor, event.reason)
    else:
        return None
    if kind is None:
        return None
    return Notice(kind, section_id, event.verb, event.actor, event.reason)


def fold(
    events: Iterable[tuple[int, Any]],
    contacts: dict[UUID, Contact],
    names: dict[UUID, Name],
    *,
    quiet_until: int = 0,
) -> Folded:
    """Fold (notification id, event) pairs in log order. `contacts` and `names` (all known so
    far) are updated in place; events up to `quiet_until` give no notices (history from before
    the notifier started: only who and what things are called)."""
    folded = Folded()
    for position, event in events:
        _learn(event, contacts, names, folded)
        if position <= quiet_until:
            continue
        for student_id, notice in _notices(event):
            commits = folded.commits
            if not commits or commits[-1].command_id != event.command_id:
                commits.append(Commit(position, event.command_id))
            commits[-1].notices.setdefault(student_id, []).append(notice)
    return folded


def _notices(event: Any) -> list[tuple[UUID, Notice]]:
    """(student, notice) pairs of one event: a student's own event, or one naming many students
    (Phase Zero's admissions, a lottery's unplaced students; the notice's `section_id` is then
    the program's)."""
    if isinstance(event, LotteryRun.StudentsUnplaced):  # names the program, as admissions do
        return [
            (s, Notice("lottery_unplaced", event.program_id, "", event.actor, event.reason)) for s in event.student_ids
        ]
    kind = ADMISSION_NOTICES.get(type(event))
    if kind is not None:
        return [(s, Notice(kind, event.originator_id, "", event.actor, event.reason)) for s in event.student_ids]
    notice = notice_of(event)
    return [] if notice is None else [(event.originator_id, notice)]


def _learn(event: Any, contacts: dict[UUID, Contact], names: dict[UUID, Name], folded: Folded) -> None:
    if isinstance(event, Student.Registered):
        contact = Contact(event.originator_id, event.program_id, event.student_key)
    elif isinstance(event, Student.ProfileSubmitted):
        known = contacts.get(event.originator_id)
        if known is None:
            return
        email = event.contacts.get("email", "").strip() or None
        contact = Contact(known.student_id, known.program_id, known.student_key, event.name, email)
    else:
        name = _name_of(event, names)
        if name is not None:
            names[name.id] = name
            folded.names[name.id] = name
        return
    contacts[contact.student_id] = contact
    folded.contacts[contact.student_id] = contact


def _name_of(event: Any, names: dict[UUID, Name]) -> Name | None:
    if isinstance(event, Program.Created):
        return Name(event.originator_id, None, event.slug, event.title)
    if isinstance(event, Subject.Created):
        return Name(event.originator_id, event.program_id, event.code, event.title)
    if isinstance(event, Subject.DetailsChanged) and "title" in event.changed:
        known = names.get(event.originator_id)
        if known is None:
            return None
        return Name(known.id, known.parent_id, known.code, str(event.details["title"]))
    if isinstance(event, Section.Scheduled):
        return Name(event.originator_id, event.subject_id, f"s{event.index}", "")
    return None


def commit_groups(command_ids: Sequence[str], *, complete: bool) -> int:
    """How many of these consecutive events (their command ids, in log order) form whole commits.

    `complete`: the list ends at the log's head (a commit is written at once, so it is whole);
    otherwise the last group may go on in the next page and is left for it (0: the page is all
    one group, read on)."""
    if complete or not command_ids:
        return len(command_ids)
    last = command_ids[-1]
    cut = len(command_ids)
    while cut > 0 and command_ids[cut - 1] == last:
        cut -= 1
    return cut


__all__ = ["GROUPS", "TOPICS", "Commit", "Contact", "Folded", "Name", "Notice", "commit_groups", "fold", "notice_of"]
