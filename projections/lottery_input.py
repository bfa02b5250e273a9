"""The lottery's input as of a log position, folded from the stored events themselves.

A run must be replayable from its recorded position forever, so the fold reads the log, not
the views: pages of the topics that matter up to the position, into plain state, other
programs' events skipped before they are decoded. It reproduces (reference §4.2):

* sections: scheduled (>= 1 timeslot), open, not cancelled, of an accepted or hidden class;
  capacity is the section's full capacity (the lottery is a full reassignment);
* students: everyone with a current registration (any verb) or a star in the program;
* interest: stars expanded to every eligible section of the class, plus `Interested`
  registrations on eligible sections;
* priorities: current `Priority/N` registrations for N <= the program's priority limit.
  Unlike the reference, which aborts the whole run, a priority on a section that is no longer
  eligible (closed, cancelled, class rejected) is left out and counted in `ignored_priorities`;
* grade from the student's profile (`Program.grade_of`), priority limit and program cap from
  the program's settings, lunch from the class's `is_lunch`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from regledger.domain.errors import InvalidInputError, NotFoundError
from regledger.domain.ids import ProgramId, SectionId
from regledger.domain.lottery.model import (
    InputSnapshot,
    LotteryInput,
    LotterySection,
    LotteryStudent,
    LotteryTimeslot,
)
from regledger.domain.program import Program, ProgramSettings, grade_in
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import ACCEPTED_STATUSES, Subject
from regledger.domain.values import ENROLLED, INTERESTED, priority_level_of, priority_verb
from regledger.projections.log_pages import LogPages, RecorderLogPages, to_domain_event
from regledger.projections.stored_state import guarded_state, reads_plain_json, section_ids_of, uuid_of

PAGE = 1000
T = TypeVar("T")
# Programs whose fold is kept in process (one Splash-scale fold is a few MB).
CACHED_FOLDS = 4


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


class _Fold:
    """Applies one program's events, in log order, to plain per-aggregate state."""

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

    def snapshot(self, position: int) -> InputSnapshot:
        if self.memo is None:
            self.memo = self._snapshot(position)
        return self.memo if self.memo.position == position else replace(self.memo, position=position)

    def _snapshot(self, position: int) -> InputSnapshot:
        if self.settings is None:
            raise NotFoundError("No such program at this log position", program_id=str(self.program_id))
        limit = self.settings.priority_limit
        eligible: dict[UUID, LotterySection] = {}
        by_subject: dict[UUID, list[UUID]] = {}
        for sid, section in self.sections.items():
            subject = self.subjects.get(section.subject_id)
            if (
                subject is None
                or subject.status not in ACCEPTED_STATUSES
                or not section.timeslot_ids
                or not section.is_open
                or section.is_cancelled
            ):
                continue
            eligible[sid] = LotterySection(
                id=sid,
                subject_id=section.subject_id,
                timeslot_ids=tuple(sorted(section.timeslot_ids, key=lambda t: (self.timeslots[t].start, t))),
                capacity=section.capacity,
                grade_min=subject.grade_min,
                grade_max=subject.grade_max,
                is_lunch=subject.is_lunch,
            )
            by_subject.setdefault(section.subject_id, []).append(sid)
        ignored = 0
        students: list[LotteryStudent] = []
        for student_id in sorted(self.students):
            state = self.students[student_id]
            if not state.registrations and not state.stars:
                continue
            interested = {sid for subject_id in state.stars for sid in by_subject.get(subject_id, ())}
            levels: list[set[UUID]] = [set() for _ in range(limit)]
            for sid, verb in state.registrations:
                if verb == INTERESTED:
                    if sid in eligible:
                        interested.add(sid)
                    continue
                level = priority_level_of(verb)
                if level is None or not 1 <= level <= limit:
                    continue
                if sid in eligible:
                    levels[level - 1].add(sid)
                else:
                    ignored += 1
            students.append(
                LotteryStudent(
                    id=student_id,
                    grade=grade_in(self.school_year, state.graduation_year),
                    priorities=tuple(frozenset(level) for level in levels),
                    interested=frozenset(interested),
                )
            )
        inp = LotteryInput(
            timeslots=tuple(sorted(self.timeslots.values(), key=lambda t: (t.start, t.end, t.id))),
            sections=tuple(eligible[sid] for sid in sorted(eligible)),
            students=tuple(students),
            priority_limit=limit,
            program_size_max=self.settings.program_size_max,
        )
        return InputSnapshot(
            input=inp,
            position=position,
            section_ids=tuple(SectionId(sid) for sid in sorted(self.sections)),
            ignored_priorities=ignored,
        )


class LotteryInputFold:
    """The domain's `LotteryInputSource`: a program's input read straight from the event log.

    The folds of the latest programs are kept and moved forward from the last position read,
    so a later run reads only the new events. On every store a position once read has no gaps
    that fill later (PostgreSQL's insert lock, SQLite's single writer), so a fold continued
    from p to q equals a fold from zero to q. An older position is folded from zero."""

    def __init__(self, app: Application[UUID], log_pages: LogPages | None = None) -> None:
        self.recorder = app.recorder
        self.mapper = app.mapper
        self.log_pages = log_pages or RecorderLogPages(app)
        self._folds: OrderedDict[ProgramId, _Fold] = OrderedDict()
        self._lock = threading.Lock()

    def lottery_snapshot(self, program_id: ProgramId, position: int) -> InputSnapshot:
        """The input as of `position` (inclusive); independent of every projection."""
        return self.read_fold(program_id, position, lambda fold: fold.snapshot(position))

    def read_fold(self, program_id: ProgramId, position: int, read: Callable[[_Fold], T]) -> T:
        """`read(fold)` on the program's fold as of `position`; it must raise if no program."""
        if position < 0:
            raise InvalidInputError("A log position is not negative", position=position)
        with self._lock:
            cached = self._folds.get(program_id)
            if cached is not None and cached.position <= position:
                self._fold_up_to(cached, position)
                self._folds.move_to_end(program_id)
                return read(cached)
        fold = _Fold(program_id)
        self._fold_up_to(fold, position)
        snapshot = read(fold)  # before the fold is shared
        with self._lock:
            cached = self._folds.get(program_id)
            if cached is None or cached.position < fold.position:
                self._folds[program_id] = fold
                self._folds.move_to_end(program_id)
                while len(self._folds) > CACHED_FOLDS:
                    self._folds.popitem(last=False)
        return snapshot

    def program_members(self, program_id: ProgramId) -> tuple[list[UUID], list[UUID]]:
        """Ids of every section and class of the program, as of the log's head."""
        self.lottery_snapshot(program_id, self.recorder.max_notification_id() or 0)
        with self._lock:
            fold = self._folds[program_id]
            return list(fold.sections), list(fold.subjects)

    def lottery_snapshot_from_zero(self, program_id: ProgramId, position: int) -> InputSnapshot:
        """The same input, folded from the start of the log without the cache (for checks)."""
        fold = _Fold(program_id)
        self._fold_up_to(fold, position)
        return fold.snapshot(position)

    def _fold_up_to(self, fold: _Fold, position: int) -> None:
        """Apply the program's events with fold.position < notification id <= position; the fold
        is then read up to min(position, the head before reading): later ids may still be filled."""
        head = self.recorder.max_notification_id() or 0
        handlers = fold.handlers
        mapper = self.mapper
        raw_handlers = fold.raw_handlers if reads_plain_json(mapper) else {}
        topics: Sequence[str] = fold.topics
        start = fold.position + 1
        while position >= start:
            page = self.log_pages(start - 1, PAGE, stop=position, topics=topics)
            for notification in page:
                topic = notification.topic
                is_created, handle = handlers[topic]
                if is_created or fold.is_ours(notification.originator_id):
                    fold.memo = None
                    raw = raw_handlers.get(topic)
                    state = guarded_state(topic, notification.state) if raw is not None else None
                    if raw is not None and state is not None:
                        raw(cast(UUID, notification.originator_id), state)
                    else:
                        handle(to_domain_event(mapper, notification))
            if len(page) < PAGE:
                break
            start = page[-1].id + 1
        fold.position = max(fold.position, min(position, head))


__all__ = ["LotteryInputFold"]
