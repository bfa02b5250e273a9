"""Database faults over HTTP: 503 `database_unavailable`, and GET handlers retried once.

A transient fault (see `adapters/postgres/db_faults.py`) is answered 503 with `Retry-After`. For a
command the detail says whether its outcome is unknown: true when the fault may have come after
its write was sent (raised on the save path, or after the command's first completed read), in
which case the client retries with the same Idempotency-Key and gets the first outcome; false
when nothing can have been written. A GET is run once more first (unless it already waited for a
connection in vain): its reads are safe to repeat, and a broken connection is replaced by then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from regledger.adapters.http.responses import ErrorPublic
from regledger.adapters.postgres.db_faults import (
    TRANSIENT,
    current_request,
    raised_while_writing,
    waited_for_a_connection,
)

logger = logging.getLogger("regledger.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DATABASE_RETRY_AFTER = "2"


def error_response(
    status: int, code: str, message: str, detail: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorPublic(code=code, message=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def database_unavailable(method: str, exc: BaseException | None) -> JSONResponse:
    detail: dict[str, Any] = {}
    if method not in SAFE_METHODS:
        record = current_request()
        written = exc is not None and raised_while_writing(exc)
        detail["outcome_unknown"] = written or record is None or record.reads > 0
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable; please retry shortly"
        + (" with the same Idempotency-Key." if detail.get("outcome_unknown") else "."),
        detail,
        {"Retry-After": DATABASE_RETRY_AFTER},
    )


async def on_database_fault(request: Request, exc: Exception) -> Response:
    logger.warning("database fault on %s %s: %s", request.method, request.url.path, exc)
    return database_unavailable(request.method, exc)


class ReadRetryRoute(APIRoute):
    """A route whose GET handler runs once more after a transient database fault."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def retrying(request: Request) -> Response:
            if request.method not in SAFE_METHODS:
                return await handler(request)
            try:
                return await handler(request)
            except TRANSIENT as exc:
                if waited_for_a_connection(exc):  # no connection to be had: fail fast
                    raise
                logger.warning("retrying %s %s once after: %s", request.method, request.url.path, exc)
            return await handler(request)

        return retrying


__all__ = ["ReadRetryRoute", "database_unavailable", "error_response", "on_database_fault"]
