"""The aggregate base: every event says who, why and under which command id."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


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
