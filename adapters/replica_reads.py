"""HTTP queries on read replicas: which views a query reads (docs/read-replicas.md).

With `REGLEDGER_READ_DATABASE_URL` set, a query reads the views of a streaming standby (the
usable ones in turn) while commands, tokens and the projector use the primary. The rules:

- a query with `min_position` waits up to `read_replica_wait` s for the replica's views to reach
  it (their tracking row replicates with their rows, so reaching it means holding that write);
  past the bound it reads the primary's views (reason `lag`), which wait as without replicas;
- a replica whose read failed is left out for `read_replica_retry` s: queries read the primary
  (reason `down`); a read that fails mid-request is rerun on the primary (reason `error`);
- queries without `min_position` read whatever the replica holds, as they read whatever the
  primary's views hold: the views are eventually consistent either way.

Every query that reads the primary instead is counted (`observers`, the app's metrics) and
logged, at most one line every `LOG_EVERY` seconds with the counts by reason.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from regledger.adapters.positions import PositionWatch
from regledger.adapters.settings import Settings
from regledger.adapters.views.replica import REPLICA_FAULTS, ReplicaHealth, ReplicaViews, StandbyViews
from regledger.adapters.views.sql import SqlViews
from regledger.projections.views import RegistrationViews

logger = logging.getLogger("regledger.replica")

LOG_EVERY = 10.0  # seconds between two log lines about queries that read the primary instead
DOWN_CHECK = 0.1  # seconds between two looks at a replica's health while waiting for it

Observer = Callable[[str, str], None]  # (source: replica|primary, reason: ok|lag|down|error)


@dataclass
class ReadReplica:
    name: str  # host:port/db, never the password
    standby: StandbyViews  # the replica's own reads: its position, probes
    views: ReplicaViews  # what a query reads
    watch: PositionWatch  # read-your-writes waits on the replica's views

    @property
    def health(self) -> ReplicaHealth:
        return self.standby.health


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica as a probe found it (for /ready and /metrics)."""

    name: str
    reachable: bool
    serving: bool  # queries are sent to it (not left out after a failure)
    in_recovery: bool | None = None  # false: the URL names a primary, not a standby
    views_position: int | None = None
    replay_lag_seconds: float | None = None
    error: str | None = None


class FallbackLog:
    """Warns about queries that read the primary instead, at most once every `every` seconds."""

    def __init__(self, every: float = LOG_EVERY, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._last = -every

    def fell_back(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1
            now = self._clock()
            if now - self._last < self.every:
                return
            self._last, counts = now, dict(self._counts)
            self._counts.clear()
        logger.warning(
            "queries read the primary's views instead of a replica's: %s",
            ", ".join(f"{count} ({reason})" for reason, count in sorted(counts.items())),
            extra={"fallbacks": counts},
        )


class ReadReplicas:
    """The replicas a process's HTTP queries read; closed with the services."""

    def __init__(self, replicas: list[ReadReplica], *, wait: float) -> None:
        self.replicas = replicas
        self.wait = wait
        self.observers: list[Observer] = []
        self._turn = itertools.count()
        self._log = FallbackLog()

    def note(self, source: str, reason: str) -> None:
        for observer in list(self.observers):
            observer(source, reason)
        if source == "primary":
            self._log.fell_back(reason)

    def pick(self) -> ReadReplica | None:
        """The next usable replica in turn; None when every one is left out."""
        usable = [replica for replica in self.replicas if replica.health.usable()]
        return usable[next(self._turn) % len(usable)] if usable else None

    async def views_for(self, min_position: int | None) -> RegistrationViews | None:
        """A replica's views for this query, or None: read the primary's (counted, logged)."""
        replica = self.pick()
        if replica is None:
            self.note("primary", "down")
            return None
        if min_position:
            reason = await self._reach(replica, min_position)
            if reason is not None:
                self.note("primary", reason)
                return None
        self.note("replica", "ok")
        return replica.views

    async def _reach(self, replica: ReadReplica, min_position: int) -> str | None:
        """None once the replica's views reach `min_position`; else why not (`lag`, `down`).

        Waited in slices, so a replica that fails meanwhile is given up within `DOWN_CHECK` s."""
        deadline = time.monotonic() + self.wait
        while True:
            remaining = max(deadline - time.monotonic(), 0.0)
            try:
                await replica.watch.wait_for(min_position, min(remaining, DOWN_CHECK))
            except TimeoutError:
                if not replica.health.usable():
                    return "down"
                if time.monotonic() >= deadline:
                    return "lag"
            else:
                return None

    def probe(self) -> list[ReplicaStatus]:
        """Each replica's views position and replay lag, read from it now (blocking)."""
        found = []
        for replica in self.replicas:
            try:
                position = replica.standby.position()
                replay = replica.standby.replay()
            except REPLICA_FAULTS as error:
                reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
                found.append(ReplicaStatus(replica.name, False, replica.health.usable(), error=reason))
                continue
            found.append(
                ReplicaStatus(
                    replica.name,
                    True,
                    replica.health.usable(),
                    in_recovery=replay.in_recovery,
                    views_position=position,
                    replay_lag_seconds=round(replay.lag_seconds, 3),
                )
            )
        return found

    def close(self) -> None:
        for replica in self.replicas:
            replica.watch.close()
            replica.standby.close()


def build_read_replicas(settings: Settings, primary: RegistrationViews, head: Callable[[], int]) -> ReadReplicas | None:
    """The configured replicas over the primary's views (None without REGLEDGER_READ_DATABASE_URL).

    Nothing connects here: a replica down at start is found by the first query, as later."""
    conninfos = settings.read_replica_conninfos()
    if not conninfos:
        return None
    if not isinstance(primary, SqlViews):
        raise TypeError("read replicas need the PostgreSQL views on the primary")
    # A connection per API thread (sync routes run on pool size + overflow threads), plus the watch.
    pool_size = settings.postgres_pool_size + settings.postgres_max_overflow + 1
    replicas: list[ReadReplica] = []
    group = ReadReplicas(replicas, wait=settings.read_replica_wait)
    for name, conninfo in conninfos:
        health = ReplicaHealth(name, settings.read_replica_retry)
        standby = StandbyViews(
            conninfo, settings.postgres_schema, health, pool_size=pool_size, wait=settings.postgres_connect_timeout
        )
        views = ReplicaViews(standby, primary, lambda reason: group.note("primary", reason))
        replicas.append(ReadReplica(name, standby, views, PositionWatch(standby, head)))
    return group


__all__ = ["FallbackLog", "ReadReplica", "ReadReplicas", "ReplicaStatus", "build_read_replicas"]
