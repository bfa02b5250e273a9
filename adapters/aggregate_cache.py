"""Committed aggregate states kept in process, brought up to date from the log before use
(the domain's `AggregateStore`, wired by `adapters/bootstrap.py`).

Every command reads the aggregates it decides on *fresh*: it asks the event reader for the
events after the cached versions of all of them at once (on PostgreSQL one round trip:
`adapters/postgres/event_reader.py`), so a rule is never checked against a stale state, while
replaying from scratch happens only on a cache miss. The library's repository cache reads
one aggregate a query instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate


class EventReader(Protocol):
    """Events after the given version of each aggregate, in version order."""

    def events_after(self, versions: Mapping[UUID, int]) -> dict[UUID, Sequence[Any]]: ...


class StoreEventReader:
    """One query per aggregate through the application's event store (fine for local stores)."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def events_after(self, versions: Mapping[UUID, int]) -> dict[UUID, Sequence[Any]]:
        out: dict[UUID, Sequence[Any]] = {}
        for aggregate_id, version in versions.items():
            found = list(self.events.get(aggregate_id, gt=version or None))
            if found:
                out[aggregate_id] = found
        return out


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    # The library's default projector asserts a runtime Protocol per event; that dominates replay.
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class AggregateCache:
    """LRU of committed aggregates. Stored objects are never mutated: readers get copies."""

    def __init__(self, maxsize: int, reader: EventReader) -> None:
        self.maxsize = maxsize
        self.reader = reader
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        with self._lock:
            found = self._items.get(aggregate_id)
            if found is not None:
                self._items.move_to_end(aggregate_id)
            return found

    def put(self, aggregate: Aggregate) -> None:
        """Keep a committed state; an older version never replaces a newer one."""
        if self.maxsize <= 0 or aggregate.pending_events:
            return
        with self._lock:
            current = self._items.get(aggregate.id)
            if current is None or current.version < aggregate.version:
                self._items[aggregate.id] = aggregate
                self._items.move_to_end(aggregate.id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def fetch(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate | None]:
        """Fresh, private copies of the aggregates (None where nothing was ever recorded)."""
        wanted = list(dict.fromkeys(ids))
        cached = {i: self.peek(i) for i in wanted}
        news = self.reader.events_after({i: (a.version if a is not None else 0) for i, a in cached.items()})
        fresh: dict[UUID, Aggregate | None] = {}
        for aggregate_id in wanted:
            base = cached[aggregate_id]
            events = news.get(aggregate_id, ())
            if events:
                base = project(deepcopy(base), events)
                self.put(base)
            fresh[aggregate_id] = deepcopy(base) if base is not None else None
        return fresh
