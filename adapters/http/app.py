"""The FastAPI app factory and its one error-to-status table."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from regledger.adapters.auth import TokenStore
from regledger.adapters.bootstrap import Services
from regledger.adapters.http import (
    routes_admin,
    routes_admission,
    routes_audit,
    routes_catalogue,
    routes_class_change,
    routes_import,
    routes_lottery,
    routes_onsite,
    routes_ops,
    routes_queries,
    routes_students,
    routes_tokens,
)
from regledger.adapters.http.deps import Api, ApiError, Forbidden, Unauthenticated
from regledger.adapters.http.faults import on_database_fault
from regledger.adapters.http.limits import PayloadTooLarge, RequestGuard, on_payload_too_large
from regledger.adapters.http.responses import ErrorPublic
from regledger.adapters.notifier import routes as routes_outbox
from regledger.adapters.postgres.db_faults import TRANSIENT
from regledger.adapters.web import install as web
from regledger.domain.errors import ConflictError, InvalidInputError, NotFoundError, RegistrationError

logger = logging.getLogger("regledger.http")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Missing, malformed or revoked bearer token (`unauthenticated`)"},
    403: {"model": ErrorPublic, "description": "The token may not do this (`forbidden`)"},
    404: {"model": ErrorPublic, "description": "An id or slug named by the request does not exist (`not_found`)"},
    409: {"model": ErrorPublic, "description": "Refused by a rule (its code), or `conflict` after retries"},
    422: {"model": ErrorPublic, "description": "Malformed input (`invalid_input`, detail lists the fields)"},
    413: {"model": ErrorPublic, "description": "The body is larger than `max_body_bytes` (`payload_too_large`)"},
    429: {"model": ErrorPublic, "description": "Too many failed tokens from this address (`too_many_failures`)"},
    503: {
        "model": ErrorPublic,
        "description": "The database is unavailable (`database_unavailable`; detail.outcome_unknown for commands)",
    },
}
QUERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorPublic, "description": "The views have not reached `min_position` (`projection_behind`)"},
}
RETRY_AFTER_SECONDS = "1"


def _error(status: int, code: str, message: str, detail: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    body = ErrorPublic(code=code, message=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(error: RegistrationError) -> int:
    """The one mapping of domain refusals to HTTP statuses."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, InvalidInputError):
        return 422
    return 409


async def _on_refusal(_request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RegistrationError)
    detail = dict(exc.detail)
    headers = None
    if isinstance(exc, ConflictError):
        detail["retry"] = True
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return _error(status_of(exc), exc.code, exc.message, detail, headers)


async def _on_integrity_error(_request: Request, _exc: Exception) -> Any:
    # Only reachable from writes outside the domain's retry loop (registration-types include).
    return _error(
        409,
        ConflictError.code,
        "A concurrent change got there first; please retry.",
        {"retry": True},
        {"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _on_api_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, ApiError)
    if isinstance(exc, Unauthenticated | Forbidden):
        routes_ops.count_token_failure(request, exc)
    return _error(exc.status, exc.code, exc.message, exc.detail, exc.headers or None)


# FastAPI checks a dependency's parameters before the route's own; putting header errors after
# path and query ones keeps the order (and so the message) of when routes declared Idempotency-Key.
_LATE = {"header": 1, "body": 2}


def _place(error: Any) -> int:
    loc = error.get("loc") or ("",)
    return _LATE.get(str(loc[0]), 0)


async def _on_validation_error(_request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type")}
        for e in sorted(exc.errors(), key=_place)
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    message = f"Invalid input: {first['field']}: {first['message']}" if first["field"] else "Invalid input"
    return _error(422, InvalidInputError.code, message, {"errors": errors, "fields": [e["field"] for e in errors]})


async def _on_http_error(_request: Request, exc: Exception) -> Any:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # an undecodable body: malformed input like any other
        return _error(422, InvalidInputError.code, f"Invalid input: {exc.detail}", {"errors": [], "fields": ["body"]})
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
    return _error(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), {}, dict(exc.headers or {})
    )


async def _on_unexpected(request: Request, exc: Exception) -> Any:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal_error", "Something went wrong on our side; it has been logged.", {})


DOCS_ASSETS = "/docs-assets"


def _offline_docs(app: FastAPI) -> None:
    """/docs and /redoc from assets packaged with fastapi-offline (no CDN: they work offline)."""
    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def _default_thread_limit(services: Services) -> int | None:
    """Sync endpoints run on a thread pool; on PostgreSQL size it to the app's connection pool."""
    settings = services.settings
    if settings.store == "postgres":
        return settings.postgres_pool_size + settings.postgres_max_overflow
    return None


def create_app(
    services: Services,
    *,
    tokens: TokenStore | None = None,
    projection_wait: float = 2.0,
    max_threads: int | None = None,
) -> FastAPI:
    """Build the HTTP app over built services (commands on `services.app`, queries on `services.views`).

    Queries wait for `services.views` to reach `min_position`; something must be projecting (the
    services' own follower on embedded stores, `regledger project` on PostgreSQL). `tokens`
    defaults to the configured store's token table (closed with the app's lifespan);
    `max_threads` caps concurrent sync endpoints (default on PostgreSQL: pool size + overflow)."""
    owned: list[Any] = []
    api = Api(
        services=services,
        tokens=tokens or services.tokens,
        views=services.views,
        projection_wait=projection_wait,
        owned=owned,
    )
    threads = max_threads or _default_thread_limit(services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if threads:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        try:
            yield
        finally:
            for resource in api.owned:
                resource.close()

    app = FastAPI(
        title="regledger",
        version="0.1.0",
        summary="Event-sourced class registration (ESP/Splash style)",
        description=(
            "Every command returns the log `position` of its last event; queries accept `min_position` "
            "and wait until the views include it. `Idempotency-Key` becomes the command id. Errors are "
            "`{code, message, detail}`."
        ),
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        docs_url=None,  # served from packaged assets instead of a CDN (_offline_docs)
        redoc_url=None,
    )
    app.state.api = api
    app.add_exception_handler(RegistrationError, _on_refusal)
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    for fault in TRANSIENT:
        app.add_exception_handler(fault, on_database_fault)
    app.add_exception_handler(PayloadTooLarge, on_payload_too_large)
    app.add_middleware(
        RequestGuard, api=api, max_body_bytes=services.settings.max_body_bytes, public_paths=web.PUBLIC_PATHS
    )
    app.include_router(routes_admin.router)
    app.include_router(routes_onsite.router)
    app.include_router(routes_tokens.router)
    app.include_router(routes_students.router)
    app.include_router(routes_lottery.router)
    app.include_router(routes_class_change.router)
    app.include_router(routes_admission.router)
    app.include_router(routes_import.router)
    app.include_router(routes_outbox.router)
    app.include_router(routes_queries.router, responses=QUERY_RESPONSES)
    app.include_router(routes_catalogue.router, responses=QUERY_RESPONSES)
    app.include_router(routes_audit.router, responses=QUERY_RESPONSES)
    routes_ops.install(app, services, api.views, api.owned)
    _offline_docs(app)
    web.install(app)
    return app
