"""Section capacity: the reference's formula (esp-reference 6.5), truncated to an int."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from regledger.domain.errors import InvalidInputError


@dataclass(frozen=True)
class CapacityInputs:
    """Admin-supplied sizes; None means "not set", as in the reference."""

    max_class_capacity: int | None = None
    room_capacity: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_class_capacity", "room_capacity"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInputError(f"{name} must be a non-negative integer", **{name: value})


def base_capacity(inputs: CapacityInputs, class_size_max: int | None, class_size_optimal: int | None) -> int:
    if inputs.max_class_capacity is not None:
        base: int | None = inputs.max_class_capacity
    elif inputs.room_capacity is None:
        base = class_size_max
    else:
        base = min(x for x in (class_size_max, inputs.room_capacity) if x is not None)
    if base:
        return base
    # "No max size": fall back to the optimal size, bounded by the room.
    if class_size_optimal and inputs.room_capacity is not None:
        return min(class_size_optimal, inputs.room_capacity)
    return class_size_optimal or inputs.room_capacity or 0


def effective_capacity(
    inputs: CapacityInputs,
    class_size_max: int | None,
    class_size_optimal: int | None,
    multiplier: Decimal,
    offset: int,
) -> int:
    """int(base x multiplier + offset), never below zero."""
    base = base_capacity(inputs, class_size_max, class_size_optimal)
    return max(0, int(Decimal(base) * multiplier + offset))
