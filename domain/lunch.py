"""Lunch constraints (reference §9): a student with classes before and after a day's lunch
slots keeps one of them free for a lunch-category class."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from uuid import UUID

from regledger.domain.constraints import All, Any, CategoryInTimeslot, Constant, Expression, TimeslotOccupied
from regledger.domain.errors import InvalidInputError

# Fixed English names: calendar.day_name and strftime("%A") follow the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def lunch_constraints(
    timeslots: Sequence[tuple[UUID, datetime, datetime]],
    lunch_timeslot_ids: Collection[UUID],
    lunch_category: str,
    include_conditions: bool = True,
) -> list[tuple[str, Expression, Expression]]:
    """One (label, condition, requirement) per program day with lunch slots, ordered by day."""
    known = {timeslot_id for timeslot_id, _, _ in timeslots}
    unknown = [str(t) for t in lunch_timeslot_ids if t not in known]
    if unknown:
        raise InvalidInputError("lunch timeslots must be program timeslots", unknown=unknown)
    lunch = frozenset(lunch_timeslot_ids)
    by_day: dict[date, list[tuple[datetime, UUID]]] = {}
    for timeslot_id, start, _end in timeslots:
        by_day.setdefault(start.date(), []).append((start, timeslot_id))
    return [
        _lunch_constraint(day, sorted(slots), lunch, lunch_category, include_conditions)
        for day, slots in sorted(by_day.items())
        if any(timeslot_id in lunch for _, timeslot_id in slots)
    ]


def _lunch_constraint(
    day: date,
    slots: list[tuple[datetime, UUID]],
    lunch: frozenset[UUID],
    lunch_category: str,
    include_conditions: bool,
) -> tuple[str, Expression, Expression]:
    lunch_starts = [start for start, t in slots if t in lunch]
    # Slots starting between two lunch slots count as neither morning nor afternoon.
    before = tuple(TimeslotOccupied(t) for start, t in slots if start < min(lunch_starts))
    after = tuple(TimeslotOccupied(t) for start, t in slots if start > max(lunch_starts))
    condition: Expression = All((Any(before), Any(after))) if include_conditions else Constant(True)
    requirement = Any(tuple(CategoryInTimeslot(lunch_category, t) for _, t in slots if t in lunch))
    return f"choose a lunch period on {_WEEKDAYS[day.weekday()]}", condition, requirement
