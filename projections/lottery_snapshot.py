"""The lottery input read from the fold's plain state (reference §4.2).

* sections: scheduled (>= 1 timeslot), open, not cancelled, of an accepted or hidden class;
  capacity is the section's full capacity (the lottery is a full reassignment). Every section
  of a lunch class is in too, whatever its status, as the reference derives a day's lunch
  slots from every lunch class's meeting times: a closed or unreviewed lunch section still
  keeps lunch free. Lunch sections are never seats;
* students: everyone with a current registration (any verb) or a star in the program;
* interest: stars expanded to every eligible section of the class, plus `Interested`
  registrations on eligible sections;
* priorities: current `Priority/N` registrations for N <= the program's priority limit.
  Unlike the reference, which aborts the whole run, a priority on a section that is no longer
  eligible (closed, cancelled, class rejected) is left out and counted in `ignored_priorities`;
* with the program's `use_grade_range_exceptions`, one more level after N from the current
  `GradeRangeException` registrations on eligible sections (others counted as ignored);
* grade from the student's profile (`Program.grade_of`), priority limit and program cap from
  the program's settings, lunch from the class's `is_lunch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from regledger.domain.errors import NotFoundError
from regledger.domain.ids import SectionId
from regledger.domain.lottery.model import InputSnapshot, LotteryInput, LotterySection, LotteryStudent
from regledger.domain.program import grade_in
from regledger.domain.subject import ACCEPTED_STATUSES
from regledger.domain.values import GRADE_RANGE_EXCEPTION, INTERESTED, priority_level_of

if TYPE_CHECKING:
    from regledger.projections.lottery_fold import Fold


def build_snapshot(fold: Fold, position: int) -> InputSnapshot:
    if fold.settings is None:
        raise NotFoundError("No such program at this log position", program_id=str(fold.program_id))
    limit = fold.settings.priority_limit
    exceptions = fold.settings.use_grade_range_exceptions
    eligible, lunch = _sections(fold)
    by_subject: dict[UUID, list[UUID]] = {}
    for sid, section in eligible.items():
        by_subject.setdefault(section.subject_id, []).append(sid)
    ignored = 0
    students: list[LotteryStudent] = []
    for student_id in sorted(fold.students):
        state = fold.students[student_id]
        if not state.registrations and not state.stars:
            continue
        interested = {sid for subject_id in state.stars for sid in by_subject.get(subject_id, ())}
        levels: list[set[UUID]] = [set() for _ in range(limit + exceptions)]
        for sid, verb in state.registrations:
            if verb == INTERESTED:
                if sid in eligible:
                    interested.add(sid)
                continue
            level = limit + 1 if exceptions and verb == GRADE_RANGE_EXCEPTION else priority_level_of(verb)
            if level is None or not 1 <= level <= len(levels):
                continue
            if sid in eligible:
                levels[level - 1].add(sid)
            else:
                ignored += 1
        students.append(
            LotteryStudent(
                id=student_id,
                grade=grade_in(fold.school_year, state.graduation_year),
                priorities=tuple(frozenset(level) for level in levels),
                interested=frozenset(interested),
            )
        )
    sections = {**eligible, **lunch}
    inp = LotteryInput(
        timeslots=tuple(sorted(fold.timeslots.values(), key=lambda t: (t.start, t.end, t.id))),
        sections=tuple(sections[sid] for sid in sorted(sections)),
        students=tuple(students),
        priority_limit=limit,
        program_size_max=fold.settings.program_size_max,
        grade_range_exceptions=exceptions,
    )
    return InputSnapshot(
        input=inp,
        position=position,
        section_ids=tuple(SectionId(sid) for sid in sorted(fold.sections)),
        ignored_priorities=ignored,
    )


def _sections(fold: Fold) -> tuple[dict[UUID, LotterySection], dict[UUID, LotterySection]]:
    """The lottery's sections (which preferences may name), and the other lunch sections."""
    eligible: dict[UUID, LotterySection] = {}
    lunch: dict[UUID, LotterySection] = {}
    for sid, section in fold.sections.items():
        subject = fold.subjects.get(section.subject_id)
        if subject is None or not section.timeslot_ids:
            continue
        passes = subject.status in ACCEPTED_STATUSES and section.is_open and not section.is_cancelled
        if not passes and not subject.is_lunch:
            continue
        (eligible if passes else lunch)[sid] = LotterySection(
            id=sid,
            subject_id=section.subject_id,
            timeslot_ids=tuple(sorted(section.timeslot_ids, key=lambda t: (fold.timeslots[t].start, t))),
            capacity=section.capacity,
            grade_min=subject.grade_min,
            grade_max=subject.grade_max,
            is_lunch=subject.is_lunch,
        )
    return eligible, lunch


__all__ = ["build_snapshot"]
