"""What /ready and /metrics say of the read replicas (docs/read-replicas.md).

A replica never makes the process unready: the primary serves every query a replica cannot, so
/ready reports each replica (reachable, serving, its views' position and how far that is behind
the primary's, its replay lag) without adding to `problems`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import anyio
import anyio.to_thread
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field

from regledger.adapters.metrics import Metrics
from regledger.adapters.replica_reads import ReadReplicas, ReplicaStatus

logger = logging.getLogger("regledger.http.ops")


class ReplicaPublic(BaseModel):
    """One read replica in /ready."""

    name: str = Field(description="host:port/database")
    status: Literal["ok", "unreachable", "timeout"]
    serving: bool = Field(description="Queries read it (false: left out after a failed read, for a few seconds)")
    in_recovery: bool | None = Field(default=None, description="It is a standby (false: the URL names a primary)")
    views_position: int | None = Field(default=None, description="The last notification id in the replica's views")
    lag_events: int | None = Field(default=None, description="The primary's views position minus the replica's (>= 0)")
    replay_lag_seconds: float | None = Field(
        default=None,
        description="now() - pg_last_xact_replay_timestamp() on the standby; 0 when it replayed all it received",
    )
    error: str | None = None


def public(status: ReplicaStatus, primary_position: int | None) -> ReplicaPublic:
    lag = None
    if status.views_position is not None and primary_position is not None:
        lag = max(primary_position - status.views_position, 0)
    return ReplicaPublic(
        name=status.name,
        status="ok" if status.reachable else "unreachable",
        serving=status.serving,
        in_recovery=status.in_recovery,
        views_position=status.views_position,
        lag_events=lag,
        replay_lag_seconds=status.replay_lag_seconds,
        error=status.error,
    )


async def replicas_ready(
    replicas: ReadReplicas, primary_position: int | None, timeout: float, limiter: anyio.CapacityLimiter
) -> list[ReplicaPublic]:
    """Probe every replica (within `timeout` seconds in all) for /ready."""
    try:
        with anyio.fail_after(timeout):
            found = await anyio.to_thread.run_sync(replicas.probe, abandon_on_cancel=True, limiter=limiter)
    except TimeoutError:
        return [
            ReplicaPublic(name=r.name, status="timeout", serving=r.health.usable(), error=f"no answer in {timeout:g} s")
            for r in replicas.replicas
        ]
    return [public(status, primary_position) for status in found]


class ReplicaCollector(Collector):
    """Gauges read at scrape time from each replica."""

    def __init__(self, replicas: ReadReplicas) -> None:
        self._replicas = replicas

    def collect(self) -> Any:
        up = GaugeMetricFamily("regledger_replica_up", "1 if the read replica answered this scrape", labels=["replica"])
        serving = GaugeMetricFamily(
            "regledger_replica_serving",
            "1 if queries read the replica (0: left out after a failure)",
            labels=["replica"],
        )
        position = GaugeMetricFamily(
            "regledger_replica_views_position", "The replica's views' tracking position", labels=["replica"]
        )
        replay = GaugeMetricFamily(
            "regledger_replica_replay_lag_seconds",
            "now() - pg_last_xact_replay_timestamp() on the standby (0 when it replayed all it received)",
            labels=["replica"],
        )
        for status in self._replicas.probe():
            up.add_metric([status.name], 1 if status.reachable else 0)
            serving.add_metric([status.name], 1 if status.serving else 0)
            if status.views_position is not None:
                position.add_metric([status.name], status.views_position)
            if status.replay_lag_seconds is not None:
                replay.add_metric([status.name], status.replay_lag_seconds)
        metrics: list[Metric] = [up, serving, position, replay]
        return iter(metrics)


class _Instrumented:
    """The app's counters observe the replicas until the app shuts down (closed with `Api.owned`)."""

    def __init__(self, replicas: ReadReplicas, metrics: Metrics) -> None:
        self.replicas = replicas
        self.served = Counter(
            "regledger_query_views",
            "HTTP queries by the views they read: source replica or primary (counted with read replicas only)",
            ["source"],
            registry=metrics.registry,
        )
        self.fallbacks = Counter(
            "regledger_replica_fallbacks",
            "Queries that read the primary instead of a replica, by reason: lag (min_position not reached in "
            "time), down (no replica usable), error (a replica read failed and was rerun on the primary)",
            ["reason"],
            registry=metrics.registry,
        )
        collector = ReplicaCollector(replicas)
        metrics.live.append(collector)
        metrics.registry.register(collector)
        replicas.observers.append(self.observe)

    def observe(self, source: str, reason: str) -> None:
        if reason != "error":  # a rerun read belongs to a query already counted
            self.served.labels(source).inc()
        if source == "primary":
            self.fallbacks.labels(reason).inc()

    def close(self) -> None:
        if self.observe in self.replicas.observers:
            self.replicas.observers.remove(self.observe)


def instrument(metrics: Metrics, replicas: ReadReplicas) -> _Instrumented:
    """Count the queries by source and the fallbacks in `metrics`; close() to stop."""
    return _Instrumented(replicas, metrics)


__all__ = ["ReplicaPublic", "instrument", "replicas_ready"]
