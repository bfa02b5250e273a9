"""The class-change lottery's input as of a log position, from the lottery's own fold of the log.

The same fold as the main lottery (`lottery_input.py`: per-student registrations by (section,
verb), sections, classes, settings), read differently:

* sections: every scheduled section, with its capacity, the seats held (`Enrolled`) and the
  students queued (`Waitlisted`) at the position; it offers seats to requesters only when open,
  not cancelled, of an accepted class and not lunch;
* students: those holding a `Request` or `Request/N` (N <= the program's priority limit) on a
  scheduled section they do not already hold; their `Enrolled` sections and their requests
  (plain `Request` is level 0). Requests on unscheduled sections, above the limit or on a
  section already held are left out and counted in `ignored_requests`. `Priority/N` is the
  main lottery's and never read here.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING
from uuid import UUID

from regledger.domain.errors import NotFoundError
from regledger.domain.lottery.class_change_model import (
    ChangeSection,
    ChangeStudent,
    ClassChangeInput,
    ClassChangeSnapshot,
)
from regledger.domain.request_commands import request_level_of
from regledger.domain.subject import ACCEPTED_STATUSES
from regledger.domain.values import ENROLLED, WAITLISTED
from regledger.projections.lottery_input import LotteryInputFold

if TYPE_CHECKING:
    from regledger.domain.ids import ProgramId
    from regledger.projections.lottery_fold import Fold


class ClassChangeInputFold(LotteryInputFold):
    """The lottery's input source, which also reads the class-change input (one cached fold)."""

    def class_change_snapshot(self, program_id: ProgramId, position: int) -> ClassChangeSnapshot:
        return self.read_fold(program_id, position, lambda fold: class_change_snapshot(fold, position))


def class_change_snapshot(fold: Fold, position: int) -> ClassChangeSnapshot:
    if fold.settings is None:
        raise NotFoundError("No such program at this log position", program_id=str(fold.program_id))
    limit = fold.settings.priority_limit
    enrolled: Counter[UUID] = Counter()
    waitlisted: Counter[UUID] = Counter()
    for state in fold.students.values():
        for sid, verb in state.registrations:
            if verb == ENROLLED:
                enrolled[sid] += 1
            elif verb == WAITLISTED:
                waitlisted[sid] += 1
    sections: dict[UUID, ChangeSection] = {}
    for sid, section in fold.sections.items():
        if not section.timeslot_ids:
            continue
        subject = fold.subjects.get(section.subject_id)
        accepted = subject is not None and subject.status in ACCEPTED_STATUSES
        is_lunch = subject is not None and subject.is_lunch
        sections[sid] = ChangeSection(
            id=sid,
            subject_id=section.subject_id,
            timeslot_ids=tuple(section.timeslot_ids),
            capacity=section.capacity,
            enrolled=enrolled[sid],
            waitlisted=waitlisted[sid],
            offers_seats=accepted and section.is_open and not section.is_cancelled and not is_lunch,
            is_lunch=is_lunch,
        )
    ignored = 0
    students: list[ChangeStudent] = []
    for student_id in sorted(fold.students):
        registrations = fold.students[student_id].registrations
        requests: list[tuple[UUID, int]] = []
        held = {sid for sid, verb in registrations if verb == ENROLLED and sid in sections}
        for sid, verb in registrations:
            level = request_level_of(verb)
            if level is None:
                continue
            if sid in sections and level <= limit and sid not in held:
                requests.append((sid, level))
            else:
                ignored += 1
        if requests:
            students.append(ChangeStudent(student_id, tuple(sorted(held)), tuple(sorted(requests))))
    inp = ClassChangeInput(
        timeslots=tuple(sorted(fold.timeslots.values(), key=lambda t: (t.start, t.end, t.id))),
        sections=tuple(sections[sid] for sid in sorted(sections)),
        students=tuple(students),
        priority_limit=limit,
    )
    return ClassChangeSnapshot(input=inp, position=position, ignored_requests=ignored)


__all__ = ["ClassChangeInputFold", "class_change_snapshot"]
