"""Plumbing shared by every command: loading, idempotency, bounded retries, results."""

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
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import EnvType

from regledger.domain.aggregate_cache import AggregateCache, EventReader, StoreEventReader
from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import ConflictError, IdempotencyKeyReused, NotFoundError, RegistrationError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, registration_types_id
from regledger.domain.lottery.model import LotteryInputSource
from regledger.domain.program import Program
from regledger.domain.registration_types import RegistrationTypes
from regledger.domain.section import Section
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext, SectionRefAsDict, SharedUUIDAsHex, check_key

logger = logging.getLogger("regledger.commands")

A = TypeVar("A", bound=Aggregate)


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


@dataclass(frozen=True)
class CommandObservation:
    """How one command ended, as handed to `RegistrationBase.observers` (the adapters' metrics)."""

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
    """Mark a public command: its context carries a digest of the command's name and arguments.

    The outermost command names the request (a command that delegates to another, as
    `add_section` with Waitlisted does, keeps its own digest)."""
    signature = inspect.signature(method)
    name = method.__name__

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> CommandResult:
        bound = signature.bind(*args, **kwargs)
        for argument in KEY_ARGUMENTS.intersection(bound.arguments):
            check_key(bound.arguments[argument], argument)  # before any id is derived from it
        ctx = bound.arguments["ctx"]
        if not ctx.request:
            given = {k: v for k, v in bound.arguments.items() if k not in ("self", "ctx")}
            bound.arguments["ctx"] = dataclasses.replace(ctx, request=request_digest(name, given, ctx.override))
        return method(*bound.args, **bound.kwargs)

    return cast(C, run)


class RegistrationBase(Application[UUID]):
    name = "Registration"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        event_reader: Callable[[Application[UUID]], EventReader] | None = None,
        lottery_inputs: Callable[[Application[UUID]], LotteryInputSource] | None = None,
        bulk_work: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        """The collaborators are the composition root's to choose (`adapters/bootstrap.py`):
        `event_reader` refreshes the aggregates a command reads (default: the library's event
        store), `lottery_inputs` folds the lottery's input from the log (the read side's),
        `bulk_work` wraps large computations and saves (e.g. pausing the cycle collector)."""
        super().__init__(env)
        self.clock = clock
        self.max_attempts = int(self.env.get("REGLEDGER_MAX_ATTEMPTS") or 50)
        # Our own cache (not the library's repository cache): one log read refreshes every
        # aggregate a command needs, instead of one query each.
        self.cache = AggregateCache(int(self.env.get("AGGREGATE_CACHE_MAXSIZE") or 0))
        self.event_reader: EventReader = event_reader(self) if event_reader else StoreEventReader(self.events)
        self._lottery_inputs = lottery_inputs(self) if lottery_inputs else None
        self.bulk_work = bulk_work
        self._scope = threading.local()
        self.retries = 0  # conflicts retried since start: a cheap gauge for operators
        self._retries_lock = threading.Lock()
        self.observers: list[Callable[[CommandObservation], None]] = []  # called once per command

    @property
    def lottery_inputs(self) -> LotteryInputSource:
        if self._lottery_inputs is None:
            raise RuntimeError("no lottery input source: build the application with adapters.bootstrap")
        return self._lottery_inputs

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(SharedUUIDAsHex())  # same name and format as the library's
        transcoder.register(SectionRefAsDict())

    # -- loading --------------------------------------------------------------------------

    def prefetch(self, *ids: UUID | None) -> None:
        """Bring every aggregate this attempt will read up to date in one read of the log."""
        scope = self._attempt()
        wanted = [i for i in ids if i is not None and (scope is None or i not in scope)]
        if wanted and scope is not None:
            scope.update(self.cache.fetch(wanted, self.event_reader))

    def subject_hint(self, section_id: UUID) -> UUID | None:
        """A section's subject never changes, so a cached (even stale) section names it."""
        cached = self.cache.peek(section_id)
        return cast(UUID, cached.subject_id) if isinstance(cached, Section) else None

    def _attempt(self) -> dict[UUID, Aggregate | None] | None:
        """What this command attempt has read; None outside a command (every read is fresh)."""
        return cast(dict[UUID, Aggregate | None] | None, getattr(self._scope, "fetched", None))

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        scope = self._attempt()
        if scope is None:
            aggregate = self.cache.fetch([aggregate_id], self.event_reader)[aggregate_id]
        else:
            self.prefetch(aggregate_id)
            aggregate = scope[aggregate_id]
        return aggregate if isinstance(aggregate, cls) else None

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        aggregate = self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFoundError(f"No such {what}", **{f"{what}_id": str(aggregate_id)})
        return aggregate

    def load_program(self, program_id: ProgramId) -> Program:
        return self.load(Program, program_id, "program")

    def load_subject(self, subject_id: SubjectId, program: Program | None = None) -> Subject:
        subject = self.load(Subject, subject_id, "subject")
        if program is not None and subject.program_id != program.id:
            raise NotFoundError("No such subject in this program", subject_id=str(subject_id))
        return subject

    def load_section(self, section_id: SectionId, program: Program | None = None) -> Section:
        section = self.load(Section, section_id, "section")
        if program is not None and section.program_id != program.id:
            raise NotFoundError("No such section in this program", section_id=str(section_id))
        return section

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # -- running commands -----------------------------------------------------------------

    def execute(self, name: str, ctx: CommandContext, attempt: Callable[[], CommandResult]) -> CommandResult:
        """Run one command attempt after another until it saves, refuses, or retries run out.

        Every command ends with one log line on `regledger.commands` (INFO when applied, replayed
        or refused) and one call of each of `observers` (metrics, say)."""
        if self._attempt() is not None:
            # One command is one save; a command inside another would save apart from it.
            raise RuntimeError(f"command {name} started inside another command")
        started = time.perf_counter()
        outcome, code, event, position, retries = "error", "", "", 0, 0
        try:
            for tries in range(1, self.max_attempts + 1):
                self._scope.fetched = {}  # every attempt reads fresh states
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
                    self._scope.fetched = None
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

    def commit(
        self, ctx: CommandContext, primary: Aggregate, *others: Aggregate | None, ids: dict[str, str] | None = None
    ) -> CommandResult:
        """Save every aggregate touched, atomically, with optimistic concurrency on each.

        The outcome is the name of the primary aggregate's last new event, which is also what
        a repeated command id reports (see `replay`)."""
        outcome = type(primary.pending_events[-1]).__name__ if primary.pending_events else "Unchanged"
        pending = [a for a in (primary, *others) if a is not None and a.pending_events]
        if not pending:
            return CommandResult(ctx.command_id, outcome, self.position(), ids=ids or {})
        if ctx.request:
            stamp_request(pending, ctx)
        recordings = self.save(*pending)
        for aggregate in pending:
            self.cache.put(aggregate)  # committed now, and the command is done with it
        notification = recordings[-1].notification if recordings else None
        position = notification.id if notification is not None else self.position()
        return CommandResult(ctx.command_id, outcome, position, ids=ids or {})

    def replay(
        self, ctx: CommandContext, aggregate: AuditedAggregate, ids: dict[str, str] | None = None
    ) -> CommandResult:
        """The answer to a repeated command id: the first outcome, nothing written.

        The same id with a different request is refused: replaying the first answer would tell
        the client its second request was done when nothing was."""
        recorded = aggregate.request_of(ctx.command_id)
        if recorded and ctx.request and recorded != ctx.request:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key",
                command_id=ctx.command_id,
            )
        outcome = aggregate.outcome_of(ctx.command_id)
        return CommandResult(ctx.command_id, outcome, self.position(), replayed=True, ids=ids or {})

    # -- verbs ----------------------------------------------------------------------------

    def verb_catalogue(self, category: str, ctx: CommandContext) -> RegistrationTypes:
        catalogue = self.find(RegistrationTypes, registration_types_id(category))
        if catalogue is None:
            catalogue = RegistrationTypes(category=category, **ctx.audit())
        return catalogue

    def ensure_verbs(self, names: Iterable[str], category: str, ctx: CommandContext) -> RegistrationTypes | None:
        """Load the catalogue only when a verb is new to this process (verbs are never removed)."""
        missing = [n for n in names if (category, n) not in self._known_verbs]
        if not missing:
            return None
        catalogue = self.verb_catalogue(category, ctx)
        for name in missing:
            catalogue.ensure(name, ctx.audit())
        return catalogue

    @property
    def _known_verbs(self) -> set[tuple[str, str]]:
        known = self.__dict__.setdefault("_verbs_seen", set())
        return cast(set[tuple[str, str]], known)

    def remember_verbs(self, names: Iterable[str], category: str) -> None:
        self._known_verbs.update((category, n) for n in names)
