"""The views as a PostgreSQL streaming standby holds them (docs/read-replicas.md).

The views' tables and their tracking row replicate together, in the primary's commit order, so
a standby's views are always a consistent earlier state of the primary's, and their position
says which. `StandbyViews` reads them and marks the replica down when a read fails;
`ReplicaViews` is what a query is handed: it reads the standby while the replica is up and
reruns a failed read on the primary's views, so a replica that dies mid-request costs that
request nothing but time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import psycopg

from regledger.adapters.views.postgres import POSTGRES, PostgresViews
from regledger.adapters.views.sql import SqlViews

logger = logging.getLogger("regledger.replica")

# A read that fails on these (a refused or dropped connection, a standby's query cancelled by a
# recovery conflict, a pool that cannot connect in time, tables not replicated yet) is rerun
# on the primary.
REPLICA_FAULTS = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.errors.UndefinedTable)

# On the standby: is it one, and how far its replay is behind what it received (0 when it has
# replayed everything it received, so an idle primary never looks late).
REPLAY_LAG = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery()
                 OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""


class ReplicaHealth:
    """Up, or down until a moment: a failed read leaves the replica out for `retry` seconds,
    then the next read tries it again (a success, a read or a probe, brings it back at once)."""

    def __init__(self, name: str, retry: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.retry = retry
        self._clock = clock
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def usable(self) -> bool:
        return not self._down or self._clock() >= self._down_until

    @property
    def down(self) -> bool:
        return self._down

    def failed(self, error: BaseException) -> None:
        with self._lock:
            was_down, self._down = self._down, True
            self._down_until = self._clock() + self.retry
            self.last_error = f"{type(error).__name__}: {' '.join(str(error).split())}"
        if not was_down:
            logger.warning(
                "read replica %s failed; queries read the primary for the next %g s: %s",
                self.name,
                self.retry,
                self.last_error,
                extra={"replica": self.name},
            )

    def ok(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.warning("read replica %s answers again", self.name, extra={"replica": self.name})


class ReadOnlyViews(RuntimeError):
    """A write to views that are only read here."""


@dataclass(frozen=True)
class Replay:
    in_recovery: bool  # false: the URL names a primary, not a standby
    lag_seconds: float


class StandbyViews(PostgresViews):
    """The views on a standby: read only; every read's outcome moves the replica's health.

    Its shared pool (the threads past `pool_size`) waits at most `wait` seconds for a connection,
    not the pool's default 30, so a replica that stops answering fails its reads fast."""

    def __init__(self, conninfo: str, schema: str, health: ReplicaHealth, *, pool_size: int, wait: float) -> None:
        super().__init__(conninfo, schema, pool_size=pool_size)
        self.health = health
        self.pool_wait = wait

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            rows = super()._query(statement, params)
        except REPLICA_FAULTS as error:
            self.health.failed(error)
            raise
        self.health.ok()
        return rows

    def replay(self) -> Replay:
        row = self._query(REPLAY_LAG)[0]
        return Replay(in_recovery=bool(row[0]), lag_seconds=max(float(row[1]), 0.0))

    def _transaction(self, changes: int = 0) -> NoReturn:  # noqa: ARG002 - the base's signature
        raise ReadOnlyViews("a read replica's views are written on the primary only")

    def create_tables(self) -> None:
        """Nothing: the tables replicate from the primary (a standby refuses DDL)."""


class ReplicaViews(SqlViews):
    """The views a query reads: the standby's while the replica is up, else the primary's.

    A read that fails on the standby is rerun on the primary (`fell_back("error")`). The SQL
    is the same on both (same schema and prefix), rendered once here."""

    def __init__(self, standby: StandbyViews, primary: SqlViews, fell_back: Callable[[str], None]) -> None:
        super().__init__(POSTGRES, qualified_prefix=standby._qualified, prefix=standby.prefix)
        self.standby = standby
        self.primary = primary
        self._fell_back = fell_back

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        if self.standby.health.usable():
            try:
                return self.standby._query(statement, params)
            except REPLICA_FAULTS:
                self._fell_back("error")
        return self.primary._query(statement, params)

    def _transaction(self, changes: int = 0) -> NoReturn:  # noqa: ARG002 - the base's signature
        raise ReadOnlyViews("queries only read; the projector writes the primary's views")

    def create_tables(self) -> None:
        """Nothing: these views are read only."""


__all__ = ["REPLAY_LAG", "ReadOnlyViews", "Replay", "ReplicaHealth", "ReplicaViews", "StandbyViews"]
