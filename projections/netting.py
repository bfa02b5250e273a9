"""A batch's view changes netted per table and key: what set-based writers apply.

Within a batch, changes to one key happen in order (an interval opened and closed by the same
batch, a seat released and taken again, a section scheduled then re-timed). `net` resolves each
key's sequence in memory, so the writer only sees, per table, final rows to insert, final
updates of rows that existed before the batch, and keys to delete -- each one set, no order
inside it. Rows are objects whose attributes are named after the table's columns, or, for the
busiest inserts, tuples of the columns in the table's order (deletes: key tuples). Applying
the sets in the order of `NetBatch`'s fields (deletes and closes of earlier rows before
inserts) gives the same tables as applying the changes one by one:

- An interval (or star) opened in the batch is inserted once, already closed if the batch
  closed it. A close of a key not opened in the batch targets the row open before the batch,
  once: after it (or after an open in the batch) the key has no earlier open row any more.
- Seats and the waitlist: the keys whose first change in the batch removes them are deleted
  first; the keys present at the end of the batch are inserted with their last values.
- Programs, students, subjects, sections and timeslots are created once; later changes to a
  row created in the batch are folded into it, changes to an earlier row become one update per
  key (merged where a change sets some columns only).
- A program's settings and windows are rows set whole: the earlier row of a key is deleted,
  the batch's last value inserted.

Everything else about a change's meaning (a close of a key that is not open is a no-op; an
open of a key already open is an error) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from regledger.projections import changes as c
from regledger.projections.audit import widen_block
from regledger.projections.changes import Batch

IntervalKey = tuple[UUID, UUID, str]  # student, section, verb
StarKey = tuple[UUID, UUID]  # student, subject
PairKey = tuple[UUID, UUID]  # section, student


@dataclass(slots=True)
class StudentRow:
    student_id: UUID
    program_id: UUID
    student_key: str
    registered_at: datetime
    name: str | None = None
    graduation_year: int | None = None
    email: str | None = None
    checked_in_at: datetime | None = None


@dataclass(slots=True)
class TimeslotRow:
    timeslot_id: UUID
    program_id: UUID
    label: str
    starts: datetime
    ends: datetime


# Tuples, not objects: a fifth of the cost to build, and there is one per seat or place.
SeatRow = tuple[UUID, UUID, datetime, str]  # section_id, student_id, since, cause
WaitlistRow = tuple[UUID, UUID, datetime, int, int]  # section_id, student_id, since, position, seq


@dataclass(slots=True)
class IntervalRow:
    position: int
    seq: int
    student_id: UUID
    section_id: UUID
    subject_id: UUID
    verb: str
    valid_from: datetime
    cause: str
    actor: str
    reason: str
    command_id: str
    lottery_run_id: UUID | None
    valid_to: datetime | None = None
    end_cause: str | None = None
    end_actor: str | None = None
    end_reason: str | None = None
    end_command_id: str | None = None
    end_position: int | None = None


@dataclass(frozen=True, slots=True)
class IntervalClose:
    """Close the interval of `key` that was open before the batch (if any)."""

    student_id: UUID
    section_id: UUID
    verb: str
    valid_to: datetime
    end_cause: str
    end_actor: str
    end_reason: str
    end_command_id: str
    end_position: int


@dataclass(slots=True)
class StarRow:
    position: int
    seq: int
    student_id: UUID
    subject_id: UUID
    valid_from: datetime
    actor: str
    command_id: str
    valid_to: datetime | None = None
    end_actor: str | None = None
    end_command_id: str | None = None


@dataclass(frozen=True, slots=True)
class StarClose:
    student_id: UUID
    subject_id: UUID
    valid_to: datetime
    end_actor: str
    end_command_id: str


@dataclass(slots=True)
class SectionRow:
    section_id: UUID
    program_id: UUID
    subject_id: UUID
    idx: int
    timeslot_ids: tuple[UUID, ...]
    capacity: int
    is_open: bool = True
    is_cancelled: bool = False
    room_capacity: int | None = None
    max_class_capacity: int | None = None


@dataclass(slots=True)
class SectionPatch:
    """New values for a section created before the batch (None: unchanged). Its capacity
    columns change together, NULLs included (`NetBatch.section_capacity`)."""

    section_id: UUID
    timeslot_ids: tuple[UUID, ...] | None = None
    is_open: bool | None = None
    is_cancelled: bool | None = None


@dataclass(slots=True)
class NetBatch:
    """The final writes of a batch, in the order they must be applied (one set per field)."""

    position: int
    students: dict[UUID, StudentRow] = field(default_factory=dict)
    student_profiles: dict[UUID, c.StudentProfiled] = field(default_factory=dict)
    student_check_ins: dict[UUID, c.StudentCheckedIn] = field(default_factory=dict)
    programs: dict[UUID, c.ProgramCreated] = field(default_factory=dict)
    setting_deletes: set[PairKey] = field(default_factory=set)
    settings: dict[tuple[UUID, str], c.ProgramSettingSet] = field(default_factory=dict)
    window_deletes: set[PairKey] = field(default_factory=set)
    windows: dict[tuple[UUID, str], c.WindowSet] = field(default_factory=dict)
    subjects: dict[UUID, c.SubjectUpserted] = field(default_factory=dict)
    subject_status: dict[UUID, c.SubjectStatusChanged] = field(default_factory=dict)
    subject_details: dict[UUID, c.SubjectDetailsChanged] = field(default_factory=dict)
    sections: dict[UUID, SectionRow] = field(default_factory=dict)
    section_patches: dict[UUID, SectionPatch] = field(default_factory=dict)
    section_capacity: dict[UUID, c.SeatsChanged] = field(default_factory=dict)
    runs: dict[UUID, c.RunStarted] = field(default_factory=dict)
    run_patches: dict[UUID, c.RunPatch] = field(default_factory=dict)
    timeslots: dict[UUID, TimeslotRow] = field(default_factory=dict)
    seat_deletes: set[PairKey] = field(default_factory=set)
    seats: dict[PairKey, SeatRow] = field(default_factory=dict)
    waitlist_deletes: set[PairKey] = field(default_factory=set)
    waitlist: dict[PairKey, WaitlistRow] = field(default_factory=dict)
    passed_over_deletes: set[PairKey] = field(default_factory=set)
    passed_over: dict[PairKey, c.PassedOver] = field(default_factory=dict)
    star_closes: dict[StarKey, StarClose] = field(default_factory=dict)
    stars: list[StarRow] = field(default_factory=list)
    interval_closes: dict[IntervalKey, IntervalClose] = field(default_factory=dict)
    intervals: list[IntervalRow] = field(default_factory=list)
    owners: dict[UUID, c.AggregateOwned] = field(default_factory=dict)
    audit: list[tuple[Any, ...]] = field(default_factory=list)  # `audit_schema.AUDIT_ROW` order
    audit_blocks: dict[int, list[Any]] = field(default_factory=dict)  # block: [block, first, last]


class _Pairs:
    """Seats or the waitlist: keys removed before the batch's first insert, final rows."""

    def __init__(self, deletes: set[PairKey], rows: dict[PairKey, Any]) -> None:
        self.deletes = deletes
        self.rows = rows
        self.seen: set[PairKey] = set()

    def insert(self, key: PairKey, value: Any, what: str) -> None:
        if key in self.rows:
            raise ValueError(f"{what} already present: {key}")
        self.seen.add(key)
        self.rows[key] = value

    def delete(self, key: PairKey) -> None:
        if key not in self.seen:
            self.seen.add(key)
            self.deletes.add(key)
        self.rows.pop(key, None)


def net(batch: Batch) -> NetBatch:
    out = NetBatch(batch.position)
    open_intervals: dict[IntervalKey, IntervalRow] = {}
    closed_before: set[IntervalKey] = set()  # keys whose pre-batch open row is closed (or absent)
    open_stars: dict[StarKey, StarRow] = {}
    stars_closed_before: set[StarKey] = set()
    seats = _Pairs(out.seat_deletes, out.seats)
    waitlist = _Pairs(out.waitlist_deletes, out.waitlist)
    for position, seq, ch in batch.changes:
        match ch:
            case c.AuditRecorded():  # one per event: first
                out.audit.append(ch.row(position))
                widen_block(out.audit_blocks, position, ch.recorded_at)
            case c.AggregateOwned():
                _create(out.owners, ch.aggregate_id, ch)
            case c.IntervalOpened():
                key = (ch.student_id, ch.section_id, ch.verb)
                if key in open_intervals:
                    raise ValueError(f"interval already open: {key}")
                row = IntervalRow(
                    position,
                    seq,
                    ch.student_id,
                    ch.section_id,
                    ch.subject_id,
                    ch.verb,
                    ch.at,
                    ch.cause,
                    ch.actor,
                    ch.reason,
                    ch.command_id,
                    ch.lottery_run_id,
                )
                out.intervals.append(row)
                open_intervals[key] = row
                closed_before.add(key)
            case c.IntervalClosed():
                key = (ch.student_id, ch.section_id, ch.verb)
                opened = open_intervals.pop(key, None)
                if opened is not None:
                    opened.valid_to = ch.at
                    opened.end_cause, opened.end_actor, opened.end_reason = ch.cause, ch.actor, ch.reason
                    opened.end_command_id, opened.end_position = ch.command_id, position
                elif key not in closed_before:
                    closed_before.add(key)
                    out.interval_closes[key] = IntervalClose(
                        *key, ch.at, ch.cause, ch.actor, ch.reason, ch.command_id, position
                    )
            case c.StarOpened():
                skey = (ch.student_id, ch.subject_id)
                if skey in open_stars:
                    raise ValueError("star already open")
                star = StarRow(position, seq, ch.student_id, ch.subject_id, ch.at, ch.actor, ch.command_id)
                out.stars.append(star)
                open_stars[skey] = star
                stars_closed_before.add(skey)
            case c.StarClosed():
                skey = (ch.student_id, ch.subject_id)
                started = open_stars.pop(skey, None)
                if started is not None:
                    started.valid_to, started.end_actor, started.end_command_id = ch.at, ch.actor, ch.command_id
                elif skey not in stars_closed_before:
                    stars_closed_before.add(skey)
                    out.star_closes[skey] = StarClose(*skey, ch.at, ch.actor, ch.command_id)
            case c.SeatTaken():
                waitlist.delete((ch.section_id, ch.student_id))
                seats.insert((ch.section_id, ch.student_id), (ch.section_id, ch.student_id, ch.at, ch.cause), "seat")
            case c.SeatReleased():
                seats.delete((ch.section_id, ch.student_id))
            case c.WaitlistJoined():
                place = (ch.section_id, ch.student_id, ch.at, position, seq)
                waitlist.insert((ch.section_id, ch.student_id), place, "waitlist place")
            case c.WaitlistLeft():
                waitlist.delete((ch.section_id, ch.student_id))
            case c.PassedOver():
                _upsert(out.passed_over_deletes, out.passed_over, (ch.section_id, ch.student_id), ch)
            case c.StudentUpserted():
                _create(out.students, ch.student_id, StudentRow(ch.student_id, ch.program_id, ch.student_key, ch.at))
            case c.StudentProfiled():
                student = out.students.get(ch.student_id)
                if student is None:
                    out.student_profiles[ch.student_id] = ch
                else:
                    student.name, student.graduation_year, student.email = ch.name, ch.graduation_year, ch.email
            case c.StudentCheckedIn():
                student = out.students.get(ch.student_id)
                if student is None:
                    out.student_check_ins[ch.student_id] = ch
                else:
                    student.checked_in_at = ch.checked_in_at
            case c.ProgramCreated():
                _create(out.programs, ch.program_id, ch)
            case c.ProgramSettingSet():
                _upsert(out.setting_deletes, out.settings, (ch.program_id, ch.name), ch)
            case c.WindowSet():
                _upsert(out.window_deletes, out.windows, (ch.program_id, ch.kind), ch)
            case c.RunStarted():
                _create(out.runs, ch.run_id, ch)
            case c.RunPatch():
                _patch_run(out, ch)
            case c.SubjectDetailsChanged():
                if ch.subject_id in out.subjects:
                    details = {f.name: getattr(ch, f.name) for f in fields(ch) if f.name != "subject_id"}
                    out.subjects[ch.subject_id] = replace(out.subjects[ch.subject_id], **details)
                else:
                    out.subject_details[ch.subject_id] = ch
            case c.SubjectUpserted():
                _create(out.subjects, ch.subject_id, ch)
            case c.SubjectStatusChanged():
                if ch.subject_id in out.subjects:
                    out.subjects[ch.subject_id] = replace(out.subjects[ch.subject_id], status=ch.status)
                else:
                    out.subject_status[ch.subject_id] = ch
            case c.SectionUpserted():
                section = SectionRow(
                    ch.section_id,
                    ch.program_id,
                    ch.subject_id,
                    ch.index,
                    ch.timeslot_ids,
                    ch.capacity,
                    room_capacity=ch.room_capacity,
                    max_class_capacity=ch.max_class_capacity,
                )
                _create(out.sections, ch.section_id, section)
            case c.SectionTimeslotsChanged():
                _section(out, ch.section_id).timeslot_ids = ch.timeslot_ids
            case c.SeatsChanged():
                created = out.sections.get(ch.section_id)
                if created is None:
                    out.section_capacity[ch.section_id] = ch
                else:
                    created.capacity = ch.capacity
                    created.room_capacity, created.max_class_capacity = ch.room_capacity, ch.max_class_capacity
            case c.SectionStatusChanged():
                target = _section(out, ch.section_id)
                if ch.is_open is not None:
                    target.is_open = ch.is_open
                if ch.is_cancelled is not None:
                    target.is_cancelled = ch.is_cancelled
            case c.TimeslotAdded():
                timeslot = TimeslotRow(ch.timeslot_id, ch.program_id, ch.label, ch.start, ch.end)
                _create(out.timeslots, ch.timeslot_id, timeslot)
    return out


def _create(rows: dict[UUID, Any], key: UUID, row: Any) -> None:
    if key in rows:
        raise ValueError(f"row already created: {key}")
    rows[key] = row


def _patch_run(out: NetBatch, patch: c.RunPatch) -> None:
    """A run created in the batch takes the patch's values; an earlier one gets them merged
    into one update."""
    changed = {f.name: getattr(patch, f.name) for f in fields(patch) if f.name != "run_id"}
    changed = {name: value for name, value in changed.items() if value is not None}
    if patch.run_id in out.runs:
        out.runs[patch.run_id] = replace(out.runs[patch.run_id], **changed)
    else:
        earlier = out.run_patches.get(patch.run_id, c.RunPatch(patch.run_id))
        out.run_patches[patch.run_id] = replace(earlier, **changed)


def _upsert(deletes: set[Any], rows: dict[Any, Any], key: Any, row: Any) -> None:
    """A row set whole, created or replaced: the row held before the batch (if any) is deleted
    once, the last value inserted."""
    if key not in rows:
        deletes.add(key)
    rows[key] = row


def _section(out: NetBatch, section_id: UUID) -> SectionRow | SectionPatch:
    created = out.sections.get(section_id)
    if created is not None:
        return created
    patch = out.section_patches.get(section_id)
    if patch is None:
        patch = out.section_patches[section_id] = SectionPatch(section_id)
    return patch
