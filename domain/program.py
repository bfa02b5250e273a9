"""The Program aggregate: timeslots, settings, windows, schedule constraints, capped admission."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.constraints import ScheduleConstraint, parse_expression
from regledger.domain.errors import InvalidInputError, NotFoundError, WindowClosed
from regledger.domain.ids import ConstraintId, ProgramId, StudentId, TimeslotId, program_id
from regledger.domain.values import (
    APPLIED,
    ENROLLED,
    INTERESTED,
    WAITLISTED,
    Timeslot,
    check_text,
    check_timezone,
    check_verb,
    priority_level_of,
)

WINDOW_KINDS = ("lottery", "classes", "removal", "class_change", "admission")
DEFAULT_FULL_TEXT = "Class temporarily full; please check back later"


@dataclass(frozen=True)
class ProgramSettings:
    """Per-program registration settings (the reference's SCRMI plus program fields)."""

    use_priority: bool = False
    priority_limit: int = 3
    class_cap_multiplier: Decimal = Decimal("1.00")
    class_cap_offset: int = 0
    temporarily_full_text: str = DEFAULT_FULL_TEXT
    require_profile: bool = True
    program_size_max: int | None = None
    waitlist_enabled: bool = False
    min_stars: int = 0
    visible_verbs: tuple[str, ...] = (ENROLLED,)
    # Verbs a student may register with besides Enrolled and Waitlisted; any other verb (and
    # Priority/N, which only the priorities command records) needs an admin's override.
    student_verbs: tuple[str, ...] = (INTERESTED, APPLIED)
    # An IANA zone: where the program happens. Times people type without an offset ("Friday
    # 9:00") are read in it; stored times stay UTC.
    timezone: str = "UTC"
    # The reference's SCRMI option: one extra lottery level after Priority/N, filled from
    # GradeRangeException registrations, where the class's grade range is not checked.
    use_grade_range_exceptions: bool = False
    # Phase Zero (docs/admission.md): only students the admission lottery (or an admin)
    # admitted may register for classes; entrants join tickets of up to this many students.
    phase_zero: bool = False
    admission_group_size: int = 4

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        if not isinstance(self.priority_limit, int) or not 1 <= self.priority_limit <= 20:
            raise InvalidInputError("priority_limit must be between 1 and 20", value=self.priority_limit)
        if self.class_cap_multiplier < 0:
            raise InvalidInputError("class_cap_multiplier must not be negative")
        if self.program_size_max is not None and self.program_size_max < 0:
            raise InvalidInputError("program_size_max must not be negative")
        if self.min_stars < 0:
            raise InvalidInputError("min_stars must not be negative")
        if isinstance(self.admission_group_size, bool) or not isinstance(self.admission_group_size, int):
            raise InvalidInputError("admission_group_size must be an integer", value=self.admission_group_size)
        if not 1 <= self.admission_group_size <= 50:
            raise InvalidInputError("admission_group_size must be between 1 and 50", value=self.admission_group_size)
        check_text(self.temporarily_full_text, "temporarily_full_text", max_length=500)
        for verb in (*self.visible_verbs, *self.student_verbs):
            check_verb(verb)

    def student_may_register(self, verb: str) -> bool:
        return verb in (ENROLLED, WAITLISTED) or (verb in self.student_verbs and priority_level_of(verb) is None)

    @property
    def is_capped(self) -> bool:
        # The reference treats a cap of 0 or None as "no cap".
        return bool(self.program_size_max)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["class_cap_multiplier"] = str(self.class_cap_multiplier)
        out["visible_verbs"] = list(self.visible_verbs)
        out["student_verbs"] = list(self.student_verbs)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgramSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidInputError(f"Unknown program settings: {sorted(unknown)}")
        values = dict(data)
        if "class_cap_multiplier" in values:
            values["class_cap_multiplier"] = Decimal(str(values["class_cap_multiplier"]))
        for verbs in ("visible_verbs", "student_verbs"):
            if verbs in values:
                values[verbs] = tuple(values[verbs])
        return cls(**values)

    def updated(self, changes: dict[str, Any]) -> ProgramSettings:
        return replace(self, **ProgramSettings.from_dict({**self.as_dict(), **changes}).__dict__)


def grade_in(school_year: int, graduation_year: int | None) -> int:
    """The reference's grade: school year + 12 - graduation year; 0 when unknown."""
    return 0 if graduation_year is None else school_year + 12 - graduation_year


@dataclass(frozen=True)
class Window:
    """A registration window; both ends inclusive, an open end is unbounded."""

    opens: datetime | None
    closes: datetime | None

    def contains(self, when: datetime) -> bool:
        return (self.opens is None or self.opens <= when) and (self.closes is None or when <= self.closes)


class Program(AuditedAggregate):
    """One program run (e.g. Splash Fall 2026)."""

    class Created(AuditedAggregate.Created):
        slug: str
        title: str
        grade_min: int
        grade_max: int
        school_year: int
        settings: dict[str, Any]

    class SettingsChanged(AuditedAggregate.Event):
        changes: dict[str, Any]

    class TimeslotAdded(AuditedAggregate.Event):
        timeslot_id: TimeslotId
        label: str
        start: datetime
        end: datetime

    class WindowSet(AuditedAggregate.Event):
        kind: str
        opens: datetime | None
        closes: datetime | None

    class ConstraintAdded(AuditedAggregate.Event):
        constraint_id: ConstraintId
        label: str
        condition: dict[str, Any]
        requirement: dict[str, Any]

    class ConstraintRemoved(AuditedAggregate.Event):
        constraint_id: ConstraintId

    class StudentAdmitted(AuditedAggregate.Event):
        student_id: StudentId

    class LotteryCommitted(AuditedAggregate.Event):
        run_id: UUID

    class StudentsAdmitted(AuditedAggregate.Event):
        """Phase Zero: many admissions at once (an admission run's commit, or an admin's list)."""

        student_ids: tuple[StudentId, ...]
        run_id: UUID | None

    class AdmissionsUndone(AuditedAggregate.Event):
        student_ids: tuple[StudentId, ...]

    class AdmissionsDeclined(AuditedAggregate.Event):
        """Phase Zero: the entrants an admission run's commit did not admit (so they can be told)."""

        student_ids: tuple[StudentId, ...]
        run_id: UUID

    # A class default, so snapshots taken before lottery commits existed still load.
    committed_lottery_run_id: UUID | None = None

    @staticmethod
    def create_id(slug: str) -> UUID:
        return program_id(slug)

    @event(Created)
    def __init__(
        self,
        slug: str,
        title: str,
        grade_min: int,
        grade_max: int,
        school_year: int,
        settings: dict[str, Any],
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.slug = slug
        self.title = title
        self.grade_min = grade_min
        self.grade_max = grade_max
        self.school_year = school_year
        self.settings = ProgramSettings.from_dict(settings)
        self.timeslots: dict[TimeslotId, Timeslot] = {}
        self.windows: dict[str, Window] = {}
        self.constraints: dict[ConstraintId, ScheduleConstraint] = {}
        self.admitted: set[StudentId] = set()

    @property
    def program_id(self) -> ProgramId:
        return ProgramId(self.id)

    # -- commands -------------------------------------------------------------------------

    def change_settings(self, changes: dict[str, Any], audit: dict[str, str]) -> None:
        self.settings.updated(changes)  # validates before anything is recorded
        self._settings_changed(changes=changes, **audit)

    def add_timeslot(
        self, timeslot_id: TimeslotId, label: str, start: datetime, end: datetime, audit: dict[str, str]
    ) -> None:
        check_text(label, "label", max_length=200)
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidInputError("Timeslot times must be timezone-aware", label=label)
        if end <= start:
            raise InvalidInputError("A timeslot must end after it starts", label=label)
        if timeslot_id in self.timeslots:
            raise InvalidInputError("A timeslot with this label exists already", label=label)
        self._timeslot_added(timeslot_id=timeslot_id, label=label, start=start, end=end, **audit)

    def set_window(self, kind: str, opens: datetime | None, closes: datetime | None, audit: dict[str, str]) -> None:
        if kind not in WINDOW_KINDS:
            raise InvalidInputError(f"Window kind must be one of {WINDOW_KINDS}", kind=kind)
        if opens and closes and closes < opens:
            raise InvalidInputError("A window cannot close before it opens", kind=kind)
        self._window_set(kind=kind, opens=opens, closes=closes, **audit)

    def add_constraint(self, constraint: ScheduleConstraint, audit: dict[str, str]) -> None:
        if constraint.id in self.constraints:
            raise InvalidInputError("A constraint with this label exists already", label=constraint.label)
        self._constraint_added(
            constraint_id=ConstraintId(constraint.id),
            label=constraint.label,
            condition=constraint.condition.to_json(),
            requirement=constraint.requirement.to_json(),
            **audit,
        )

    def remove_constraint(self, constraint_id: ConstraintId, audit: dict[str, str]) -> None:
        if constraint_id not in self.constraints:
            raise NotFoundError("No such schedule constraint", constraint_id=str(constraint_id))
        self._constraint_removed(constraint_id=constraint_id, **audit)

    def admit(self, student_id: StudentId, audit: dict[str, str]) -> None:
        """Record a capped program's admission; the caller checked the cap or an override."""
        if student_id not in self.admitted:
            self._student_admitted(student_id=student_id, **audit)

    def admit_all(self, student_ids: list[StudentId], run_id: UUID | None, audit: dict[str, str]) -> list[StudentId]:
        """Record the admission of each student not admitted yet (Phase Zero); returns them."""
        new = sorted({s for s in student_ids if s not in self.admitted}, key=lambda s: s.int)
        if new:
            self._students_admitted(student_ids=tuple(new), run_id=run_id, **audit)
        return new

    def undo_admissions(self, student_ids: list[StudentId], audit: dict[str, str]) -> list[StudentId]:
        """Record that admissions no longer hold (never a deletion); returns those undone."""
        undone = sorted({s for s in student_ids if s in self.admitted}, key=lambda s: s.int)
        if undone:
            self._admissions_undone(student_ids=tuple(undone), **audit)
        return undone

    def decline_all(self, student_ids: list[StudentId], run_id: UUID, audit: dict[str, str]) -> None:
        """Record the entrants a committed admission run left out (no state changes)."""
        if student_ids:
            self._admissions_declined(
                student_ids=tuple(sorted(student_ids, key=lambda s: s.int)), run_id=run_id, **audit
            )

    def record_lottery_commit(self, run_id: UUID, audit: dict[str, str]) -> None:
        """Record the run whose enrolments now hold the seats; the caller checked `replace`."""
        self._lottery_committed(run_id=run_id, **audit)

    # -- queries --------------------------------------------------------------------------

    def timeslot(self, timeslot_id: TimeslotId) -> Timeslot:
        try:
            return self.timeslots[timeslot_id]
        except KeyError:
            raise NotFoundError("No such timeslot in this program", timeslot_id=str(timeslot_id)) from None

    def has_room_for(self, student_id: StudentId) -> bool:
        cap = self.settings.program_size_max
        return not cap or student_id in self.admitted or len(self.admitted) < cap

    def check_window(self, kind: str, when: datetime) -> None:
        window = self.windows.get(kind)
        if window is not None and not window.contains(when):
            raise WindowClosed(
                f"The {kind} registration window is not open now.",
                kind=kind,
                opens=window.opens.isoformat() if window.opens else None,
                closes=window.closes.isoformat() if window.closes else None,
            )

    def grade_of(self, graduation_year: int | None) -> int:
        """Grade as in the reference: school year + 12 - graduation year; 0 when unknown."""
        return grade_in(self.school_year, graduation_year)

    # -- recorders (replayed: state changes only) -----------------------------------------

    @event(SettingsChanged)
    def _settings_changed(self, changes: dict[str, Any], actor: str, command_id: str, reason: str) -> None:
        self.settings = self.settings.updated(changes)

    @event(TimeslotAdded)
    def _timeslot_added(
        self,
        timeslot_id: TimeslotId,
        label: str,
        start: datetime,
        end: datetime,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.timeslots[timeslot_id] = Timeslot(timeslot_id, label, start, end)

    @event(WindowSet)
    def _window_set(
        self,
        kind: str,
        opens: datetime | None,
        closes: datetime | None,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.windows[kind] = Window(opens, closes)

    @event(ConstraintAdded)
    def _constraint_added(
        self,
        constraint_id: ConstraintId,
        label: str,
        condition: dict[str, Any],
        requirement: dict[str, Any],
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.constraints[constraint_id] = ScheduleConstraint(
            constraint_id, label, parse_expression(condition), parse_expression(requirement)
        )

    @event(ConstraintRemoved)
    def _constraint_removed(self, constraint_id: ConstraintId, actor: str, command_id: str, reason: str) -> None:
        del self.constraints[constraint_id]

    @event(StudentAdmitted)
    def _student_admitted(self, student_id: StudentId, actor: str, command_id: str, reason: str) -> None:
        self.admitted.add(student_id)

    @event(LotteryCommitted)
    def _lottery_committed(self, run_id: UUID, actor: str, command_id: str, reason: str) -> None:
        self.committed_lottery_run_id = run_id

    @event(StudentsAdmitted)
    def _students_admitted(
        self,
        student_ids: tuple[StudentId, ...],
        run_id: UUID | None,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.admitted = self.admitted | {StudentId(s) for s in student_ids}

    @event(AdmissionsUndone)
    def _admissions_undone(self, student_ids: tuple[StudentId, ...], actor: str, command_id: str, reason: str) -> None:
        self.admitted = self.admitted - {StudentId(s) for s in student_ids}

    @event(AdmissionsDeclined)
    def _admissions_declined(
        self,
        student_ids: tuple[StudentId, ...],
        run_id: UUID,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        pass
