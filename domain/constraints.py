"""Schedule constraints: typed boolean expressions over a student's enrolled schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias, assert_never
from uuid import UUID

from regledger.domain.errors import MalformedConstraintError
from regledger.domain.values import unsafe_character

# Bounds keep a hostile or buggy document from exhausting the stack or CPU while parsing.
MAX_DEPTH = 32
MAX_NODES = 1000


@dataclass(frozen=True)
class ScheduledSection:
    section_id: UUID
    subject_id: UUID
    category: str
    timeslot_ids: tuple[UUID, ...]


class ScheduleMap:
    """A student's enrolled sections, indexed by timeslot; sections are unique by section_id."""

    __slots__ = ("_by_timeslot", "_sections")

    def __init__(self, sections: Iterable[ScheduledSection] = ()) -> None:
        # Keyed by id so a fake add of an already-enrolled section cannot double-count it.
        by_id = {section.section_id: section for section in sections}
        self._sections: tuple[ScheduledSection, ...] = tuple(by_id.values())
        self._by_timeslot: Mapping[UUID, tuple[ScheduledSection, ...]] = _index(self._sections)

    @property
    def sections(self) -> tuple[ScheduledSection, ...]:
        return self._sections

    def sections_in(self, timeslot_id: UUID) -> tuple[ScheduledSection, ...]:
        return self._by_timeslot.get(timeslot_id, ())

    def has_subject(self, subject_id: UUID) -> bool:
        return any(section.subject_id == subject_id for section in self._sections)

    def with_added(self, section: ScheduledSection) -> ScheduleMap:
        """The schedule as it would be after enrolling in `section` (replaces the same id)."""
        return ScheduleMap((*self._sections, section))

    def with_removed(self, section_id: UUID) -> ScheduleMap:
        """The schedule as it would be after dropping `section_id` (no-op if absent)."""
        return ScheduleMap(s for s in self._sections if s.section_id != section_id)

    def __repr__(self) -> str:
        return f"ScheduleMap({list(self._sections)!r})"


def _index(
    sections: tuple[ScheduledSection, ...],
) -> Mapping[UUID, tuple[ScheduledSection, ...]]:
    index: dict[UUID, tuple[ScheduledSection, ...]] = {}
    for section in sections:
        for timeslot_id in dict.fromkeys(section.timeslot_ids):
            index[timeslot_id] = (*index.get(timeslot_id, ()), section)
    return MappingProxyType(index)


@dataclass(frozen=True)
class Constant:
    value: bool

    def evaluate(self, _schedule: ScheduleMap) -> bool:
        return self.value

    def to_json(self) -> dict[str, object]:
        return {"op": "constant", "value": self.value}


@dataclass(frozen=True)
class All:
    """True when every item is true; an empty All is true."""

    items: tuple[Expression, ...]

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return all(item.evaluate(schedule) for item in self.items)

    def to_json(self) -> dict[str, object]:
        return {"op": "all", "items": [item.to_json() for item in self.items]}


@dataclass(frozen=True)
class Any:
    """True when at least one item is true; an empty Any is false."""

    items: tuple[Expression, ...]

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return any(item.evaluate(schedule) for item in self.items)

    def to_json(self) -> dict[str, object]:
        return {"op": "any", "items": [item.to_json() for item in self.items]}


@dataclass(frozen=True)
class Not:
    item: Expression

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return not self.item.evaluate(schedule)

    def to_json(self) -> dict[str, object]:
        return {"op": "not", "item": self.item.to_json()}


@dataclass(frozen=True)
class EnrolledInClass:
    subject_id: UUID

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return schedule.has_subject(self.subject_id)

    def to_json(self) -> dict[str, object]:
        return {"op": "enrolled_in_class", "subject_id": str(self.subject_id)}


@dataclass(frozen=True)
class TimeslotOccupied:
    timeslot_id: UUID

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return bool(schedule.sections_in(self.timeslot_id))

    def to_json(self) -> dict[str, object]:
        return {"op": "timeslot_occupied", "timeslot_id": str(self.timeslot_id)}


@dataclass(frozen=True)
class CategoryInTimeslot:
    category: str
    timeslot_id: UUID

    def evaluate(self, schedule: ScheduleMap) -> bool:
        return any(s.category == self.category for s in schedule.sections_in(self.timeslot_id))

    def to_json(self) -> dict[str, object]:
        return {
            "op": "category_in_timeslot",
            "category": self.category,
            "timeslot_id": str(self.timeslot_id),
        }


@dataclass(frozen=True)
class SectionInTimeslot:
    """True when one of `section_ids` occupies the timeslot; order is kept for round-trips."""

    section_ids: tuple[UUID, ...]
    timeslot_id: UUID

    def evaluate(self, schedule: ScheduleMap) -> bool:
        wanted = set(self.section_ids)
        return any(s.section_id in wanted for s in schedule.sections_in(self.timeslot_id))

    def to_json(self) -> dict[str, object]:
        return {
            "op": "section_in_timeslot",
            "section_ids": [str(section_id) for section_id in self.section_ids],
            "timeslot_id": str(self.timeslot_id),
        }


Expression: TypeAlias = (
    Constant | All | Any | Not | EnrolledInClass | TimeslotOccupied | CategoryInTimeslot | SectionInTimeslot
)


def referenced_ids(expr: Expression) -> frozenset[UUID]:
    """Every subject, timeslot and section id the expression mentions."""
    match expr:
        case Constant():
            return frozenset()
        case All(items) | Any(items):
            return frozenset[UUID]().union(*(referenced_ids(item) for item in items))
        case Not(item):
            return referenced_ids(item)
        case EnrolledInClass(subject_id):
            return frozenset({subject_id})
        case TimeslotOccupied(timeslot_id) | CategoryInTimeslot(_, timeslot_id):
            return frozenset({timeslot_id})
        case SectionInTimeslot(section_ids, timeslot_id):
            return frozenset({*section_ids, timeslot_id})
        case _:
            assert_never(expr)


@dataclass(frozen=True)
class ScheduleConstraint:
    """If `condition` holds for a schedule then `requirement` must hold too."""

    id: UUID
    label: str
    condition: Expression
    requirement: Expression

    def __post_init__(self) -> None:
        check_label(self.label)

    def is_satisfied(self, schedule: ScheduleMap) -> bool:
        # No auto-correction: ESP's on_failure hook no longer runs, so a failure is final.
        return not self.condition.evaluate(schedule) or self.requirement.evaluate(schedule)

    def to_json(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "label": self.label,
            "condition": self.condition.to_json(),
            "requirement": self.requirement.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> ScheduleConstraint:
        obj = _object(data, "")
        _check_keys(obj, frozenset({"id", "label", "condition", "requirement"}), "")
        label = obj["label"]
        if not isinstance(label, str) or not label.strip():
            raise _error("label", "must be a non-empty string")
        return cls(
            id=_uuid(obj["id"], "id"),
            label=label,
            condition=_parse(obj["condition"], "condition", 1, _Budget()),
            requirement=_parse(obj["requirement"], "requirement", 1, _Budget()),
        )


def check_label(label: object) -> str:
    """A constraint's label is shown in refusals: 1-200 characters, no control characters."""
    if not isinstance(label, str) or not label.strip() or len(label) > 200 or unsafe_character(label):
        raise MalformedConstraintError("label: must be 1-200 characters without control characters")
    return label


def parse_expression(data: object) -> Expression:
    """Build an expression from its JSON form; anything malformed raises with its JSON path."""
    return _parse(data, "", 1, _Budget())


# Mutable on purpose: one counter shared by every branch, so wide trees hit the limit too.
@dataclass
class _Budget:
    nodes: int = 0


_Reader: TypeAlias = Callable[[dict[str, object], str, int, _Budget], Expression]


def _parse(data: object, path: str, depth: int, budget: _Budget) -> Expression:
    if depth > MAX_DEPTH:
        raise _error(path, f"nested deeper than {MAX_DEPTH} levels")
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _error(path, f"expression has more than {MAX_NODES} nodes")
    obj = _object(data, path)
    if "op" not in obj:
        raise _error(path, "missing key 'op'")
    op = obj["op"]
    if not isinstance(op, str):
        raise _error(_key(path, "op"), "not a string")
    if op not in _READERS:
        raise _error(_key(path, "op"), f"unknown op {op!r}")
    keys, reader = _READERS[op]
    _check_keys(obj, keys | {"op"}, path)
    return reader(obj, path, depth, budget)


def _read_constant(obj: dict[str, object], path: str, _depth: int, _budget: _Budget) -> Expression:
    value = obj["value"]
    # isinstance would not do: JSON 0 and 1 arrive as ints, and bool is an int subclass.
    if type(value) is not bool:
        raise _error(_key(path, "value"), "not a boolean")
    return Constant(value)


def _read_items(obj: dict[str, object], path: str, depth: int, budget: _Budget) -> tuple[Expression, ...]:
    items_path = _key(path, "items")
    items = _list(obj["items"], items_path)
    return tuple(_parse(x, f"{items_path}[{i}]", depth + 1, budget) for i, x in enumerate(items))


def _read_all(obj: dict[str, object], path: str, depth: int, budget: _Budget) -> Expression:
    return All(_read_items(obj, path, depth, budget))


def _read_any(obj: dict[str, object], path: str, depth: int, budget: _Budget) -> Expression:
    return Any(_read_items(obj, path, depth, budget))


def _read_not(obj: dict[str, object], path: str, depth: int, budget: _Budget) -> Expression:
    return Not(_parse(obj["item"], _key(path, "item"), depth + 1, budget))


def _read_enrolled(obj: dict[str, object], path: str, _depth: int, _budget: _Budget) -> Expression:
    return EnrolledInClass(_uuid(obj["subject_id"], _key(path, "subject_id")))


def _read_occupied(obj: dict[str, object], path: str, _depth: int, _budget: _Budget) -> Expression:
    return TimeslotOccupied(_uuid(obj["timeslot_id"], _key(path, "timeslot_id")))


def _read_category(obj: dict[str, object], path: str, _depth: int, _budget: _Budget) -> Expression:
    category = obj["category"]
    if not isinstance(category, str) or not category:
        raise _error(_key(path, "category"), "must be a non-empty string")
    return CategoryInTimeslot(category, _uuid(obj["timeslot_id"], _key(path, "timeslot_id")))


def _read_sections(obj: dict[str, object], path: str, _depth: int, _budget: _Budget) -> Expression:
    ids_path = _key(path, "section_ids")
    raw = _list(obj["section_ids"], ids_path)
    section_ids = tuple(_uuid(value, f"{ids_path}[{i}]") for i, value in enumerate(raw))
    for i, section_id in enumerate(section_ids):
        if section_id in section_ids[:i]:
            raise _error(f"{ids_path}[{i}]", "duplicate section id")
    return SectionInTimeslot(section_ids, _uuid(obj["timeslot_id"], _key(path, "timeslot_id")))


_READERS: Mapping[str, tuple[frozenset[str], _Reader]] = MappingProxyType(
    {
        "constant": (frozenset({"value"}), _read_constant),
        "all": (frozenset({"items"}), _read_all),
        "any": (frozenset({"items"}), _read_any),
        "not": (frozenset({"item"}), _read_not),
        "enrolled_in_class": (frozenset({"subject_id"}), _read_enrolled),
        "timeslot_occupied": (frozenset({"timeslot_id"}), _read_occupied),
        "category_in_timeslot": (frozenset({"category", "timeslot_id"}), _read_category),
        "section_in_timeslot": (frozenset({"section_ids", "timeslot_id"}), _read_sections),
    }
)


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _error(path: str, problem: str) -> MalformedConstraintError:
    return MalformedConstraintError(f"{path or '(root)'}: {problem}", path=path)


def _object(data: object, path: str) -> dict[str, object]:
    if not isinstance(data, dict):
        raise _error(path, "not an object")
    return data


def _list(data: object, path: str) -> list[object]:
    if not isinstance(data, list):
        raise _error(path, "not a list")
    if len(data) > MAX_NODES:
        raise _error(path, f"more than {MAX_NODES} entries")
    return data


def _check_keys(obj: dict[str, object], expected: frozenset[str], path: str) -> None:
    missing = sorted(expected - obj.keys())
    if missing:
        raise _error(path, f"missing key {missing[0]!r}")
    extra = sorted(map(repr, obj.keys() - expected))
    if extra:
        raise _error(path, f"unexpected key {extra[0]}")


def _uuid(value: object, path: str) -> UUID:
    if not isinstance(value, str):
        raise _error(path, "not a UUID string")
    try:
        parsed = UUID(value)
    except ValueError:
        raise _error(path, "not a UUID") from None
    # Only the canonical spelling, so to_json(parse_expression(doc)) == doc holds as well.
    if str(parsed) != value:
        raise _error(path, "not a UUID in canonical form (lowercase, hyphenated)")
    return parsed
