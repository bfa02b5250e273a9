"""Operator endpoints: /health (the process), /ready (the store and the projector's lag), /metrics.

/health and /ready take no token: load balancers and orchestrators call them. /metrics takes a
bearer token, `REGLEDGER_METRICS_TOKEN` (for the scraper only) or an admin token, because its
labels name the commands and routes in use and its counts show activity.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from regledger.adapters.bootstrap import Services
from regledger.adapters.http import replica_ops
from regledger.adapters.http.deps import ApiDep, ApiError, Forbidden, Unauthenticated
from regledger.adapters.http.responses import ErrorPublic
from regledger.adapters.metrics import HttpMetricsMiddleware, Lag, Metrics, measure_lag
from regledger.adapters.replica_reads import ReadReplicas
from regledger.projections.views import RegistrationViews

logger = logging.getLogger("regledger.http.ops")

router = APIRouter(tags=["operations"])

# /ready checks run on their own few threads: a hung store must not hold the API's pool, nor
# pile up abandoned threads without bound.
READY_THREADS = 2


@dataclass
class Ops:
    """What the operator endpoints use; one per app (on `app.state.ops`)."""

    metrics: Metrics
    measure: Callable[[], Lag]  # read from the store
    max_lag_events: int
    max_lag_seconds: float
    timeout: float
    metrics_token: str | None
    replicas: ReadReplicas | None = None
    _limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created in the event loop, on the first /ready
            self._limiter = anyio.CapacityLimiter(READY_THREADS)
        return self._limiter


def get_ops(request: Request) -> Ops:
    return cast(Ops, request.app.state.ops)


OpsDep = Annotated[Ops, Depends(get_ops)]


class _Unregister:
    """Removes the app's command observer when the app shuts down (closed with `Api.owned`)."""

    def __init__(self, services: Services, metrics: Metrics) -> None:
        self.services, self.metrics = services, metrics

    def close(self) -> None:
        observers = self.services.app.runner.observers
        if self.metrics.observe in observers:
            observers.remove(self.metrics.observe)


def install(app: FastAPI, services: Services, views: RegistrationViews, owned: list[Any]) -> Ops:
    """Give `app` its metrics (commands, HTTP, projector lag) and the operator routes."""

    def lag() -> Lag:
        return measure_lag(services.app, views)

    metrics = Metrics(lag)
    settings = services.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    ops = Ops(
        metrics=metrics,
        measure=lag,
        max_lag_events=settings.ready_max_lag_events,
        max_lag_seconds=settings.ready_max_lag_seconds,
        timeout=settings.ready_timeout,
        metrics_token=token or None,
        replicas=services.replicas,
    )
    app.state.ops = ops
    services.app.runner.observers.append(metrics.observe)
    owned.append(_Unregister(services, metrics))
    if services.replicas is not None:
        owned.append(replica_ops.instrument(metrics, services.replicas))
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    app.include_router(router)
    return ops


def count_token_failure(request: Request, error: ApiError) -> None:
    """Count a refused token by why: no token, a bad one, or a good one that may not do this."""
    ops = cast(Ops | None, getattr(request.app.state, "ops", None))
    if ops is None:
        return
    if isinstance(error, Unauthenticated):
        given = request.headers.get("authorization", "").lower().startswith("bearer ")
        ops.metrics.token_failure(error.code, "invalid" if given else "missing")
    elif isinstance(error, Forbidden):
        ops.metrics.token_failure(error.code, "other_student" if "student_key" in error.detail else "admin_only")


# -- health and readiness ---------------------------------------------------------------


class HealthPublic(BaseModel):
    status: Literal["ok"] = "ok"
    process: int = Field(default_factory=os.getpid, description="The answering process (one of `serve --workers N`)")


class ReadyPublic(BaseModel):
    """The same body with 200 (ready) and 503 (not ready); `problems` says why not."""

    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable", "timeout"]
    log_head: int | None = Field(None, description="The event log's last notification id")
    views_position: int | None = Field(None, description="The last notification id applied to the views")
    lag_events: int | None = Field(None, description="Notification ids not yet in the views")
    lag_seconds: float | None = Field(None, description="Age of the oldest event not yet in the views (0: caught up)")
    max_lag_events: int
    max_lag_seconds: float
    problems: list[str] = Field(default_factory=list)
    replicas: list[replica_ops.ReplicaPublic] | None = Field(
        None, description="The read replicas (REGLEDGER_READ_DATABASE_URL); never a cause of not_ready"
    )


@router.get("/health", summary="The process is alive (no database access)")
async def health() -> HealthPublic:
    return HealthPublic()


@router.get(
    "/ready",
    summary="The store answers and the views are not too far behind",
    responses={503: {"model": ReadyPublic, "description": "Not ready: the same body, with the problems"}},
)
async def ready(ops: OpsDep, response: Response) -> ReadyPublic:
    body: dict[str, Any] = {"max_lag_events": ops.max_lag_events, "max_lag_seconds": ops.max_lag_seconds}
    problems: list[str] = []
    lag: Lag | None = None
    try:
        with anyio.fail_after(ops.timeout):
            lag = await anyio.to_thread.run_sync(ops.measure, abandon_on_cancel=True, limiter=ops.limiter())
    except TimeoutError:
        body["database"] = "timeout"
        problems.append(f"the store did not answer within {ops.timeout:g} s")
    except Exception as error:
        logger.warning("ready: the store did not answer: %s", error)
        body["database"] = "unreachable"
        problems.append(f"the store did not answer: {type(error).__name__}")
    if lag is not None:
        body |= {
            "database": "ok",
            "log_head": lag.head,
            "views_position": lag.position,
            "lag_events": lag.events,
            "lag_seconds": round(lag.seconds, 3),
        }
        if lag.events > ops.max_lag_events:
            problems.append(f"the views are {lag.events} events behind (max {ops.max_lag_events})")
        if lag.seconds > ops.max_lag_seconds:
            problems.append(f"the views are {lag.seconds:.1f} s behind (max {ops.max_lag_seconds:g})")
    if ops.replicas is not None:
        position = lag.position if lag is not None else None
        body["replicas"] = await replica_ops.replicas_ready(ops.replicas, position, ops.timeout, ops.limiter())
    if problems:
        response.status_code = 503
    return ReadyPublic(status="not_ready" if problems else "ready", problems=problems, **body)


# -- metrics ----------------------------------------------------------------------------

_scraper = HTTPBearer(
    auto_error=False, scheme_name="MetricsToken", description="REGLEDGER_METRICS_TOKEN, or an admin token."
)


def metrics_access(
    api: ApiDep, ops: OpsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scraper)]
) -> None:
    if credentials is None:
        raise Unauthenticated("A bearer token is required (REGLEDGER_METRICS_TOKEN or an admin token)")
    given = credentials.credentials
    if ops.metrics_token and secrets.compare_digest(given.encode(), ops.metrics_token.encode()):
        return
    principal = api.tokens.lookup(given)
    if principal is None:
        raise Unauthenticated("The token is not valid (unknown, malformed or revoked)")
    if not principal.is_admin:
        raise Forbidden("Metrics need the metrics token or an admin token", role=principal.role)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The metrics"},
        401: {"model": ErrorPublic, "description": "No or an invalid token (`unauthenticated`)"},
        403: {"model": ErrorPublic, "description": "A token that is neither the metrics token nor admin"},
    },
)
def metrics(request: Request, ops: OpsDep, _: Annotated[None, Depends(metrics_access)]) -> Response:
    text, content_type = ops.metrics.exposition(request.headers.get("accept", ""))
    return Response(text, media_type=content_type)
