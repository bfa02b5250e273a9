"""The aggregate base: every event says who, why and under which command id."""

from __future__ import annotations

import dataclasses
from collections import ChainMap
from collections.abc import MutableMapping
from typing import Any

from eventsourcing.domain import Aggregate


def _layer(commands: MutableMapping[str, Any]) -> ChainMap[str, Any]:
    """A copy of the command index in O(1): new entries go to a fresh front layer.

    The index only ever grows (one entry per command), and a hot section's holds thousands,
    so copying it for every command would cost more than the command itself."""
    if not isinstance(commands, ChainMap):
        return ChainMap({}, commands)
    if len(commands.maps) <= _MAX_LAYERS:
        return commands.new_child()
    merged: dict[str, Any] = {}
    for layer in reversed(commands.maps[:-1]):  # the bottom layer, often the largest, stays shared
        merged.update(layer)
    return ChainMap({}, merged, commands.maps[-1])


_MAX_LAYERS = 16


def _find(commands: MutableMapping[str, Any], command_id: str) -> Any:
    # ChainMap.get asks every layer through a generator and then looks the key up again: a
    # few times slower than this loop, once per event (34k in a lottery commit).
    if type(commands) is ChainMap:
        for layer in commands.maps:
            found = layer.get(command_id)
            if found is not None:
                return found
        return None
    return commands.get(command_id)


def _copy_containers(value: Any) -> Any:
    # One level is enough: recorders replace nested values, they never mutate them in place.
    if isinstance(value, dict | list | set):
        return value.copy()
    return value


class AuditedAggregate(Aggregate):
    """Records each event's command id so a repeated command is recognised durably."""

    class Event(Aggregate.Event):
        actor: str
        command_id: str
        reason: str
        # The digest of the request that made the event (`CommandContext.request`), stamped by
        # the command runner when it saves; "" in events stored before it existed.
        request: str = dataclasses.field(default="", kw_only=True)

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            # Replayed with the event, so idempotency survives restarts and cache misses.
            commands = aggregate.applied_commands
            applied = _find(commands, self.command_id)
            first = self.originator_version if applied is None else applied[1]
            commands[self.command_id] = (type(self).__name__, first, self)

    class Created(Event, Aggregate.Created):
        pass

    applied_commands: MutableMapping[str, tuple[str, int, Any]]

    def __new__(cls, *_args: Any, **_kwargs: Any) -> Any:
        obj = super().__new__(cls)
        obj.applied_commands = {}
        return obj

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """Copy the containers of the state and share its values.

        Aggregate state is built from dicts, lists and sets of immutable values (UUIDs, strings,
        frozen dataclasses, recorded events) that the recorders add, remove or replace but never
        mutate in place, so copying the top-level containers gives an independent aggregate at a
        fraction of `copy.deepcopy`'s cost, which dominated every command.
        """
        copied = object.__new__(type(self))
        copied.__dict__.update(
            {name: _copy_containers(value) for name, value in self.__dict__.items() if name != "applied_commands"}
        )
        copied.applied_commands = _layer(self.applied_commands)
        return copied

    def has_applied(self, command_id: str) -> bool:
        """True once an event of this command is stored (events still pending do not count)."""
        applied = self.applied_commands.get(command_id)
        return applied is not None and applied[1] <= self.version - len(self.pending_events)

    def outcome_of(self, command_id: str) -> str:
        """The command's outcome: the name of the last event it recorded here."""
        return self.applied_commands[command_id][0]

    def request_of(self, command_id: str) -> str:
        """The digest of the request the command id was first used for ("" if not recorded)."""
        return str(self.applied_commands[command_id][2].request)

    def last_event_of(self, command_id: str) -> Any:
        """The last event the command recorded here, to rebuild its first answer on a repeat."""
        return self.applied_commands[command_id][2]
