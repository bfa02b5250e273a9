"""Plumbing shared by every command: loading, idempotency, bounded retries, results."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import EnvType

from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import ConflictError, NotFoundError, RegistrationError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, registration_types_id
from regledger.domain.program import Program
from regledger.domain.registration_types import RegistrationTypes
from regledger.domain.section import Section
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext, SectionRefAsDict

logger = logging.getLogger("regledger.commands")

A = TypeVar("A", bound=Aggregate)


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    # The library's default projector asserts a runtime Protocol per event; that dominates replay.
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


@dataclass(frozen=True)
class CommandResult:
    """What a command did. `position` is the log position a reader must reach to see it."""

    command_id: str
    outcome: str
    position: int
    replayed: bool = False
    ids: dict[str, str] = field(default_factory=dict)


class RegistrationBase(Application[UUID]):
    name = "Registration"
    snapshotting_intervals = {Section: 100, Program: 200}

    def __init__(self, env: EnvType | None = None, *, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        self.max_attempts = int(self.env.get("REGLEDGER_MAX_ATTEMPTS") or 50)
        self.retries = 0  # conflicts retried since start: a cheap gauge for operators
        self._retries_lock = threading.Lock()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(SectionRefAsDict())

    # -- loading --------------------------------------------------------------------------

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            raise NotFoundError(f"No such {what}", **{f"{what}_id": str(aggregate_id)}) from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"No such {what}", **{f"{what}_id": str(aggregate_id)})
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

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
        """Run one command attempt after another until it saves, refuses, or retries run out."""
        for tries in range(1, self.max_attempts + 1):
            try:
                result = attempt()
            except IntegrityError:
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
            except RegistrationError as refusal:
                logger.info(
                    "refused %s: %s",
                    name,
                    refusal.code,
                    extra={"command": name, "command_id": ctx.command_id, "code": refusal.code},
                )
                raise
            logger.debug("applied %s", name, extra={"command": name, "command_id": ctx.command_id})
            return result
        logger.warning(
            "gave up %s after %d conflicting attempts",
            name,
            self.max_attempts,
            extra={"command": name, "command_id": ctx.command_id},
        )
        raise ConflictError(
            "Too many concurrent changes to the same records; please retry.",
            command=name,
            attempts=self.max_attempts,
            retry=True,
        )

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
        recordings = self.save(*pending)
        notification = recordings[-1].notification if recordings else None
        position = notification.id if notification is not None else self.position()
        return CommandResult(ctx.command_id, outcome, position, ids=ids or {})

    def replay(
        self, ctx: CommandContext, aggregate: AuditedAggregate, ids: dict[str, str] | None = None
    ) -> CommandResult:
        """The answer to a repeated command id: the first outcome, nothing written."""
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
