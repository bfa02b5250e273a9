"""The lottery input fold's state: one program's events applied, in log order, to plain state.

What the state means for the lottery is read by `lottery_snapshot.build_snapshot`; how the fold
is moved along the log (and persisted) is in `lottery_input.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from regledger.domain.ids import ProgramId
from regledger.domain.lottery.model import InputSnapshot, LotteryTimeslot
from regledger.domain.program import Program, ProgramSettings
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED, priority_verb
from regledger.projections.lottery_snapshot import build_snapshot
from regledger.projections.stored_state import section_ids_of, uuid_of


class _SectionState:
    __slots__ = ("capacity", "is_cancelled", "is_open", "subject_id", "timeslot_ids")

    def __init__(self, subject_id: UUID, timeslot_ids: tuple[UUID, ...], capacity: int) -> None:
        self.subject_id = subject_id
        self.timeslot_ids = timeslot_ids
        self.capacity = capacity
        self.is_open = True
        self.is_cancelled = False


class _SubjectState:
    __slots__ = ("grade_max", "grade_min", "is_lunch", "status")

    def __init__(self, status: str, grade_min: int, grade_max: int, is_lunch: bool) -> None:
        self.status = status
        self.grade_min = grade_min
        self.grade_max = grade_max
        self.is_lunch = is_lunch


class _StudentState:
    """Mirrors what Student's recorders do to registrations, stars and rankings."""

    __slots__ = ("graduation_year", "rankings", "registrations", "stars")

    def __init__(self) -> None:
        self.graduation_year: int | None = None
        self.registrations: set[tuple[UUID, str]] = set()
        self.stars: set[UUID] = set()
        self.rankings: dict[UUID, tuple[UUID | None, ...]] = {}


class Fold:
    """Applies one program's events, in log order, to plain per-aggregate state.

    Its state is checkpointed (`lottery_fold_state`). A new topic changes the checkpoints'
    signature by itself; changing what a handler does to the state (or the state's shape)
    must raise `lottery_fold_state.FORMAT`, so checkpoints of the old fold are not read."""

    def __init__(self, program_id: ProgramId) -> None:
        self.program_id = program_id
        self.settings: ProgramSettings | None = None
        self.school_year = 0
        self.timeslots: dict[UUID, LotteryTimeslot] = {}
        self.subjects: dict[UUID, _SubjectState] = {}
        self.sections: dict[UUID, _SectionState] = {}
        self.students: dict[UUID, _StudentState] = {}
        # topic -> (is a created event, handler)
        self.handlers: dict[str, tuple[bool, Callable[[Any], None]]] = {
            get_topic(Program.Created): (True, self._program_created),
            get_topic(Program.SettingsChanged): (False, self._settings_changed),
            get_topic(Program.TimeslotAdded): (False, self._timeslot_added),
            get_topic(Subject.Created): (True, self._subject_created),
            get_topic(Subject.StatusChanged): (False, self._subject_status),
            get_topic(Section.Scheduled): (True, self._section_scheduled),
            get_topic(Section.TimeslotsAssigned): (False, self._section_timeslots),
            get_topic(Section.CapacityChanged): (False, self._section_capacity),
            get_topic(Section.RegistrationOpened): (False, self._section_opened),
            get_topic(Section.RegistrationClosed): (False, self._section_closed),
            get_topic(Section.Cancelled): (False, self._section_cancelled),
            get_topic(Student.Registered): (True, self._student_registered),
            get_topic(Student.ProfileSubmitted): (False, self._profile),
            get_topic(Student.SectionRegistered): (False, self._registered),
            get_topic(Student.RegistrationEnded): (False, self._ended),
            get_topic(Student.SectionSwitched): (False, self._switched),
            get_topic(Student.SubjectStarred): (False, self._starred),
            get_topic(Student.SubjectUnstarred): (False, self._unstarred),
            get_topic(Student.PrioritiesRanked): (False, self._ranked),
        }
        # The hot topics (stars ~80% of a Splash log, rankings ~15%) read from their JSON state
        # when the mapper reads plain JSON and it passes `guarded_state`; else full decoding.
        self.raw_handlers: dict[str, Callable[[UUID, dict[str, Any]], None]] = {
            get_topic(Student.SubjectStarred): self._raw_starred,
            get_topic(Student.SubjectUnstarred): self._raw_unstarred,
            get_topic(Student.PrioritiesRanked): self._raw_ranked,
        }
        # The log position folded so far (inclusive).
        self.position = 0
        # Events applied since the fold was created, restored or checkpointed.
        self.applied = 0
        # The last snapshot, while no event has changed the fold since (a later run, what-if
        # or replay at a newer position with nothing new for this program reuses it).
        self.memo: InputSnapshot | None = None

    @property
    def topics(self) -> list[str]:
        return sorted(self.handlers)

    def is_ours(self, originator_id: UUID | str) -> bool:
        return (
            originator_id in self.students
            or originator_id in self.sections
            or originator_id in self.subjects
            or originator_id == self.program_id
        )

    # -- program --------------------------------------------------------------------------

    def _program_created(self, e: Program.Created) -> None:
        if e.originator_id == self.program_id:
            self.settings = ProgramSettings.from_dict(e.settings)
            self.school_year = e.school_year

    def _settings_changed(self, e: Program.SettingsChanged) -> None:
        assert self.settings is not None
        self.settings = self.settings.updated(e.changes)

    def _timeslot_added(self, e: Program.TimeslotAdded) -> None:
        self.timeslots[e.timeslot_id] = LotteryTimeslot(e.timeslot_id, e.start, e.end)

    # -- subjects and sections ------------------------------------------------------------

    def _subject_created(self, e: Subject.Created) -> None:
        if e.program_id == self.program_id:
            self.subjects[e.originator_id] = _SubjectState(e.status, e.grade_min, e.grade_max, e.is_lunch)

    def _subject_status(self, e: Subject.StatusChanged) -> None:
        self.subjects[e.originator_id].status = e.status

    def _section_scheduled(self, e: Section.Scheduled) -> None:
        if e.program_id == self.program_id:
            self.sections[e.originator_id] = _SectionState(e.subject_id, tuple(e.timeslot_ids), e.capacity)

    def _section_timeslots(self, e: Section.TimeslotsAssigned) -> None:
        self.sections[e.originator_id].timeslot_ids = tuple(e.timeslot_ids)

    def _section_capacity(self, e: Section.CapacityChanged) -> None:
        self.sections[e.originator_id].capacity = e.capacity

    def _section_opened(self, e: Section.RegistrationOpened) -> None:
        self.sections[e.originator_id].is_open = True

    def _section_closed(self, e: Section.RegistrationClosed) -> None:
        self.sections[e.originator_id].is_open = False

    def _section_cancelled(self, e: Section.Cancelled) -> None:
        self.sections[e.originator_id].is_cancelled = True

    # -- students -------------------------------------------------------------------------

    def _student_registered(self, e: Student.Registered) -> None:
        if e.program_id == self.program_id:
            self.students[e.originator_id] = _StudentState()

    def _profile(self, e: Student.ProfileSubmitted) -> None:
        self.students[e.originator_id].graduation_year = e.graduation_year

    def _registered(self, e: Student.SectionRegistered) -> None:
        self.students[e.originator_id].registrations.add((e.section.section_id, e.verb))

    def _ended(self, e: Student.RegistrationEnded) -> None:
        self.students[e.originator_id].registrations.discard((e.section_id, e.verb))

    def _switched(self, e: Student.SectionSwitched) -> None:
        registrations = self.students[e.originator_id].registrations
        registrations.discard((e.from_section_id, ENROLLED))
        registrations.add((e.to_section.section_id, ENROLLED))

    def _starred(self, e: Student.SubjectStarred) -> None:
        self.students[e.originator_id].stars.add(e.subject_id)

    def _unstarred(self, e: Student.SubjectUnstarred) -> None:
        self.students[e.originator_id].stars.discard(e.subject_id)

    def _ranked(self, e: Student.PrioritiesRanked) -> None:
        student = self.students[e.originator_id]
        for level, old in enumerate(student.rankings.get(e.timeslot_id, ()), start=1):
            if old is not None:
                student.registrations.discard((old, priority_verb(level)))
        ranked = tuple(ref.section_id if ref is not None else None for ref in e.ranked)
        for level, new in enumerate(ranked, start=1):
            if new is not None:
                student.registrations.add((new, priority_verb(level)))
        student.rankings[e.timeslot_id] = ranked

    def _raw_starred(self, originator_id: UUID, state: dict[str, Any]) -> None:
        self.students[originator_id].stars.add(uuid_of(state["subject_id"]))

    def _raw_unstarred(self, originator_id: UUID, state: dict[str, Any]) -> None:
        self.students[originator_id].stars.discard(uuid_of(state["subject_id"]))

    def _raw_ranked(self, originator_id: UUID, state: dict[str, Any]) -> None:
        student = self.students[originator_id]
        timeslot_id = uuid_of(state["timeslot_id"])
        for level, old in enumerate(student.rankings.get(timeslot_id, ()), start=1):
            if old is not None:
                student.registrations.discard((old, priority_verb(level)))
        ranked = tuple(None if ref is None else section_ids_of(ref)[0] for ref in state["ranked"])
        for level, new in enumerate(ranked, start=1):
            if new is not None:
                student.registrations.add((new, priority_verb(level)))
        student.rankings[timeslot_id] = ranked

    # -- the input ------------------------------------------------------------------------

    def participants(self) -> set[UUID]:
        """Students who starred a class or ranked a priority (eligible or not)."""
        return {
            i for i, s in self.students.items() if s.stars or any(r is not None for v in s.rankings.values() for r in v)
        }

    def snapshot(self, position: int) -> InputSnapshot:
        if self.memo is None:
            self.memo = build_snapshot(self, position)
        return self.memo if self.memo.position == position else replace(self.memo, position=position)


__all__ = ["Fold"]
