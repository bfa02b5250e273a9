"""RegistrationTypes: the verbs of one category, created on first use and never removed."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.ids import registration_types_id
from regledger.domain.values import check_verb, priority_level_of

_DESCRIPTIONS = {
    "Enrolled": ("Enrolled", "Student holds a seat in the section."),
    "Waitlisted": ("Waitlisted", "Student waits, in order, for a seat in a full section."),
    "Interested": ("Interested", "Student starred the class in the lottery phase."),
    "Applied": ("Applied", "Student applied to the class."),
}


@dataclass(frozen=True)
class RegistrationType:
    name: str
    display_name: str
    description: str
    category: str

    def __str__(self) -> str:
        return self.display_name or self.name


def default_labels(name: str) -> tuple[str, str]:
    """Display name and description for a verb created implicitly, as the reference fills them."""
    if name in _DESCRIPTIONS:
        return _DESCRIPTIONS[name]
    level = priority_level_of(name)
    if level is not None:
        return (
            f"Priority {level}",
            f"Student marked this class as their #{level} priority in the two-phase class lottery",
        )
    return (name, "")


class RegistrationTypes(AuditedAggregate):
    """The verb catalogue of one category (id: uuid5 of the category)."""

    class Created(AuditedAggregate.Created):
        category: str

    class TypeAdded(AuditedAggregate.Event):
        name: str
        display_name: str
        description: str

    @staticmethod
    def create_id(category: str) -> UUID:
        return registration_types_id(category)

    @event(Created)
    def __init__(self, category: str, actor: str, command_id: str, reason: str) -> None:
        self.category = category
        self.types: dict[str, RegistrationType] = {}

    def ensure(self, name: str, audit: dict[str, str]) -> RegistrationType:
        """Get or create a verb: unknown verbs are accepted and recorded, never dropped."""
        check_verb(name)
        if name not in self.types:
            display_name, description = default_labels(name)
            self._type_added(name=name, display_name=display_name, description=description, **audit)
        return self.types[name]

    @event(TypeAdded)
    def _type_added(
        self, name: str, display_name: str, description: str, actor: str, command_id: str, reason: str
    ) -> None:
        self.types[name] = RegistrationType(name, display_name, description, self.category)
