"""How a command runs: its request digest, its attempts and retries, its result and its log line.

The application's commands are marked `@command`; the runner repeats a command's body while
it meets version conflicts, and the digest makes a reused command id with another request a
refusal instead of a silent replay (`Registration.replayed`)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from regledger.domain.errors import ConflictError, RegistrationError
from regledger.domain.values import CommandContext, check_key

logger = logging.getLogger("regledger.commands")


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True)
class CommandResult:
    """What a command did. `position` is the log position a reader must reach to see it."""

    command_id: str
    outcome: str
    position: int
    replayed: bool = False
    ids: dict[str, str] = field(default_factory=dict)
    # Accepted, but probably not what was meant (a class or section with capacity 0): messages,
    # or a subclass's richer records (an import's, with line numbers).
    warnings: tuple[object, ...] = ()


@dataclass(frozen=True)
class CommandObservation:
    """How one command ended, as handed to `CommandRunner.observers` (the adapters' metrics)."""

    command: str
    command_id: str
    actor: str
    outcome: str  # applied, replayed, refused, conflict or error
    code: str  # the refusal's code (or the exception's class for an error); "" otherwise
    seconds: float  # wall time, retries included
    position: int  # the log position of its last event; 0 unless applied or replayed
    retries: int  # version conflicts retried before it ended


def stamp_request(aggregates: Iterable[Aggregate], ctx: CommandContext) -> None:
    """Record the request's digest on the command's new events (they are frozen, and their
    `apply` has run: the digest changes no state, so it is set in place before the save)."""
    for aggregate in aggregates:
        for pending in aggregate.pending_events:
            if getattr(pending, "command_id", None) == ctx.command_id:
                object.__setattr__(pending, "request", ctx.request)


def _canonical(value: Any) -> Any:
    """A JSON-ready form of a command argument in which equal requests are equal text."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # UUIDs, Decimals, enums: their text is their identity


def request_digest(name: str, arguments: Mapping[str, Any], override: bool) -> str:
    text = json.dumps([name, _canonical(arguments), override], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


C = TypeVar("C", bound=Callable[..., CommandResult])
KEY_ARGUMENTS = frozenset({"slug", "student_key", "code"})


def command(method: C) -> C:
    """Mark a command of the application: its body is the attempt the runner repeats.

    Before it runs, key arguments are checked (before any id is derived from them) and the
    context gets a digest of the command's name and arguments. A command called from inside
    another (`add_section` with Waitlisted delegating to `join_waitlist`) runs within the
    outer attempt and keeps the outer digest: one command is one save."""
    signature = inspect.signature(method)
    name = method.__name__

    @functools.wraps(method)
    def run(app: Any, *args: Any, **kwargs: Any) -> CommandResult:
        bound = signature.bind(app, *args, **kwargs)
        for argument in KEY_ARGUMENTS.intersection(bound.arguments):
            check_key(bound.arguments[argument], argument)
        ctx = bound.arguments["ctx"]
        if not ctx.request:
            given = {k: v for k, v in bound.arguments.items() if k not in ("app", "self", "ctx")}
            bound.arguments["ctx"] = dataclasses.replace(ctx, request=request_digest(name, given, ctx.override))
        runner: CommandRunner = app.runner
        if runner.fetched() is not None:
            return method(*bound.args, **bound.kwargs)
        return runner.run(name, bound.arguments["ctx"], lambda: method(*bound.args, **bound.kwargs))

    return cast(C, run)


class CommandRunner:
    """Runs a command's body as attempts: each reads fresh states, and a version conflict
    (`IntegrityError`) re-runs it, up to `max_attempts`; then `conflict`.

    Every command ends with one log line on `regledger.commands` (INFO when applied, replayed
    or refused) and one call of each of `observers` (the adapters' metrics)."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.retries = 0  # conflicts retried since start: a cheap gauge for operators
        self.observers: list[Callable[[CommandObservation], None]] = []
        self._local = threading.local()
        self._retries_lock = threading.Lock()

    def fetched(self) -> dict[UUID, Aggregate | None] | None:
        """What this thread's current attempt has read; None outside a command."""
        return cast(dict[UUID, Aggregate | None] | None, getattr(self._local, "fetched", None))

    def run(self, name: str, ctx: CommandContext, attempt: Callable[[], CommandResult]) -> CommandResult:
        started = time.perf_counter()
        outcome, code, event, position, retries = "error", "", "", 0, 0
        try:
            for tries in range(1, self.max_attempts + 1):
                self._local.fetched = {}  # every attempt reads fresh states
                try:
                    result = attempt()
                except IntegrityError:
                    retries = tries
                    with self._retries_lock:
                        self.retries += 1
                    logger.info(
                        "retry %s after a version conflict (attempt %d)",
                        name,
                        tries,
                        extra={"command": name, "command_id": ctx.command_id, "attempt": tries},
                    )
                    time.sleep(random.uniform(0, min(0.002 * tries, 0.05)))  # noqa: S311 - jitter only
                    continue
                finally:
                    self._local.fetched = None
                outcome = "replayed" if result.replayed else "applied"
                event, position = result.outcome, result.position
                return result
            raise ConflictError(
                "Too many concurrent changes to the same records; please retry.",
                command=name,
                attempts=self.max_attempts,
                retry=True,
            )
        except RegistrationError as refusal:
            outcome = "conflict" if isinstance(refusal, ConflictError) else "refused"
            code = refusal.code
            raise
        except BaseException as error:
            code = type(error).__name__
            raise
        finally:
            seconds = time.perf_counter() - started
            level = logging.WARNING if outcome in ("conflict", "error") else logging.INFO
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "%s %s%s in %.1f ms, %d conflicts retried",
                    outcome,
                    name,
                    f": {code}" if code else f" -> {event} at position {position}",
                    seconds * 1000,
                    retries,
                    extra={
                        "command": name,
                        "command_id": ctx.command_id,
                        "actor": ctx.actor,
                        "outcome": outcome,
                        "code": code or None,
                        "event": event or None,
                        "duration_ms": round(seconds * 1000, 3),
                        "position": position or None,
                        "retries": retries,
                    },
                )
            if self.observers:
                observation = CommandObservation(
                    name, ctx.command_id, ctx.actor, outcome, code, seconds, position, retries
                )
                for observe in self.observers:
                    try:
                        observe(observation)
                    except Exception:
                        # An observer must never turn a saved command into a failed one.
                        logger.exception("command observer %r failed", observe)


class AggregateStore(Protocol):
    """Where commands read aggregates: fresh private copies, in one read where the store can."""

    def fetch(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate | None]: ...

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        """A committed state kept in process, possibly stale (None: not kept)."""

    def put(self, aggregate: Aggregate) -> None:
        """Keep a state just committed."""


class RepositoryAggregates:
    """The library's repository, one aggregate at a time (the default; keeps nothing itself)."""

    def __init__(self, repository: Repository[UUID]) -> None:
        self.repository = repository

    def fetch(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate | None]:
        found: dict[UUID, Aggregate | None] = {}
        for aggregate_id in ids:
            try:
                found[aggregate_id] = cast(Aggregate, self.repository.get(aggregate_id))
            except AggregateNotFoundError:
                found[aggregate_id] = None
        return found

    def peek(self, _aggregate_id: UUID) -> Aggregate | None:
        return None

    def put(self, aggregate: Aggregate) -> None:
        pass
