"""The Registration application: one class whose commands are listed below.

Each command is a function in the module of its concern (`admin_commands`, `student_commands`,
`preference_commands`, `lottery_commands`, `lottery_commit`), marked `@command`: it loads its
aggregates, runs the reference's checks in order (`rules`), records on the aggregates and
saves them together (`commit`). The runner (`runner.py`) repeats a command's body on a version
conflict and answers a repeated command id. The collaborators (the event reader, the lottery's
input fold, the bulk-work wrapper) are chosen by the composition root (`adapters/bootstrap`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from regledger.domain import (
    admin_commands,
    admission_commands,
    admission_entry_commands,
    batch_commands,
    catalogue_import,
    class_change_commands,
    class_commands,
    lottery_commands,
    lottery_commit,
    no_show_commands,
    onsite_commands,
    preference_commands,
    request_commands,
    section_commands,
    student_commands,
    student_import,
)
from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import IdempotencyKeyReused, InvalidInputError, NotFoundError
from regledger.domain.ids import ProgramId, SectionId, SubjectId, registration_types_id, student_id
from regledger.domain.lottery.model import LotteryInputSource, LotteryResult
from regledger.domain.program import Program
from regledger.domain.registration_types import RegistrationType, RegistrationTypes, default_labels
from regledger.domain.runner import (
    AggregateStore,
    CommandResult,
    CommandRunner,
    RepositoryAggregates,
    stamp_request,
    utc_now,
)
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import CommandContext, SectionRefAsDict, SharedUUIDAsHex, check_text, check_verb

A = TypeVar("A", bound=Aggregate)

SYSTEM = CommandContext(actor="system", command_id="system")


class Registration(Application[UUID]):
    """Commands load aggregates, check the rules, and save the aggregates in one transaction."""

    name = "Registration"

    # -- commands --------------------------------------------------------------------------
    create_program = admin_commands.create_program
    change_settings = admin_commands.change_settings
    add_timeslot = admin_commands.add_timeslot
    set_window = admin_commands.set_window
    add_constraint = admin_commands.add_constraint
    remove_constraint = admin_commands.remove_constraint
    add_lunch_constraints = admin_commands.add_lunch_constraints
    add_subject = admin_commands.add_subject
    change_subject_status = admin_commands.change_subject_status
    change_subject = class_commands.change_subject
    create_section = section_commands.create_section
    schedule_section = section_commands.schedule_section
    change_capacity = section_commands.change_capacity
    set_section_open = section_commands.set_section_open
    cancel_section = section_commands.cancel_section
    import_catalogue = catalogue_import.import_catalogue
    import_students = student_import.import_students
    submit_profile = student_commands.submit_profile
    add_section = student_commands.add_section
    complete_registration = student_commands.complete_registration
    drop_section = student_commands.drop_section
    switch_sections = student_commands.switch_sections
    join_waitlist = student_commands.join_waitlist
    unenroll_all = onsite_commands.unenroll_all
    check_in = onsite_commands.check_in
    undo_check_in = onsite_commands.undo_check_in
    record_attendance = onsite_commands.record_attendance
    seat_student = batch_commands.seat_student
    batch_register = batch_commands.batch_register
    unenroll_no_shows = no_show_commands.unenroll_no_shows
    undo_no_shows = no_show_commands.undo_no_shows
    plan_no_shows = no_show_commands.plan_no_shows
    record_no_show_sweep = no_show_commands.record_no_show_sweep
    end_no_show = no_show_commands.end_no_show
    restore_no_show = no_show_commands.restore_no_show
    record_no_show_undo = no_show_commands.record_no_show_undo
    star = preference_commands.star
    unstar = preference_commands.unstar
    rank_priorities = preference_commands.rank_priorities
    confirm_preferences = preference_commands.confirm_preferences
    start_lottery = lottery_commands.start_lottery
    discard_lottery = lottery_commands.discard_lottery
    commit_lottery = lottery_commit.commit_lottery

    # -- lottery reads (runs are recomputed from the log and checked against their digests) ---
    load_run = lottery_commands.load_run
    lottery_assignment = lottery_commands.lottery_assignment
    replay_lottery = lottery_commands.replay_lottery
    lottery_stats = lottery_commands.lottery_stats
    what_if = lottery_commands.what_if
    compare_runs = lottery_commands.compare_runs
    lottery_snapshot = lottery_commands.lottery_snapshot
    lottery_snapshot_from_zero = lottery_commands.lottery_snapshot_from_zero
    lottery_input = lottery_commands.lottery_input

    # -- class-change requests and runs (a LotteryRun of kind "class_change") -------------------
    request_changes = request_commands.request_changes
    start_class_change = class_change_commands.start_class_change
    commit_class_change = class_change_commands.commit_class_change
    load_class_change_run = class_change_commands.load_class_change_run
    class_change_assignment = class_change_commands.class_change_assignment
    replay_class_change = class_change_commands.replay_class_change
    class_change_stats = class_change_commands.class_change_stats
    class_change_input = class_change_commands.class_change_input

    # -- Phase Zero: admission tickets and runs (a LotteryRun of kind "admission") -----------
    enter_admission = admission_entry_commands.enter_admission
    join_admission_group = admission_entry_commands.join_admission_group
    leave_admission_group = admission_entry_commands.leave_admission_group
    show_admission_ticket = admission_entry_commands.show_admission_ticket
    start_admission = admission_commands.start_admission
    commit_admission = admission_commands.commit_admission
    discard_admission = admission_commands.discard_admission
    load_admission_run = admission_commands.load_admission_run
    admission_result = admission_commands.admission_result
    replay_admission = admission_commands.replay_admission
    admission_stats = admission_commands.admission_stats
    admit_students = admission_commands.admit_students
    undo_admissions = admission_commands.undo_admissions

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        aggregates: Callable[[Application[UUID]], AggregateStore] | None = None,
        lottery_inputs: Callable[[Application[UUID]], LotteryInputSource] | None = None,
        bulk_work: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        """The collaborators are the composition root's to choose (`adapters/bootstrap.py`):
        `aggregates` gives commands fresh copies of the aggregates they read (default: the
        library's repository), `lottery_inputs` folds the lottery's input from the log (the read side's),
        `bulk_work` wraps large computations and saves (e.g. pausing the cycle collector)."""
        super().__init__(env)
        self.clock = clock
        self.aggregates: AggregateStore = aggregates(self) if aggregates else RepositoryAggregates(self.repository)
        self._lottery_inputs = lottery_inputs(self) if lottery_inputs else None
        self.bulk_work = bulk_work
        self.runner = CommandRunner(int(self.env.get("REGLEDGER_MAX_ATTEMPTS") or 50))
        # Results of lottery runs whose digest was checked (a run never changes its assignment).
        self.lottery_results: OrderedDict[UUID, LotteryResult] = OrderedDict()

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
        scope = self.runner.fetched()
        wanted = [i for i in ids if i is not None and (scope is None or i not in scope)]
        if wanted and scope is not None:
            scope.update(self.aggregates.fetch(wanted))

    def subject_hint(self, section_id: UUID) -> UUID | None:
        """A section's subject never changes, so a cached (even stale) section names it."""
        cached = self.aggregates.peek(section_id)
        return cast(UUID, cached.subject_id) if isinstance(cached, Section) else None

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        scope = self.runner.fetched()
        if scope is None:
            aggregate = self.aggregates.fetch([aggregate_id])[aggregate_id]
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

    def program_position(self, program_id: ProgramId) -> int:  # noqa: ARG002 - one log here
        """The position a program's inputs are read at (a lottery's, an admission's): every event
        of the program up to it is committed, so a replay at it reads the same events. With one
        log, its head; with a log per program, that log's head (`adapters.program_logs_app`)."""
        return self.position()

    # -- saving -----------------------------------------------------------------------------

    def commit(
        self, ctx: CommandContext, primary: Aggregate, *others: Aggregate | None, ids: dict[str, str] | None = None
    ) -> CommandResult:
        """Save every aggregate touched, atomically, with optimistic concurrency on each.

        The outcome is the name of the primary aggregate's last new event, which is also what
        a repeated command id reports (see `replay`)."""
        outcome = type(primary.pending_events[-1]).__name__ if primary.pending_events else "Unchanged"
        # An aggregate may be named twice (a promoted student who is also the command's own).
        unique = {id(a): a for a in (primary, *others) if a is not None}
        pending = [a for a in unique.values() if a.pending_events]
        if not pending:
            return CommandResult(ctx.command_id, outcome, self.position(), ids=ids or {})
        if ctx.request:
            stamp_request(pending, ctx)
        recordings = self.save(*pending)
        for aggregate in pending:
            self.aggregates.put(aggregate)  # committed now, and the command is done with it
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

    def replayed(
        self, ctx: CommandContext, aggregate: AuditedAggregate, ids: dict[str, str] | None = None
    ) -> CommandResult | None:
        """The first answer if this command id was applied to `aggregate` already, else None."""
        return self.replay(ctx, aggregate, ids) if aggregate.has_applied(ctx.command_id) else None

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

    # -- reads of single aggregates --------------------------------------------------------

    def get_student(self, program_id: ProgramId, student_key: str) -> Student:
        return self.load(Student, student_id(program_id, student_key), "student")

    def get_map(
        self, include: Iterable[str] = (), category: str | None = None, ctx: CommandContext = SYSTEM
    ) -> dict[str, RegistrationType]:
        """Verbs of a category by name; `include` names are created if missing (as the reference)."""
        names = [check_verb(n) for n in include]
        if names and not isinstance(category, str):
            raise InvalidInputError("Need to supply category when including registration types")
        category = check_text(category or "student", "category", max_length=64)
        catalogue = self.find(RegistrationTypes, registration_types_id(category))
        missing = [n for n in names if catalogue is None or n not in catalogue.types]
        if missing:
            catalogue = self.verb_catalogue(category, ctx)
            for name in missing:
                catalogue.ensure(name, ctx.audit())
            self.save(catalogue)
        return dict(catalogue.types) if catalogue else {}

    def get_cached(self, name: str, category: str = "student") -> RegistrationType:
        """One verb, created on first use."""
        return self.get_map([name], category)[name]


__all__ = ["Registration", "default_labels"]
