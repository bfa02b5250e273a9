"""Request bodies are capped, and a request that must carry a token is checked before its body.

A pure ASGI middleware (so it sees `receive` before anything reads it):

- `Content-Length` above `max_body_bytes` is answered 413 `payload_too_large` at once; a body
  without one (chunked) is counted as it is read and refused as soon as it passes the cap, so a
  large body is never held in memory.
- A request with a body (POST, PUT, PATCH, DELETE) is authenticated here, before its body is
  read: FastAPI reads and parses the body before it solves the token dependency, so an
  unauthenticated client could otherwise make the server read megabytes. Every such route
  needs a token; a public one must be listed in `public_paths`. The principal found is handed
  to the dependency (no second lookup).
- Every request's event-store reads are counted (`db_faults.tracking_request`) for the 503
  answer's `outcome_unknown`.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regledger.adapters.http.deps import (
    PRINCIPAL_STATE,
    Api,
    ApiError,
    Unauthenticated,
    authenticate,
    client_address,
)
from regledger.adapters.http.faults import database_unavailable, error_response
from regledger.adapters.http.routes_ops import count_token_failure
from regledger.adapters.postgres.db_faults import TRANSIENT, tracking_request
from regledger.adapters.web.session import SESSION_COOKIE, cookie_auth_path, sign_in_page

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_MAX_BODY_BYTES = 1_000_000


class PayloadTooLarge(HTTPException):
    """Raised from `receive` once a body passes the cap (FastAPI re-raises HTTPExceptions)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
        self.limit = limit


async def on_payload_too_large(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PayloadTooLarge)
    return _too_large(exc.limit)


def _too_large(limit: int) -> Response:
    return error_response(
        413, "payload_too_large", f"The request body is larger than {limit} bytes", {"max_body_bytes": limit}
    )


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


def _token(scope: Scope) -> str | None:
    """The bearer token; on the web console's paths, else the session cookie (those forms carry CSRF)."""
    token = _bearer_token(scope)
    if token is None and cookie_auth_path(scope["path"]):
        token = Request(scope).cookies.get(SESSION_COOKIE) or None
    return token


class RequestGuard:
    """Body cap and authentication before the body (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        api: Api,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        public_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.api = api
        self.max_body_bytes = max_body_bytes
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with tracking_request():
            await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if scope["method"] in BODY_METHODS and scope["path"] not in self.public_paths:
            refusal = await self._authenticate(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except PayloadTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Response | None:
        """None to go on (the principal, if any, stored for the dependency); else the refusal."""
        token = _token(scope)
        try:
            if token is None:
                raise Unauthenticated("A bearer token is required")
            principal = await anyio.to_thread.run_sync(authenticate, self.api, token, client_address(scope))
        except ApiError as refusal:
            if cookie_auth_path(scope["path"]):  # a browser's form: back to its sign-in page
                return RedirectResponse(sign_in_page(scope["path"]), status_code=303)
            if "app" in scope:  # counted like the dependency's refusals (regledger_token_failures_total)
                count_token_failure(Request(scope), refusal)
            headers = dict(refusal.headers or {})
            return error_response(refusal.status, refusal.code, refusal.message, refusal.detail, headers or None)
        except TRANSIENT:
            return database_unavailable(scope["method"], None)
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


__all__ = ["DEFAULT_MAX_BODY_BYTES", "PayloadTooLarge", "RequestGuard", "on_payload_too_large"]
