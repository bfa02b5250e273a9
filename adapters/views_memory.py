"""The registration views in process memory (dicts): tests and the `memory` store."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from regledger.adapters.views.schema import TABLES, canonical, join_ids
from regledger.adapters.views.writes import TRACKING_NAME
from regledger.domain.values import ENROLLED, PRIORITY_PREFIX
from regledger.projections import changes as c
from regledger.projections.changes import Batch
from regledger.projections.views import (
    Demand,
    Interval,
    PositionAlreadyApplied,
    RegistrationRow,
    RegistrationViews,
    ScheduleEntry,
    SeatCount,
)


@dataclass(frozen=True)
class _Star:
    position: int
    seq: int
    program_id: UUID
    student_id: UUID
    subject_id: UUID
    valid_from: datetime
    valid_to: datetime | None
    actor: str
    command_id: str
    end_actor: str | None
    end_command_id: str | None


@dataclass
class _Section:
    section_id: UUID
    program_id: UUID
    subject_id: UUID
    idx: int
    timeslot_ids: tuple[UUID, ...]
    capacity: int
    is_open: bool
    is_cancelled: bool


@dataclass
class _Tables:
    position: int
    intervals: dict[tuple[int, int], tuple[Interval, int, int | None]]  # (interval, seq, end_position)
    open_intervals: dict[tuple[UUID, UUID, str], tuple[int, int]]
    stars: dict[tuple[int, int], _Star]
    open_stars: dict[tuple[UUID, UUID], tuple[int, int]]
    students: dict[UUID, tuple[UUID, str, datetime]]
    subjects: dict[UUID, c.SubjectUpserted]
    sections: dict[UUID, _Section]
    seats: dict[tuple[UUID, UUID], tuple[datetime, str]]
    waitlist: dict[tuple[UUID, UUID], tuple[datetime, int, int]]
    timeslots: dict[UUID, c.TimeslotAdded]

    @classmethod
    def empty(cls) -> _Tables:
        return cls(0, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})


class MemoryViews(RegistrationViews):
    """Same semantics as the SQL views; a batch is applied to a copy and swapped in (atomic)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._t: _Tables | None = None

    @property
    def t(self) -> _Tables:
        if self._t is None:
            raise RuntimeError("views not created: call create_tables() first")
        return self._t

    def create_tables(self) -> None:
        with self._lock:
            if self._t is None:
                self._t = _Tables.empty()

    def drop_tables(self) -> None:
        with self._lock:
            self._t = None

    def position(self) -> int:
        return self.t.position

    def apply(self, batch: Batch) -> None:
        with self._lock:
            current = self.t
            if batch.position <= current.position or batch.after not in (None, current.position):
                raise PositionAlreadyApplied(batch.position, current.position)
            new = _Tables(current.position, *(dict(getattr(current, f.name)) for f in fields(_Tables)[1:]))
            for position, seq, change in batch.changes:
                _apply(new, position, seq, change)
            new.position = batch.position
            self._t = new

    # -- reads ------------------------------------------------------------------------------

    def _intervals(self) -> list[Interval]:
        return [i for i, _, _ in self.t.intervals.values()]

    @staticmethod
    def _valid(i: Interval, as_of: datetime | None) -> bool:
        if as_of is None:
            return i.valid_to is None
        return i.valid_from <= as_of and (i.valid_to is None or i.valid_to > as_of)

    def current_registrations(
        self,
        program_id: UUID,
        student_id: UUID | None = None,
        section_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
    ) -> list[RegistrationRow]:
        rows = [
            RegistrationRow(i.program_id, i.student_id, i.section_id, i.subject_id, i.verb, i.valid_from, i.cause)
            for i in self._intervals()
            if i.program_id == program_id
            and i.valid_to is None
            and (student_id is None or i.student_id == student_id)
            and (section_id is None or i.section_id == section_id)
            and (verbs is None or i.verb in verbs)
        ]
        return sorted(rows, key=lambda r: (str(r.student_id), str(r.section_id), r.verb))

    def students(
        self, section_id: UUID, verbs: Sequence[str] | None = (ENROLLED,), as_of: datetime | None = None
    ) -> list[UUID]:
        found = {
            i.student_id
            for i in self._intervals()
            if i.section_id == section_id and (verbs is None or i.verb in verbs) and self._valid(i, as_of)
        }
        return sorted(found, key=str)

    def sections(
        self,
        student_id: UUID,
        program_id: UUID | None = None,
        verbs: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> list[ScheduleEntry]:
        sections = self.t.sections
        out = [
            ScheduleEntry(
                i.section_id,
                i.subject_id,
                i.verb,
                i.valid_from,
                sections[i.section_id].timeslot_ids if i.section_id in sections else (),
            )
            for i in self._intervals()
            if i.student_id == student_id
            and (program_id is None or i.program_id == program_id)
            and (verbs is None or i.verb in verbs)
            and self._valid(i, as_of)
        ]
        return sorted(out, key=lambda e: (str(e.section_id), e.verb))

    def history(self, *, student_id: UUID | None = None, section_id: UUID | None = None) -> list[Interval]:
        if (student_id is None) == (section_id is None):
            raise ValueError("history() needs exactly one of student_id or section_id")
        rows = [
            (i.valid_from, key, i)
            for key, (i, _, _) in self.t.intervals.items()
            if (student_id is not None and i.student_id == student_id)
            or (section_id is not None and i.section_id == section_id)
        ]
        return [i for _, _, i in sorted(rows, key=lambda r: (r[0], r[1]))]

    def verb_counts(self, section_id: UUID) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self._intervals():
            if i.section_id == section_id and i.valid_to is None:
                counts[i.verb] = counts.get(i.verb, 0) + 1
        return counts

    def stars_of(self, student_id: UUID) -> list[UUID]:
        return sorted((s for (st, s) in self.t.open_stars if st == student_id), key=str)

    def stargazers(self, subject_id: UUID) -> list[UUID]:
        return sorted((st for (st, s) in self.t.open_stars if s == subject_id), key=str)

    def demand(self, section_id: UUID) -> Demand:
        section = self.t.sections.get(section_id)
        stars = 0 if section is None else len(self.stargazers(section.subject_id))
        levels: dict[int, int] = {}
        for verb, n in self.verb_counts(section_id).items():
            tail = verb[len(PRIORITY_PREFIX) :]
            if verb.startswith(PRIORITY_PREFIX) and tail.isdigit():
                levels[int(tail)] = n
        return Demand(section_id, stars, levels)

    def seat_counts(self, program_id: UUID) -> list[SeatCount]:
        t = self.t
        out = [
            SeatCount(
                s.section_id,
                s.subject_id,
                s.capacity,
                sum(1 for (sec, _) in t.seats if sec == s.section_id),
                sum(1 for (sec, _) in t.waitlist if sec == s.section_id),
                s.is_open,
                s.is_cancelled,
            )
            for s in t.sections.values()
            if s.program_id == program_id
        ]
        return sorted(out, key=lambda s: str(s.section_id))

    def waitlist(self, section_id: UUID) -> list[UUID]:
        queue = [(pos, seq, st) for (sec, st), (_, pos, seq) in self.t.waitlist.items() if sec == section_id]
        return [st for _, _, st in sorted(queue, key=lambda q: (q[0], q[1]))]

    def students_in_program(self, program_id: UUID) -> int:
        ids = {i.student_id for i in self._intervals() if i.program_id == program_id}
        ids |= {s.student_id for s in self.t.stars.values() if s.program_id == program_id}
        return len(ids)

    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        """Rows in the SQL tables' column order, sorted as the SQL dump sorts them."""
        t = self.t
        tables: dict[str, list[tuple[Any, ...]]] = {
            "intervals": [
                (
                    i.position,
                    seq,
                    i.program_id,
                    i.student_id,
                    i.section_id,
                    i.subject_id,
                    i.verb,
                    i.valid_from,
                    i.valid_to,
                    i.cause,
                    i.actor,
                    i.reason,
                    i.command_id,
                    i.end_cause,
                    i.end_actor,
                    i.end_reason,
                    i.end_command_id,
                    end_position,
                    i.lottery_run_id,
                )
                for i, seq, end_position in t.intervals.values()
            ],
            "stars": [tuple(getattr(s, f.name) for f in fields(_Star)) for s in t.stars.values()],
            "students": [(k, *v) for k, v in t.students.items()],
            "subjects": [
                (s.subject_id, s.program_id, s.code, s.title, s.category, s.status) for s in t.subjects.values()
            ],
            "sections": [
                (
                    s.section_id,
                    s.program_id,
                    s.subject_id,
                    s.idx,
                    join_ids(s.timeslot_ids),
                    s.capacity,
                    s.is_open,
                    s.is_cancelled,
                )
                for s in t.sections.values()
            ],
            "seats": [(sec, st, *v) for (sec, st), v in t.seats.items()],
            "waitlist": [(sec, st, *v) for (sec, st), v in t.waitlist.items()],
            "timeslots": [(x.timeslot_id, x.program_id, x.label, x.start, x.end) for x in t.timeslots.values()],
            "tracking": [(TRACKING_NAME, t.position)],
        }
        out: dict[str, list[tuple[object, ...]]] = {}
        for table in TABLES:
            rows = [tuple(canonical(v) for v in row) for row in tables[table.name]]
            out[table.name] = sorted(rows, key=_sort_key(table.name))
        return out


_COLUMN_INDEX = {
    "intervals": (0, 1),
    "stars": (0, 1),
    "students": (0,),
    "subjects": (0,),
    "sections": (0,),
    "seats": (0, 1),
    "waitlist": (0, 3, 4),
    "timeslots": (0,),
    "tracking": (0,),
}
assert set(_COLUMN_INDEX) == {table.name for table in TABLES}


def _sort_key(table: str) -> Any:
    idx = _COLUMN_INDEX[table]
    return lambda row: tuple(row[i] for i in idx)


def _apply(t: _Tables, position: int, seq: int, ch: Any) -> None:
    match ch:
        case c.StudentUpserted():
            t.students[ch.student_id] = (ch.program_id, ch.student_key, ch.at)
        case c.IntervalOpened():
            key = (ch.student_id, ch.section_id, ch.verb)
            if key in t.open_intervals:
                raise ValueError(f"interval already open: {key}")
            program_id = t.students[ch.student_id][0]
            interval = Interval(
                program_id,
                ch.student_id,
                ch.section_id,
                ch.subject_id,
                ch.verb,
                ch.at,
                None,
                ch.cause,
                ch.actor,
                ch.reason,
                ch.command_id,
                None,
                None,
                None,
                None,
                ch.lottery_run_id,
                position,
            )
            t.intervals[(position, seq)] = (interval, seq, None)
            t.open_intervals[key] = (position, seq)
        case c.IntervalClosed():
            ref = t.open_intervals.pop((ch.student_id, ch.section_id, ch.verb), None)
            if ref is not None:
                interval, iseq, _ = t.intervals[ref]
                ended = replace(
                    interval,
                    valid_to=ch.at,
                    end_cause=ch.cause,
                    end_actor=ch.actor,
                    end_reason=ch.reason,
                    end_command_id=ch.command_id,
                )
                t.intervals[ref] = (ended, iseq, position)
        case c.StarOpened():
            if (ch.student_id, ch.subject_id) in t.open_stars:
                raise ValueError("star already open")
            program_id = t.students[ch.student_id][0]
            t.stars[(position, seq)] = _Star(
                position,
                seq,
                program_id,
                ch.student_id,
                ch.subject_id,
                ch.at,
                None,
                ch.actor,
                ch.command_id,
                None,
                None,
            )
            t.open_stars[(ch.student_id, ch.subject_id)] = (position, seq)
        case c.StarClosed():
            sref = t.open_stars.pop((ch.student_id, ch.subject_id), None)
            if sref is not None:
                t.stars[sref] = replace(t.stars[sref], valid_to=ch.at, end_actor=ch.actor, end_command_id=ch.command_id)
        case c.SubjectUpserted():
            t.subjects[ch.subject_id] = ch
        case c.SubjectStatusChanged():
            if ch.subject_id in t.subjects:
                t.subjects[ch.subject_id] = replace(t.subjects[ch.subject_id], status=ch.status)
        case c.SectionUpserted():
            t.sections[ch.section_id] = _Section(
                ch.section_id, ch.program_id, ch.subject_id, ch.index, ch.timeslot_ids, ch.capacity, True, False
            )
        case c.SectionTimeslotsChanged():
            _update_section(t, ch.section_id, timeslot_ids=ch.timeslot_ids)
        case c.SeatsChanged():
            _update_section(t, ch.section_id, capacity=ch.capacity)
        case c.SectionStatusChanged():
            changes = {"is_open": ch.is_open, "is_cancelled": ch.is_cancelled}
            _update_section(t, ch.section_id, **{k: v for k, v in changes.items() if v is not None})
        case c.SeatTaken():
            t.waitlist.pop((ch.section_id, ch.student_id), None)
            if (ch.section_id, ch.student_id) in t.seats:
                raise ValueError("seat already taken")
            t.seats[(ch.section_id, ch.student_id)] = (ch.at, ch.cause)
        case c.SeatReleased():
            t.seats.pop((ch.section_id, ch.student_id), None)
        case c.WaitlistJoined():
            if (ch.section_id, ch.student_id) in t.waitlist:
                raise ValueError("already waitlisted")
            t.waitlist[(ch.section_id, ch.student_id)] = (ch.at, position, seq)
        case c.WaitlistLeft():
            t.waitlist.pop((ch.section_id, ch.student_id), None)
        case c.TimeslotAdded():
            t.timeslots[ch.timeslot_id] = ch


def _update_section(t: _Tables, section_id: UUID, **changes: Any) -> None:
    section = t.sections.get(section_id)
    if section is not None:  # sections are copied on write: batches stay atomic
        t.sections[section_id] = replace(section, **changes)
