"""The aggregate base: every event says who, why and under which command id."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


def _copy_containers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_containers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_containers(item) for item in value]
    if isinstance(value, set):
        return set(value)
    return value


class AuditedAggregate(Aggregate):
    """Records each event's command id so a repeated command is recognised durably."""

    class Event(Aggregate.Event):
        actor: str
        command_id: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            # Replayed with the event, so idempotency survives restarts and cache misses.
            first = aggregate.applied_commands.get(self.command_id, (None, self.originator_version, None))[1]
            aggregate.applied_commands[self.command_id] = (type(self).__name__, first, self)

    class Created(Event, Aggregate.Created):
        pass

    applied_commands: dict[str, tuple[str, int, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__new__(cls)
        obj.applied_commands = {}
        return obj

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """Copy the containers of the state and share its values.

        Aggregate state is built from dicts, lists and sets of immutable values (UUIDs, strings,
        frozen dataclasses, recorded events), so copying only the containers gives an independent
        aggregate at a fraction of `copy.deepcopy`'s cost, which dominated every command.
        """
        copied = object.__new__(type(self))
        copied.__dict__.update({name: _copy_containers(value) for name, value in self.__dict__.items()})
        return copied

    def has_applied(self, command_id: str) -> bool:
        """True once an event of this command is stored (events still pending do not count)."""
        applied = self.applied_commands.get(command_id)
        return applied is not None and applied[1] <= self.version - len(self.pending_events)

    def outcome_of(self, command_id: str) -> str:
        """The command's outcome: the name of the last event it recorded here."""
        return self.applied_commands[command_id][0]

    def last_event_of(self, command_id: str) -> Any:
        """The last event the command recorded here, to rebuild its first answer on a repeat."""
        return self.applied_commands[command_id][2]
