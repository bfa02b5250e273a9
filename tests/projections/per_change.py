"""The view tables built change by change in dicts: the oracle of the set-based writers.

Each change is applied on its own, in order, to rows held as dicts of column values, with the
meaning `projections.changes` gives it. `dump` returns them as `RegistrationViews.dump` does
(columns in table order, rows in dump order, canonical values), so any store's tables can be
compared with it. Independent of netting and of SQL: it shares only the tables' declarations.
Loaded by path (tests have no packages): see `load_sibling` in conftest.py.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from regledger.adapters.views.schema import SCHEMA_VERSION, TABLES, canonical, join_ids
from regledger.adapters.views.writes import SCHEMA_ROW, TRACKING_NAME
from regledger.projections import changes as c
from regledger.projections.audit import BLOCK
from regledger.projections.changes import Batch

Row = dict[str, Any]


class PerChangeViews:
    def __init__(self) -> None:
        self.position = 0
        self.rows: dict[str, dict[tuple[Any, ...], Row]] = {table.name: {} for table in TABLES}

    def apply(self, batch: Batch) -> None:
        for position, seq, change in batch.changes:
            self.change(position, seq, change)
        self.position = batch.position

    def change(self, position: int, seq: int, ch: Any) -> None:
        match ch:
            case c.StudentUpserted():
                self.insert(
                    "students",
                    student_id=ch.student_id,
                    program_id=ch.program_id,
                    student_key=ch.student_key,
                    registered_at=ch.at,
                )
            case c.StudentProfiled():
                self.update(
                    "students", (ch.student_id,), name=ch.name, graduation_year=ch.graduation_year, email=ch.email
                )
            case c.StudentCheckedIn():
                self.update("students", (ch.student_id,), checked_in_at=ch.checked_in_at)
            case c.ProgramCreated():
                self.insert("programs", **_values(ch))
            case c.ProgramSettingSet():
                self.rows["program_settings"][(ch.program_id, ch.name)] = _values(ch)
            case c.WindowSet():
                self.rows["windows"][(ch.program_id, ch.kind)] = _values(ch)
            case c.RunStarted():
                self.insert("lottery_runs", **_values(ch))
            case c.RunPatch():
                values = {k: v for k, v in _values(ch).items() if v is not None and k != "run_id"}
                self.update("lottery_runs", (ch.run_id,), **values)
            case c.SubjectDetailsChanged():
                self.update("subjects", (ch.subject_id,), **_values(ch))
            case c.IntervalOpened():
                self.insert(
                    "intervals",
                    position=position,
                    seq=seq,
                    program_id=self.program_of(ch.student_id),
                    student_id=ch.student_id,
                    section_id=ch.section_id,
                    subject_id=ch.subject_id,
                    verb=ch.verb,
                    valid_from=ch.at,
                    cause=ch.cause,
                    actor=ch.actor,
                    reason=ch.reason,
                    command_id=ch.command_id,
                    lottery_run_id=ch.lottery_run_id,
                )
            case c.IntervalClosed():
                self.close(
                    "intervals",
                    {"student_id": ch.student_id, "section_id": ch.section_id, "verb": ch.verb},
                    valid_to=ch.at,
                    end_cause=ch.cause,
                    end_actor=ch.actor,
                    end_reason=ch.reason,
                    end_command_id=ch.command_id,
                    end_position=position,
                )
            case c.StarOpened():
                self.insert(
                    "stars",
                    position=position,
                    seq=seq,
                    program_id=self.program_of(ch.student_id),
                    student_id=ch.student_id,
                    subject_id=ch.subject_id,
                    valid_from=ch.at,
                    actor=ch.actor,
                    command_id=ch.command_id,
                )
            case c.StarClosed():
                where = {"student_id": ch.student_id, "subject_id": ch.subject_id}
                self.close("stars", where, valid_to=ch.at, end_actor=ch.actor, end_command_id=ch.command_id)
            case c.SubjectUpserted():
                self.insert(
                    "subjects",
                    subject_id=ch.subject_id,
                    program_id=ch.program_id,
                    code=ch.code,
                    title=ch.title,
                    category=ch.category,
                    status=ch.status,
                    grade_min=ch.grade_min,
                    grade_max=ch.grade_max,
                    class_size_max=ch.class_size_max,
                    class_size_optimal=ch.class_size_optimal,
                    is_lunch=ch.is_lunch,
                )
            case c.SubjectStatusChanged():
                self.update("subjects", (ch.subject_id,), status=ch.status)
            case c.SectionUpserted():
                self.insert(
                    "sections",
                    section_id=ch.section_id,
                    program_id=ch.program_id,
                    subject_id=ch.subject_id,
                    idx=ch.index,
                    timeslot_ids=join_ids(ch.timeslot_ids),
                    capacity=ch.capacity,
                    is_open=True,
                    is_cancelled=False,
                    room_capacity=ch.room_capacity,
                    max_class_capacity=ch.max_class_capacity,
                )
            case c.SectionTimeslotsChanged():
                self.update("sections", (ch.section_id,), timeslot_ids=join_ids(ch.timeslot_ids))
            case c.SeatsChanged():
                self.update("sections", (ch.section_id,), **_values(ch))
            case c.SectionStatusChanged():
                status = {"is_open": ch.is_open, "is_cancelled": ch.is_cancelled}
                self.update("sections", (ch.section_id,), **{k: v for k, v in status.items() if v is not None})
            case c.SeatTaken():
                self.rows["waitlist"].pop((ch.section_id, ch.student_id), None)
                self.insert("seats", section_id=ch.section_id, student_id=ch.student_id, since=ch.at, cause=ch.cause)
            case c.SeatReleased():
                self.rows["seats"].pop((ch.section_id, ch.student_id), None)
            case c.WaitlistJoined():
                self.insert(
                    "waitlist",
                    section_id=ch.section_id,
                    student_id=ch.student_id,
                    since=ch.at,
                    position=position,
                    seq=seq,
                )
            case c.WaitlistLeft():
                self.rows["waitlist"].pop((ch.section_id, ch.student_id), None)
            case c.PassedOver():
                self.rows["passed_over"][(ch.section_id, ch.student_id)] = _values(ch)
            case c.TimeslotAdded():
                self.insert(
                    "timeslots",
                    timeslot_id=ch.timeslot_id,
                    program_id=ch.program_id,
                    label=ch.label,
                    starts=ch.start,
                    ends=ch.end,
                )
            case c.AggregateOwned():
                self.insert("audit_owners", **_values(ch))
            case c.AuditRecorded():
                block = self.rows["audit_blocks"].setdefault(
                    (position // BLOCK,),
                    {"block": position // BLOCK, "first_recorded": ch.recorded_at, "last_recorded": ch.recorded_at},
                )
                block["first_recorded"] = min(block["first_recorded"], ch.recorded_at)
                block["last_recorded"] = max(block["last_recorded"], ch.recorded_at)
                owner = self.rows["audit_owners"].get((ch.aggregate_id,))
                if owner is not None:  # an aggregate of no program: no row
                    self.insert("audit_events", position=position, program_id=owner["program_id"], **_values(ch))

    def insert(self, table: str, **row: Any) -> None:
        key = tuple(row[name] for name in _TABLES[table].key)
        if key in self.rows[table]:
            raise ValueError(f"{table}: {key} already present")
        self.rows[table][key] = row

    def update(self, table: str, key: tuple[Any, ...], **values: Any) -> None:
        if key in self.rows[table]:
            self.rows[table][key].update(values)

    def close(self, table: str, where: Row, **values: Any) -> None:
        """End the current row `where` names, if there is one."""
        for row in self.rows[table].values():
            if row.get("valid_to") is None and all(row[k] == v for k, v in where.items()):
                row.update(values)
                return

    def program_of(self, student_id: Any) -> Any:
        return self.rows["students"][(student_id,)]["program_id"]

    def dump(self) -> dict[str, list[tuple[object, ...]]]:
        self.rows["tracking"] = {
            (TRACKING_NAME,): {"name": TRACKING_NAME, "position": self.position},
            (SCHEMA_ROW,): {"name": SCHEMA_ROW, "position": SCHEMA_VERSION},
        }
        out: dict[str, list[tuple[object, ...]]] = {}
        for table in TABLES:
            names = [column.name for column in table.columns]
            order = [names.index(name) for name in table.order or table.key]
            rows = [tuple(canonical(row.get(name)) for name in names) for row in self.rows[table.name].values()]
            out[table.name] = sorted(rows, key=lambda r, order=order: [r[i] for i in order])
        return out


_TABLES = {table.name: table for table in TABLES}


def _values(change: Any) -> Row:
    """A change's fields as column values (its fields are named after the columns it sets)."""
    return {f.name: getattr(change, f.name) for f in fields(change)}
