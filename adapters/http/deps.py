"""Request dependencies: services, the token's principal, command contexts, fresh views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, cast
from uuid import UUID, uuid4

import anyio.to_thread
from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from regledger.adapters.auth import Principal, TokenStore
from regledger.adapters.bootstrap import Services
from regledger.adapters.http.existence import PROGRAM, SECTION, STUDENT, Existence, log_head
from regledger.adapters.http.responses import CommandResultPublic
from regledger.adapters.http.schemas import KEY_PATTERN, CommandRequest, Line, QueryFlag, Reason
from regledger.adapters.http.throttle import FailureThrottle
from regledger.adapters.positions import PositionWatch
from regledger.adapters.program_log_projector import ProgramLogsProjector
from regledger.domain.application import Registration
from regledger.domain.errors import InvalidInputError, NotFoundError
from regledger.domain.ids import ProgramId, program_id, student_id
from regledger.domain.runner import CommandResult
from regledger.domain.values import OVERRIDE_NEEDS_REASON, CommandContext, missing_reason
from regledger.projections.views import RegistrationViews


class ApiError(Exception):
    """An error raised by the HTTP layer itself (not a domain refusal)."""

    status: int = 400
    code: str = "bad_request"
    headers: dict[str, str] = {}

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class ProjectionBehind(ApiError):
    status = 503
    code = "projection_behind"
    headers = {"Retry-After": "1"}


class PositionAhead(ApiError):
    """A `min_position` past the log's head: no write has reached it, so waiting cannot help."""

    status = 422
    code = "position_ahead_of_log"


class TooManyFailures(ApiError):
    status = 429
    code = "too_many_failures"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class Api:
    """Everything the routes use; one per app (on `app.state.api`), never module-global."""

    services: Services
    tokens: TokenStore
    views: RegistrationViews
    projection_wait: float = 2.0
    owned: list[Any] = field(default_factory=list)
    throttle: FailureThrottle = field(default_factory=FailureThrottle)
    positions: PositionWatch = field(init=False)
    existence: Existence = field(init=False)

    def __post_init__(self) -> None:
        # A log per program: the views answer what every table reaches, read fresh per waiter.
        per_program = isinstance(self.services.projector, ProgramLogsProjector)
        self.positions = PositionWatch(self.views, log_head(self.services.app), fresh_reads=per_program)
        self.owned.append(self.positions)
        # An in-process projector (the embedded stores) wakes this app's waiters as it commits.
        self.services.projector.listeners.append(self.positions.advanced)
        self.existence = Existence(self.services.app)


# Dependencies that do no I/O are `async`: a sync one costs a worker-thread hop per request.
# Those that may read a store answer from their caches in the event loop and take a worker
# thread only on a miss.


async def get_api(request: Request) -> Api:
    return cast(Api, request.app.state.api)


ApiDep = Annotated[Api, Depends(get_api)]


async def get_registration(api: ApiDep) -> Registration:
    return api.services.app


RegistrationDep = Annotated[Registration, Depends(get_registration)]

_bearer = HTTPBearer(auto_error=False, description="A token from `regledger token create`.")


PRINCIPAL_STATE = "regledger_principal"  # set by limits.RequestGuard when it authenticated first


def client_address(scope: dict[str, Any] | Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def authenticate(api: Api, token: str, address: str) -> Principal:
    """The token's principal; 429 for an address with too many recent failures, else 401."""
    retry_after = api.throttle.retry_after(address)
    if retry_after:
        raise TooManyFailures("Too many failed tokens from this address; retry later", retry_after)
    principal = api.tokens.lookup(token)
    if principal is None:
        api.throttle.failed(address)
        raise Unauthenticated("The token is not valid (unknown, malformed or revoked)")
    return principal


async def get_principal(
    request: Request, api: ApiDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    known = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if isinstance(known, Principal):
        return known
    if credentials is None:
        raise Unauthenticated("A bearer token is required")
    address = client_address(request.scope)
    cached = api.tokens.cached_principal(credentials.credentials)
    if cached is not None and not api.throttle.retry_after(address):
        return cached
    return await anyio.to_thread.run_sync(authenticate, api, credentials.credentials, address)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This needs an admin token", role=principal.role)
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Becomes the command id: repeating it returns the first outcome and writes nothing.",
    ),
]
SlugPath = Annotated[str, Path(pattern=KEY_PATTERN, description="The program's slug", examples=["splash-2026"])]
KeyPath = Annotated[str, Path(pattern=KEY_PATTERN, description="The student's key", examples=["s1024"])]
ReasonQuery = Annotated[Reason, Query(description="Recorded on every event; required with override.")]
ReasonHeader = Annotated[
    Line | None,
    Header(alias="X-Reason", description="The command's reason, where the body cannot carry one (a CSV upload)"),
]
OverrideQuery = Annotated[QueryFlag, Query(description="Admins only: bypass windows and similar rules.")]


def context(
    principal: Principal,
    key: str | None,
    body: CommandRequest | None = None,
    *,
    reason: str = "",
    override: bool = False,
) -> CommandContext:
    """The command's context: actor from the token, id from Idempotency-Key (else a fresh uuid4)."""
    if body is not None:
        reason, override = body.reason, body.override
    if override and not principal.is_admin:
        raise Forbidden("Only admins may override rules", role=principal.role)
    if missing_reason(override, reason):  # refused as malformed input here, before any command
        raise InvalidInputError(OVERRIDE_NEEDS_REASON, fields=["reason"])
    return CommandContext(actor=principal.actor, command_id=key or str(uuid4()), reason=reason, override=override)


@dataclass(frozen=True)
class Acting:
    """A principal acting for one student of one program (already checked)."""

    principal: Principal
    slug: str
    student_key: str

    @property
    def program_id(self) -> ProgramId:
        return program_id(self.slug)


async def acting_for_student(principal: PrincipalDep, slug: SlugPath, key: KeyPath) -> Acting:
    """Admins act for any student; a student token only for its own (program, key)."""
    if not principal.may_act_for(slug, key):
        raise Forbidden("This token cannot act for that student", slug=slug, student_key=key)
    return Acting(principal, slug, key)


ActingDep = Annotated[Acting, Depends(acting_for_student)]


REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": CommandResultPublic, "description": "A repeated Idempotency-Key: the first outcome, replayed"}
}


@dataclass(frozen=True)
class Command:
    """What every command route needs besides its own parameters: the application, the caller,
    the Idempotency-Key and the response whose status the outcome sets."""

    app: Registration
    principal: Principal
    key: str | None
    response: Response
    header_reason: str  # the `X-Reason` header, for bodies that cannot carry one (CSV)

    def ctx(self, body: CommandRequest | None = None, *, reason: str = "", override: bool = False) -> CommandContext:
        """The context from the body's reason and override, else from the given (query) ones,
        else the reason from the `X-Reason` header; two sources at once are ambiguous, refused."""
        sources = [
            name
            for name, given in (
                ("body", body is not None and bool(body.reason or body.override)),
                ("query", bool(reason or override)),
                ("header", bool(self.header_reason)),
            )
            if given
        ]
        if len(sources) > 1:
            raise InvalidInputError(
                f"Send reason and override in one place, not in the {' and the '.join(sources)}", fields=["reason"]
            )
        if body is not None and not (body.reason or body.override):
            body = None
        reason = reason or self.header_reason
        return context(self.principal, self.key, body, reason=reason, override=override)

    def respond(self, result: CommandResult, *, created: bool = False) -> CommandResultPublic:
        """201 for a first creation, 200 otherwise (a replay is always 200 with replayed=true)."""
        self.response.status_code = 201 if created and not result.replayed else 200
        return CommandResultPublic(
            command_id=result.command_id,
            outcome=result.outcome,
            position=result.position,
            replayed=result.replayed,
            ids=result.ids,
            warnings=[str(w) for w in result.warnings],
        )


@dataclass(frozen=True)
class StudentCommand(Command):
    """A command for one student of one program, by a token checked to act for them."""

    acting: Acting

    @property
    def program_id(self) -> ProgramId:
        return self.acting.program_id

    @property
    def student_key(self) -> str:
        return self.acting.student_key


# Async: they only bundle what FastAPI already resolved, so they need no worker thread.
async def admin_command(
    admin: AdminDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    reason: ReasonHeader = None,
) -> Command:
    return Command(app, admin, idempotency_key, response, reason or "")


async def student_command(
    acting: ActingDep,
    app: RegistrationDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    reason: ReasonHeader = None,
) -> StudentCommand:
    return StudentCommand(app, acting.principal, idempotency_key, response, reason or "", acting)


AdminCommandDep = Annotated[Command, Depends(admin_command)]
StudentCommandDep = Annotated[StudentCommand, Depends(student_command)]


async def fresh_views(
    api: ApiDep,
    min_position: Annotated[
        int | None,
        Query(ge=0, description="Wait (up to ~2 s) until the views include this log position (<= the log's head)."),
    ] = None,
) -> RegistrationViews:
    """Async: a waiter holds no worker thread (one shared poller wakes it, `positions.py`)."""
    if min_position:
        head = await api.positions.head_at_least(min_position)
        if head is not None:
            raise PositionAhead(
                "min_position is past the end of the log; use a position a command returned",
                head=head,
                min_position=min_position,
            )
    replicas = api.services.replicas
    if replicas is not None:  # a replica's views, or None: the primary's (`replica_reads.py`)
        replica = await replicas.views_for(min_position)
        if replica is not None:
            return replica
    if min_position:
        try:
            await api.positions.wait_for(min_position, api.projection_wait)
        except TimeoutError:
            raise ProjectionBehind(
                "The views have not reached that position yet; retry shortly",
                position=api.positions.position,
                min_position=min_position,
            ) from None
    return api.views


ViewsDep = Annotated[RegistrationViews, Depends(fresh_views)]


# -- ids a query names must exist (404 otherwise), checked against the event store ---------


async def exists(api: Api, aggregate_id: UUID, topic: str) -> bool:
    """Known from the cache in the event loop, else read in a worker thread."""
    if api.existence.known(aggregate_id, topic):
        return True
    return await anyio.to_thread.run_sync(api.existence.exists, aggregate_id, topic)


async def known_section(section_id: UUID, api: ApiDep) -> UUID:
    if not await exists(api, section_id, SECTION):
        raise NotFoundError("No such section", section_id=str(section_id))
    return section_id


def check_program(api: Api, slug: str) -> None:
    """404 unless the program exists (for a sync route; it may read the store)."""
    if not api.existence.exists(program_id(slug), PROGRAM):
        raise NotFoundError("No such program", slug=slug)


async def known_program(slug: SlugPath, api: ApiDep) -> str:
    if not await exists(api, program_id(slug), PROGRAM):
        raise NotFoundError("No such program", slug=slug)
    return slug


async def known_student(acting: ActingDep, api: ApiDep) -> Acting:
    await known_program(acting.slug, api)
    if not await exists(api, student_id(acting.program_id, acting.student_key), STUDENT):
        raise NotFoundError("No such student in this program", slug=acting.slug, student_key=acting.student_key)
    return acting


KnownSection = Annotated[UUID, Depends(known_section)]
KnownProgram = Annotated[str, Depends(known_program)]
KnownStudent = Annotated[Acting, Depends(known_student)]
