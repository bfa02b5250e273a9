"""The LotteryRun aggregate: one reproducible lottery computation and what became of it.

A run records what it read (the program, the log position and a digest of the input), how
it drew (the parameters and the seed) and what it found (the assignment's digest and its
stats). It moves computed -> committed or computed -> discarded, never back.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import LotteryAlreadyCommitted, LotteryDiscarded, LotteryNotComputed
from regledger.domain.ids import LotteryRunId, ProgramId, StudentId

STARTED = "started"
COMPUTED = "computed"
COMMITTED = "committed"
DISCARDED = "discarded"


class LotteryRun(AuditedAggregate):
    """Its id derives from the program and the starting command id, so a retry finds it."""

    class Started(AuditedAggregate.Created):
        program_id: ProgramId
        parameters: dict[str, Any]
        seed: int
        input_position: int
        input_digest: str

    class Computed(AuditedAggregate.Event):
        assignment_digest: str
        stats: dict[str, Any]
        assignments: int

    class Committed(AuditedAggregate.Event):
        enrolments: int
        replaced_run_id: UUID | None

    class Discarded(AuditedAggregate.Event):
        pass

    class StudentsUnplaced(AuditedAggregate.Event):
        """The students with lottery preferences whom the committed run gave no seat (so they
        can be told: the notifier's `lottery_unplaced`)."""

        program_id: ProgramId
        student_ids: tuple[StudentId, ...]

    # Participants the committed run seated nowhere (a class default: older runs have none).
    unplaced: int = 0

    @staticmethod
    def create_id(program_id: ProgramId, command_id: str) -> UUID:
        return uuid5(program_id, f"lottery-run/{command_id}")

    @event(Started)
    def __init__(
        self,
        program_id: ProgramId,
        parameters: dict[str, Any],
        seed: int,
        input_position: int,
        input_digest: str,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.program_id = program_id
        self.parameters = dict(parameters)
        self.seed = seed
        self.input_position = input_position
        self.input_digest = input_digest
        self.status = STARTED
        self.assignment_digest: str | None = None
        self.stats: dict[str, Any] = {}
        self.assignments = 0
        self.enrolments = 0
        self.replaced_run_id: UUID | None = None

    @property
    def run_id(self) -> LotteryRunId:
        return LotteryRunId(self.id)

    # -- commands -------------------------------------------------------------------------

    def record_computed(
        self, assignment_digest: str, stats: dict[str, Any], assignments: int, audit: dict[str, str]
    ) -> None:
        if self.status != STARTED:
            raise LotteryAlreadyCommitted(
                "This lottery run already has a result.", run_id=str(self.id), status=self.status
            )
        self._computed(assignment_digest=assignment_digest, stats=stats, assignments=assignments, **audit)

    def check_committable(self) -> None:
        """Only a computed run that was neither committed nor discarded can be committed."""
        if self.status == DISCARDED:
            raise LotteryDiscarded("This lottery run was discarded; it cannot be committed.", run_id=str(self.id))
        if self.status == COMMITTED:
            raise LotteryAlreadyCommitted("This lottery run is already committed.", run_id=str(self.id))
        if self.status != COMPUTED:
            raise LotteryNotComputed("This lottery run has no result yet.", run_id=str(self.id))

    def commit(self, enrolments: int, replaced_run_id: UUID | None, audit: dict[str, str]) -> None:
        self.check_committable()
        self._committed(enrolments=enrolments, replaced_run_id=replaced_run_id, **audit)

    def record_unplaced(self, student_ids: tuple[StudentId, ...], audit: dict[str, str]) -> None:
        """After `commit`: who took part and got nothing (nothing is recorded for nobody)."""
        if student_ids:
            self._students_unplaced(program_id=self.program_id, student_ids=student_ids, **audit)

    def discard(self, audit: dict[str, str]) -> None:
        if self.status == DISCARDED:
            raise LotteryDiscarded("This lottery run is already discarded.", run_id=str(self.id))
        if self.status == COMMITTED:
            raise LotteryAlreadyCommitted(
                "This lottery run is committed; replace it with another run instead.", run_id=str(self.id)
            )
        self._discarded(**audit)

    # -- recorders ------------------------------------------------------------------------

    @event(Computed)
    def _computed(
        self,
        assignment_digest: str,
        stats: dict[str, Any],
        assignments: int,
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.assignment_digest = assignment_digest
        self.stats = dict(stats)
        self.assignments = assignments
        self.status = COMPUTED

    @event(Committed)
    def _committed(
        self, enrolments: int, replaced_run_id: UUID | None, actor: str, command_id: str, reason: str
    ) -> None:
        self.enrolments = enrolments
        self.replaced_run_id = replaced_run_id
        self.status = COMMITTED

    @event(StudentsUnplaced)
    def _students_unplaced(
        self,
        program_id: ProgramId,  # noqa: ARG002 - recorded by the event, not kept in the state
        student_ids: tuple[StudentId, ...],
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.unplaced = len(student_ids)  # the ids stay in the event, for the notifier

    @event(Discarded)
    def _discarded(self, actor: str, command_id: str, reason: str) -> None:
        self.status = DISCARDED
