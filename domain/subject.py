"""The Subject aggregate: a class, with its review status, grade range and sizes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, section_id, subject_id
from regledger.domain.values import check_text

# The reference's numeric statuses, kept as names; "accepted" means accepted or hidden.
STATUSES = ("cancelled", "rejected", "unreviewed", "hidden", "accepted")
ACCEPTED_STATUSES = frozenset({"accepted", "hidden"})
STARRABLE_STATUSES = frozenset({"unreviewed", "hidden", "accepted"})
# What `change_details` may change (the code is the class's identity; status has its command).
DETAIL_FIELDS = ("title", "category", "grade_min", "grade_max", "class_size_max", "class_size_optimal", "is_lunch")


class Subject(AuditedAggregate):
    """A class offered by a program; its sections are separate aggregates."""

    class Created(AuditedAggregate.Created):
        program_id: ProgramId
        code: str
        title: str
        category: str
        grade_min: int
        grade_max: int
        status: str
        class_size_max: int | None
        class_size_optimal: int | None
        is_lunch: bool

    class StatusChanged(AuditedAggregate.Event):
        status: str

    class SectionAdded(AuditedAggregate.Event):
        section_id: SectionId

    class DetailsChanged(AuditedAggregate.Event):
        """The class's description changed (an import of a changed row, or an admin's edit):
        every DETAIL_FIELDS value after the change, and the names of those that changed."""

        details: dict[str, Any]
        changed: list[str]

    @staticmethod
    def create_id(program_id: ProgramId, code: str) -> UUID:
        return subject_id(program_id, code)

    @event(Created)
    def __init__(
        self,
        program_id: ProgramId,
        code: str,
        title: str,
        category: str,
        grade_min: int,
        grade_max: int,
        status: str,
        class_size_max: int | None,
        class_size_optimal: int | None,
        is_lunch: bool,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.program_id = program_id
        self.code = code
        self.title = title
        self.category = category
        self.grade_min = grade_min
        self.grade_max = grade_max
        self.status = status
        self.class_size_max = class_size_max
        self.class_size_optimal = class_size_optimal
        self.is_lunch = is_lunch
        self.section_ids: list[SectionId] = []

    @staticmethod
    def validate(
        title: str,
        grade_min: int,
        grade_max: int,
        status: str,
        class_size_max: int | None,
        class_size_optimal: int | None,
    ) -> None:
        check_text(title, "title", max_length=200)
        if grade_min > grade_max:
            raise InvalidInputError("grade_min must not exceed grade_max", grade_min=grade_min, grade_max=grade_max)
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {STATUSES}", status=status)
        for name, value in (("class_size_max", class_size_max), ("class_size_optimal", class_size_optimal)):
            if value is not None and value < 0:
                raise InvalidInputError(f"{name} must not be negative", **{name: value})

    @property
    def subject_id(self) -> SubjectId:
        return SubjectId(self.id)

    @property
    def is_accepted(self) -> bool:
        return self.status in ACCEPTED_STATUSES

    def admits_grade(self, grade: int) -> bool:
        return self.grade_min <= grade <= self.grade_max

    def change_status(self, status: str, audit: dict[str, str]) -> None:
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {STATUSES}", status=status)
        if status != self.status:
            self._status_changed(status=status, **audit)

    def add_section(self, audit: dict[str, str]) -> SectionId:
        """Reserve the next section number; saved with the new Section so numbers never clash."""
        new_id = section_id(self.subject_id, len(self.section_ids) + 1)
        self._section_added(section_id=new_id, **audit)
        return new_id

    def change_details(self, details: dict[str, Any], audit: dict[str, str]) -> dict[str, Any]:
        """Change any of DETAIL_FIELDS; records only what differs (nothing if nothing does)."""
        unknown = set(details) - set(DETAIL_FIELDS)
        if unknown:
            raise InvalidInputError(f"Unknown class fields: {sorted(unknown)}")
        merged = {name: details.get(name, getattr(self, name)) for name in DETAIL_FIELDS}
        Subject.validate(
            merged["title"],
            merged["grade_min"],
            merged["grade_max"],
            self.status,
            merged["class_size_max"],
            merged["class_size_optimal"],
        )
        check_text(merged["category"], "category", max_length=64)
        changes = {name: value for name, value in details.items() if value != getattr(self, name)}
        if changes:
            self._details_changed(details=merged, changed=sorted(changes), **audit)
        return changes

    @event(DetailsChanged)
    def _details_changed(
        self,
        details: dict[str, Any],
        changed: list[str],  # noqa: ARG002 - recorded by the event, for the history
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        for name, value in details.items():
            setattr(self, name, value)

    @event(StatusChanged)
    def _status_changed(self, status: str, actor: str, command_id: str, reason: str) -> None:
        self.status = status

    @event(SectionAdded)
    def _section_added(self, section_id: SectionId, actor: str, command_id: str, reason: str) -> None:
        self.section_ids.append(section_id)
