"""The catalogue's part of the views' fold: programs, settings, windows, timeslots, classes,
sections (not their seats), lottery runs, and students' names and check-ins.

Registered on `changes.fold` when `changes` is imported (it imports this module last), so
every reader of the fold has these handlers."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from regledger.domain.lottery_run import COMMITTED, COMPUTED, DISCARDED, STARTED, LotteryRun
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.projections.catalogue_changes import (
    ProgramCreated,
    ProgramSettingSet,
    RunPatch,
    RunStarted,
    SeatsChanged,
    SectionStatusChanged,
    SectionTimeslotsChanged,
    SectionUpserted,
    StudentCheckedIn,
    StudentProfiled,
    StudentUpserted,
    SubjectDetailsChanged,
    SubjectStatusChanged,
    SubjectUpserted,
    TimeslotAdded,
    WindowSet,
)
from regledger.projections.changes import ViewChange, fold, ids_of


@fold.register
def _(e: Student.Registered) -> list[ViewChange]:
    return [StudentUpserted(e.originator_id, e.program_id, e.student_key, e.timestamp)]


@fold.register
def _(e: Student.ProfileSubmitted) -> list[ViewChange]:
    email = e.contacts.get("email") if isinstance(e.contacts, dict) else None
    return [StudentProfiled(e.originator_id, e.name, e.graduation_year, email if isinstance(email, str) else None)]


@fold.register
def _(e: Program.Created) -> list[ViewChange]:
    created = ProgramCreated(e.originator_id, e.slug, e.title, e.grade_min, e.grade_max, e.school_year, e.timestamp)
    return [created, *_settings(e.originator_id, e.settings)]


@fold.register
def _(e: Program.SettingsChanged) -> list[ViewChange]:
    return _settings(e.originator_id, e.changes)


def _settings(program_id: UUID, values: dict[str, Any]) -> list[ViewChange]:
    return [
        ProgramSettingSet(program_id, name, json.dumps(value, default=str, sort_keys=True))
        for name, value in sorted(values.items())
    ]


@fold.register
def _(e: Program.WindowSet) -> list[ViewChange]:
    return [WindowSet(e.originator_id, e.kind, e.opens, e.closes)]


@fold.register
def _(e: LotteryRun.Started) -> list[ViewChange]:
    return [RunStarted(e.originator_id, e.program_id, e.seed, e.input_position, STARTED, e.timestamp, e.actor)]


@fold.register
def _(e: LotteryRun.Computed) -> list[ViewChange]:
    return [RunPatch(e.originator_id, COMPUTED, assignment_digest=e.assignment_digest, assignments=e.assignments)]


@fold.register
def _(e: LotteryRun.Committed) -> list[ViewChange]:
    return [RunPatch(e.originator_id, COMMITTED, enrolments=e.enrolments, ended_at=e.timestamp)]


@fold.register
def _(e: LotteryRun.Discarded) -> list[ViewChange]:
    return [RunPatch(e.originator_id, DISCARDED, ended_at=e.timestamp)]


@fold.register
def _(e: Subject.Created) -> list[ViewChange]:
    return [
        SubjectUpserted(
            e.originator_id,
            e.program_id,
            e.code,
            e.title,
            e.category,
            e.status,
            e.grade_min,
            e.grade_max,
            e.class_size_max,
            e.class_size_optimal,
            e.is_lunch,
        )
    ]


@fold.register
def _(e: Subject.DetailsChanged) -> list[ViewChange]:
    d = e.details
    return [
        SubjectDetailsChanged(
            e.originator_id,
            d["title"],
            d["category"],
            d["grade_min"],
            d["grade_max"],
            d["class_size_max"],
            d["class_size_optimal"],
            d["is_lunch"],
        )
    ]


@fold.register
def _(e: Subject.StatusChanged) -> list[ViewChange]:
    return [SubjectStatusChanged(e.originator_id, e.status)]


@fold.register
def _(e: Section.Scheduled) -> list[ViewChange]:
    return [
        SectionUpserted(
            e.originator_id,
            e.program_id,
            e.subject_id,
            e.index,
            ids_of(e.timeslot_ids),
            e.capacity,
            e.room_capacity,
            e.max_class_capacity,
        )
    ]


@fold.register
def _(e: Section.TimeslotsAssigned) -> list[ViewChange]:
    return [SectionTimeslotsChanged(e.originator_id, ids_of(e.timeslot_ids))]


@fold.register
def _(e: Section.CapacityChanged) -> list[ViewChange]:
    return [SeatsChanged(e.originator_id, e.capacity, e.room_capacity, e.max_class_capacity)]


@fold.register
def _(e: Section.RegistrationOpened) -> list[ViewChange]:
    return [SectionStatusChanged(e.originator_id, is_open=True)]


@fold.register
def _(e: Section.RegistrationClosed) -> list[ViewChange]:
    return [SectionStatusChanged(e.originator_id, is_open=False)]


@fold.register
def _(e: Section.Cancelled) -> list[ViewChange]:
    return [SectionStatusChanged(e.originator_id, is_cancelled=True)]


@fold.register
def _(e: Program.TimeslotAdded) -> list[ViewChange]:
    return [TimeslotAdded(e.originator_id, e.timeslot_id, e.label, e.start, e.end)]


@fold.register
def _(e: Student.CheckedIn) -> list[ViewChange]:
    return [StudentCheckedIn(e.originator_id, e.timestamp)]


@fold.register
def _(e: Student.CheckInUndone) -> list[ViewChange]:
    return [StudentCheckedIn(e.originator_id, None)]
