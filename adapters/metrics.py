"""Prometheus metrics of one HTTP app: commands, projector lag, token failures, HTTP requests.

Every app owns its own `CollectorRegistry` (never the process-global one), so several apps in
one process (the tests) count apart. Under `serve --workers N` each worker counts in files of a
shared directory (`PROMETHEUS_MULTIPROC_DIR`, set by serve) and a scrape sums them. Commands
are counted by an observer on the domain's `CommandRunner.run`; the projector's lag is measured
at scrape time; HTTP requests by a small ASGI middleware that labels them by route template
(never the raw path, whose ids would make one series per request).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regledger.domain.runner import CommandObservation
from regledger.projections.views import RegistrationViews

logger = logging.getLogger("regledger.metrics")

# Commands take ~1-5 ms on PostgreSQL; a lottery commit takes seconds.
COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED_ROUTE = "<unmatched>"


@dataclass(frozen=True)
class Lag:
    """How far the views are behind the log, read from the store."""

    head: int  # the log's last notification id
    position: int  # the views' tracking position
    events: int  # notification ids after the views' position (gaps in ids count too)
    seconds: float  # age of the oldest event the views do not include yet; 0 when caught up


def measure_lag(app: Application[UUID], views: RegistrationViews) -> Lag:
    """Two cheap queries (max id, the views' position), plus one event read when behind.

    The age is that of the oldest unprojected event rather than the time since the views last
    moved: it is read from the store, so it is right in a process that does not project (the
    API beside `regledger project`), and an idle log is never "late"."""
    position = views.position()  # first: the head read after it is at least as far
    head = app.recorder.max_notification_id() or 0
    events = max(head - position, 0)
    seconds = 0.0
    if events:
        oldest = app.recorder.select_notifications(position, 1, inclusive_of_start=False)
        if oldest:
            stamp = getattr(app.mapper.to_domain_event(oldest[0]), "timestamp", None)
            if isinstance(stamp, datetime):
                seconds = max((datetime.now(tz=UTC) - stamp).total_seconds(), 0.0)
    return Lag(head=head, position=position, events=events, seconds=seconds)


class ProjectionCollector(Collector):
    """Gauges read at scrape time: the log head, the views' position and the lag between them."""

    def __init__(self, measure: Callable[[], Lag]) -> None:
        self._measure = measure

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("regledger_store_up", "1 if the event store and views answered this scrape")
        try:
            lag = self._measure()
        except Exception as error:
            logger.warning("metrics: the store did not answer: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("regledger_log_head_position", "The event log's last notification id", value=lag.head)
        yield GaugeMetricFamily(
            "regledger_projector_position", "The views' tracking position (last notification applied)", lag.position
        )
        yield GaugeMetricFamily(
            "regledger_projector_lag_events", "Notification ids in the log not yet applied to the views", lag.events
        )
        yield GaugeMetricFamily(
            "regledger_projector_lag_seconds", "Age of the oldest event not yet applied to the views", lag.seconds
        )


class Metrics:
    """One app's metrics; `observe` is the domain's command observer."""

    def __init__(self, measure_lag: Callable[[], Lag] | None = None) -> None:
        self.registry = CollectorRegistry()  # not auto_describe: that would query the store at start
        r = self.registry
        self.commands = Counter(
            "regledger_commands",
            "Commands by name, outcome and refusal code",
            ["command", "outcome", "code"],
            registry=r,
        )
        self.command_seconds = Histogram(
            "regledger_command_duration_seconds",
            "Command wall time, retries included",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.conflict_retries = Counter(
            "regledger_command_conflict_retries", "Attempts re-run after a version conflict", ["command"], registry=r
        )
        self.token_failures = Counter(
            "regledger_token_failures",
            "Requests refused for their bearer token: code unauthenticated (reason missing or invalid) "
            "or forbidden (reason admin_only or other_student)",
            ["code", "reason"],
            registry=r,
        )
        self.http_requests = Counter(
            "regledger_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "regledger_http_request_duration_seconds",
            "HTTP request wall time by method and route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.live: list[Collector] = []  # measured at scrape time, not counted per process
        if measure_lag is not None:
            self.live.append(ProjectionCollector(measure_lag))
            r.register(self.live[-1])

    def observe(self, seen: CommandObservation) -> None:
        self.commands.labels(seen.command, seen.outcome, seen.code).inc()
        self.command_seconds.labels(seen.command).observe(seen.seconds)
        if seen.retries:
            self.conflict_retries.labels(seen.command).inc(seen.retries)

    def token_failure(self, code: str, reason: str) -> None:
        self.token_failures.labels(code, reason).inc()

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry's text and its content type, in the format the scraper's Accept asks for."""
        encode, content_type = choose_encoder(accept)
        return encode(self._scraped()), content_type

    def _scraped(self) -> CollectorRegistry:
        """This process's registry; under `serve --workers N`, every worker's counts summed."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return self.registry
        summed = CollectorRegistry()
        MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
        for collector in self.live:
            summed.register(collector)
        return summed


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/sections/{section_id}`), set on the scope by routing."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by route template and status (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaping the app becomes a 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route, method = route_template(scope), scope["method"]
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(time.perf_counter() - started)
